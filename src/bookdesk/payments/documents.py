"""Invoices and credit notes: numbered without gaps per kind and year, frozen at issue, rendered to PDF once.

An invoice is issued in the transaction that confirms a paid order (`fulfilment._Confirmations.write`), so a
confirmed order always has one and a rolled-back confirmation takes its number back. A credit note is issued
in the transaction that records a refund of an invoiced order (the `refund_issued` event). Numbers come from
a `DocumentCounter` row per (kind, year) locked with SELECT … FOR UPDATE until that transaction ends: no two
documents share a number and none is skipped, across any number of processes.

Everything a document shows (seller, buyer, lines, totals) is written into its row when it is issued; the
PDF is a pure function of that row, rendered the first time it is needed (the email sender, a download) and
stored with a conditional UPDATE, so it is made once and every later read — an email's retry included —
returns the same bytes. Rendering outside the confirmation keeps the counter's lock short.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from bookdesk.catalog.selectors import business_time_zone
from bookdesk.errors import Conflict, NotFound
from bookdesk.money import decimals
from bookdesk.orders.audit import audit
from bookdesk.orders.models import Order, OrderLine
from bookdesk.payments.document_pdf import Document, format_rate, tax_summary
from bookdesk.payments.document_pdf import render as document_pdf_render
from bookdesk.payments.events import RefundCause, refund_issued
from bookdesk.payments.models import CreditNote, DocumentCounter, DocumentKind, Invoice, Payment


class NotInvoiced(Conflict):
    code = "not_invoiced"
    title = "This order has no invoice"


# --- numbers -------------------------------------------------------------------------------------


def _number_format(kind: str) -> str:
    return str(settings.INVOICE_NUMBER_FORMAT if kind == DocumentKind.INVOICE else settings.CREDIT_NOTE_NUMBER_FORMAT)


def numbers_take(*, kind: str, year: int, count: int = 1) -> list[int]:
    """The next `count` numbers of a kind of document in a year, under the counter row's lock.

    Call it inside the transaction that writes the documents: the lock is held until it ends, so the
    numbers are taken in commit order and a rollback leaves the counter as it was.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("numbers_take must run in the transaction that writes the documents")
    # The year's first document makes the row; always the same statements (an upsert), however many race.
    DocumentCounter.objects.bulk_create([DocumentCounter(kind=kind, year=year)], ignore_conflicts=True)
    counter = DocumentCounter.objects.select_for_update().get(kind=kind, year=year)
    first = counter.last_number + 1
    counter.last_number += count
    counter.save(update_fields=["last_number"])
    return list(range(first, first + count))


def _year(moment: datetime) -> int:
    """The business's year of a moment (an invoice issued at 00:30 on 1 January in Berlin is of the new year)."""
    return timezone.localtime(moment, business_time_zone()).year


# --- what a document shows -----------------------------------------------------------------------


def seller_details() -> dict[str, Any]:
    return {
        "name": settings.SELLER_LEGAL_NAME,
        "address": list(settings.SELLER_ADDRESS),
        "vat_id": settings.SELLER_VAT_ID,
    }


ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "state", "country")


def buyer_details(order: Order, customer_details: Mapping[str, Any] | None) -> dict[str, Any]:
    """The buyer as the Checkout Session's `customer_details` name them at completion, what of it is present.

    Without a name there (Checkout asks for one only when it collects an address), the order's email stands in.
    """
    details = customer_details or {}
    address = details.get("address") or {}
    postal_city = " ".join(str(address.get(key) or "").strip() for key in ("postal_code", "city")).strip()
    lines = [
        str(address.get("line1") or "").strip(),
        str(address.get("line2") or "").strip(),
        postal_city,
        str(address.get("state") or "").strip(),
        str(address.get("country") or "").strip(),
    ]
    name = str(details.get("name") or "").strip() or order.email
    email = str(details.get("email") or order.email)
    return {"name": name, "email": email, "address": [line for line in lines if line]}


def _invoice_lines(order: Order, order_lines: Sequence[OrderLine]) -> list[dict[str, Any]]:
    """The order's lines as priced, and shipping as a line of its own taxed at the default rate."""
    inclusive = _inclusive(order, order_lines)
    lines = []
    for line in order_lines:
        net = line.total_amount - line.tax_amount if inclusive else line.total_amount
        lines.append(
            {
                "description": line.description,
                "quantity": line.quantity,
                "unit_amount": line.unit_amount,
                "net": net,
                "tax_rate": line.tax_rate,
                "tax": line.tax_amount,
                "gross": net + line.tax_amount,
            }
        )
    if order.shipping_amount:
        # The order's tax less its lines' is shipping's (orders.pricing taxes shipping at the default rate).
        tax = order.tax_amount - sum(line.tax_amount for line in order_lines)
        net = order.shipping_amount - tax if inclusive else order.shipping_amount
        lines.append(
            {
                "description": "Shipping",
                "quantity": 1,
                "unit_amount": order.shipping_amount,
                "net": net,
                "tax_rate": int(settings.TAX_RATE_DEFAULT),
                "tax": tax,
                "gross": net + tax,
            }
        )
    return lines


