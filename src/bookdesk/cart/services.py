"""The cart: find it, add to it (validated against the catalog and what is taken), merge it, empty it.

Adding asks the same questions checkout asks (`orders.services.plan_items`), without locks: the answer
is advice for the customer, and checkout (`payments.checkout.cart_checkout`) asks again under the lock.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from bookdesk.accounts.models import User
from bookdesk.cart.models import Cart, CartItem
from bookdesk.errors import BookdeskError, Conflict, NotFound
from bookdesk.orders import states
from bookdesk.orders.models import Order
from bookdesk.orders.pricing import Breakdown, PricedLine, price
from bookdesk.orders.services import ItemRequest, plan_items
from bookdesk.orders.shipping import shipping_quote

SESSION_CART = "bookdesk_cart"


class AlreadyInCart(Conflict):
    code = "already_in_cart"
    title = "This is already in your cart"


# --- finding the cart ----------------------------------------------------------------------------


def cart_for_request(request: HttpRequest, *, create: bool) -> Cart | None:
    """The signed-in customer's cart, or the visitor's session cart (created on first use)."""
    user = request.user
    if user.is_authenticated:
        if create:
            return Cart.objects.get_or_create(user=user)[0]
        return Cart.objects.filter(user=user).first()
    token = request.session.get(SESSION_CART)
    cart = Cart.objects.filter(session_key=token, user=None).first() if token else None
    if cart is None and create:
        # A random token in the session's data, not the session key: it survives the key's rotation at sign-in.
        token = secrets.token_urlsafe(24)
        cart = Cart.objects.create(session_key=token)
        request.session[SESSION_CART] = token
    return cart


def cart_merge(*, request: HttpRequest, user: User) -> int:
    """Move a visitor's session cart into their own at sign-in; returns how many items moved.

    Items the customer already has are kept once; items that clash with theirs (a second currency)
    stay behind only if adding them fails, and the session cart is deleted in any case.
    """
    token = request.session.pop(SESSION_CART, None)
    if not token:
        return 0
    session_cart = Cart.objects.filter(session_key=token, user=None).first()
    if session_cart is None:
        return 0
    moved = 0
    with transaction.atomic():
        cart = Cart.objects.get_or_create(user=user)[0]
        for item in session_cart.items.all():
            try:
                with transaction.atomic():
                    _add(cart=cart, user=user, request=item_request(item), now=timezone.now())
                moved += 1
            except BookdeskError:
                continue
        session_cart.delete()
    return moved


# --- reading -------------------------------------------------------------------------------------


def item_request(item: CartItem) -> ItemRequest:
    return ItemRequest(
        kind=item.kind,  # type: ignore[arg-type]
        course_id=item.course_id,
        service_id=item.service_id,
        starts_at=item.starts_at,
        product_id=item.product_id,
        license_id=item.license_id,
        quantity=item.quantity,
    )


@dataclass(frozen=True)
class CartLine:
    item: CartItem
    title: str
    unit_amount: int
    quantity: int
    currency: str
    # Why it cannot be bought now (sold out, slot taken…), or "" when it can.
    problem: str
    problem_code: str

    @property
    def total(self) -> int:
        return self.unit_amount * self.quantity


@dataclass(frozen=True)
class CartView:
    cart: Cart | None
    lines: list[CartLine]
    breakdown: Breakdown

    @property
    def count(self) -> int:
        return len(self.lines)

    @property
    def can_check_out(self) -> bool:
        return bool(self.lines) and not any(line.problem for line in self.lines)


def cart_item_requests(cart: Cart) -> list[ItemRequest]:
    """What checking the cart out asks for: one request per item."""
    return [item_request(item) for item in _items(cart)]


def _items(cart: Cart | None) -> list[CartItem]:
    if cart is None:
        return []
    return list(cart.items.select_related("course", "service", "product", "license"))


def cart_view(cart: Cart | None, *, user: User | None, now: datetime | None = None) -> CartView:
    """The cart's lines as they stand now, priced by the server, each with what (if anything) stops it."""
    now = now or timezone.now()
    lines = []
    for item in _items(cart):
        problem, code = "", ""
        try:
            (plan,) = plan_items(user=user, items=[item_request(item)], now=now, lock=False, ignoring=_own_unpaid(cart))
            title, unit, currency = plan.description, plan.priced.unit_amount, plan.currency
        except BookdeskError as exc:
            problem, code = exc.detail, exc.code
            title, unit, currency = _fallback(item)
        lines.append(CartLine(item, title, unit, item.quantity, currency, problem, code))
    currency = lines[0].currency if lines else settings.BOOKDESK_CURRENCY
    priced = [
        PricedLine(
            line.title,
            line.unit_amount,
            line.quantity,
            ships=_ships(line.item),
            tax_rate_basis_points=_tax_rate(line.item),
            weight_grams=_weight(line.item),
        )
        for line in lines
        if line.currency == currency
    ]
    breakdown = price(
        priced,
        currency=currency,
        tax_rate_basis_points=settings.TAX_RATE_DEFAULT,
        prices_include_tax=settings.PRICES_INCLUDE_TAX,
        # Shipping from its cheapest option; the buyer picks theirs on the payment page.
        shipping_flat_amount=shipping_quote(lines=priced, currency=currency).cheapest,
    )
    return CartView(cart=cart, lines=lines, breakdown=breakdown)


