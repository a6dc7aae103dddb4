"""Stripe's currency rules: which currencies exist, their decimals, minimum charge amounts, and which
payment method types each currency allows.

Amounts are integers in the currency's minor unit (cents; yen for the zero-decimal ``jpy``; fils for the
three-decimal ``kwd``, whose last digit must be 0 for card networks).
"""

from __future__ import annotations

from stripe_sandbox.errors import StripeError, invalid

# Stripe's presentment currencies.
_CODES = (
    "usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd cad "
    "cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl "
    "htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd "
    "mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd "
    "rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd "
    "vuv wst xaf xcd xof xpf yer zar zmw "
)
CURRENCIES = frozenset(_CODES.split())
ZERO_DECIMAL_CURRENCIES = frozenset(
    ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"]
)
THREE_DECIMAL_CURRENCIES = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])

# Stripe's minimum charge amounts, in minor units. Other currencies: Stripe converts to the account's
# settlement currency at the day's rate, which the sandbox does not know; it requires at least 1 there.
MINIMUM_AMOUNTS = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50, "czk": 1500,
    "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50, "jpy": 50, "mxn": 1000,
    "myr": 200, "nok": 300, "nzd": 50, "pln": 200, "ron": 200, "sek": 300, "sgd": 50, "thb": 1000,
}  # fmt: skip
MAXIMUM_AMOUNT = 99_999_999  # eight digits

# The payment method types a session may ask for, and the currencies each allows (None: any).
PAYMENT_METHOD_CURRENCIES: dict[str, frozenset[str] | None] = {
    "card": None,
    "link": None,
    "sepa_debit": frozenset(["eur"]),
    "ideal": frozenset(["eur"]),
    "bancontact": frozenset(["eur"]),
    "paypal": frozenset(
        ["aud", "cad", "chf", "czk", "dkk", "eur", "gbp", "hkd", "nok", "nzd", "pln", "sek", "sgd", "usd"]
    ),
}
# What a session without ``payment_method_types`` offers (Stripe's dynamic payment methods, as a
# test account has them on): those of these the currency allows.
DYNAMIC_PAYMENT_METHODS = ("card", "sepa_debit")


def decimals(currency: str) -> int:
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    return 3 if currency in THREE_DECIMAL_CURRENCIES else 2


def check_currency(currency: str, param: str) -> str:
    """``currency`` in lower case if Stripe knows it; else Stripe's refusal naming ``param``."""
    code = currency.lower()
    if code not in CURRENCIES:
        raise invalid(
            f"Invalid currency: {code}. Stripe currently supports these currencies: " + ", ".join(sorted(CURRENCIES)),
            param,
        )
    return code


def check_unit_amount(amount: int, currency: str, param: str) -> None:
    """A three-decimal currency's amounts end in 0 (card networks round to two decimals)."""
    if currency in THREE_DECIMAL_CURRENCIES and amount % 10:
        raise invalid(
            f"Invalid amount: {amount} {currency}. Amounts in three-decimal currencies must end in 0 "
            f"(for example {amount - amount % 10}), so that card networks can process them.",
            param,
        )


def check_total(amount: int, currency: str, param: str) -> None:
    """At least Stripe's minimum charge amount for the currency, at most eight digits."""
    minimum = MINIMUM_AMOUNTS.get(currency, 1)
    if amount < minimum:
        raise StripeError(
            f"The Checkout Session's total amount due must add up to at least {_major(minimum, currency)} {currency}",
            param=param,
            code="amount_too_small",
        )
    if amount > MAXIMUM_AMOUNT:
        raise StripeError(
            f"The Checkout Session's total amount due must be no more than {_major(MAXIMUM_AMOUNT, currency)} "
            f"{currency}",
            param=param,
            code="amount_too_large",
        )


def check_payment_method_types(types: list[str], currency: str, param: str) -> None:
    for index, method_type in enumerate(types):
        if method_type not in PAYMENT_METHOD_CURRENCIES:
            raise invalid(f"The payment method type provided: {method_type} is invalid.", f"{param}[{index}]")
        allowed = PAYMENT_METHOD_CURRENCIES[method_type]
        if allowed is not None and currency not in allowed:
            raise invalid(
                f"The currency provided ({currency}) is invalid for one or more payment method types: "
                f"{method_type}. Valid currencies for {method_type} are: {', '.join(sorted(allowed))}.",
                f"{param}[{index}]",
            )


def dynamic_payment_methods(currency: str) -> list[str]:
    return [
        method_type
        for method_type in DYNAMIC_PAYMENT_METHODS
        if PAYMENT_METHOD_CURRENCIES[method_type] is None or currency in (PAYMENT_METHOD_CURRENCIES[method_type] or ())
    ]


def _major(amount: int, currency: str) -> str:
    places = decimals(currency)
    units, minor = divmod(amount, 10**places)
    return f"{units}.{minor:0{places}d}" if places else str(units)
