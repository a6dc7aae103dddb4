"""Shipping on Checkout Sessions, as Stripe models it: address collection limited to allowed countries,
up to five fixed-amount shipping options (``shipping_rate_data`` creates a ``shr_`` shipping rate, or an
existing rate's id), the chosen option's ``shipping_cost`` in the session's ``amount_total``, the buyer's
shipping address in ``collected_information.shipping_details`` and their billing address in
``customer_details.address`` (``billing_address_collection``).

Addresses come from the hosted page's form or from the test helper's ``shipping_details`` /
``billing_details``; both are validated here, the same way: required fields, and a country among the
allowed ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stripe_sandbox import objects
from stripe_sandbox.errors import invalid, missing_param, resource_missing
from stripe_sandbox.params import Params

# ISO 3166-1 alpha-2 codes Stripe accepts in `allowed_countries` (Stripe's list: no AS, CX, CC, CU, HM, IR, KP,
# MH, FM, NF, MP, PW, SD, SY, UM, VI), plus AC and TA as Stripe lists them.
_COUNTRY_CODES = """
AC AD AE AF AG AI AL AM AO AQ AR AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW
    BY BZ CA CD CF CG CH CI CK CL CM CN CO CR CV CW CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FO FR GA
    GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HN HR HT HU ID IE IL IM IN IO IQ IS IT JE JM JO JP KE
    KG KH KI KM KN KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MK ML MM MN MO MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PY QA RE RO RS RU RW SA SB
    SC SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SZ TA TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG US
    UY UZ VA VC VE VG VN VU WF WS XK YE YT ZA ZM ZW"""
ALLOWED_COUNTRIES = frozenset(_COUNTRY_CODES.split())
# Countries whose addresses need a state or province on Stripe's page.
STATE_REQUIRED = frozenset({"US", "CA", "AU"})
# Countries without postal codes (Stripe's page does not ask for one there).
NO_POSTAL_CODE = frozenset({"AE", "AG", "AO", "BS", "BZ", "HK", "IE", "JM", "MO", "QA", "TT", "ZW"})
MAX_OPTIONS = 5
ESTIMATE_UNITS = ("hour", "day", "business_day", "week", "month")
RATE_DATA_PARAMS = {"delivery_estimate", "display_name", "fixed_amount", "metadata", "tax_behavior", "tax_code", "type"}
ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "state", "country")

# Fields of a shipping or billing address the hosted page's form carries, by prefix.
SHIPPING_FORM_PREFIX = "shipping_"
BILLING_FORM_PREFIX = "billing_"


def shipping_rate(
    *, created: int, display_name: str, amount: int, currency: str, estimate: Any, metadata: dict[str, str],
    tax_behavior: str, tax_code: str | None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "id": objects.new_id("shr_"),
        "object": "shipping_rate",
        "active": True,
        "created": created,
        "delivery_estimate": estimate,
        "display_name": display_name,
        "fixed_amount": {"amount": amount, "currency": currency},
        "livemode": False,
        "metadata": metadata,
        "tax_behavior": tax_behavior,
        "tax_code": tax_code,
        "type": "fixed_amount",
    }


def read_address_collection(params: Params) -> dict[str, Any] | None:
    collection = params.child("shipping_address_collection")
    if collection is None:
        return None
    collection.reject_unknown({"allowed_countries"})
    countries = collection.strings("allowed_countries", required=True)
    for index, country in enumerate(countries):
        if country not in ALLOWED_COUNTRIES:
            raise invalid(
                f"Invalid {collection.name('allowed_countries')}[{index}]: must be one of the supported "
                f"ISO country codes (got {country!r}).",
                f"{collection.name('allowed_countries')}[{index}]",
            )
    return {"allowed_countries": list(dict.fromkeys(countries))}


def read_billing_collection(params: Params) -> str | None:
    return params.text("billing_address_collection", choices=("auto", "required"))


def read_options(state: Any, params: Params, *, currency: str, now: int) -> list[dict[str, Any]]:
    """The session's shipping rates (created from `shipping_rate_data`, or existing ones by id), not stored yet."""
    options = params.children("shipping_options")
    if len(options) > MAX_OPTIONS:
        raise invalid(f"You may only specify up to {MAX_OPTIONS} shipping options.", "shipping_options")
    rates = []
    for option in options:
        option.reject_unknown({"shipping_rate", "shipping_rate_data"})
        if option.has("shipping_rate") == option.has("shipping_rate_data"):
            raise invalid(
                "Each shipping option needs exactly one of `shipping_rate` or `shipping_rate_data`.", option.prefix
            )
        if option.has("shipping_rate"):
            rate_id = option.text("shipping_rate", required=True) or ""
            rate = state.store.get(rate_id, "shipping_rate")
            if rate is None:
                raise resource_missing("shipping_rate", rate_id, option.name("shipping_rate"))
        else:
            rate = _rate_from_data(option.child("shipping_rate_data", required=True) or Params({}), now)
        amount_currency = rate["fixed_amount"]["currency"]
        if amount_currency != currency:
            raise invalid(
                f"The shipping rate's currency ({amount_currency}) must match the Checkout Session's ({currency}).",
                option.prefix,
            )
        rates.append(rate)
    return rates


