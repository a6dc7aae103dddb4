"""The email outbox: queue an email in the business write's transaction, send it later, exactly once per key.

`email_queue` renders the subject and bodies when it is called (what the customer reads is what the order
was at that moment) and stores them under a unique key; queueing the same key again returns the first row
unchanged. `emails_send_due` (called by the worker) claims a few due rows at a time under their row locks
(`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's write lock serialises the claim), leases them by
moving `next_attempt_at` past any SMTP timeout, sends them over one SMTP connection outside the transaction,
and records each outcome: `sent` (for the batch at once, when it is through), or `failed` with an exponential
backoff, or `dead` after `EMAIL_MAX_ATTEMPTS` attempts. A sender that crashes mid-send leaves its rows
leased; another sender retries them once the lease lapses.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import encoders
from email.mime.base import MIMEBase
from email.mime.text import MIMEText
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import F, Max, QuerySet
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone

from bookdesk.catalog.selectors import business_time_zone
from bookdesk.errors import Conflict, NotFound
from bookdesk.notifications import ics
from bookdesk.notifications.models import OutgoingEmail
from bookdesk.ops.metrics import EMAILS
from bookdesk.orders.audit import audit
from bookdesk.orders.downloads import Download, download_url, grant_downloads, link_lifetime
from bookdesk.orders.models import Booking, Grant, HoldStatus, Order, OrderLine, Reservation, Shipment
from bookdesk.orders.selectors import lines_with_holds
from bookdesk.payments import documents

logger = logging.getLogger("bookdesk.notifications")

DEFAULT_MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
# How long a claimed email stays out of other senders' reach: longer than any SMTP exchange can take.
CLAIM_LEASE = timedelta(minutes=5)
# Emails claimed (and sent over one connection) at a time.
CLAIM_BATCH = 20
MAX_ERROR_LENGTH = 1000
SUBJECT_LENGTH = 300

Status = OutgoingEmail.Status
DUE = (Status.PENDING, Status.FAILED)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


@dataclass(frozen=True)
class DocumentAttachment:
    """An invoice or credit note attached by reference: its PDF is made once and stored on the document
    (`payments.documents.document_pdf`), so the row keeps no copy and every attempt sends the same bytes."""

    filename: str
    reference: str  # `invoice:12`, `credit_note:3`
    mimetype: str = "application/pdf"

    @staticmethod
    def of(document: documents.Document) -> DocumentAttachment:
        return DocumentAttachment(documents.document_filename(document), documents.document_reference(document))


# --- queueing ------------------------------------------------------------------------------------


def max_attempts() -> int:
    return int(getattr(settings, "EMAIL_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def render_email(template: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) from `notifications/<template>_subject.txt`, `.txt` and `.html` (optional).

    Times render in the business's time zone; every template also gets `site_name` and `site_url`.
    """
    full_context = {"site_name": settings.BOOKDESK_NAME, "site_url": settings.SITE_URL, **context}
    html = ""
    with timezone.override(business_time_zone()):
        subject = str(render_to_string(f"notifications/{template}_subject.txt", full_context))
        text = str(render_to_string(f"notifications/{template}.txt", full_context))
        with contextlib.suppress(TemplateDoesNotExist):  # an HTML part is optional
            html = str(render_to_string(f"notifications/{template}.html", full_context)).strip()
    # One line, whatever the template's comments and newlines (a newline in a header would be an injection).
    subject = " ".join(subject.split())[:SUBJECT_LENGTH]
    return subject, _tidy_text(text), (html + "\n" if html else "")