def _inclusive(order: Order, order_lines: Sequence[OrderLine]) -> bool:
    """Whether the order's prices held their tax: its total is then its lines and shipping, nothing added."""
    return order.total_amount == sum(line.total_amount for line in order_lines) + order.shipping_amount


# --- issuing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paid:
    """A confirmed order to invoice: its lines, the payment that paid it, the session's customer details."""

    order: Order
    lines: Sequence[OrderLine]
    payment: Payment
    customer_details: Mapping[str, Any] | None


def invoices_issue(paid: Sequence[Paid], *, actor: str, now: datetime | None = None) -> list[Invoice]:
    """Issue the invoices of orders just confirmed, in the caller's (the confirmation's) transaction.

    The numbers of a batch are taken in one go, in the order given. An order invoiced already keeps its invoice.
    """
    now = now or timezone.now()
    invoiced = set(Invoice.objects.filter(order__in=[p.order.pk for p in paid]).values_list("order_id", flat=True))
    todo = [p for p in paid if p.order.pk not in invoiced]
    if not todo:
        return []
    year = _year(now)
    numbers = numbers_take(kind=DocumentKind.INVOICE, year=year, count=len(todo))
    seller = seller_details()
    invoices = []
    for item, sequence in zip(todo, numbers, strict=True):
        order = item.order
        lines = _invoice_lines(order, item.lines)
        net, tax = sum(line["net"] for line in lines), sum(line["tax"] for line in lines)
        if net + tax != order.total_amount:  # the order's own figures disagree: never issue a wrong invoice
            raise ValueError(f"order {order.code}: lines add up to {net + tax}, its total is {order.total_amount}")
        invoices.append(
            Invoice(
                order=order,
                payment=item.payment,
                year=year,
                sequence=sequence,
                number=_number_format(DocumentKind.INVOICE).format(year=year, number=sequence),
                issued_at=now,
                currency=order.currency,
                seller=seller,
                buyer=buyer_details(order, item.customer_details),
                lines=lines,
                net_amount=net,
                tax_amount=tax,
                total_amount=order.total_amount,
            )
        )
    Invoice.objects.bulk_create(invoices)
    for invoice in invoices:
        audit(
            actor=actor,
            action="invoice.issued",
            obj=invoice,
            order=invoice.order,
            data={"number": invoice.number, "total": invoice.total_amount},
        )
    return invoices


def _credited(invoice: Invoice) -> dict[int, list[int]]:
    """What the invoice's credit notes gave back so far, per rate: [gross, tax]."""
    credited: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for note in invoice.credit_notes.all():
        for line in note.lines:
            credited[int(line["tax_rate"])][0] += int(line["gross"])
            credited[int(line["tax_rate"])][1] += int(line["tax"])
    return credited


