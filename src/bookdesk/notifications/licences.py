"""Licence agreements: the PDF of what a confirmed grant allows (fpdf2), made once when its order is confirmed
(`notifications.receivers`, in the confirmation's transaction) and stored; downloads serve the stored file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from fpdf import FPDF

from bookdesk.catalog.models import License, Product
from bookdesk.catalog.selectors import business_time_zone
from bookdesk.money import format_money
from bookdesk.notifications.models import LicenceAgreement
from bookdesk.orders.models import Grant, HoldStatus, Order, OrderLine

DELIVERABLE_WORDS = {"mp3": "MP3 (320 kbps)", "wav": "WAV (untagged master)", "stems": "Track stems (ZIP)"}


@dataclass(frozen=True)
class AgreementFacts:
    number: str
    licensor: str
    licensor_address: str
    licensee: str
    licensee_email: str
    beat: str
    bpm: int | None
    key: str
    tier: str
    exclusive: bool
    deliverables: list[str]
    terms: list[str]
    notes: str
    price: str
    order_code: str
    date: datetime


def _limit(value: int | None, unit: str) -> str:
    if value is None:
        return f"Unlimited {unit}"
    if value == 0:
        return f"No {unit}"
    return f"Up to {value:,} {unit.removesuffix('s') if value == 1 else unit}"


def licence_terms(license: License) -> list[str]:
    return [
        _limit(license.streams_limit, "audio streams"),
        _limit(license.copies_limit, "sold copies"),
        _limit(license.music_videos_limit, "music videos"),
        _limit(license.radio_stations_limit, "radio stations"),
        "Credit required: “Prod. by " + settings.BOOKDESK_NAME + "”"
        if license.credit_required
        else "No credit required",
    ]


def licence_number(grant: Grant, order: Order) -> str:
    return f"LIC-{order.code.removeprefix('BD-')}-{grant.pk:06d}"


def licensee_name(order: Order) -> str:
    """The buyer's name: the account's full name, else its email address."""
    user = order.user
    name = f"{getattr(user, 'first_name', '')} {getattr(user, 'last_name', '')}".strip()
    return name or order.email


def facts_for(grant: Grant, order: Order, line: OrderLine, *, now: datetime) -> AgreementFacts:
    product: Product = grant.product
    license = grant.license
    return AgreementFacts(
        number=licence_number(grant, order),
        licensor=settings.BOOKDESK_NAME,
        licensor_address=str(getattr(settings, "BOOKDESK_ADDRESS", "") or ""),
        licensee=licensee_name(order),
        licensee_email=order.email,
        beat=product.title,
        bpm=product.bpm,
        key=product.get_musical_key_display() if product.musical_key else "",
        tier=license.name,
        exclusive=license.exclusive,
        deliverables=[DELIVERABLE_WORDS[kind] for kind in license.deliverable_list],
        terms=licence_terms(license),
        notes=license.terms,
        price=format_money(line.total_amount, order.currency),
        order_code=order.code,
        date=timezone.localtime(now, business_time_zone()),
    )


def _latin(text: str) -> str:
    """fpdf2's core fonts speak Latin-1: typographic quotes and flats become their plain forms."""
    plain = text.replace("“", '"').replace("”", '"').replace("’", "'").replace("–", "-").replace("—", "-")
    plain = plain.replace("♭", "b").replace("♯", "#").replace("€", "EUR ")
    return plain.encode("latin-1", "replace").decode("latin-1")


def licence_pdf(facts: AgreementFacts) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(_latin(f"Licence agreement {facts.number}"))
    pdf.set_author(_latin(facts.licensor))
    pdf.set_creation_date(facts.date)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, *, size: float = 10.5, style: str = "", gap: float = 1.5) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(width, size * 0.5, _latin(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    line(f"{'Exclusive' if facts.exclusive else 'Non-exclusive'} licence agreement", size=18, style="B", gap=3)
    line(f"Licence number: {facts.number}", style="B")
    line(f"Date: {facts.date:%d %B %Y}    Order: {facts.order_code}    Price paid: {facts.price}", gap=4)
    line("Licensor", size=12, style="B", gap=0.5)
    line(facts.licensor + (f", {facts.licensor_address}" if facts.licensor_address else ""), gap=3)
    line("Licensee", size=12, style="B", gap=0.5)
    line(f"{facts.licensee} <{facts.licensee_email}>", gap=3)
    line("Beat", size=12, style="B", gap=0.5)
    described = ", ".join(part for part in (f"{facts.bpm} BPM" if facts.bpm else "", facts.key) if part)
    line(f'"{facts.beat}"' + (f" ({described})" if described else "") + f" - {facts.tier}", gap=3)
    line("Files delivered", size=12, style="B", gap=0.5)
    for item in facts.deliverables or ["As described on the order"]:
        line(f"- {item}", gap=0.5)
    pdf.ln(2)
    line("Terms", size=12, style="B", gap=0.5)
    for term in facts.terms:
        line(f"- {term}", gap=0.5)
    if facts.notes:
        line(facts.notes, gap=0.5)
    pdf.ln(2)
    grant_words = (
        "The licensor grants the licensee the exclusive right to use the beat within the terms above; the beat is "
        "withdrawn from sale. Licences sold before this one remain valid."
        if facts.exclusive
        else "The licensor grants the licensee a non-exclusive, non-transferable right to use the beat in one new "
        "song within the terms above. The licensor keeps the copyright and may license the beat to others."
    )
    line(grant_words, size=9.5, gap=2)
    line("The licence begins on the date above and is valid worldwide while its terms are kept.", size=9.5)
    return bytes(pdf.output())


def agreements_make(confirmed: Sequence[tuple[Order, Sequence[OrderLine]]], *, now: datetime | None = None) -> int:
    """Make and store the agreement of every confirmed grant that has none yet; returns how many were made."""
    now = now or timezone.now()
    # Only licence lines have a grant (asking another line for one would cost a query each).
    granted = [
        (order, line, grant)
        for order, lines in confirmed
        for line in lines
        if line.kind == OrderLine.Kind.PRODUCT
        and line.license_id is not None
        and (grant := getattr(line, "grant", None)) is not None
        and grant.status == HoldStatus.CONFIRMED
    ]
    if not granted:
        return 0
    made_before = set(
        LicenceAgreement.objects.filter(grant__in=[grant for _, _, grant in granted]).values_list("grant_id", flat=True)
    )
    made = 0
    for order, line, grant in granted:
        if grant.pk not in made_before:
            facts = facts_for(grant, order, line, now=now)
            agreement = LicenceAgreement(grant=grant, number=facts.number, licensee=facts.licensee[:200])
            agreement.file.save(f"{facts.number}.pdf", ContentFile(licence_pdf(facts)), save=False)
            agreement.save()
            made += 1
    return made