def _tidy_text(text: str) -> str:
    """Template tags leave blank lines behind: drop trailing spaces and keep at most one empty line in a row."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def email_compose(
    *,
    key: str,
    to: str,
    template: str,
    context: Mapping[str, Any],
    attachments: Iterable[Attachment | DocumentAttachment] = (),
    order: Order | None = None,
) -> OutgoingEmail:
    """Render an email into an outbox row, not stored yet (`emails_queue` stores rows)."""
    subject, text, html = render_email(template, context)
    stored = [_stored_attachment(item) for item in attachments]
    return OutgoingEmail(
        key=key, to=to, subject=subject, text_body=text, html_body=html, attachments=stored, order=order
    )


def _stored_attachment(item: Attachment | DocumentAttachment) -> dict[str, str]:
    if isinstance(item, DocumentAttachment):
        return {"filename": item.filename, "document": item.reference, "mimetype": item.mimetype}
    return {
        "filename": item.filename,
        "content_base64": base64.b64encode(item.content).decode("ascii"),
        "mimetype": item.mimetype,
    }


def emails_queue(emails: Iterable[OutgoingEmail]) -> None:
    """Store rendered emails to send, in one statement; a key queued before keeps its first row.

    Call it inside the business write's transaction: the emails exist if and only if the write commits.
    """
    # ON CONFLICT DO NOTHING, whoever else queues the same key meanwhile: the first row stands.
    OutgoingEmail.objects.bulk_create(list(emails), ignore_conflicts=True)


def email_queue(
    *,
    key: str,
    to: str,
    template: str,
    context: Mapping[str, Any],
    attachments: Iterable[Attachment | DocumentAttachment] = (),
    order: Order | None = None,
) -> OutgoingEmail:
    """Render and store an email to send; the same key always returns the one row first queued under it."""
    emails_queue(
        [email_compose(key=key, to=to, template=template, context=context, attachments=attachments, order=order)]
    )
    return OutgoingEmail.objects.get(key=key)


@transaction.atomic
def email_requeue(*, email: OutgoingEmail) -> bool:
    """Give a failed or dead email a fresh set of attempts (an operator's action); a sent one stays sent."""
    moved = OutgoingEmail.objects.filter(pk=email.pk, status__in=[Status.FAILED, Status.DEAD]).update(
        status=Status.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error=""
    )
    return bool(moved)


class EmailNotRetryable(Conflict):
    code = "email_not_retryable"
    title = "This email is not waiting for a retry"


@transaction.atomic
def email_retry(*, email_id: int, actor: str) -> OutgoingEmail:
    """An operator sends a failed or dead email again (the worker sends it next round); audited.

    Refused, changing nothing, for an email that was sent or queued again meanwhile.
    """
    email = OutgoingEmail.objects.select_for_update(of=("self",)).select_related("order").filter(pk=email_id).first()
    if email is None:
        raise NotFound("No such email.")
    if not email_requeue(email=email):
        raise EmailNotRetryable(
            f"The email {email.key} is {email.get_status_display().lower()}, not failed; nothing was changed."
        )
    audit(
        actor=actor,
        action="email.retried",
        obj=email,
        order=email.order,
        data={"key": email.key, "was": email.status, "attempts": email.attempts},
    )
    email.refresh_from_db()
    return email


# --- sending -------------------------------------------------------------------------------------


def emails_send_due(*, now: datetime | None = None, limit: int = 50) -> int:
    """Send up to `limit` due emails (pending, or failed and due again); returns how many were sent."""
    sent = tried = 0
    while tried < limit:
        moment = now or timezone.now()
        emails, buried = _claim_due(moment, min(CLAIM_BATCH, limit - tried))
        if not emails and not buried:
            break
        tried += len(emails) + buried
        sent += _deliver_all(emails, moment)
    return sent


def _due(moment: datetime) -> QuerySet[OutgoingEmail]:
    return OutgoingEmail.objects.filter(status__in=DUE, next_attempt_at__lte=moment)


def _claim_due(moment: datetime, size: int) -> tuple[list[OutgoingEmail], int]:
    """Lock up to `size` due emails, count the attempt and lease them, so no other sender takes them meanwhile.

    A due email with no attempt left is one whose sender died during its last allowed attempt: it is marked
    dead instead. Returns the leased emails and how many were marked dead.
    """
    with transaction.atomic():
        due = _due(moment).order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        elif connection.features.has_select_for_update:
            due = due.select_for_update()
        rows = list(due[:size])
        exhausted = [email.pk for email in rows if email.attempts >= max_attempts()]
        if exhausted:
            OutgoingEmail.objects.filter(pk__in=exhausted).update(
                status=Status.DEAD, last_error="Gave up: the last attempt never finished (the sender stopped)."
            )
            EMAILS.labels(outcome="dead").inc(len(exhausted))
            logger.error("%d emails marked dead: their last attempt never finished", len(exhausted))
        emails = [email for email in rows if email.attempts < max_attempts()]
        lease = moment + CLAIM_LEASE
        if emails:
            OutgoingEmail.objects.filter(pk__in=[email.pk for email in emails]).update(
                attempts=F("attempts") + 1, next_attempt_at=lease
            )
        for email in emails:
            email.attempts += 1
            email.next_attempt_at = lease
        return emails, len(exhausted)


def _deliver_all(emails: list[OutgoingEmail], moment: datetime) -> int:
    """Send the claimed emails over one connection to the mail server (a fresh one after any failure).

    The emails the server took are marked sent together once the batch is through (one statement, not
    one commit per email); a sender that dies mid-batch repeats the ones it had sent (with the same
    Message-ID) when their lease lapses. A failure is recorded as it happens.
    """
    sent: list[int] = []
    mail: BaseEmailBackend | None = None
    try:
        for email in emails:
            try:
                if mail is None:
                    mail = get_connection(fail_silently=False)
                    mail.open()
                if mail.send_messages([build_message(email)]) != 1:
                    raise RuntimeError("The mail backend did not accept the message.")
            except Exception as exc:  # whatever the backend raises, the row records it and retries
                _record_failure(email, exc, moment)
                _close_quietly(mail)
                mail = None
                continue
            sent.append(email.pk)
            logger.info("email %s sent to %s (attempt %d)", email.key, email.to, email.attempts)
    finally:
        _close_quietly(mail)
        if sent:
            OutgoingEmail.objects.filter(pk__in=sent).update(status=Status.SENT, sent_at=timezone.now(), last_error="")
            EMAILS.labels(outcome="sent").inc(len(sent))
    return len(sent)


def _close_quietly(mail: BaseEmailBackend | None) -> None:
    if mail is not None:
        with contextlib.suppress(Exception):  # a connection that failed may fail to close too
            mail.close()


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … after the 1st, 2nd, 3rd failed attempt; at most an hour."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def _record_failure(email: OutgoingEmail, exc: Exception, moment: datetime) -> None:
    error = _describe(exc)
    if email.attempts >= max_attempts():
        status, next_attempt_at, outcome = Status.DEAD, moment, "dead"
        logger.error("email %s is dead after %d attempts: %s", email.key, email.attempts, error)
    else:
        status, next_attempt_at, outcome = Status.FAILED, moment + backoff(email.attempts), "failed"
        logger.warning(
            "email %s failed (attempt %d), retrying at %s: %s", email.key, email.attempts, next_attempt_at, error
        )
    OutgoingEmail.objects.filter(pk=email.pk).exclude(status=Status.SENT).update(
        status=status, next_attempt_at=next_attempt_at, last_error=error
    )
    EMAILS.labels(outcome=outcome).inc()


def _describe(exc: Exception) -> str:
    """The error for an operator to read, with the SMTP password scrubbed should a server echo it."""
    text = f"{type(exc).__name__}: {exc}"
    password = str(getattr(settings, "EMAIL_HOST_PASSWORD", "") or "")
    if password:
        text = text.replace(password, "********")
    return text[:MAX_ERROR_LENGTH]


def build_message(email: OutgoingEmail) -> EmailMultiAlternatives:
    """The email as Django's mail sends it: text, the HTML alternative, the attachments."""
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text_body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        # The same Message-ID on every attempt lets a mail client fold a rare double delivery into one.
        headers={"Message-ID": _message_id(email.key), "Auto-Submitted": "auto-generated"},
    )
    if email.html_body:
        message.attach_alternative(email.html_body, "text/html")
    for item in email.attachments:
        message.attach(_mime_attachment(item))
    return message


