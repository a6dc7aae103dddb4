"""Invoices and credit notes: issued when an order is paid and when it is refunded, with Stripe's amounts to the
cent, PDFs made once and read back, downloads for the owner only, the operator's CSV, the emails' attachments.

Orders are paid in the sandbox through the real SDK and their events delivered to our intake as Stripe sends them.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
import stripe
from django.db import transaction
from django.test import Client
from pypdf import PdfReader

from bookdesk.accounts.models import User
from bookdesk.accounts.services import user_make_operator
from bookdesk.notifications.services import emails_send_due
from bookdesk.orders.models import Order, OrderStatus
from bookdesk.payments import documents, events
from bookdesk.payments.fulfilment import fulfil_checkout
from bookdesk.payments.models import CreditNote, Invoice, Refund
from bookdesk.payments.refunds import refund_order
from factories import BeatFactory, CourseFactory, PhysicalProductFactory, UserFactory, login_token, signed_in
from problems import assert_problem

from .conftest import deliver, pay, run_inbox, session_events

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_sandbox")]


@pytest.fixture(autouse=True)
def seller(settings: Any) -> None:
    settings.SELLER_LEGAL_NAME = "Vinyl & Voice Studio GmbH"
    settings.SELLER_ADDRESS = ["Musterstrasse 1", "10115 Berlin", "Germany"]
    settings.SELLER_VAT_ID = "DE123456789"
    settings.TAX_RATE_DEFAULT = 1900


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def add(client: Client, **item: Any) -> None:
    response = client.post("/api/cart/items", item, content_type="application/json")
    assert response.status_code == 201, response.content


BERLIN = {"line1": "Oranienstrasse 12", "postal_code": "10999", "city": "Berlin", "country": "DE"}
PARIS = {"line1": "12 rue de Rivoli", "postal_code": "75004", "city": "Paris", "country": "FR"}


def checkout_and_pay(
    stripe_client: stripe.StripeClient, client: Client, *, address: dict[str, str] = BERLIN, option: int = 0
) -> tuple[Order, Any]:
    """Check the cart out, pay the session in the sandbox (goods to `address` with the session's shipping
    option at `option`), deliver its events, run the worker's inbox."""
    response = client.post("/api/checkout")
    assert response.status_code == 201, response.content
    session_id = response.json()["session_id"]
    session = stripe_client.v1.checkout.sessions.retrieve(session_id)
    goods: dict[str, Any] = {}
    if session.shipping_address_collection:
        goods = {
            "shipping_details": {"name": "Grace Hopper", "address": address},
            "shipping_rate": session.shipping_options[option].shipping_rate,
        }
    pay(stripe_client, session_id, **goods)
    for event in session_events(stripe_client, session_id):
        assert deliver(event).status_code == 200
    run_inbox()
    order = Order.objects.get(code=response.json()["order"]["code"])
    assert order.status == OrderStatus.CONFIRMED
    return order, stripe_client.v1.checkout.sessions.retrieve(session_id)


def mixed_cart(client: Client) -> None:
    """A course at the reduced 7 % rate, a beat and two records at the default 19 %, and so shipping."""
    add(client, kind="course", course_id=CourseFactory(title="Mixing 101", price_amount=10_000, tax_rate=700).pk)
    beat = BeatFactory(title="Night Drive")
    add(client, kind="product", product_id=beat.pk, license_id=beat.licenses.get(tier="basic").pk)
    add(client, kind="product", product_id=PhysicalProductFactory(title="Blue LP", price_amount=2_345).pk, quantity=2)


def paid_course_order(stripe_client: stripe.StripeClient, *, price: int = 10_000) -> tuple[Client, Order]:
    client = signed_in(UserFactory())
    add(client, kind="course", course_id=CourseFactory(price_amount=price).pk)
    order, _ = checkout_and_pay(stripe_client, client)
    return client, order


# --- the invoice of a paid order -----------------------------------------------------------------