def _rate_from_data(data: Params, now: int) -> dict[str, Any]:
    data.reject_unknown(RATE_DATA_PARAMS)
    data.text("type", choices=("fixed_amount",))
    display_name = data.text("display_name", required=True, max_length=100) or ""
    fixed = data.child("fixed_amount")
    if fixed is None:
        raise missing_param(data.name("fixed_amount"))
    fixed.reject_unknown({"amount", "currency", "currency_options"})
    amount = fixed.integer("amount", required=True, minimum=0, maximum=99_999_999)
    currency = (fixed.text("currency", required=True) or "").lower()
    if len(currency) != 3 or not currency.isalpha():
        raise invalid(f"Invalid currency: {currency}", fixed.name("currency"))
    estimate: dict[str, Any] | None = None
    delivery = data.child("delivery_estimate")
    if delivery is not None:
        delivery.reject_unknown({"minimum", "maximum"})
        estimate = {"minimum": None, "maximum": None}
        for bound in ("minimum", "maximum"):
            part = delivery.child(bound)
            if part is not None:
                part.reject_unknown({"unit", "value"})
                unit = part.text("unit", required=True, choices=ESTIMATE_UNITS)
                value = part.integer("value", required=True, minimum=1)
                estimate[bound] = {"unit": unit, "value": value}
    tax_behavior = data.text("tax_behavior", choices=("exclusive", "inclusive", "unspecified")) or "unspecified"
    return shipping_rate(
        created=now,
        display_name=display_name,
        amount=int(amount or 0),
        currency=currency,
        estimate=estimate,
        metadata=data.metadata(),
        tax_behavior=tax_behavior,
        tax_code=data.text("tax_code"),
    )


def attach(session: dict[str, Any], rates: list[dict[str, Any]], collection: dict[str, Any] | None) -> None:
    """Put the options on a new session; the first is chosen until the buyer picks another (as Stripe does)."""
    session["shipping_address_collection"] = collection
    session["shipping_options"] = [
        {"shipping_amount": rate["fixed_amount"]["amount"], "shipping_rate": rate["id"]} for rate in rates
    ]
    if rates:
        choose(session, rates[0]["id"])


def choose(session: dict[str, Any], rate_id: str) -> None:
    """The buyer's shipping option: `shipping_cost`, the shipping total and `amount_total` follow it."""
    option = next((o for o in session.get("shipping_options") or [] if o["shipping_rate"] == rate_id), None)
    if option is None:
        raise invalid(f"The shipping rate {rate_id!r} is not one of this Checkout Session's options.", "shipping_rate")
    amount = int(option["shipping_amount"])
    session["shipping_cost"] = {
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "shipping_rate": rate_id,
    }
    session["total_details"] = {**session["total_details"], "amount_shipping": amount}
    session["amount_total"] = int(session["amount_subtotal"]) + amount


