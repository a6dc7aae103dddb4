"""The API's resources: checkout sessions, payment intents, charges, refunds, disputes,
events and webhook endpoints. Each write runs in one sandbox transaction and records the
events Stripe would send. Payments themselves live in :mod:`stripe_sandbox.payments`.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stripe_sandbox import objects
from stripe_sandbox.errors import StripeError, invalid, missing_param, resource_missing
from stripe_sandbox.params import Params

if TYPE_CHECKING:
    from stripe_sandbox.server import RequestContext, Sandbox

SESSION_MIN_LIFETIME = 30 * 60
SESSION_MAX_LIFETIME = 24 * 3600
# A request for exactly "now + 30 min" may arrive a moment later than it was computed.
SESSION_LIFETIME_SLACK = 5

# Stripe's Checkout Session create parameters: those the sandbox does not model are
# accepted and ignored, anything else is refused as Stripe refuses it.
SESSION_PARAMS = {
    "adaptive_pricing", "after_expiration", "allow_promotion_codes", "automatic_tax",
    "billing_address_collection", "branding_settings", "cancel_url", "client_reference_id",
    "consent_collection", "currency", "custom_fields", "custom_text", "customer",
    "customer_account", "customer_creation", "customer_email", "customer_update",
    "discounts", "excluded_payment_method_types", "expand", "expires_at",
    "invoice_creation", "line_items", "locale", "metadata", "mode", "name_collection",
    "optional_items", "origin_context", "payment_intent_data", "payment_method_collection",
    "payment_method_configuration", "payment_method_data", "payment_method_options",
    "payment_method_types", "permissions", "phone_number_collection",
    "redirect_on_completion", "return_url", "saved_payment_method_options",
    "setup_intent_data", "shipping_address_collection", "shipping_options", "submit_type",
    "subscription_data", "success_url", "tax_id_collection", "ui_mode", "wallet_options",
}  # fmt: skip
LINE_ITEM_PARAMS = {
    "adjustable_quantity", "dynamic_tax_rates", "metadata", "price", "price_data",
    "quantity", "tax_rates",
}  # fmt: skip
PRICE_DATA_PARAMS = {
    "currency", "product", "product_data", "recurring", "tax_behavior", "unit_amount",
    "unit_amount_decimal",
}  # fmt: skip
PRODUCT_DATA_PARAMS = {"description", "images", "metadata", "name", "tax_code", "unit_label"}
PAYMENT_METHOD_TYPES = {"card", "sepa_debit", "link", "paypal", "ideal", "bancontact"}
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
DISPUTE_REASONS = (
    "bank_cannot_process", "credit_not_processed", "customer_initiated", "debit_not_authorized",
    "duplicate", "fraudulent", "general", "incorrect_account_details", "insufficient_funds",
    "product_not_received", "product_unacceptable", "subscription_canceled", "unrecognized",
)  # fmt: skip
_CURRENCY = re.compile(r"^[a-z]{3}$")
_EVENT_TYPE = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$")


# --- reading --------------------------------------------------------------------------


def load(sandbox: Sandbox, kind: str, object_id: str, param: str = "id") -> dict[str, Any]:
    obj = sandbox.store.get(object_id, kind)
    if obj is None:
        raise resource_missing(kind, object_id, param)
    return obj


def expand(sandbox: Sandbox, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Render ``obj`` with ``expand[]`` applied (ids → objects, ``line_items`` → list)."""
    # Expanding a nested path writes into nested values: those must be copies then.
    shown = sandbox.render(obj, copy_nested=any("." in path for path in paths))
    for path in paths:
        _expand_path(sandbox, shown, path.split("."), path, obj)
    return shown