@pytest.mark.parametrize("inclusive", [True, False], ids=["prices-include-tax", "tax-added"])
def test_a_paid_order_is_invoiced_for_what_stripe_charged(
    stripe_client: stripe.StripeClient, settings: Any, inclusive: bool
) -> None:
    settings.PRICES_INCLUDE_TAX = inclusive
    client = signed_in(UserFactory(email="grace@example.com"))
    mixed_cart(client)

    order, session = checkout_and_pay(stripe_client, client)

    invoice = Invoice.objects.get(order=order)
    assert invoice.total_amount == session.amount_total == order.total_amount
    assert invoice.net_amount + invoice.tax_amount == session.amount_total
    assert invoice.tax_amount == order.tax_amount
    assert [(line["description"], line["quantity"], line["tax_rate"]) for line in invoice.lines] == [
        (order.lines.all()[0].description, 1, 700),
        ("Night Drive — Basic lease", 1, 1900),
        ("Blue LP", 2, 1900),
        ("Shipping", 1, 1900),
    ]
    assert sum(line["gross"] for line in invoice.lines) == session.amount_total
    summary = {s.rate: (s.net, s.tax) for s in documents.tax_summary(invoice.lines)}
    if inclusive:  # 10000 / 1.07; (2999 + 4690 + 490) at 19 %, each line rounded by itself
        assert summary == {700: (9346, 654), 1900: (2520 + 3941 + 412, 479 + 749 + 78)}
    else:
        assert summary == {700: (10_000, 700), 1900: (2999 + 4690 + 490, 570 + 891 + 93)}
    assert invoice.number == f"INV-{invoice.year}-{invoice.sequence:06d}"
    assert invoice.seller == {
        "name": "Vinyl & Voice Studio GmbH",
        "address": ["Musterstrasse 1", "10115 Berlin", "Germany"],
        "vat_id": "DE123456789",
    }
    assert invoice.buyer["email"] == "grace@example.com"


@pytest.mark.parametrize("inclusive", [True, False], ids=["prices-include-tax", "tax-added"])
def test_the_shipping_option_chosen_is_invoiced_with_its_tax(
    stripe_client: stripe.StripeClient, settings: Any, inclusive: bool
) -> None:
    settings.PRICES_INCLUDE_TAX = inclusive
    client = signed_in(UserFactory(email="grace@example.com"))
    mixed_cart(client)

    order, session = checkout_and_pay(stripe_client, client, address=PARIS, option=1)  # the EU's 9.90

    invoice = Invoice.objects.get(order=order)
    assert order.shipping_amount == 990
    assert invoice.total_amount == session.amount_total == order.total_amount
    assert invoice.tax_amount == order.tax_amount
    shipping = invoice.lines[-1]
    assert (shipping["description"], shipping["tax_rate"]) == ("Shipping", 1900)
    if inclusive:  # 990 / 1.19 = 831.9 → 832 net, 158 tax
        assert (shipping["net"], shipping["tax"], shipping["gross"]) == (832, 158, 990)
        assert session.shipping_cost.amount_total == 990
    else:  # 990 + 19 % = 990 + 188; the session's option carried the tax
        assert (shipping["net"], shipping["tax"], shipping["gross"]) == (990, 188, 1178)
        assert session.shipping_cost.amount_total == 1178
    assert sum(line["gross"] for line in invoice.lines) == session.amount_total
    assert order.total_amount == order.subtotal_amount + order.shipping_amount + (0 if inclusive else order.tax_amount)


def test_the_invoice_pdf_reads_back_with_seller_buyer_lines_and_totals(stripe_client: stripe.StripeClient) -> None:
    client = signed_in(UserFactory(email="grace@example.com"))
    mixed_cart(client)
    order, session = checkout_and_pay(stripe_client, client)
    invoice = Invoice.objects.get(order=order)
    assert invoice.pdf is None  # made on first need, not in the payment's transaction

    text = pdf_text(documents.document_pdf(invoice))

    for expected in (
        "Vinyl & Voice Studio GmbH",
        "Musterstrasse 1",
        "VAT ID: DE123456789",
        f"Invoice {invoice.number}",
        f"Order {order.code}",
        "grace@example.com",
        "Mixing 101",
        "Night Drive - Basic lease",
        "Blue LP",
        "Shipping",
        "7 %",
        "19 %",
        f"Total paid {session.amount_total // 100}.{session.amount_total % 100:02d} EUR",
    ):
        assert expected in text, expected


