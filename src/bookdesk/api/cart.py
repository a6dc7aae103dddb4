"""The caller's cart and its checkout: thin shells over cart.services and payments.checkout."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from bookdesk.accounts.auth import user_auth
from bookdesk.api.checkout import checkout_status, limit_checkout
from bookdesk.api.schemas.cart import CartItemIn, CartOut, CourseItemIn, ServiceItemIn
from bookdesk.api.schemas.orders import CheckoutOut
from bookdesk.cart import services
from bookdesk.errors import PAYING_PROBLEMS, WRITE_PROBLEMS, CartEmpty, Problem
from bookdesk.ops.ratelimit import client_ip
from bookdesk.orders.services import ItemRequest
from bookdesk.payments import checkout

router = Router(tags=["cart"], auth=user_auth)


def _cart_out(request: HttpRequest) -> CartOut:
    cart = services.cart_for_request(request, create=False)
    return CartOut.from_view(services.cart_view(cart, user=request.auth))  # type: ignore[attr-defined]


def _item_request(payload: CartItemIn) -> ItemRequest:
    if isinstance(payload, CourseItemIn):
        return ItemRequest(kind="course", course_id=payload.course_id)
    if isinstance(payload, ServiceItemIn):
        return ItemRequest(kind="service", service_id=payload.service_id, starts_at=payload.starts_at)
    return ItemRequest(
        kind="product", product_id=payload.product_id, license_id=payload.license_id, quantity=payload.quantity
    )


@router.get("/cart", response={200: CartOut, 401: Problem}, summary="The caller's cart, priced by the server")
def cart_detail(request: HttpRequest) -> CartOut:
    return _cart_out(request)


@router.post("/cart/items", response={201: CartOut, **WRITE_PROBLEMS}, summary="Add a course, a slot or a product")
def cart_item_add(request: HttpRequest, payload: CartItemIn) -> Status[CartOut]:
    cart = services.cart_for_request(request, create=True)
    assert cart is not None  # noqa: S101 - create=True always answers a cart
    services.cart_add(cart=cart, user=request.auth, request=_item_request(payload))  # type: ignore[attr-defined]
    return Status(201, _cart_out(request))


@router.delete("/cart/items/{item_id}", response={200: CartOut, **WRITE_PROBLEMS}, summary="Remove an item")
def cart_item_remove(request: HttpRequest, item_id: int) -> CartOut:
    cart = services.cart_for_request(request, create=True)
    assert cart is not None  # noqa: S101
    services.cart_remove(cart=cart, item_id=item_id)
    return _cart_out(request)


@router.post(
    "/checkout", response={200: CheckoutOut, 201: CheckoutOut, **PAYING_PROBLEMS}, summary="Check out the whole cart"
)
def cart_checkout(request: HttpRequest) -> Status[CheckoutOut]:
    """201: the payment page to send the customer to. 200: the cart's earlier order turned out to be paid (its
    webhook lost): it is confirmed now, nothing new was placed, and `checkout_url` is the success page."""
    limit_checkout(request)
    cart = services.cart_for_request(request, create=False)
    if cart is None or not cart.items.exists():
        raise CartEmpty("Your cart is empty.", errors=[{"field": "items", "in": "body", "message": "empty"}])
    payment = checkout.cart_checkout(cart=cart, user=request.auth, client_ip=client_ip(request))  # type: ignore[attr-defined]
    return checkout_status(payment)
