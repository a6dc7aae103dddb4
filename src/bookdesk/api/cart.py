"""The caller's cart and its checkout: thin shells over cart.services and payments.checkout."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status

from bookdesk.accounts.auth import user_auth
from bookdesk.api.checkout import checkout_status, limit_checkout
from bookdesk.api.schemas.cart import CartItemIn, CartOut
from bookdesk.api.schemas.orders import CheckoutOut
from bookdesk.cart import services
from bookdesk.errors import PAYING_PROBLEMS, WRITE_PROBLEMS, InvalidInput, Problem
from bookdesk.ops.ratelimit import client_ip
from bookdesk.orders.services import ItemRequest
from bookdesk.payments import checkout

router = Router(tags=["cart"], auth=user_auth)

REQUIRED = {"course": ("course_id",), "service": ("service_id", "starts_at"), "product": ("product_id",)}


def _cart_out(request: HttpRequest) -> CartOut:
    cart = services.cart_for_request(request, create=False)
    return CartOut.from_view(services.cart_view(cart, user=request.auth))  # type: ignore[attr-defined]


def _item_request(payload: CartItemIn) -> ItemRequest:
    missing = [name for name in REQUIRED[payload.kind] if getattr(payload, name) is None]
    if missing:
        raise InvalidInput(
            f"A {payload.kind} item needs {' and '.join(missing)}.",
            errors=[{"field": name, "in": "body", "message": "required"} for name in missing],
        )
    starts_at = payload.starts_at
    if starts_at is not None and timezone.is_naive(starts_at):
        raise InvalidInput(
            "starts_at needs a time zone offset, such as 2026-12-01T10:00:00Z.",
            errors=[{"field": "starts_at", "in": "body", "message": "needs a UTC offset"}],
        )
    return ItemRequest(
        kind=payload.kind,
        course_id=payload.course_id if payload.kind == "course" else None,
        service_id=payload.service_id if payload.kind == "service" else None,
        starts_at=starts_at if payload.kind == "service" else None,
        product_id=payload.product_id if payload.kind == "product" else None,
        license_id=payload.license_id if payload.kind == "product" else None,
        quantity=payload.quantity,
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
        raise InvalidInput("Your cart is empty.", errors=[{"field": "items", "in": "body", "message": "empty"}])
    payment = checkout.cart_checkout(cart=cart, user=request.auth, client_ip=client_ip(request))  # type: ignore[attr-defined]
    return checkout_status(payment)
