"""An invoice's or credit note's PDF (fpdf2), from the document's frozen fields only.

The core Helvetica font keeps a page at a few milliseconds of CPU and needs no font file on the server; it
speaks Latin-1, so other characters are replaced by their nearest ASCII (a dash for “—”) or "?". Amounts read
"19.99 EUR": the core fonts have no euro sign.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from fpdf import FPDF

from bookdesk.catalog.selectors import business_time_zone
from bookdesk.money import decimals
from bookdesk.payments.models import CreditNote, Invoice

Document = Invoice | CreditNote

_REPLACEMENTS = str.maketrans(
    {"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "•": "*", "€": "EUR", "×": "x"}
)
# Column widths (mm) of the lines table on an A4 page with 18 mm margins: 174 mm in all.
_COLUMNS = (
    ("Description", 74, "L"),
    ("Qty", 12, "R"),
    ("Unit price", 26, "R"),
    ("Tax", 16, "R"),
    ("Tax amount", 22, "R"),
    ("Amount", 24, "R"),
)


@dataclass(frozen=True)
class RateSummary:
    rate: int  # basis points
    net: int
    tax: int
    gross: int


def tax_summary(lines: Iterable[Mapping[str, Any]]) -> list[RateSummary]:
    """Net, tax and gross per tax rate, highest rate first."""
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in lines:
        total = sums[int(line["tax_rate"])]
        total[0] += int(line["net"])
        total[1] += int(line["tax"])
        total[2] += int(line["gross"])
    return [RateSummary(rate, *sums[rate]) for rate in sorted(sums, reverse=True)]


def format_rate(basis_points: int) -> str:
    whole, part = divmod(int(basis_points), 100)
    return f"{whole}.{part:02d}".rstrip("0").rstrip(".") + " %"


def latin1(text: Any) -> str:
    text = str(text).translate(_REPLACEMENTS)
    if all(ord(ch) < 256 for ch in text):
        return text
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch if ord(ch) < 256 else "?" for ch in folded if not unicodedata.combining(ch))


def amount_text(amount: int, currency: str) -> str:
    places = decimals(currency)
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(int(amount)), 10**places)
    return f"{sign}{whole:,}" + (f".{minor:0{places}d}" if places else "") + f" {currency.upper()}"


def render(document: Document) -> bytes:
    is_credit = isinstance(document, CreditNote)
    title = "Credit note" if is_credit else "Invoice"
    currency = document.currency
    issued = timezone.localtime(document.issued_at, business_time_zone())

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_creation_date(document.issued_at)  # the same bytes whenever it is rendered
    pdf.set_title(latin1(f"{title} {document.number}"))
    pdf.set_author(latin1(document.seller.get("name", "")))
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()

    seller = document.seller
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 7, latin1(seller.get("name", "")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    for line in seller.get("address", []):
        pdf.cell(0, 4.5, latin1(line), new_x="LMARGIN", new_y="NEXT")
    if seller.get("vat_id"):
        pdf.cell(0, 4.5, latin1(f"VAT ID: {seller['vat_id']}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)

    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 9, latin1(f"{title} {document.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 5, f"Date: {issued:%d %B %Y}", new_x="LMARGIN", new_y="NEXT")
    if is_credit:
        assert isinstance(document, CreditNote)  # noqa: S101 - narrowing for the type checker
        invoice = document.invoice
        invoiced = timezone.localtime(invoice.issued_at, business_time_zone())
        refers = f"Refers to invoice {invoice.number} of {invoiced:%d %B %Y}"
        pdf.cell(0, 5, latin1(refers), new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 5, latin1(f"Order {invoice.order.code}"), new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.cell(0, 5, latin1(f"Order {document.order.code}"), new_x="LMARGIN", new_y="NEXT")  # type: ignore[union-attr]
    pdf.ln(4)

    buyer = document.buyer
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 5, "Bill to", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for line in [buyer.get("name", ""), *buyer.get("address", []), buyer.get("email", "")]:
        if line:
            pdf.cell(0, 5, latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)

    pdf.set_font("Helvetica", "B", 9)
    pdf.set_fill_color(235, 235, 235)
    for name, width, align in _COLUMNS:
        pdf.cell(width, 6, name, border="B", align=align, fill=True)
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for line in document.lines:
        values = (
            latin1(line["description"])[:60],
            str(line["quantity"]),
            amount_text(line["unit_amount"], currency),
            format_rate(line["tax_rate"]),
            amount_text(line["tax"], currency),
            amount_text(line["gross"], currency),
        )
        for (_, width, align), value in zip(_COLUMNS, values, strict=True):
            pdf.cell(width, 6, value, align=align)
        pdf.ln()
    pdf.ln(3)

    label_width, value_width = 150, 24
    pdf.set_font("Helvetica", "", 9)
    for summary in tax_summary(document.lines):
        text = f"Tax {format_rate(summary.rate)} on {amount_text(summary.net, currency)}"
        pdf.cell(label_width, 5, text, align="R")
        pdf.cell(value_width, 5, amount_text(summary.tax, currency), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(label_width, 5, "Net total", align="R")
    pdf.cell(value_width, 5, amount_text(document.net_amount, currency), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(label_width, 5, "Tax total", align="R")
    pdf.cell(value_width, 5, amount_text(document.tax_amount, currency), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 10)
    total_label = "Total credited" if is_credit else "Total paid"
    pdf.cell(label_width, 7, total_label, align="R")
    pdf.cell(value_width, 7, amount_text(document.total_amount, currency), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 8)
    note = (
        "This credit note refunds the amount above to the original payment method."
        if is_credit
        else "Paid in full by card through Stripe. Thank you for your order."
    )
    pdf.multi_cell(0, 4, latin1(note))
    return bytes(pdf.output())