def test_the_pdf_is_made_once_and_stored(stripe_client: stripe.StripeClient) -> None:
    _, order = paid_course_order(stripe_client)
    invoice = Invoice.objects.get(order=order)

    first = documents.document_pdf(invoice)
    Invoice.objects.filter(pk=invoice.pk).update(seller={"name": "Someone Else", "address": [], "vat_id": ""})
    again = documents.document_pdf(Invoice.objects.get(pk=invoice.pk))

    assert first == again == bytes(Invoice.objects.get(pk=invoice.pk).pdf)
    assert "Someone Else" not in pdf_text(again)


def test_an_unpaid_order_has_no_invoice(stripe_client: stripe.StripeClient) -> None:
    client = signed_in(UserFactory())
    add(client, kind="course", course_id=CourseFactory().pk)
    code = client.post("/api/checkout").json()["order"]["code"]

    assert client.get(f"/api/orders/{code}").json()["documents"] == []
    assert_problem(client.get(f"/api/orders/{code}/invoice"), status=409, code="not_invoiced")
    assert_problem(client.get(f"/api/orders/{code}/documents/INV-2026-000001"), status=409, code="not_invoiced")
    assert not Invoice.objects.exists()


def test_a_confirmation_processed_twice_keeps_one_invoice(stripe_client: stripe.StripeClient) -> None:
    _, order = paid_course_order(stripe_client)
    payment = order.payments.get()

    fulfil_checkout(payment.session_id or "")

    assert Invoice.objects.filter(order=order).count() == 1


# --- credit notes ---------------------------------------------------------------------------------


def test_credit_notes_refer_to_the_invoice_and_sum_to_the_refunds(stripe_client: stripe.StripeClient) -> None:
    client = signed_in(UserFactory())
    mixed_cart(client)
    order, _ = checkout_and_pay(stripe_client, client)
    invoice = Invoice.objects.get(order=order)

    refund_order(order=order, amount=3_333, actor="admin:1", reason="goodwill")
    refund_order(order=order, amount=1, actor="admin:1", reason="goodwill")
    refund_order(order=order, amount=None, actor="admin:1", reason="the rest")

    notes = list(CreditNote.objects.filter(invoice=invoice).order_by("sequence"))
    refunds = list(Refund.objects.filter(payment__order=order).order_by("pk"))
    assert [note.total_amount for note in notes] == [refund.amount for refund in refunds]
    assert [refund.amount for refund in refunds] == [3_333, 1, invoice.total_amount - 3_334]
    assert [note.stripe_refund_id for note in notes] == [refund.stripe_refund_id for refund in refunds]
    assert sum(note.total_amount for note in notes) == invoice.total_amount
    # Split into net and tax per rate; all of them together give back exactly the invoice's tax and net.
    assert all(note.net_amount + note.tax_amount == note.total_amount for note in notes)
    assert sum(note.tax_amount for note in notes) == invoice.tax_amount
    per_rate: dict[int, int] = {}
    for note in notes:
        for line in note.lines:
            per_rate[line["tax_rate"]] = per_rate.get(line["tax_rate"], 0) + line["tax"]
    assert per_rate == {s.rate: s.tax for s in documents.tax_summary(invoice.lines)}
    assert [note.sequence for note in notes] == [notes[0].sequence + i for i in range(3)]

    text = pdf_text(documents.document_pdf(notes[0]))
    assert f"Credit note {notes[0].number}" in text
    assert f"Refers to invoice {invoice.number}" in text
    assert "Total credited 33.33 EUR" in text


