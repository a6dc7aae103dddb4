"""The packing slip of a shipment: a one-page PDF (fpdf2) that goes in the parcel — the shop's name, the
order code, the address, and each line with its quantity (no prices)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils import timezone
from fpdf import FPDF

from bookdesk.catalog.selectors import business_time_zone
from bookdesk.orders.models import OrderLine, Shipment

# A Unicode font when the system has one (names and titles are anyone's); otherwise the PDF core font, with
# the text folded to Latin-1.
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_DEJAVU_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def _pdf() -> tuple[FPDF, str]:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_creator(settings.BOOKDESK_NAME)
    if _DEJAVU.exists() and _DEJAVU_BOLD.exists():
        pdf.add_font("DejaVu", "", str(_DEJAVU))
        pdf.add_font("DejaVu", "B", str(_DEJAVU_BOLD))
        return pdf, "DejaVu"
    return pdf, "Helvetica"


def _text(value: str, family: str) -> str:
    return value if family != "Helvetica" else value.encode("latin-1", "replace").decode("latin-1")


def shipment_packing_slip(shipment: Shipment) -> bytes:
    """The slip of `shipment`, with every line of its order (one query for the lines)."""
    lines = list(OrderLine.objects.filter(order_id=shipment.order_id).select_related("product").order_by("pk"))
    return packing_slip_pdf(shipment, lines)


def packing_slip_pdf(shipment: Shipment, lines: list[OrderLine]) -> bytes:
    """The slip of `shipment` with the order's `lines` (goods first; every line is listed with its quantity)."""
    order = shipment.order
    pdf, family = _pdf()
    pdf.set_title(_text(f"Packing slip {order.code}", family))
    pdf.add_page()
    pdf.set_font(family, "B", 18)
    pdf.cell(0, 10, _text(str(settings.BOOKDESK_NAME), family), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 11)
    placed = timezone.localtime(order.created_at, business_time_zone())
    pdf.cell(0, 7, _text(f"Packing slip — order {order.code}", family), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, _text(f"Ordered {placed:%d %b %Y}", family), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, _text(f"Shipping: {shipment.rate_name}", family), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font(family, "B", 11)
    pdf.cell(0, 7, "Ship to", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 12)
    for part in shipment.address_lines:
        pdf.cell(0, 7, _text(part, family), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font(family, "B", 11)
    pdf.cell(25, 8, "Qty", border="B")
    pdf.cell(0, 8, "Item", border="B", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 11)
    ships = [line for line in lines if line.product is not None and line.product.ships]
    for line in ships:
        pdf.cell(25, 8, str(line.quantity))
        pdf.multi_cell(0, 8, _text(line.description, family), new_x="LMARGIN", new_y="NEXT")
    others = [line for line in lines if line not in ships]
    if others:
        pdf.ln(4)
        pdf.set_font(family, "", 9)
        pdf.multi_cell(
            0,
            5,
            _text("Also in this order, not in the parcel: " + "; ".join(line.description for line in others), family),
        )
    return bytes(pdf.output())