def address_errors(values: Mapping[str, str], *, allowed: list[str] | None, what: str = "shipping") -> dict[str, str]:
    """Why an address cannot be used, by field (empty when it is fine): Stripe's page asks for the same."""
    errors: dict[str, str] = {}
    country = (values.get("country") or "").strip().upper()
    if not (values.get("name") or "").strip():
        errors["name"] = f"Enter the {what} name."
    if not (values.get("line1") or "").strip():
        errors["line1"] = "Enter the address (street and number)."
    if not (values.get("city") or "").strip():
        errors["city"] = "Enter the city."
    if not country:
        errors["country"] = "Choose a country."
    elif country not in ALLOWED_COUNTRIES or (allowed is not None and country not in allowed):
        errors["country"] = f"We cannot ship to {country}." if what == "shipping" else f"Unknown country {country}."
    if country not in NO_POSTAL_CODE and not (values.get("postal_code") or "").strip():
        errors["postal_code"] = "Enter the postal code."
    if country in STATE_REQUIRED and not (values.get("state") or "").strip():
        errors["state"] = "Enter the state or province."
    for key, value in values.items():
        if len(value or "") > 200:
            errors[key] = "Too long."
    return errors


def details_from(values: Mapping[str, str]) -> dict[str, Any]:
    """Stripe's `{name, address}` from validated form or helper values."""
    address = {key: ((values.get(key) or "").strip() or None) for key in ADDRESS_FIELDS}
    address["country"] = (address["country"] or "").upper() or None
    return {"address": address, "name": (values.get("name") or "").strip()}


def helper_details(params: Params, key: str) -> dict[str, str] | None:
    """`shipping_details` / `billing_details` of the test helper: name and address, strictly."""
    details = params.child(key)
    if details is None:
        return None
    details.reject_unknown({"name", "address"})
    address = details.child("address", required=True) or Params({})
    address.reject_unknown(ADDRESS_FIELDS)
    values = {field: address.text(field, max_length=200) or "" for field in ADDRESS_FIELDS}
    values["name"] = details.text("name", max_length=200) or ""
    return values


def collect(
    session: dict[str, Any],
    *,
    shipping: Mapping[str, str] | None,
    billing: Mapping[str, str] | None,
    rate_id: str | None,
    param_prefix: tuple[str, str] = ("shipping_details", "billing_details"),
) -> None:
    """Apply the buyer's addresses and option to an open session, validated as Stripe validates them."""
    collection = session.get("shipping_address_collection")
    ship_param, bill_param = param_prefix
    if collection is None and shipping is not None:
        raise invalid("This Checkout Session does not collect a shipping address.", ship_param)
    if collection is not None:
        if shipping is None:
            raise missing_param(ship_param)
        _raise_first(address_errors(shipping, allowed=collection["allowed_countries"]), ship_param)
    if rate_id is not None:
        if not session.get("shipping_options"):
            raise invalid("This Checkout Session has no shipping options.", "shipping_rate")
        choose(session, rate_id)
    mode = session.get("billing_address_collection")
    if billing is None and mode == "required":
        raise missing_param(bill_param)
    if billing is not None:
        _raise_first(address_errors(billing, allowed=None, what="billing"), bill_param)
    if shipping is not None:
        session["_shipping_details"] = details_from(shipping)
    if billing is not None:
        session["_billing_details"] = details_from(billing)


def _raise_first(errors: Mapping[str, str], param: str) -> None:
    for key, message in errors.items():
        name = f"{param}[name]" if key == "name" else f"{param}[address][{key}]"
        raise invalid(message, name, "parameter_invalid_empty" if message.startswith("Enter") else None)


def complete(session: dict[str, Any], customer: dict[str, Any]) -> None:
    """On completion: the collected shipping details and billing address on the session and its customer."""
    shipping = session.pop("_shipping_details", None)
    billing = session.pop("_billing_details", None)
    if shipping is not None:
        session["collected_information"] = {
            "business_name": None,
            "individual_name": None,
            "shipping_details": shipping,
        }
    source = billing or shipping
    if source is not None:
        customer["address"] = dict(source["address"])
        customer["name"] = source["name"] or customer.get("name")