def _tax_rate(item: CartItem) -> int | None:
    """The item's own tax rate (basis points), None for the default; as `orders.services` prices it."""
    offer = item.course or item.service or item.product
    return offer.tax_rate if offer is not None else None


def _ships(item: CartItem) -> bool:
    return item.product is not None and item.product.kind == item.product.Kind.PHYSICAL


def _weight(item: CartItem) -> int:
    return (item.product.weight_grams or 0) * item.quantity if _ships(item) and item.product is not None else 0


def _fallback(item: CartItem) -> tuple[str, int, str]:
    """Title and price of a line that cannot be planned (for showing it with its problem)."""
    if item.course is not None:
        return item.course.title, item.course.price_amount, item.course.currency
    if item.service is not None:
        return item.service.name, item.service.price_amount, item.service.currency
    if item.product is not None:
        amount = item.license.price_amount if item.license else (item.product.price_amount or 0)
        name = f"{item.product.title} — {item.license.name}" if item.license else item.product.title
        return name, amount, item.product.currency
    return "Item no longer available", 0, settings.BOOKDESK_CURRENCY


# --- writing -------------------------------------------------------------------------------------


def cart_add(*, cart: Cart, user: User | None, request: ItemRequest, now: datetime | None = None) -> CartItem:
    """Add an item after checking it can be bought, alone and together with the rest of the cart."""
    with transaction.atomic():
        return _add(cart=cart, user=user, request=request, now=now or timezone.now())


def _same_item(cart: Cart, request: ItemRequest) -> CartItem | None:
    for item in cart.items.all():
        if request.kind == "course" and item.course_id == request.course_id:
            return item
        if request.kind == "service" and (item.service_id, item.starts_at) == (request.service_id, request.starts_at):
            return item
        if request.kind == "product" and item.product_id == request.product_id:
            return item
    return None


def _own_unpaid(cart: Cart | None) -> int | None:
    """The cart's own unpaid order: what it holds is the customer's, not in their way."""
    order = cart_order_unpaid(cart)
    return order.pk if order is not None else None


def _add(*, cart: Cart, user: User | None, request: ItemRequest, now: datetime) -> CartItem:
    ignoring = _own_unpaid(cart)
    plan_items(user=user, items=[request], now=now, lock=False, ignoring=ignoring)
    existing = _same_item(cart, request)
    if existing is not None and request.kind != "product":
        raise AlreadyInCart("This is already in your cart.")
    others = [item_request(item) for item in cart.items.all() if existing is None or item.pk != existing.pk]
    # The whole cart together: one currency, not too many lines, no slot twice.
    plan_items(user=user, items=[*others, request], now=now, lock=False, ignoring=ignoring)
    if existing is not None:
        # A product added again replaces its line: another license tier or another quantity.
        existing.license_id = request.license_id
        existing.quantity = request.quantity
        existing.save(update_fields=["license", "quantity"])
        return existing
    try:
        with transaction.atomic():
            item = CartItem.objects.create(
                cart=cart,
                kind=request.kind,
                course_id=request.course_id,
                service_id=request.service_id,
                starts_at=request.starts_at,
                product_id=request.product_id,
                license_id=request.license_id,
                quantity=request.quantity,
            )
    except IntegrityError:
        raise AlreadyInCart("This is already in your cart.") from None
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    return item


def cart_remove(*, cart: Cart, item_id: int) -> None:
    deleted, _ = cart.items.filter(pk=item_id).delete()
    if not deleted:
        raise NotFound("That item is not in your cart.")


def cart_clear(*, cart: Cart) -> None:
    cart.items.all().delete()


def cart_checked_out(*, cart: Cart, order: Order) -> None:
    """The cart now stands for this order (kept as it is until the order is paid)."""
    Cart.objects.filter(pk=cart.pk).update(order=order)


def carts_empty_paid(*, orders: Sequence[Order]) -> None:
    """The carts these orders were checked out from have done their job: emptied, and no longer tied to them.

    A "Book now" order has no cart: it leaves the customer's cart alone."""
    carts = list(Cart.objects.filter(order__in=orders).values_list("pk", flat=True))
    if carts:
        CartItem.objects.filter(cart__in=carts).delete()
        Cart.objects.filter(pk__in=carts).update(order=None)


def cart_order_unpaid(cart: Cart | None) -> Order | None:
    """The order last checked out from the cart, while it can still be paid (for the cart page)."""
    order = cart.order if cart is not None else None
    return order if order is not None and order.status in states.PAYABLE else None
