"""The outbox for operators: every email, its status and last error; a failed or dead one can be sent again."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from bookdesk.admin_base import ReadOnlyAdmin
from bookdesk.notifications.models import OutgoingEmail
from bookdesk.notifications.services import email_requeue


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ReadOnlyAdmin[OutgoingEmail]):
    list_display = ["key", "to", "subject", "status", "attempts", "next_attempt_at", "sent_at", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["key", "to", "subject", "order__code"]
    date_hierarchy = "created_at"
    list_select_related = ["order"]
    fields = readonly_fields = (
        "key",
        "to",
        "subject",
        "order",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "sent_at",
        "created_at",
        "text_body",
        "html_body",
    )
    actions = ["send_again"]

    @admin.action(description="Send again (failed or dead emails)", permissions=["view"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[OutgoingEmail]) -> None:
        moved = sum(email_requeue(email=email) for email in queryset)
        self.message_user(request, f"{moved} email(s) queued to send again.", messages.SUCCESS)