def test_a_customers_cancellation_gets_a_credit_note(stripe_client: stripe.StripeClient) -> None:
    client, order = paid_course_order(stripe_client)

    response = client.post(f"/api/orders/{order.code}/cancel")

    assert response.status_code == 200, response.content
    note = CreditNote.objects.get(invoice__order=order)
    assert note.total_amount == Refund.objects.get(payment__order=order).amount == 10_000
    assert (note.net_amount, note.tax_amount) == (8403, 1597)  # 10000 / 1.19 = 8403.36
    kinds = [(d["kind"], d["number"]) for d in client.get(f"/api/orders/{order.code}").json()["documents"]]
    assert kinds == [("invoice", order.invoice.number), ("credit_note", note.number)]


# --- downloads: the owner only --------------------------------------------------------------------


def test_documents_download_for_their_owner_only(stripe_client: stripe.StripeClient) -> None:
    token = login_token("owner@example.com")
    owner = signed_in(User.objects.get(email="owner@example.com"))
    add(owner, kind="course", course_id=CourseFactory().pk)
    order, _ = checkout_and_pay(stripe_client, owner)
    refund_order(order=order, amount=1_000, actor="admin:1", reason="goodwill")
    listed = owner.get(f"/api/orders/{order.code}").json()["documents"]
    assert [d["kind"] for d in listed] == ["invoice", "credit_note"]

    for document in listed:
        path = document["url"][document["url"].index("/api/") :]
        by_cookie = owner.get(path)
        by_token = Client().get(path, HTTP_X_SESSION_TOKEN=token)
        someone_else = signed_in(UserFactory()).get(path)
        nobody = Client().get(path)

        assert by_cookie.status_code == by_token.status_code == 200
        assert by_cookie["Content-Type"] == "application/pdf"
        assert by_cookie.content == by_token.content
        assert document["number"] in pdf_text(by_cookie.content)
        assert_problem(someone_else, status=404, code="not_found")
        assert nobody.status_code == 401
    assert_problem(owner.get(f"/api/orders/{order.code}/documents/INV-1999-000001"), status=404, code="not_found")


# --- the operator's CSV ---------------------------------------------------------------------------


def test_the_operator_exports_invoices_and_credit_notes_as_csv(stripe_client: stripe.StripeClient) -> None:
    client = signed_in(UserFactory(email="grace@example.com"))
    mixed_cart(client)
    order, _ = checkout_and_pay(stripe_client, client)
    refund_order(order=order, amount=1_190, actor="admin:1", reason="goodwill")
    invoice, note = Invoice.objects.get(order=order), CreditNote.objects.get()
    staff = signed_in(user_make_operator(email="operator@example.com")[0])
    day = f"{documents.timezone.localtime(invoice.issued_at, documents.business_time_zone()):%Y-%m-%d}"

    response = staff.get(f"/console/invoices.csv?from={day}&to={day}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(row["number"], row["kind"], row["order"]) for row in rows] == [
        (invoice.number, "invoice", order.code),
        (note.number, "credit_note", order.code),
    ]
    first, credit = rows
    # The buyer as the payment page named them (the records ship to Grace Hopper; without a name, the email).
    assert (first["buyer"], first["date"], first["currency"]) == ("Grace Hopper", day, "EUR")
    assert first["total"] == f"{invoice.total_amount / 100:.2f}"
    assert (first["net 7 %"], first["tax 7 %"]) == ("93.46", "6.54")
    assert (credit["total"], credit["refers_to"]) == ("-11.90", invoice.number)
    assert (credit["net"][0], credit["tax"][0]) == ("-", "-")
    assert f"{float(credit['net']) + float(credit['tax']):.2f}" == "-11.90"