def _message_id(key: str) -> str:
    domain = urlsplit(settings.SITE_URL).hostname or "bookdesk.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def _mime_attachment(item: Mapping[str, str]) -> MIMEBase:
    """A MIME part for a stored attachment, keeping its content type's parameters (`method=PUBLISH`).

    A document attached by reference is read from its stored PDF (made on this first need if not yet).
    """
    if "document" in item:
        content = documents.document_pdf(documents.document_by_reference(item["document"]))
    else:
        content = base64.b64decode(item["content_base64"])
    base, *params = (part.strip() for part in (item.get("mimetype") or "application/octet-stream").split(";"))
    maintype, _, subtype = base.partition("/")
    part: MIMEBase
    if maintype == "text":
        # utf-8 text parts are base64-encoded by the email package, so CRLF line endings arrive intact.
        part = MIMEText(content.decode("utf-8"), subtype, "utf-8")
    else:
        part = MIMEBase(maintype, subtype or "octet-stream")
        part.set_payload(content)
        encoders.encode_base64(part)
    for param in params:
        name, _, value = param.partition("=")
        if name and name.strip().lower() != "charset":
            part.set_param(name.strip(), value.strip().strip('"'))
    part.add_header("Content-Disposition", "attachment", filename=item["filename"])
    return part