def _expand_path(
    sandbox: Sandbox, node: dict[str, Any], parts: list[str], full: str, raw: dict[str, Any] | None = None
) -> None:
    """Expand ``parts`` in ``node``; ``raw`` is the stored object that ``node`` renders, if known."""
    head, rest = parts[0], parts[1:]
    if node.get("object") == "list" and head == "data":
        for item in node["data"]:
            if rest:
                _expand_path(sandbox, item, rest, full)
        return
    if head == "line_items" and node.get("object") == "checkout.session":
        if raw is None:
            raw = sandbox.store.get(node["id"], "checkout.session") or {}
        items = [objects.public(item) for item in raw.get("_line_items", [])]
        node["line_items"] = objects.list_object(f"/v1/checkout/sessions/{node['id']}/line_items", items)
        return
    if head not in node:
        raise invalid(f"This property cannot be expanded ({full}).", "expand")
    value = node[head]
    if isinstance(value, str):
        target = sandbox.store.get(value)
        if target is None:
            raise invalid(f"This property cannot be expanded ({full}).", "expand")
        value = sandbox.render(target)
        node[head] = value
    if rest and isinstance(value, dict):
        _expand_path(sandbox, value, rest, full)


def paginate(
    items: list[dict[str, Any]],
    params: Params,
    url: str,
    render: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """A page of a list held in memory (a session's line items)."""
    limit, starting_after, ending_before = _page_request(params)
    ids = [item["id"] for item in items]
    if starting_after:
        start = _cursor(ids, starting_after, "starting_after") + 1
        page, has_more = items[start : start + limit], len(items) > start + limit
    elif ending_before:
        end = _cursor(ids, ending_before, "ending_before")
        start = max(0, end - limit)
        page, has_more = items[start:end], start > 0
    else:
        page, has_more = items[:limit], len(items) > limit
    return objects.list_object(url, [render(item) for item in page], has_more)


def _page_request(params: Params) -> tuple[int, str | None, str | None]:
    """``limit``, ``starting_after`` and ``ending_before``, checked."""
    limit = params.integer("limit", minimum=1, maximum=100) or 10
    starting_after = params.text("starting_after")
    ending_before = params.text("ending_before")
    if starting_after and ending_before:
        raise invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            "ending_before",
        )
    return limit, starting_after, ending_before


def _cursor(ids: list[str], cursor: str, param: str) -> int:
    try:
        return ids.index(cursor)
    except ValueError:
        raise _no_such_cursor(cursor, param) from None


def _no_such_cursor(cursor: str, param: str) -> StripeError:
    return invalid(f"No such object: '{cursor}'", param, code="resource_missing")


def created_filter(params: Params) -> dict[str, int]:
    bounds: dict[str, int] = {}
    if not params.has("created"):
        return bounds
    if isinstance(params.data["created"], str):
        exact = params.integer("created")
        return {"eq": exact} if exact is not None else {}
    created = params.child("created") or Params({})
    created.reject_unknown(("gt", "gte", "lt", "lte"))
    for name in ("gt", "gte", "lt", "lte"):
        value = created.integer(name)
        if value is not None:
            bounds[name] = value
    return bounds


def list_objects(
    sandbox: Sandbox,
    kind: str,
    url: str,
    params: Params,
    filters: dict[str, Any] | None = None,
    predicate: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any]:
    """A page of the stored objects of one kind that pass ``filters`` and ``predicate``.

    Reads from the store only as far as the page reaches: from the cursor (which must itself
    be in the list) outwards, and one object past the page to tell ``has_more``.
    """
    expand_paths = params.strings("expand")
    wanted = [(field, value) for field, value in (filters or {}).items() if value is not None]

    def listed(item: dict[str, Any]) -> bool:
        return all(_field(item, field) == value for field, value in wanted) and (predicate is None or predicate(item))

    with sandbox.lock:
        created = created_filter(params)
        limit, starting_after, ending_before = _page_request(params)
        older_than = newer_than = None
        cursor, param = (starting_after, "starting_after") if starting_after else (ending_before, "ending_before")
        if cursor:
            found = sandbox.store.position(cursor, kind, created)
            if found is None or not listed(found[1]):
                raise _no_such_cursor(cursor, param)
            if starting_after:
                older_than = found[0]
            else:
                newer_than = found[0]
        scan = sandbox.store.scan(kind, created, older_than=older_than, newer_than=newer_than)
        with contextlib.closing(scan):  # ends the SELECT that is left unread
            taken = list(itertools.islice(filter(listed, scan), limit + 1))
        page = taken[:limit]
        if newer_than is not None:
            page.reverse()  # read nearest first, that is oldest first
        shown = [_expand_list_item(sandbox, item, expand_paths) for item in page]
        return objects.list_object(url, shown, len(taken) > limit)