def test_the_csv_is_for_staff_only_and_refuses_bad_dates(stripe_client: stripe.StripeClient) -> None:
    customer = signed_in(UserFactory())
    staff = signed_in(user_make_operator(email="operator@example.com")[0])

    assert customer.get("/console/invoices.csv").status_code == 403
    # staff without the operator role (or the permission) may not export either
    assert signed_in(UserFactory(is_staff=True)).get("/console/invoices.csv").status_code == 403
    assert Client().get("/console/invoices.csv").status_code == 302  # to sign in
    assert staff.get("/console/invoices.csv?from=yesterday").status_code == 400
    assert staff.get("/console/invoices.csv?from=2026-02-01&to=2026-01-01").status_code == 400
    assert staff.get("/console/invoices.csv").status_code == 200


# --- emails ---------------------------------------------------------------------------------------


def pdf_parts(message: Any) -> dict[str, bytes]:
    return {
        part.get_filename(): part.get_payload(decode=True)
        for part in message.walk()
        if part.get_content_type() == "application/pdf"
    }


def test_the_emails_carry_the_invoice_and_the_credit_note(stripe_client: stripe.StripeClient, mailbox: Any) -> None:
    _, order = paid_course_order(stripe_client)
    refund_order(order=order, amount=2_500, actor="admin:1", reason="goodwill")
    invoice, note = Invoice.objects.get(order=order), CreditNote.objects.get()

    emails_send_due()

    confirmation, refund = mailbox.messages
    assert pdf_parts(confirmation) == {f"{invoice.number}.pdf": bytes(Invoice.objects.get(pk=invoice.pk).pdf)}
    assert pdf_parts(refund) == {f"{note.number}.pdf": bytes(CreditNote.objects.get(pk=note.pk).pdf)}
    assert invoice.number in pdf_text(pdf_parts(confirmation)[f"{invoice.number}.pdf"])
    plain = next(part for part in confirmation.walk() if part.get_content_type() == "text/plain")
    assert f"Your invoice {invoice.number} is attached" in plain.get_payload(decode=True).decode()


def test_a_retried_email_sends_the_same_pdf(stripe_client: stripe.StripeClient, mailbox: Any) -> None:
    _, order = paid_course_order(stripe_client)
    mailbox.refuse = 1  # the first attempt is refused (greylisting)

    emails_send_due()
    first_try = bytes(Invoice.objects.get(order=order).pdf)
    emails_send_due(now=documents.timezone.now() + timedelta(hours=2))

    (message,) = mailbox.messages
    assert list(pdf_parts(message).values()) == [first_try]


# --- pages ------------------------------------------------------------------------------------------


def test_the_order_page_and_the_admin_list_the_documents(stripe_client: stripe.StripeClient) -> None:
    client, order = paid_course_order(stripe_client)
    refund_order(order=order, amount=1_000, actor="admin:1", reason="goodwill")
    invoice, note = Invoice.objects.get(order=order), CreditNote.objects.get()

    page = client.get(f"/orders/{order.code}").content.decode()
    operator = signed_in(UserFactory(is_staff=True, is_superuser=True))

    assert f"Invoice {invoice.number}" in page
    assert f"Credit note {note.number}" in page
    assert f'href="/api/orders/{order.code}/documents/{invoice.number}"' in page
    assert f"Invoice {invoice.number} issued." in page  # the timeline
    assert f"Credit note {note.number} issued." in page
    for path in ("/admin/payments/invoice/", "/admin/payments/creditnote/"):
        listing = operator.get(path)
        assert listing.status_code == 200
        assert invoice.number in listing.content.decode()
    assert operator.get(f"/admin/payments/invoice/{invoice.pk}/change/").status_code == 200


def test_a_duplicate_payments_refund_gives_back_no_invoiced_money(stripe_client: stripe.StripeClient) -> None:
    _, order = paid_course_order(stripe_client)

    with transaction.atomic():
        events.tell_refund_issued(order, amount=10_000, refund_id="re_dup", cause=events.RefundCause.DUPLICATE_PAYMENT)

    assert not CreditNote.objects.exists()
    assert Invoice.objects.get(order=order).total_amount == 10_000