# --- the customer's emails about an order --------------------------------------------------------


@dataclass(frozen=True)
class LineView:
    """An order line as the emails show it."""

    description: str
    kind: str
    quantity: int
    unit_amount: int
    total_amount: int
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    location: str = ""
    download_url: str = ""
    downloads: tuple[Download, ...] = ()


def _line_view(line: OrderLine) -> LineView:
    fields: dict[str, Any] = {
        "description": line.description,
        "kind": line.kind,
        "quantity": line.quantity,
        "unit_amount": line.unit_amount,
        "total_amount": line.total_amount,
    }
    hold = line.hold
    # Dates show in any hold state (a failed payment's email names what was tried); a link needs a confirmed grant.
    if isinstance(hold, Booking):
        fields |= {"starts_at": hold.course.starts_at, "ends_at": hold.course.ends_at, "location": hold.course.location}
    elif isinstance(hold, Reservation):
        fields |= {"starts_at": hold.starts_at, "ends_at": hold.ends_at, "location": hold.resource.name}
    elif isinstance(hold, Grant) and hold.status == HoldStatus.CONFIRMED:
        fields["download_url"] = download_url(hold)
        fields["downloads"] = tuple(grant_downloads(hold))
    return LineView(**fields)


def _order_context(order: Order, lines: Iterable[OrderLine] | None = None) -> dict[str, Any]:
    lines = lines_with_holds(order) if lines is None else lines
    return {
        "order": order,
        "lines": [_line_view(line) for line in lines],
        "order_url": f"{settings.SITE_URL}/orders/{order.code}",
        "contact_email": settings.DEFAULT_FROM_EMAIL,
    }


def _queue_for_order(*, key: str, order: Order, template: str, context: dict[str, Any]) -> OutgoingEmail:
    return email_queue(key=key, to=order.email, template=template, context=context, order=order)


def order_confirmation(
    order: Order, lines: Sequence[OrderLine], invoice: documents.Invoice | None = None
) -> OutgoingEmail:
    """The confirmation, rendered but not stored: lines and totals, an .ics for seats and slots, download links,
    the invoice's PDF.

    `lines` are the order's lines as `lines_with_holds` reads them.
    """
    context = _order_context(order, lines)
    calendar = ics.calendar_for(order, lines)
    context |= {
        "has_calendar": calendar is not None,
        "downloads": [line for line in context["lines"] if line.download_url],
        "link_days": link_lifetime().days,
        "invoice_number": invoice.number if invoice is not None else "",
    }
    attachments: list[Attachment | DocumentAttachment] = (
        [Attachment(f"{order.code}.ics", calendar, ics.CONTENT_TYPE)] if calendar is not None else []
    )
    if invoice is not None:
        attachments.append(DocumentAttachment.of(invoice))
    return email_compose(
        key=f"order:{order.code}:confirmation",
        to=order.email,
        template="order_confirmed",
        context=context,
        attachments=attachments,
        order=order,
    )


