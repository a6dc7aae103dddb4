"""Invoices and credit notes in the browser: pay, find the invoice on the order page and in the email, cancel,
find the credit note. Screenshots: test-output/screenshots/documents-*.png (1280 and 390 px wide)."""

from __future__ import annotations

import io
import re
from email.message import Message
from typing import Any

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from bookdesk.orders.models import Order, OrderStatus
from bookdesk.payments.models import CreditNote, Invoice, Payment
from chromium import new_page, pay_by_card, screenshotter, sign_in

from .conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

screenshot = screenshotter("documents")


@pytest.fixture(autouse=True)
def demo_catalog(settings: Any, demo_media: Any) -> None:
    settings.SELLER_LEGAL_NAME = "bookdesk studio GmbH"
    settings.SELLER_VAT_ID = "DE123456789"
    call_command("seed", verbosity=0)


def pdf_attachment(message: Message) -> tuple[str, bytes] | None:
    for part in message.walk():
        if part.get_content_type() == "application/pdf":
            payload = part.get_payload(decode=True)
            return str(part.get_filename()), payload if isinstance(payload, bytes) else b""
    return None


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_invoice_and_the_credit_note_on_the_order_page_and_in_the_emails(page: Any, shop: Shop) -> None:
    sign_in(page, shop.url, "iris@example.com")
    page.goto(f"{shop.url}/courses/mixing-fundamentals")
    page.get_by_role("button", name="Book now").click()
    page.wait_for_url(f"{shop.sandbox.base_url}/c/pay/**")
    pay_by_card(page)
    page.wait_for_url(f"{shop.url}/payment/success?session_id=*")
    session_id = re.search(r"session_id=([\w-]+)", page.url)
    assert session_id
    order = Payment.objects.get(session_id=session_id[1]).order
    shop.wait(lambda: Order.objects.filter(pk=order.pk, status=OrderStatus.CONFIRMED).exists(), "confirmed")
    invoice = Invoice.objects.get(order=order)
    assert invoice.total_amount == shop.stripe.v1.checkout.sessions.retrieve(session_id[1]).amount_total

    page.goto(f"{shop.url}/orders/{order.code}")
    link = page.locator(f"#document-{invoice.number} a")
    assert link.inner_text() == f"Invoice {invoice.number}"
    screenshot(page, "order-invoice-1280")
    pdf = page.context.request.get(shop.url + str(link.get_attribute("href")))
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = text_of(pdf.body())
    assert "bookdesk studio GmbH" in text
    assert f"Invoice {invoice.number}" in text

    confirmation = shop.wait(
        lambda: [m for m in shop.mail.messages if order.code in str(m["Subject"]) and pdf_attachment(m)],
        "the confirmation with its invoice",
    )[0]
    assert pdf_attachment(confirmation) == (f"{invoice.number}.pdf", pdf.body())

    page.goto(f"{shop.url}/orders/{order.code}/cancel")
    page.click("#confirm-cancel")
    page.wait_for_url(f"{shop.url}/orders/{order.code}*")
    note = CreditNote.objects.get(invoice=invoice)
    assert page.locator(f"#document-{note.number} a").inner_text() == f"Credit note {note.number}"
    screenshot(page, "order-credit-note-1280")
    refund_email = shop.wait(
        lambda: [m for m in shop.mail.messages if "refund" in str(m["Subject"]).lower() and pdf_attachment(m)],
        "the refund email with its credit note",
    )[0]
    name, content = pdf_attachment(refund_email) or ("", b"")
    assert name == f"{note.number}.pdf"
    assert f"Refers to invoice {invoice.number}" in text_of(content)

    phone = new_page(page.context.browser, viewport={"width": 390, "height": 844})
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{shop.url}/orders/{order.code}")
    assert phone.locator(f"#document-{note.number} a").is_visible()
    screenshot(phone, "order-credit-note-390")
    phone.context.close()
    assert not page.problems
