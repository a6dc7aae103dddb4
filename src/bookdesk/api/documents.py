"""An order's invoice and credit notes as PDFs, for their owner only (session cookie or `X-Session-Token`).

Anyone else's order is simply not found (404), as for every read of an order; an order not invoiced yet
(unpaid) answers 409 `not_invoiced`. The PDF is the stored one, made once (`payments.documents`).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from ninja import Router

from bookdesk.accounts.auth import user_auth
from bookdesk.api.schemas.orders import DocumentOut
from bookdesk.errors import problems
from bookdesk.fields import AddressText
from bookdesk.orders.models import Order
from bookdesk.orders.selectors import order_for
from bookdesk.payments import documents

router = Router(tags=["orders"], auth=user_auth)

PDF_RESPONSE = {200: None, **problems(401, 404, 409)}


def document_url(order: Order, number: str) -> str:
    """The absolute link of one of an order's documents, for the API and emails."""
    return settings.SITE_URL + reverse("api:order_document", kwargs={"code": order.code, "number": number})


def order_documents(order: Order) -> list[DocumentOut]:
    """The order's invoice and credit notes as `GET /api/orders/{code}` lists them."""
    return [
        DocumentOut(kind=ref.kind, number=ref.number, url=document_url(order, ref.number))
        for ref in documents.documents_of(order)
    ]


def _pdf(document: documents.Document) -> HttpResponse:
    response = HttpResponse(documents.document_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{documents.document_filename(document)}"'
    response["X-Robots-Tag"] = "noindex, nofollow"
    patch_cache_control(response, private=True, no_store=True)
    return response


@router.get(
    "/orders/{code}/documents/{number}",
    response=PDF_RESPONSE,
    url_name="order_document",
    summary="An invoice or credit note of one of the caller's orders (PDF)",
)
def order_document(request: HttpRequest, code: AddressText, number: AddressText) -> HttpResponse:
    order = order_for(code=code, user=request.auth)  # type: ignore[attr-defined]
    return _pdf(documents.document_of_order(order, number))


@router.get(
    "/orders/{code}/invoice",
    response=PDF_RESPONSE,
    url_name="order_invoice",
    summary="The invoice of one of the caller's orders (PDF); 409 not_invoiced before it is paid",
)
def order_invoice(request: HttpRequest, code: AddressText) -> HttpResponse:
    order = order_for(code=code, user=request.auth)  # type: ignore[attr-defined]
    return _pdf(documents.invoice_of_order(order))
