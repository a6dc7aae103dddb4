"""The outbox for operators: every email, its status and last error; a failed or dead one can be sent again."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from bookdesk.admin_base import InUseChoicesFilter, ReadOnlyAdmin, truncated_display
from bookdesk.notifications.models import OutgoingEmail
from bookdesk.notifications.services import email_requeue


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ReadOnlyAdmin[OutgoingEmail]):
    list_display = ["short_subject", "to", "status", "attempts", "short_error", "sent_at", "created_at"]
    list_filter = [("status", InUseChoicesFilter), "created_at"]
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
    short_subject = truncated_display("subject", 60, description="subject")
    short_error = truncated_display("last_error", 40, description="last error")

    def has_send_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.change_outgoingemail")

    @admin.action(description="Send again (failed or dead emails)", permissions=["send"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[OutgoingEmail]) -> None:
        moved = sum(email_requeue(email=email) for email in queryset)
        self.message_user(request, f"{moved} email(s) queued to send again.", messages.SUCCESS)
