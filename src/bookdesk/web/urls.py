from django.urls import path

from bookdesk.web import bookings_views, checkout_views, invoices_export, media, views

urlpatterns = [
    path("", views.home, name="home"),
    path("courses", views.catalog_section, {"section": "courses"}, name="courses"),
    path("beats", views.catalog_section, {"section": "beats"}, name="beats"),
    path("goods", views.catalog_section, {"section": "goods"}, name="goods"),
    path("courses/<slug:slug>", views.course_detail, name="course_detail"),
    path("courses/<slug:slug>/book", checkout_views.course_book_now, name="course_book_now"),
    path("services/<int:service_id>", views.service_detail, name="service_detail"),
    path("products/<int:product_id>", views.product_detail, name="product_detail"),
    path("products/<int:product_id>/preview.mp3", media.preview, name="product_preview"),
    path("products/<int:product_id>/cover", media.cover, name="product_cover"),
    path("cart", checkout_views.cart_page, name="cart"),
    path("cart/items", checkout_views.cart_item_add, name="cart_item_add"),
    path("cart/items/<int:item_id>/remove", checkout_views.cart_item_remove, name="cart_item_remove"),
    path("checkout", checkout_views.checkout_page, name="checkout"),
    path("payment/success", checkout_views.payment_success, name="payment_success"),
    path("payment/cancel", checkout_views.payment_cancel, name="payment_cancel"),
    path("payment/retry", checkout_views.payment_retry_page, name="payment_retry"),
    path("bookings", bookings_views.bookings_page, name="bookings"),
    path("orders/<str:code>", bookings_views.order_page, name="order_detail"),
    path("orders/<str:code>/cancel", bookings_views.order_cancel_page, name="order_cancel"),
    path("console/invoices.csv", invoices_export.invoices_csv, name="console_invoices_csv"),
    path(
        "orders/<str:code>/lines/<int:line_id>/cancel",
        bookings_views.order_line_cancel_page,
        name="order_line_cancel",
    ),
    path("orders/<str:code>/calendar.ics", bookings_views.order_calendar, name="order_calendar"),
]