def _expand_list_item(sandbox: Sandbox, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    item_paths = [path.removeprefix("data.") for path in paths if path.startswith("data.")]
    return expand(sandbox, obj, item_paths)


def _field(obj: dict[str, Any], dotted: str) -> Any:
    value: Any = obj
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def retrieve(sandbox: Sandbox, kind: str, object_id: str, params: Params) -> dict[str, Any]:
    with sandbox.lock:
        return expand(sandbox, load(sandbox, kind, object_id), params.strings("expand"))


# --- checkout sessions ----------------------------------------------------------------


def create_session(sandbox: Sandbox, params: Params, ctx: RequestContext) -> dict[str, Any]:
    params.reject_unknown(SESSION_PARAMS)
    mode = params.text("mode", required=True, choices=("payment", "setup", "subscription"))
    if mode != "payment":
        raise invalid("The sandbox supports only `mode=payment`.", "mode")
    ui_mode = params.text("ui_mode", choices=("hosted", "embedded", "custom"))
    if ui_mode not in (None, "hosted"):
        raise invalid("The sandbox supports only `ui_mode=hosted`.", "ui_mode")
    success_url = _web_url(params, "success_url")
    cancel_url = _web_url(params, "cancel_url")
    client_reference_id = params.text("client_reference_id", max_length=200)
    customer_email = params.text("customer_email", max_length=800)
    if customer_email is not None and "@" not in customer_email:
        raise invalid(f"Invalid email address: {customer_email}", "customer_email")
    metadata = params.metadata()
    locale = params.text("locale")
    submit_type = params.text("submit_type", choices=("auto", "book", "donate", "pay", "subscribe"))
    method_types = params.strings("payment_method_types") or ["card"]
    for index, method_type in enumerate(method_types):
        if method_type not in PAYMENT_METHOD_TYPES:
            raise invalid(
                f"The payment method type provided: {method_type} is invalid.",
                f"payment_method_types[{index}]",
            )
    intent_data = params.child("payment_intent_data")
    intent_settings: dict[str, Any] = {"metadata": {}, "description": None}
    if intent_data is not None:
        intent_settings["metadata"] = intent_data.metadata()
        intent_settings["description"] = intent_data.text("description", max_length=1000)
        intent_settings["receipt_email"] = intent_data.text("receipt_email")

    now = int(sandbox.now())
    expires_at = params.integer("expires_at")
    if expires_at is None:
        expires_at = now + SESSION_MAX_LIFETIME
    elif expires_at < now + SESSION_MIN_LIFETIME - SESSION_LIFETIME_SLACK:
        raise invalid(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
            "expires_at",
        )
    elif expires_at > now + SESSION_MAX_LIFETIME:
        raise invalid(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            "expires_at",
        )

    line_items = [_line_item(item, now) for item in params.children("line_items", required=True)]
    currency = line_items[0]["currency"]
    for index, item in enumerate(line_items):
        if item["currency"] != currency:
            raise invalid(
                "All line items must use the same currency.",
                f"line_items[{index}][price_data][currency]",
            )
    explicit_currency = params.text("currency")
    if explicit_currency is not None and explicit_currency.lower() != currency:
        raise invalid("`currency` must match the line items' currency.", "currency")
    total = sum(item["amount_total"] for item in line_items)

    session = objects.checkout_session(
        session_id=objects.new_id("cs_test_a1", 56),
        created=now,
        expires_at=expires_at,
        amount_total=total,
        currency=currency,
        success_url=success_url,
        cancel_url=cancel_url,
        client_reference_id=client_reference_id,
        customer_email=customer_email,
        metadata=metadata,
        payment_method_types=method_types,
        locale=locale,
        submit_type=submit_type,
    )
    session["_line_items"] = line_items
    session["_payment_intent_data"] = intent_settings
    with sandbox.transaction():
        sandbox.store.put(session)
        sandbox.store.set_timer(session["id"], "expire", expires_at)
    return expand(sandbox, session, params.strings("expand"))


def _web_url(params: Params, key: str) -> str | None:
    url = params.text(key, max_length=5000)
    if url is not None and not re.match(r"^https?://[^\s/]+", url):
        raise invalid(f"Not a valid URL: {key} must be an http(s) URL.", key, "url_invalid")
    return url


def _line_item(item: Params, now: int) -> dict[str, Any]:
    item.reject_unknown(LINE_ITEM_PARAMS)
    if item.has("price"):
        price = item.text("price") or ""
        raise invalid(
            f"No such price: '{price}'. The sandbox supports `price_data` only.",
            item.name("price"),
            "resource_missing",
        )
    price_data = item.child("price_data")
    if price_data is None:
        raise invalid(
            "You must specify either `price` or `price_data` for each line item.",
            item.name("price_data"),
            "parameter_missing",
        )
    price_data.reject_unknown(PRICE_DATA_PARAMS)
    currency = (price_data.text("currency", required=True) or "").lower()
    if not _CURRENCY.match(currency):
        raise invalid(f"Invalid currency: {currency}", price_data.name("currency"))
    unit_amount = price_data.integer("unit_amount", minimum=0, maximum=99_999_999)
    if unit_amount is None:
        raise missing_param(price_data.name("unit_amount"))
    if price_data.has("product"):
        raise invalid("The sandbox supports `product_data` only.", price_data.name("product"))
    product = price_data.child("product_data", required=True) or Params({})
    product.reject_unknown(PRODUCT_DATA_PARAMS)
    name = product.text("name", required=True, max_length=250) or ""
    quantity = item.integer("quantity", minimum=1, maximum=999_999)
    if quantity is None:
        raise missing_param(item.name("quantity"))
    return objects.line_item(
        created=now,
        currency=currency,
        unit_amount=unit_amount,
        quantity=quantity,
        name=name,
        description=product.text("description", max_length=40000),
        product_metadata=product.metadata(),
    )


def list_sessions(sandbox: Sandbox, params: Params) -> dict[str, Any]:
    details = params.child("customer_details")
    email = details.text("email") if details is not None else None
    return list_objects(
        sandbox,
        "checkout.session",
        "/v1/checkout/sessions",
        params,
        filters={
            "payment_intent": params.text("payment_intent"),
            "status": params.text("status", choices=("open", "complete", "expired")),
            "client_reference_id": params.text("client_reference_id"),
            "customer_details.email": email,
        },
    )


def session_line_items(sandbox: Sandbox, session_id: str, params: Params) -> dict[str, Any]:
    with sandbox.lock:
        session = load(sandbox, "checkout.session", session_id, "session")
        return paginate(
            session["_line_items"],
            params,
            f"/v1/checkout/sessions/{session_id}/line_items",
            objects.public,
        )


def expire_session(
    sandbox: Sandbox,
    session_id: str,
    ctx: RequestContext,
    *,
    automatic: bool = False,
) -> dict[str, Any]:
    """Expire an open session (API call or its ``expires_at`` passing), as Stripe does."""
    with sandbox.transaction():
        session = load(sandbox, "checkout.session", session_id, "session")
        if session["status"] != "open":
            if automatic:
                return session
            raise invalid(
                f'Only Checkout Sessions with a status in ["open"] can be expired. '
                f"This session has status `{session['status']}`.",
                "session",
            )
        session["status"] = "expired"
        if session["payment_intent"]:
            intent = sandbox.store.get(session["payment_intent"], "payment_intent")
            if intent is not None and intent["status"] in (
                "requires_payment_method",
                "requires_action",
                "requires_confirmation",
            ):
                intent["status"] = "canceled"
                intent["canceled_at"] = int(sandbox.now())
                intent["cancellation_reason"] = "abandoned"
                intent["next_action"] = None
                sandbox.store.put(intent)
                sandbox.emit("payment_intent.canceled", intent, ctx)
        sandbox.store.put(session)
        sandbox.store.clear_timer(session_id)
        sandbox.emit("checkout.session.expired", session, ctx)
        return session


# --- refunds and disputes ---------------------------------------------------------------


def create_refund(sandbox: Sandbox, params: Params, ctx: RequestContext) -> dict[str, Any]:
    params.reject_unknown(
        {"amount", "charge", "payment_intent", "reason", "metadata", "expand",
         "instructions_email", "origin", "refund_application_fee", "reverse_transfer",
         "currency", "customer"}
    )  # fmt: skip
    charge_id = params.text("charge")
    intent_id = params.text("payment_intent")
    amount = params.integer("amount", minimum=1)
    if params.has("amount") and amount is None:
        raise invalid("Invalid positive integer", "amount")
    reason = params.text("reason", choices=REFUND_REASONS)
    metadata = params.metadata()
    if charge_id and intent_id:
        raise invalid("You can only specify one of these parameters: charge, payment_intent.", "charge")
    with sandbox.transaction():
        if intent_id:
            intent = load(sandbox, "payment_intent", intent_id, "payment_intent")
            if not intent["latest_charge"] or intent["status"] != "succeeded":
                raise invalid(
                    f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                    "payment_intent",
                )
            charge_id = intent["latest_charge"]
        if not charge_id:
            raise invalid(
                "One of the following params should be provided for this request: payment_intent or charge.",
                "charge",
                "parameter_missing",
            )
        charge = load(sandbox, "charge", charge_id, "charge")
        if charge["status"] != "succeeded":
            raise invalid(f"Charge {charge_id} has not succeeded and cannot be refunded.", "charge")
        if charge["disputed"]:
            raise invalid(
                f"Charge {charge_id} has been charged back; cannot issue a refund.",
                "charge",
                "charge_disputed",
            )
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise invalid(
                f"Charge {charge_id} has already been refunded.",
                "charge",
                "charge_already_refunded",
            )
        if amount is None:
            amount = remaining
        elif amount > remaining:
            raise invalid(
                f"Refund amount ({amount} {charge['currency']}) is greater than unrefunded "
                f"amount on charge ({remaining} {charge['currency']})",
                "amount",
                "amount_too_large",
            )
        now = int(sandbox.now())
        refund = objects.refund(created=now, charge_obj=charge, amount=amount, reason=reason, metadata=metadata)
        sandbox.store.put(refund)
        sandbox.emit("refund.created", refund, ctx)

        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        charge["refunds"]["data"].insert(0, objects.public(refund))
        sandbox.store.put(charge)
        sandbox.emit("charge.refunded", charge, ctx, previous_attributes=previous)

        # The acquirer reference number arrives: Stripe reports it as refund.updated.
        card = refund["destination_details"].get("card")
        if card is not None:
            previous_card = copy.deepcopy(card)
            card["reference"] = objects.new_id("", 23).upper()
            card["reference_status"] = "available"
            sandbox.store.put(refund)
            _replace_refund(charge, refund)
            sandbox.store.put(charge)
            sandbox.emit(
                "refund.updated",
                refund,
                ctx,
                previous_attributes={"destination_details": {"card": previous_card}},
            )
        return sandbox.render(refund)


def _replace_refund(charge: dict[str, Any], refund: dict[str, Any]) -> None:
    charge["refunds"]["data"] = [
        objects.public(refund) if item["id"] == refund["id"] else item for item in charge["refunds"]["data"]
    ]


def create_dispute(sandbox: Sandbox, charge_id: str, params: Params, ctx: RequestContext) -> dict[str, Any]:
    reason = params.text("reason", choices=DISPUTE_REASONS) or "fraudulent"
    amount = params.integer("amount", minimum=1)
    with sandbox.transaction():
        charge = load(sandbox, "charge", charge_id, "charge")
        if charge["status"] != "succeeded":
            raise invalid(f"Charge {charge_id} has not succeeded.", "charge")
        if charge["disputed"]:
            raise invalid(f"Charge {charge_id} is already disputed.", "charge")
        disputable = charge["amount"] - charge["amount_refunded"]
        if disputable <= 0:
            raise invalid(f"Charge {charge_id} has been fully refunded.", "charge")
        if amount is None:
            amount = disputable
        elif amount > disputable:
            raise invalid("The dispute amount exceeds the disputable amount.", "amount")
        dispute = objects.dispute(created=int(sandbox.now()), charge_obj=charge, reason=reason, amount=amount)
        sandbox.store.put(dispute)
        charge["disputed"] = True
        sandbox.store.put(charge)
        sandbox.emit("charge.dispute.created", dispute, ctx)
        return sandbox.render(dispute)


# --- events -------------------------------------------------------------------------------


def list_events(sandbox: Sandbox, params: Params) -> dict[str, Any]:
    event_type = params.text("type")
    types = params.strings("types")
    if event_type and types:
        raise invalid("You may only specify one of these parameters: type, types.", "types")
    if len(types) > 20:
        raise invalid("`types` may contain at most 20 event types.", "types")
    wanted = [event_type] if event_type else types
    for index, name in enumerate(wanted):
        if not _EVENT_TYPE.match(name):
            raise invalid(f"Invalid event type: {name}", "type" if event_type else f"types[{index}]")

    def matches(event: dict[str, Any]) -> bool:
        return not wanted or any(_type_matches(pattern, event["type"]) for pattern in wanted)

    return list_objects(sandbox, "event", "/v1/events", params, predicate=matches)


def _type_matches(pattern: str, event_type: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


# --- webhook endpoints ---------------------------------------------------------------------


def create_webhook_endpoint(sandbox: Sandbox, params: Params) -> dict[str, Any]:
    params.reject_unknown(
        {"url", "enabled_events", "description", "metadata", "api_version", "connect",
         "expand"}
    )  # fmt: skip
    url = params.text("url", required=True) or ""
    _check_webhook_url(url)
    enabled_events = _enabled_events(params, required=True)
    api_version = params.text("api_version")
    endpoint = objects.webhook_endpoint(
        created=int(sandbox.now()),
        url=url,
        enabled_events=enabled_events,
        description=params.text("description", max_length=5000),
        metadata=params.metadata(),
        api_version=api_version,
        secret=objects.new_webhook_secret(),
    )
    with sandbox.transaction():
        sandbox.store.put(endpoint)
    shown = sandbox.render(endpoint)
    shown["secret"] = endpoint["_secret"]  # only ever shown on create
    return shown


def update_webhook_endpoint(sandbox: Sandbox, endpoint_id: str, params: Params) -> dict[str, Any]:
    params.reject_unknown({"url", "enabled_events", "description", "metadata", "disabled", "expand"})
    with sandbox.transaction():
        endpoint = load(sandbox, "webhook_endpoint", endpoint_id)
        if params.has("url"):
            url = params.text("url", required=True) or ""
            _check_webhook_url(url)
            endpoint["url"] = url
        if params.has("enabled_events"):
            endpoint["enabled_events"] = _enabled_events(params, required=True)
        if params.has("description"):
            endpoint["description"] = params.text("description")
        if params.has("metadata"):
            endpoint["metadata"] = {**endpoint["metadata"], **params.metadata()}
            for key, value in (params.data.get("metadata") or {}).items():
                if value == "":
                    endpoint["metadata"].pop(key, None)
        disabled = params.boolean("disabled")
        if disabled is not None:
            endpoint["status"] = "disabled" if disabled else "enabled"
        sandbox.store.put(endpoint)
        return sandbox.render(endpoint)


def delete_webhook_endpoint(sandbox: Sandbox, endpoint_id: str) -> dict[str, Any]:
    with sandbox.transaction():
        load(sandbox, "webhook_endpoint", endpoint_id)
        sandbox.store.delete(endpoint_id)
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


def _check_webhook_url(url: str) -> None:
    if not re.match(r"^https?://[^\s/]+", url):
        raise invalid(f"Invalid URL: {url}", "url", "url_invalid")


def _enabled_events(params: Params, *, required: bool) -> list[str]:
    events = params.strings("enabled_events", required=required)
    if required and not events:
        raise missing_param("enabled_events")
    for index, name in enumerate(events):
        if not _EVENT_TYPE.match(name):
            raise invalid(f"Invalid event type: {name}", f"enabled_events[{index}]")
    return events