def notify_order_confirmed(order: Order) -> OutgoingEmail:
    """Queue the order's confirmation (once: its key is the order's)."""
    invoice = documents.Invoice.objects.filter(order=order).defer("pdf").first()
    email = order_confirmation(order, list(lines_with_holds(order)), invoice)
    emails_queue([email])
    return OutgoingEmail.objects.get(key=email.key)


def notify_orders_confirmed(orders: Iterable[tuple[Order, Sequence[OrderLine]]]) -> None:
    """Queue the confirmations of several orders (each with its lines, and its invoice) in one statement."""
    orders = list(orders)
    invoices = {
        invoice.order_id: invoice
        for invoice in documents.documents_for_email(invoice_orders=[order.pk for order, _ in orders])
        if isinstance(invoice, documents.Invoice)
    }
    emails_queue(order_confirmation(order, lines, invoices.get(order.pk)) for order, lines in orders)


def notify_payment_failed(order: Order, retry_url: str, *, attempt: int | None = None) -> OutgoingEmail:
    """The payment of an attempt failed: one email per attempt, with a link to try again."""
    if attempt is None:
        attempt = order.payments.aggregate(last=Max("attempt"))["last"] or 1
    context = _order_context(order) | {"retry_url": retry_url, "attempt": attempt}
    return _queue_for_order(
        key=f"order:{order.code}:payment_failed:{attempt}", order=order, template="payment_failed", context=context
    )


def notify_shipment_shipped(shipment: Shipment) -> OutgoingEmail:
    """The goods left: carrier, tracking number and the tracking link (one email per shipment)."""
    order = shipment.order
    context = _order_context(order) | {"shipment": shipment}
    return _queue_for_order(
        key=f"order:{order.code}:shipped:{shipment.pk}", order=order, template="shipment_shipped", context=context
    )


def notify_refund_issued(order: Order, amount: int, refund_id: str) -> OutgoingEmail:
    """A refund (by the customer's cancellation or an operator) was issued through Stripe, with its credit note.

    The credit note is issued in the same transaction, before this email is queued (`payments.documents`
    listens to the refund first: the payments app is ready before this one).
    """
    notes = documents.documents_for_email(refund_ids=[refund_id])
    context = _order_context(order) | {
        "amount": amount,
        "refund_id": refund_id,
        "full_refund": amount >= order.total_amount,
        "credit_note_number": notes[0].number if notes else "",
    }
    return email_queue(
        key=f"refund:{refund_id}",
        to=order.email,
        template="refund_issued",
        context=context,
        order=order,
        attachments=[DocumentAttachment.of(note) for note in notes],
    )


def notify_late_payment_refunded(order: Order, amount: int, refund_id: str) -> OutgoingEmail:
    """A payment arrived after the order's hold lapsed and what it held was gone: refunded in full."""
    context = _order_context(order) | {"amount": amount, "refund_id": refund_id}
    return _queue_for_order(
        key=f"order:{order.code}:late_refund:{refund_id}",
        order=order,
        template="late_payment_refunded",
        context=context,
    )


def notify_duplicate_payment_refunded(order: Order, amount: int, refund_id: str) -> OutgoingEmail:
    """The order was paid twice (two checkout sessions): the second payment was refunded."""
    context = _order_context(order) | {"amount": amount, "refund_id": refund_id}
    return _queue_for_order(
        key=f"order:{order.code}:duplicate_refund:{refund_id}",
        order=order,
        template="duplicate_payment_refunded",
        context=context,
    )
