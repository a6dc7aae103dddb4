"""Payment attempts (one Stripe Checkout Session each) and refunds."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from bookdesk.money import CURRENCY_CHOICES, format_money
from bookdesk.orders.models import Order


class Payment(models.Model):
    """One Checkout Session attempt of an order. At most one attempt of an order is open at a time."""

    class Status(models.TextChoices):
        CREATING = "creating", "Creating session"
        OPEN = "open", "Open"
        PROCESSING = "processing", "Processing"
        PAID = "paid", "Paid"
        # Paid, but not needed (a second payment of the order, or a late one whose capacity is gone):
        # to be refunded in full; REFUNDED once Stripe accepted the refund.
        REFUNDING = "refunding", "Being refunded"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"
        REFUNDED = "refunded", "Refunded"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    attempt = models.PositiveIntegerField()
    session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    # Unique: a PaymentIntent pays one Checkout Session (NULL until the session is paid or failed).
    payment_intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATING)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount_received = models.BigIntegerField(default=0)
    amount_refunded = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField()
    # Goods: the shipping options this attempt's session offered, in the session's order, and the goods'
    # share of `amount` (`amount` = goods + the cheapest option; the buyer's choice settles it).
    shipping_quote = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["order", "attempt"], name="payment_attempt_unique_per_order"),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=["creating", "open"]),
                name="payment_one_open_attempt_per_order",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_non_negative"),
        ]
        # The sales roll-up finds the days that changed since it last looked, and sums those days again
        # (payments/sales_days.py).
        indexes = [
            models.Index(fields=["updated_at"], name="payment_updated"),
            models.Index(fields=["created_at"], name="payment_created"),
        ]

    def __str__(self) -> str:
        return f"{self.order.code} attempt {self.attempt} ({self.status})"


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    stripe_refund_id = models.CharField(max_length=255, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]
        # The sales roll-up finds the days that changed since it last looked, and sums those days again.
        indexes = [
            models.Index(fields=["updated_at"], name="refund_updated"),
            models.Index(fields=["created_at"], name="refund_created"),
        ]

    def __str__(self) -> str:
        return f"{self.stripe_refund_id} ({format_money(self.amount, self.currency)})"


class WebhookEvent(models.Model):
    """The inbox: every Stripe event we accepted, once (its id is unique), with what became of it."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed (will retry)"
        DEAD = "dead", "Dead"

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    livemode = models.BooleanField(default=False)
    stripe_created = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    outcome = models.CharField(max_length=300, blank=True, help_text="What processing did, in a few words.")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Stripe event"
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self) -> str:
        return f"{self.stripe_id} {self.type} ({self.status})"


# --- invoices and credit notes (payments/documents.py issues them) ---------------------------------


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class DocumentCounter(models.Model):
    """The last number given to a kind of document in a year: the row is locked while a number is taken, in the
    transaction that writes the document, so a rollback gives the number back (no gaps) and no two take one."""

    kind = models.CharField(max_length=16, choices=DocumentKind.choices)
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "year"], name="document_counter_unique_kind_year")]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last_number}"


class _Document(models.Model):
    """What an invoice and a credit note share: a number, the parties and lines as they were at issue, the PDF.

    The PDF is a BinaryField, not a file: it commits with nothing else to keep in step, every web process reads
    it without a shared disk, and a backup of the database holds the books whole. It is rendered once from the
    frozen fields (`documents.document_pdf`) and never again.
    """

    year = models.PositiveIntegerField()
    sequence = models.PositiveIntegerField()
    number = models.CharField(max_length=40, unique=True)
    issued_at = models.DateTimeField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    # {"name", "address": [lines], "vat_id"} and {"name", "email", "address": [lines]}, as at issue.
    seller = models.JSONField()
    buyer = models.JSONField()
    # [{"description", "quantity", "unit_amount", "net", "tax_rate", "tax", "gross"}], amounts in minor units.
    lines = models.JSONField()
    net_amount = models.BigIntegerField()
    tax_amount = models.BigIntegerField()
    total_amount = models.BigIntegerField()
    pdf = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True
        ordering = ["year", "sequence"]

    def __str__(self) -> str:
        return self.number


