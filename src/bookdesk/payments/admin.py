"""Orders with their money in the admin: each order with its lines, payment attempts and audit trail, refunds
in full or in part (through Stripe); payment attempts, refunds and the webhook inbox, read-only and searchable.

Orders change only through the services (checkout, payments, the worker), so the admin shows them
read-only: an operator sees every state change and never makes one that skips the audit log.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from bookdesk.admin_base import (
    InUseChoicesFilter,
    MoneyAmountField,
    NoAddDeleteAdmin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    breakable,
    data_display,
    flatten,
    json_display,
    local_time_display,
    money_display,
    truncated_display,
)
from bookdesk.errors import BookdeskError
from bookdesk.money import format_money
from bookdesk.orders import states
from bookdesk.orders.models import AuditEntry, Order, OrderLine
from bookdesk.payments.models import CreditNote, Invoice, Payment, ReconcileRun, Refund, WebhookEvent
from bookdesk.payments.policy import brought_in, facts_of
from bookdesk.payments.refunds import order_lines_cancel, refund_order
from bookdesk.payments.webhooks import replay


class LineInline(ReadOnlyInline):
    model = OrderLine
    fields = readonly_fields = ("kind", "description", "quantity", "unit_price", "line_total")
    unit_price = money_display("unit_amount", currency="order.currency", description="unit price")
    line_total = money_display("total_amount", currency="order.currency", description="total")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = readonly_fields = ("attempt", "status", "session", "amount_due", "received", "expires_at", "created_at")
    amount_due = money_display("amount", description="amount")
    received = money_display("amount_received", description="received")
    session = truncated_display("session_id", 24, description="Stripe session")


class AuditInline(ReadOnlyInline):
    model = AuditEntry
    fields = readonly_fields = ("at", "actor", "action", "details")
    details = data_display(description="details")


@admin.register(Order)
class OrderAdmin(NoAddDeleteAdmin[Order]):
    list_display = ["code", "customer", "kind", "status", "total", "created_at"]
    list_filter = [
        ("status", InUseChoicesFilter),
        ("kind", InUseChoicesFilter),
        ("currency", InUseChoicesFilter),
        "created_at",
    ]
    search_fields = ["code", "email", "user__email", "payments__session_id"]
    date_hierarchy = "created_at"
    inlines = [LineInline, PaymentInline, AuditInline]
    actions = ["refund_in_full"]
    change_form_template = "admin/orders/order/change_form.html"
    fieldsets = [
        (None, {"fields": ["code", "status", "review_reason", "kind", ("email", "user")]}),
        ("Money", {"fields": [("subtotal", "tax", "shipping"), ("total", "refunded")]}),
        ("Times", {"fields": ["created_at", "hold_expires_at", "updated_at"]}),
    ]
    readonly_fields = [
        "code",
        "user",
        "email",
        "kind",
        "status",
        "subtotal",
        "tax",
        "shipping",
        "total",
        "refunded",
        "hold_expires_at",
        "review_reason",
        "created_at",
        "updated_at",
    ]
    customer = truncated_display("email", 30, description="customer")
    subtotal = money_display("subtotal_amount", description="subtotal")
    tax = money_display("tax_amount", description="tax")
    shipping = money_display("shipping_amount", description="shipping")
    total = money_display("total_amount", description="total")
    refunded = money_display("amount_refunded", description="refunded")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return super().get_queryset(request).select_related("user")

    def get_urls(self) -> list[URLPattern]:  # type: ignore[override]
        refund = self.admin_site.admin_view(self.refund_view)
        return [path("<int:order_id>/refund/", refund, name="orders_order_refund"), *super().get_urls()]

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.add_refund")

    @admin.action(description="Refund the selected orders in full (through Stripe)", permissions=["refund"])
    def refund_in_full(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset:
            try:
                refund_order(order=order, amount=None, actor=f"admin:{request.user.pk}", reason="refunded by staff")
                self.message_user(request, f"{order.code}: refunded in full.", messages.SUCCESS)
            except BookdeskError as exc:
                self.message_user(request, f"{order.code}: {exc.detail}", messages.ERROR)

    def refund_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """A full or partial refund of one order (an amount typed in the order's currency), or of one line: its
        price with its tax (and the shipping with the last goods line), past the customer's policy — a return —
        but never twice."""
        if not self.has_refund_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        paid = sum(p.amount_received for p in order.payments.filter(status=Payment.Status.PAID))
        left = paid - order.amount_refunded
        actor = f"admin:{request.user.pk}"
        by_line = request.method == "POST" and "line" in request.POST
        form = RefundForm(
            None if by_line else (request.POST or None),
            currency=order.currency,
            left=left,
            initial={"amount": left, "reason": "refunded by staff"},
        )
        line_form = LineRefundForm(
            order, request.POST if by_line else None, initial={"reason": "returned, refunded by staff"}
        )
        if by_line and line_form.is_valid():
            try:
                cancellation = order_lines_cancel(
                    order=order,
                    line_ids=[int(line_form.cleaned_data["line"])],
                    actor=actor,
                    reason=line_form.cleaned_data["reason"],
                    by_operator=True,
                )
            except BookdeskError as exc:
                line_form.add_error(None, exc.detail)
            else:
                refunded = format_money(cancellation.amount, order.currency)
                self.message_user(request, f"{order.code}: line refunded ({refunded}).", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        elif request.method == "POST" and form.is_valid():
            try:
                refund_order(
                    order=order, amount=form.cleaned_data["amount"], actor=actor, reason=form.cleaned_data["reason"]
                )
            except BookdeskError as exc:
                form.add_error(None, exc.detail)
            else:
                self.message_user(request, f"{order.code}: refund sent to Stripe.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "order": order,
            "paid": paid,
            "left": left,
            "form": form,
            "line_form": line_form,
            "refundable": order.status in states.REFUNDABLE,
            "title": f"Refund {order.code}",
        }
        return TemplateResponse(request, "admin/orders/order/refund.html", context)


class RefundForm(forms.Form):
    amount = MoneyAmountField()
    reason = forms.CharField(max_length=200)

    def __init__(self, *args: Any, currency: str, left: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.left = left
        field = cast(MoneyAmountField, self.fields["amount"])
        field.currency = currency
        field.describe()
        field.help_text += f" At most {format_money(left, currency)}."

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if self.left > 0 and not 0 < amount <= self.left:  # nothing paid: the service says why
            currency = self.fields["amount"].currency  # type: ignore[attr-defined]
            raise forms.ValidationError(
                f"Enter an amount between {format_money(1, currency)} and {format_money(self.left, currency)}."
            )
        return int(amount)


class LineRefundForm(forms.Form):
    """One line of the order, refunded with its tax share (the active lines, each with what it would refund)."""

    line = forms.ChoiceField(help_text="Its price with its tax; shipping too when it is the last goods line.")
    reason = forms.CharField(max_length=200)

    def __init__(self, order: Order, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        facts, lines = facts_of(order)
        described = {line.pk: line.description for line in order.lines.all()}
        self.fields["line"].choices = [  # type: ignore[attr-defined]
            (str(line.id), f"{described[line.id]} — {format_money(brought_in(facts, line)[0], order.currency)}")
            for line in lines
            if line.status == OrderLine.Status.ACTIVE
        ]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin[Payment]):
    list_display = ["order", "attempt", "status", "amount_shown", "session", "expires_at", "created_at"]
    list_filter = [("status", InUseChoicesFilter), ("currency", InUseChoicesFilter), "created_at"]
    search_fields = ["order__code", "session_id", "payment_intent_id", "order__email"]
    list_select_related = ["order"]
    date_hierarchy = "created_at"

    fields = (
        ("order", "attempt", "status"),
        ("amount_shown", "received", "refunded"),
        "session_id",
        "payment_intent_id",
        "checkout_url",
        ("expires_at", "created_at", "updated_at"),
    )
    readonly_fields = flatten(fields)
    amount_shown = money_display("amount", description="amount")
    received = money_display("amount_received", description="received")
    refunded = money_display("amount_refunded", description="refunded")
    session = truncated_display("session_id", 28, description="Stripe session")


@admin.register(WebhookEvent)
class WebhookEventAdmin(NoAddDeleteAdmin[WebhookEvent]):
    """The dead-letter view: every event with its status, attempts and last error; dead ones can be replayed."""

    list_display = ["stripe_id", "event_type", "status", "attempts", "result", "received_at"]
    list_filter = [("status", InUseChoicesFilter), "type"]
    search_fields = ["stripe_id", "type", "last_error", "outcome"]
    date_hierarchy = "received_at"
    actions = ["replay_events"]
    readonly_fields = [
        "stripe_id",
        "type",
        "status",
        "attempts",
        "next_attempt_at",
        "outcome",
        "last_error",
        "livemode",
        "stripe_created",
        "received_at",
        "processed_at",
        "payload_shown",
    ]
    payload_shown = json_display("payload", description="payload")

    @admin.display(description="type", ordering="type")
    def event_type(self, obj: WebhookEvent) -> str:
        return breakable(obj.type)

    @admin.display(description="result")
    def result(self, obj: WebhookEvent) -> str:
        """The error while it has one, else what processing did."""
        text = obj.last_error or obj.outcome
        first_line = text.splitlines()[0] if text else ""
        if len(first_line) <= 70 and first_line == text:
            return text
        return format_html('<span title="{}">{}…</span>', text, first_line[:69].rstrip())

    @admin.action(description="Replay the selected events now", permissions=["change"])
    def replay_events(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        results = Counter(str(replay(event.pk) or "unchanged") for event in queryset)
        summary = ", ".join(f"{n} {status}" for status, n in sorted(results.items()))
        self.message_user(request, f"Replayed: {summary}.", messages.SUCCESS)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin[Refund]):
    list_display = ["stripe_refund_id", "payment", "amount_shown", "status", "short_reason", "created_at"]
    list_filter = [("status", InUseChoicesFilter), ("currency", InUseChoicesFilter), "created_at"]
    search_fields = ["stripe_refund_id", "payment__order__code"]
    list_select_related = ["payment__order"]
    fields = readonly_fields = ("stripe_refund_id", "payment", "amount_shown", "status", "reason", "created_at")
    amount_shown = money_display("amount", description="amount")
    short_reason = truncated_display("reason", 40, description="reason")


# --- invoices and credit notes: read-only, as issued ---------------------------------------------


class _DocumentAdmin(ReadOnlyAdmin[Any]):
    date_hierarchy = "issued_at"
    exclude = ("pdf",)
    ordering = ("-year", "-sequence")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).defer("pdf")

    @admin.display(description="Buyer")
    def buyer_name(self, obj: Any) -> str:
        return str(obj.buyer.get("name", ""))

    net = money_display("net_amount", description="net")
    tax = money_display("tax_amount", description="tax")
    total = money_display("total_amount", description="total")
    issued = local_time_display("issued_at", description="issued")


@admin.register(Invoice)
class InvoiceAdmin(_DocumentAdmin):
    """Invoices as issued; export a period as CSV at /console/invoices.csv?from=YYYY-MM-DD&to=YYYY-MM-DD."""

    list_display = ("number", "order", "issued", "buyer_name", "net", "tax", "total")
    search_fields = ("number", "order__code", "order__email")
    list_select_related = ("order",)


@admin.register(CreditNote)
class CreditNoteAdmin(_DocumentAdmin):
    list_display = ("number", "invoice", "issued", "buyer_name", "net", "tax", "total")
    search_fields = ("number", "invoice__number", "stripe_refund_id")
    list_select_related = ("invoice",)


@admin.register(ReconcileRun)
class ReconcileRunAdmin(ReadOnlyAdmin[ReconcileRun]):
    """When the worker last reconciled with Stripe, and what it found (the report)."""

    list_display = ["started", "finished", "events_seen", "sessions_seen", "fixed", "errors"]
    started = local_time_display("started_at", description="started")
    finished = local_time_display("finished_at", description="finished")
    list_filter = ["started_at"]
    search_fields = ["report"]
