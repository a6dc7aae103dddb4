"""Writes on orders: placing an order under locks, moving it through the state machine, releasing holds.

Contended writes follow pretix's order code: lock what grows (course rows, resource rows, product rows)
in a fixed order — by table, then primary key — recompute availability under the lock, decide, write.
On SQLite the transaction is IMMEDIATE (settings), so the whole placement runs under the write lock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from bookdesk.accounts.models import User
from bookdesk.catalog.models import Course, License, Product, Resource, Service
from bookdesk.catalog.selectors import SLOT_HORIZON_DAYS, business_time_zone, service_free_slots
from bookdesk.db import compiled
from bookdesk.errors import (
    AlreadyBooked,
    BookdeskError,
    CartEmpty,
    Conflict,
    InvalidInput,
    NotBookable,
    NotFound,
    QuantityNotAllowed,
    SlotTaken,
    SoldOut,
)
from bookdesk.orders import states
from bookdesk.orders.audit import audit
from bookdesk.orders.capacity import lapsed_holders, live_hold, seats_taken, units_taken
from bookdesk.orders.holds import release_holds
from bookdesk.orders.models import (
    Booking,
    Grant,
    HoldStatus,
    Order,
    OrderKind,
    OrderLine,
    OrderStatus,
    Reservation,
    StockHold,
)
from bookdesk.orders.pricing import LineTax, PricedLine, price
from bookdesk.orders.shipping import NotShippable, shipping_quote

logger = logging.getLogger("bookdesk.orders")

MAX_PHYSICAL_QUANTITY = 10
MAX_LINES = 50


@dataclass(frozen=True)
class ItemRequest:
    """What a customer asks to buy: one course seat, one studio slot, or a product (with a license tier)."""

    kind: Literal["course", "service", "product"]
    course_id: int | None = None
    service_id: int | None = None
    starts_at: datetime | None = None
    product_id: int | None = None
    license_id: int | None = None
    quantity: int = 1


class InvalidTransition(BookdeskError):
    code = "invalid_transition"
    status = 409
    title = "This order cannot change that way"


def hold_duration() -> timedelta:
    # Stripe needs a session to live at least 30 minutes; a minute of slack covers the request's own time.
    return timedelta(minutes=max(30, int(settings.HOLD_MINUTES)), seconds=60)


def order_transition(
    *, order: Order, to: str, actor: str, data: dict[str, Any] | None = None, save: bool = True
) -> bool:
    """Move an order through the state machine table; returns False (and logs) for a refused move.

    Moving to the state it is already in is a no-op, so redelivered events change nothing. `save=False`
    leaves writing the status to the caller (a step that moves on again before it commits).
    """
    if order.status == to:
        return False
    if not states.can_move(order.status, to):
        logger.warning("refused order transition %s: %s → %s (%s)", order.code, order.status, to, actor)
        audit(
            actor=actor,
            action="order.transition_refused",
            obj=order,
            order=order,
            data={"from": order.status, "to": to, **(data or {})},
        )
        return False
    previous = order.status
    order.status = to
    if save:
        order.save(update_fields=["status", "updated_at"])
    audit(actor=actor, action=f"order.{to}", obj=order, order=order, data={"from": previous, **(data or {})})
    return True


def _expire_lapsed_holders(
    *, course_ids: Sequence[int], resource_ids: Sequence[int], product_ids: Sequence[int], now: datetime
) -> None:
    """Orders whose hold lapsed give back what we are about to contend for, before the sweeper gets to them.

    Afterwards every HELD row of these courses, resources and products belongs to a live hold, which is
    also what the database's own guards (unique booking, exclusive grant, no overlap) see.
    """
    lapsed = lapsed_holders(course_ids=course_ids, resource_ids=resource_ids, product_ids=product_ids, now=now)
    for order in Order.objects.filter(pk__in=lapsed).order_by("pk") if lapsed else []:
        order_expire(order=order, actor="system", reason="hold lapsed")


def _order_kind(kinds: set[str]) -> str:
    if len(kinds) > 1:
        return OrderKind.MIXED_CART
    return {
        "course": OrderKind.COURSE_BOOKING,
        "service": OrderKind.RESERVATION_PAYMENT,
        "product": OrderKind.BEATS_ONLY,
    }[kinds.pop()]


@dataclass
class _Placement:
    """What order_place has locked and decided so far."""

    user: User | None
    now: datetime
    locked: bool  # what grows is locked: lapsed holds in the way may be expired
    courses: dict[int, Course]
    services: dict[int, Service]
    products: dict[int, Product]
    ignoring: int | None = None
    seen_courses: set[int] = field(default_factory=set)
    # Slots planned earlier in the same order: taken for the items after them.
    planned_slots: list[tuple[int, datetime, datetime]] = field(default_factory=list)
    # Units of goods planned earlier in the same order, by product: taken for the lines after them.
    planned_units: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Plan:
    item: ItemRequest
    priced: PricedLine
    currency: str
    description: str
    targets: dict[str, Any]


def plan_items(
    *, user: User | None, items: Sequence[ItemRequest], now: datetime, lock: bool, ignoring: int | None = None
) -> list[_Plan]:
    """Check every item against the catalog and what is taken, and price it; raise the first refusal.

    With `lock`, first lock what grows in a fixed order (courses, resources, products) and expire the
    lapsed holds in the way, so the answer holds until the transaction ends. Without it (adding to a
    cart), the answer is only advice: checkout asks again under the lock. `ignoring` is an order whose
    holds do not count (the cart's own unpaid order, which a new checkout replaces).
    """
    if not items:
        raise CartEmpty("There is nothing to check out.", errors=[_field("items", "empty")])
    if len(items) > MAX_LINES:
        raise Conflict(f"At most {MAX_LINES} items fit in one order.", errors=[_field("items", "too many")])

    course_ids = [i.course_id for i in items if i.kind == "course" and i.course_id]
    product_ids = [i.product_id for i in items if i.kind == "product" and i.product_id]
    service_ids = [i.service_id for i in items if i.kind == "service" and i.service_id]
    services = (
        {s.pk: s for s in Service.objects.filter(pk__in=service_ids).prefetch_related("resources")}
        if service_ids
        else {}  # most checkouts book a seat: no queryset to build for nothing
    )
    resource_ids = [r.pk for s in services.values() for r in s.resources.all()]
    if lock:
        # Locked by primary key, table after table (Saleor's habit: two placements never deadlock).
        courses = compiled.lock(Course, course_ids)
        compiled.lock(Resource, resource_ids)
        products = compiled.lock(Product, product_ids)
        # A course's lapsed holders show in its seat count (`_plan_course`), so only studios and products here.
        _expire_lapsed_holders(course_ids=[], resource_ids=resource_ids, product_ids=product_ids, now=now)
    else:
        courses = Course.objects.in_bulk(course_ids)
        products = Product.objects.in_bulk(product_ids)
    placement = _Placement(
        user=user, now=now, locked=lock, courses=courses, services=services, products=products, ignoring=ignoring
    )
    planners = {"course": _plan_course, "service": _plan_service, "product": _plan_product}
    plans = [planners[item.kind](item, placement) for item in items]
    if len({plan.currency for plan in plans}) != 1:
        raise Conflict(
            "All items of one order must be in the same currency.", errors=[_field("items", "mixed currencies")]
        )
    return plans


def order_place(*, user: User, items: Sequence[ItemRequest], now: datetime | None = None) -> Order:
    """Create an order with its lines and their holds, or raise SoldOut / AlreadyBooked / SlotTaken / …

    The order comes back with its lines in hand (`order.lines.all()` reads no query). Inside a caller's
    transaction the placement takes a savepoint, so a refusal leaves the caller's work usable.
    """
    try:
        with transaction.atomic():
            return _place(user=user, items=items, now=now or timezone.now())
    except IntegrityError as exc:
        # The database's own guards (unique active booking, exclusive grant, no overlapping slots); the
        # placement's transaction (or savepoint) has rolled back.
        raise _integrity_to_conflict(exc) from exc


def _place(*, user: User, items: Sequence[ItemRequest], now: datetime) -> Order:
    plans = plan_items(user=user, items=items, now=now, lock=True)
    currency = plans[0].currency
    priced = [plan.priced for plan in plans]
    # Goods: the cheapest option now; the buyer's choice on the payment page settles it (payments.fulfilment).
    quote = shipping_quote(lines=priced, currency=currency)
    if quote.ships and not quote.options:
        raise NotShippable("We cannot ship this order: no shipping rate covers its weight. Please contact us.")
    breakdown = price(
        priced,
        currency=currency,
        tax_rate_basis_points=settings.TAX_RATE_DEFAULT,
        prices_include_tax=settings.PRICES_INCLUDE_TAX,
        shipping_flat_amount=quote.cheapest,
    )
    order = compiled.insert(
        Order(
            user=user,
            email=user.email,
            kind=_order_kind({item.kind for item in items}),
            currency=currency,
            subtotal_amount=breakdown.subtotal,
            tax_amount=breakdown.tax,
            shipping_amount=breakdown.shipping,
            total_amount=breakdown.total,
            hold_expires_at=now + hold_duration(),
        )
    )
    lines = [
        _create_line(order=order, plan=plan, user=user, tax=tax)
        for plan, tax in zip(plans, breakdown.line_taxes, strict=True)
    ]
    compiled.hand_prefetched(order, "lines", lines)  # the caller reads the lines without a query
    audit(
        actor=f"user:{user.pk}",
        action="order.placed",
        obj=order,
        order=order,
        data={"total": order.total_amount, "currency": currency, "lines": len(plans), "kind": order.kind},
    )
    return order


def _field(name: str, message: str) -> dict[str, str]:
    return {"field": name, "in": "body", "message": message}


def _local(moment: datetime) -> str:
    return f"{timezone.localtime(moment, business_time_zone()):%d %b %Y %H:%M}"


def _plan_course(item: ItemRequest, placement: _Placement) -> _Plan:
    course = placement.courses.get(item.course_id or 0)
    if course is None or not course.published:
        raise NotFound("Course not found.")
    if course.starts_at <= placement.now:
        raise NotBookable(f"“{course.title}” has already started and cannot be booked.")
    if item.quantity != 1 or course.pk in placement.seen_courses:
        raise QuantityNotAllowed("A customer books one seat per course.", errors=[_field("quantity", "must be 1")])
    placement.seen_courses.add(course.pk)
    seats = seats_taken(
        course_id=course.pk, user_id=placement.user.pk if placement.user else None, now=placement.now,
        ignoring=placement.ignoring,
    )  # fmt: skip
    if seats.lapsed and placement.locked:
        # Unpaid holds past their time still sit in the seat rows the database's own guards look at (one
        # active booking per customer): give them back first. The counts above are of live holds already.
        _expire_lapsed_holders(course_ids=[course.pk], resource_ids=[], product_ids=[], now=placement.now)
    if seats.mine:
        raise AlreadyBooked(f"You already have a seat on “{course.title}”.")
    if seats.taken >= course.capacity:
        raise SoldOut(f"“{course.title}” is sold out.")
    return _Plan(
        item=item,
        priced=PricedLine(course.title, course.price_amount, 1, tax_rate_basis_points=course.tax_rate),
        currency=course.currency,
        description=f"{course.title} — {_local(course.starts_at)}",
        targets={"course": course},
    )


def _plan_service(item: ItemRequest, placement: _Placement) -> _Plan:
    service = placement.services.get(item.service_id or 0)
    if service is None or not service.published:
        raise NotFound("Service not found.")
    if item.starts_at is None:
        raise InvalidInput("Choose a time slot.", errors=[_field("starts_at", "required")])
    starts_at = item.starts_at
    # The slots endpoint's limit, for every date a client can send (far dates overflow the local time).
    if abs(starts_at - placement.now) > timedelta(days=SLOT_HORIZON_DAYS):
        raise NotBookable(
            f"Pick a time within {SLOT_HORIZON_DAYS} days of today.",
            errors=[_field("starts_at", f"must be within {SLOT_HORIZON_DAYS} days of today")],
        )
    reservations = Reservation.objects.filter(live_hold(placement.now), resource__in=service.resources.all())
    taken = [
        *reservations.exclude(line__order=placement.ignoring).values_list("resource_id", "starts_at", "ends_at"),
        *placement.planned_slots,
    ]
    day = timezone.localtime(starts_at, business_time_zone()).date()
    slot = next(
        (s for s in service_free_slots(service=service, day=day, taken=taken) if s.starts_at == starts_at), None
    )
    if slot is None:
        raise SlotTaken(f"{service.name} at {_local(starts_at)} is not free.")
    resource_id = slot.resource_ids[0]
    placement.planned_slots.append((resource_id, starts_at, slot.ends_at))
    return _Plan(
        item=item,
        priced=PricedLine(service.name, service.price_amount, 1, tax_rate_basis_points=service.tax_rate),
        currency=service.currency,
        description=f"{service.name} — {_local(starts_at)}",
        targets={"service": service, "resource_id": resource_id, "starts_at": starts_at, "ends_at": slot.ends_at},
    )


def _plan_product(item: ItemRequest, placement: _Placement) -> _Plan:
    product = placement.products.get(item.product_id or 0)
    if product is None or not product.published:
        raise NotFound("Product not found.")
    if product.kind == Product.Kind.PHYSICAL:
        if not 1 <= item.quantity <= MAX_PHYSICAL_QUANTITY:
            raise InvalidInput(
                f"Quantity must be between 1 and {MAX_PHYSICAL_QUANTITY}.", errors=[_field("quantity", "out of range")]
            )
        earlier = placement.planned_units.get(product.pk, 0)
        taken = units_taken(product_id=product.pk, now=placement.now, ignoring=placement.ignoring) + earlier
        left = max(0, (product.stock or 0) - taken)
        if item.quantity > left:
            if left == 0:
                raise SoldOut(f"“{product.title}” is sold out.")
            raise SoldOut(f"Only {left} of “{product.title}” left.", errors=[_field("quantity", f"at most {left}")])
        placement.planned_units[product.pk] = earlier + item.quantity
        return _Plan(
            item=item,
            priced=PricedLine(
                product.title,
                product.price_amount or 0,
                item.quantity,
                ships=True,
                weight_grams=(product.weight_grams or 0) * item.quantity,
                tax_rate_basis_points=product.tax_rate,
            ),
            currency=product.currency,
            description=product.title,
            targets={"product": product},
        )
    license_ = License.objects.filter(pk=item.license_id or 0, product=product, active=True).first()
    if license_ is None:
        raise NotBookable("Choose a license tier for this product.", errors=[_field("license_id", "unknown license")])
    if item.quantity != 1:
        raise QuantityNotAllowed("A license is bought once.", errors=[_field("quantity", "must be 1")])
    # Under the product's row lock (plan_items): an exclusive held or sold takes the beat off sale; leases
    # sold before it stay valid, so an exclusive may be bought while leases exist (marketplace convention).
    holds = Grant.objects.filter(live_hold(placement.now), product=product).exclude(line__order=placement.ignoring)
    if holds.filter(exclusive=True).exists():
        raise SoldOut(f"“{product.title}” has been licensed exclusively and is off sale.")
    return _Plan(
        item=item,
        priced=PricedLine(
            f"{product.title} — {license_.name}", license_.price_amount, 1, tax_rate_basis_points=product.tax_rate
        ),
        currency=product.currency,
        description=f"{product.title} — {license_.name}",
        targets={"product": product, "license": license_},
    )


def _create_line(*, order: Order, plan: _Plan, user: User, tax: LineTax) -> OrderLine:
    targets = plan.targets
    line = compiled.insert(
        OrderLine(
            order=order,
            kind=plan.item.kind,
            description=plan.description[:300],
            quantity=plan.priced.quantity,
            unit_amount=plan.priced.unit_amount,
            total_amount=plan.priced.total,
            tax_rate=tax.rate_basis_points,
            tax_amount=tax.tax,
            course=targets.get("course"),
            service=targets.get("service"),
            product=targets.get("product"),
            license=targets.get("license"),
        )
    )
    if plan.item.kind == "course":
        compiled.insert(Booking(line=line, course=targets["course"], user=user))
    elif plan.item.kind == "service":
        compiled.insert(
            Reservation(
                line=line,
                service=targets["service"],
                resource_id=targets["resource_id"],
                user=user,
                starts_at=targets["starts_at"],
                ends_at=targets["ends_at"],
            )
        )
    elif "license" in targets:
        license_ = targets["license"]
        compiled.insert(
            Grant(line=line, product=targets["product"], license=license_, user=user, exclusive=license_.exclusive)
        )
    else:
        compiled.insert(StockHold(line=line, product=targets["product"], user=user, quantity=line.quantity))
    return line


def _integrity_to_conflict(exc: IntegrityError) -> BookdeskError:
    text = str(exc)
    if "booking_one_active" in text:
        return AlreadyBooked("You already have a seat on this course.")
    if "grant_exclusive" in text:
        return SoldOut("The exclusive license is no longer available.")
    if "reservation_no_overlap" in text or "exclusion" in text.lower():
        return SlotTaken("That time slot was just taken.")
    return Conflict("Someone else just took what you asked for. Please try again.")


@transaction.atomic
def order_expire(*, order: Order, actor: str, reason: str) -> bool:
    order = Order.objects.select_for_update().get(pk=order.pk)
    if not order_transition(order=order, to=OrderStatus.EXPIRED, actor=actor, data={"reason": reason}):
        return False
    _release_and_record(order=order, actor=actor, reason=reason)
    return True


@transaction.atomic
def order_cancel_unpaid(*, order: Order, actor: str, reason: str) -> bool:
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status not in states.PAYABLE:
        raise InvalidTransition("Only an order that has not been paid can be cancelled this way.")
    order_transition(order=order, to=OrderStatus.CANCELLED, actor=actor, data={"reason": reason})
    _release_and_record(order=order, actor=actor, reason=reason)
    return True


def _release_and_record(*, order: Order, actor: str, reason: str) -> None:
    released = release_holds(order=order)
    audit(
        actor=actor,
        action="order.holds_released",
        obj=order,
        order=order,
        data={"released": released, "reason": reason},
    )


def _item_of(line: OrderLine, hold: Any) -> ItemRequest:
    if line.kind == OrderLine.Kind.COURSE:
        return ItemRequest(kind="course", course_id=line.course_id)
    if line.kind == OrderLine.Kind.SERVICE:
        return ItemRequest(kind="service", service_id=line.service_id, starts_at=hold.starts_at)
    return ItemRequest(kind="product", product_id=line.product_id, license_id=line.license_id, quantity=line.quantity)


@transaction.atomic
def order_rehold(*, order: Order, actor: str, now: datetime | None = None) -> bool:
    """Take back what an order held before its hold lapsed (or its payment failed), if all of it is free.

    Used when money arrives late, and when a customer retries a failed payment. False, changing
    nothing, when anything is gone (sold out, slot taken, course started): then the caller refunds
    or asks the customer to check out again.
    """
    now = now or timezone.now()
    lines = OrderLine.objects.filter(order=order).select_related("booking", "reservation", "grant", "stock_hold")
    released = [(line, hold) for line in lines if (hold := line.hold) and hold.status == HoldStatus.RELEASED]
    if not released:
        return True
    try:
        with transaction.atomic():
            plan_items(
                user=order.user,
                items=[_item_of(line, hold) for line, hold in released],
                now=now,
                lock=True,
                ignoring=order.pk,
            )
            for _, hold in released:
                hold.status = HoldStatus.HELD
                hold.save(update_fields=["status"])
    except (BookdeskError, IntegrityError) as exc:
        audit(actor=actor, action="order.rehold_refused", obj=order, order=order, data={"reason": str(exc)})
        return False
    audit(actor=actor, action="order.holds_retaken", obj=order, order=order, data={"holds": len(released)})
    return True