class Invoice(_Document):
    """The invoice of a paid order: its totals are what Stripe charged."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="invoice")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="+")

    class Meta(_Document.Meta):
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="invoice_sequence_unique_per_year"),
            models.CheckConstraint(
                condition=Q(total_amount=models.F("net_amount") + models.F("tax_amount")),
                name="invoice_total_is_net_plus_tax",
            ),
        ]


class CreditNote(_Document):
    """A refund of an invoiced order, as a document referring to the invoice (amounts are positive credits)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    stripe_refund_id = models.CharField(max_length=255, unique=True)

    class Meta(_Document.Meta):
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="credit_note_sequence_unique_per_year"),
            models.CheckConstraint(
                condition=Q(total_amount=models.F("net_amount") + models.F("tax_amount")),
                name="credit_note_total_is_net_plus_tax",
            ),
        ]


class ReconcileRun(models.Model):
    """One reconciliation with Stripe: kept so that "is one due?" survives worker restarts (its interval is
    measured from the last run, whichever worker made it)."""

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    since = models.DateTimeField(help_text="The start of the window it compared.")
    events_seen = models.PositiveIntegerField(default=0)
    sessions_seen = models.PositiveIntegerField(default=0)
    fixed = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    report = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"reconcile {self.started_at:%Y-%m-%d %H:%M:%S} ({self.fixed} fixed, {self.errors} errors)"


# --- The sales roll-up (payments/sales_days.py): each business day's payments, refunds and items, summed ----------


class SalesRollup(models.Model):
    """The roll-up's own state, one row: the zone its days are in, and when it last looked for changes."""

    zone = models.CharField(max_length=64)
    checked_at = models.DateTimeField()
    # The rows written within MARGIN before checked_at, as that look saw them (sales_days._digest); "" unknown.
    margin_digest = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"sales roll-up in {self.zone}, checked {self.checked_at:%Y-%m-%d %H:%M:%S}"


class PaymentsDay(models.Model):
    """The payments created on one day (business zone) in one currency with one status: how many, money received."""

    day = models.DateField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=16, choices=Payment.Status.choices)
    count = models.IntegerField()
    received = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["currency", "day", "status"], name="payments_day_unique")]
        indexes = [models.Index(fields=["day"], name="payments_day_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency} {self.status}: {self.count}"


class RefundsDay(models.Model):
    """The refunds made (pending or succeeded) on one day in one currency: their sum."""

    day = models.DateField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["currency", "day"], name="refunds_day_unique")]
        indexes = [models.Index(fields=["day"], name="refunds_day_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency} refunds: {format_money(self.amount, self.currency)}"


# How many of each day's first items are candidates for the best sellers of a range.
ITEMS_DAY_CANDIDATES = 20


class ItemsDay(models.Model):
    """One item's lines in the paid orders created on one day in one currency: quantity and money, and the item's
    place among that day's items by money (1 = most), so the best sellers of a range start from each day's first."""

    day = models.DateField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    kind = models.CharField(max_length=16)
    # The item as one number: 4 × the course's id, 4 × the service's + 1, 4 × the licence's + 2, 4 × the goods' + 3.
    item = models.BigIntegerField()
    course = models.ForeignKey("catalog.Course", null=True, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey("catalog.Service", null=True, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", null=True, on_delete=models.CASCADE, related_name="+")
    license = models.ForeignKey("catalog.License", null=True, on_delete=models.CASCADE, related_name="+")
    quantity = models.BigIntegerField()
    revenue = models.BigIntegerField()
    rank = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="items_day_day"),
            # Each day's first items. Partial: the reads plan for their values (db.raw.custom_plans), so the
            # planner sees that rank ≤ ITEMS_DAY_CANDIDATES fits; a generic plan could not.
            models.Index(
                fields=["currency", "day"],
                include=["item", "rank", "revenue"],
                condition=Q(rank__lte=ITEMS_DAY_CANDIDATES),
                name="items_day_first",
            ),
            # An item's days: the best sellers' sums read this index only.
            models.Index(
                fields=["currency", "item", "day"],
                include=["quantity", "revenue", "kind", "course", "service", "product", "license"],
                name="items_day_item",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.day} {self.currency} item {self.item}: {self.quantity}, {format_money(self.revenue, self.currency)}"
        )
