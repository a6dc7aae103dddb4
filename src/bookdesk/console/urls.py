from django.urls import path

from bookdesk.console import views

app_name = "console"

urlpatterns = [
    path("", views.agenda_page, name="agenda"),
    path("calendar", views.calendar_page, name="calendar"),
    path("courses/<int:course_id>/roster", views.roster_page, name="roster"),
    path("courses/<int:course_id>/roster/<int:booking_id>/check-in", views.roster_check_in, name="check_in"),
    path("attention", views.attention_page, name="attention"),
    path("attention/events/<int:event_id>/replay", views.event_replay, name="event_replay"),
    path("attention/emails/<int:email_id>/retry", views.email_retry_action, name="email_retry"),
    path("attention/orders/<int:order_id>/refund", views.order_refund, name="order_refund"),
    path("attention/orders/<int:order_id>/resolve", views.review_resolve, name="review_resolve"),
    path("shipping", views.shipping_page, name="shipping"),
    path("shipping/<int:shipment_id>/packing-slip", views.packing_slip, name="packing_slip"),
    path("shipping/<int:shipment_id>/ship", views.shipment_ship, name="ship"),
    path("shipping/<int:shipment_id>/deliver", views.shipment_deliver, name="deliver"),
    path("sales", views.sales_page, name="sales"),
    path("health", views.health_page, name="health"),
]
