from django.urls import path

from bookdesk.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("courses/<slug:slug>", views.course_detail, name="course_detail"),
    path("services/<int:service_id>", views.service_detail, name="service_detail"),
    path("products/<int:product_id>", views.product_detail, name="product_detail"),
]
