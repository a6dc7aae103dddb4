from django.contrib import admin
from django.urls import include, path

from bookdesk.api import api, webhook
from bookdesk.web import downloads

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    # Before the API: Stripe's webhook needs the raw body and answers without ninja's machinery.
    path("api/stripe/webhook", webhook.intake, name="stripe_webhook"),
    path("api/", api.urls),
    path("console/", include("bookdesk.console.urls")),
    path("", include("bookdesk.ops.urls")),
    path("downloads/<str:token>", downloads.download, name="download"),
    path("", include("bookdesk.web.urls")),
]

handler400 = "bookdesk.web.views.bad_request"
handler403 = "bookdesk.web.views.permission_denied"
handler404 = "bookdesk.web.views.page_not_found"
handler500 = "bookdesk.web.views.server_error"