def credit_lines(invoice: Invoice, amount: int) -> list[dict[str, Any]]:
    """`amount` of the invoice's total given back, split over its tax rates in proportion to what is left of each.

    The last refund (all that is left) gives back exactly what is left of each rate's gross and tax, so the
    credit notes of a fully refunded invoice add up to the invoice to the cent; a partial one is split by
    largest remainders and its tax taken in the same proportion as what is left (rounded half up).
    """
    credited = _credited(invoice)
    left = [
        (rate.rate, rate.gross - credited[rate.rate][0], rate.tax - credited[rate.rate][1])
        for rate in tax_summary(invoice.lines)
    ]
    left = [(rate, gross, tax) for rate, gross, tax in left if gross > 0]
    left_total = sum(gross for _, gross, _ in left)
    if not 0 < amount <= left_total:
        raise Conflict(f"A credit of {amount} does not fit what is left of invoice {invoice.number} ({left_total}).")
    shares = [amount * gross // left_total for _, gross, _ in left]
    remainders = sorted(
        range(len(left)), key=lambda i: (-(amount * left[i][1] % left_total), i)
    )  # largest remainder first, then the higher rate
    for i in remainders[: amount - sum(shares)]:
        shares[i] += 1
    lines = []
    for (rate, gross, tax), share in zip(left, shares, strict=True):
        if share == 0:
            continue
        share_tax = tax if share == gross else _half_up(share * tax, gross)
        lines.append(
            {
                "description": f"Refund of invoice {invoice.number} at {format_rate(rate)}",
                "quantity": 1,
                "unit_amount": share,
                "net": share - share_tax,
                "tax_rate": rate,
                "tax": share_tax,
                "gross": share,
            }
        )
    return lines


def _half_up(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if remainder * 2 >= denominator else 0)


def credit_note_issue(
    *, order: Order, amount: int, refund_id: str, actor: str, now: datetime | None = None
) -> CreditNote | None:
    """The credit note of a refund of `amount` of an invoiced order, in the refund's transaction.

    None when the order has no invoice (money refunded before the order was ever confirmed: a late or
    duplicate payment, which no invoice charged). The same refund twice keeps its first credit note.
    """
    invoice = Invoice.objects.filter(order=order).first()
    if invoice is None:
        return None
    found = CreditNote.objects.filter(stripe_refund_id=refund_id).first()
    if found is not None:
        return found
    now = now or timezone.now()
    lines = credit_lines(invoice, amount)
    year = _year(now)
    (sequence,) = numbers_take(kind=DocumentKind.CREDIT_NOTE, year=year)
    note = CreditNote.objects.create(
        invoice=invoice,
        stripe_refund_id=refund_id,
        year=year,
        sequence=sequence,
        number=_number_format(DocumentKind.CREDIT_NOTE).format(year=year, number=sequence),
        issued_at=now,
        currency=invoice.currency,
        seller=seller_details(),
        buyer=invoice.buyer,
        lines=lines,
        net_amount=sum(line["net"] for line in lines),
        tax_amount=sum(line["tax"] for line in lines),
        total_amount=amount,
    )
    audit(
        actor=actor,
        action="credit_note.issued",
        obj=note,
        order=order,
        data={"number": note.number, "invoice": invoice.number, "total": amount, "refund": refund_id},
    )
    return note


# --- the PDF, made once --------------------------------------------------------------------------


def document_pdf(document: Document) -> bytes:
    """The document's PDF: the stored one, or rendered now and stored (once, whoever renders at the same time)."""
    stored = document.pdf  # read now if the caller's query deferred it
    if stored is not None:
        return bytes(stored)
    model = type(document)
    rendered = render_pdf(document)
    model.objects.filter(pk=document.pk, pdf__isnull=True).update(pdf=rendered)
    # Whoever stored first wins; every reader gets those bytes.
    first = model.objects.filter(pk=document.pk).values_list("pdf", flat=True).get()
    document.pdf = bytes(first) if first is not None else rendered
    return bytes(document.pdf)


def render_pdf(document: Document) -> bytes:
    return document_pdf_render(document)


def document_filename(document: Document) -> str:
    return f"{document.number}.pdf"


# --- reads ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentRef:
    kind: str
    number: str
    issued_at: datetime


def documents_of(order: Order) -> list[DocumentRef]:
    """The order's invoice and credit notes, oldest first (two small queries, PDFs left unread)."""
    invoice = Invoice.objects.filter(order=order).only("number", "issued_at").first()
    if invoice is None:
        return []
    notes = CreditNote.objects.filter(invoice=invoice).only("number", "issued_at").order_by("year", "sequence")
    return [DocumentRef(DocumentKind.INVOICE, invoice.number, invoice.issued_at)] + [
        DocumentRef(DocumentKind.CREDIT_NOTE, note.number, note.issued_at) for note in notes
    ]


def invoice_of_order(order: Order) -> Invoice:
    """The order's invoice; NotInvoiced (409) for an order that was never paid and confirmed."""
    invoice = Invoice.objects.filter(order=order).first()
    if invoice is None:
        raise NotInvoiced(f"Order {order.code} has no invoice: an order is invoiced once it is paid.")
    return invoice


def document_of_order(order: Order, number: str) -> Document:
    """One document of an order by its number; NotFound otherwise (NotInvoiced for an order without invoice)."""
    invoice = invoice_of_order(order)
    if invoice.number == number:
        return invoice
    note = CreditNote.objects.filter(invoice=invoice, number=number).first()
    if note is None:
        raise NotFound("Document not found.")
    return note


def documents_in_period(start: datetime, end: datetime) -> tuple[QuerySet[Invoice], QuerySet[CreditNote]]:
    """Invoices and credit notes issued in [start, end), without their PDFs."""
    invoices = Invoice.objects.filter(issued_at__gte=start, issued_at__lt=end).defer("pdf").order_by("year", "sequence")
    notes = CreditNote.objects.filter(issued_at__gte=start, issued_at__lt=end).defer("pdf").order_by("year", "sequence")
    return invoices, notes


def documents_for_email(*, invoice_orders: Iterable[int] = (), refund_ids: Iterable[str] = ()) -> list[Document]:
    """The invoices of these orders and the credit notes of these refunds (for emails to attach)."""
    found: list[Document] = list(Invoice.objects.filter(order__in=list(invoice_orders)).defer("pdf"))
    found += list(CreditNote.objects.filter(stripe_refund_id__in=list(refund_ids)).defer("pdf"))
    return found


def document_by_reference(reference: str) -> Document:
    """`invoice:12` or `credit_note:3` (as an email's attachment names a document) → the document."""
    kind, _, pk = reference.partition(":")
    model = Invoice if kind == DocumentKind.INVOICE else CreditNote
    return model.objects.get(pk=int(pk))


def document_reference(document: Document) -> str:
    kind = DocumentKind.INVOICE if isinstance(document, Invoice) else DocumentKind.CREDIT_NOTE
    return f"{kind}:{document.pk}"


# --- refunds -------------------------------------------------------------------------------------


def on_refund_issued(*, order: Order, amount: int, refund_id: str, cause: str, **_: Any) -> None:
    """A refund of ours was recorded (`payments.events.refund_issued`): its credit note, in that transaction.

    Every refund of invoiced money gets one; a duplicate payment's refund gives back money no invoice charged
    (and a late payment's order was never confirmed, so never invoiced: `credit_note_issue` finds no invoice).
    """
    if cause != RefundCause.DUPLICATE_PAYMENT:
        credit_note_issue(order=order, amount=amount, refund_id=refund_id, actor="system")


def connect() -> None:
    # Connected before notifications' receiver (the payments app is ready first): the refund email finds the note.
    refund_issued.connect(on_refund_issued, dispatch_uid="bookdesk.payments.documents.refund_issued")


# --- the ledger export ---------------------------------------------------------------------------


def _decimal_text(amount: int, currency: str) -> str:
    places = decimals(currency)
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(int(amount)), 10**places)
    return f"{sign}{whole}" + (f".{minor:0{places}d}" if places else "")


def _text_cell(text: str) -> str:
    """A customer's text as a spreadsheet reads it: never as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def ledger(start: datetime, end: datetime) -> tuple[list[str], list[list[str]]]:
    """Invoices and credit notes issued in [start, end) as an accountant's table, in number order.

    One row per document: number, kind, date (the business's), order, buyer, the invoice a credit note
    refers to, net, then net and tax for every rate used in the period, tax, total, currency. Credit notes
    are negative rows, so a column's sum is what the period brought in.
    """
    invoices, notes = documents_in_period(start, end)
    rows: list[tuple[Document, int]] = [(invoice, 1) for invoice in invoices.select_related("order")]
    rows += [(note, -1) for note in notes.select_related("invoice__order")]
    rows.sort(key=lambda row: (row[0].issued_at, row[1] < 0, row[0].sequence))
    rates = sorted({int(line["tax_rate"]) for document, _ in rows for line in document.lines}, reverse=True)
    header = ["number", "kind", "date", "order", "buyer", "refers_to", "net"]
    for rate in rates:
        header += [f"net {format_rate(rate)}", f"tax {format_rate(rate)}"]
    header += ["tax", "total", "currency"]
    table = []
    zone = business_time_zone()
    for document, sign in rows:
        currency = document.currency
        invoice = document.invoice if isinstance(document, CreditNote) else document
        by_rate = {summary.rate: summary for summary in tax_summary(document.lines)}
        row = [
            document.number,
            DocumentKind.CREDIT_NOTE if sign < 0 else DocumentKind.INVOICE,
            f"{timezone.localtime(document.issued_at, zone):%Y-%m-%d}",
            invoice.order.code,
            _text_cell(str(document.buyer.get("name", ""))),
            invoice.number if sign < 0 else "",
            _decimal_text(sign * document.net_amount, currency),
        ]
        for rate in rates:
            summary = by_rate.get(rate)
            row += [
                _decimal_text(sign * summary.net, currency) if summary else "",
                _decimal_text(sign * summary.tax, currency) if summary else "",
            ]
        row += [
            _decimal_text(sign * document.tax_amount, currency),
            _decimal_text(sign * document.total_amount, currency),
            currency.upper(),
        ]
        table.append(row)
    return header, table
