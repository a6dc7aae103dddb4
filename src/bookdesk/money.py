"""Money is an integer amount of minor units plus a lowercase ISO 4217 currency. Never floats."""

from __future__ import annotations

import re
from typing import TypedDict

# Currencies the business may price in (a subset of what Stripe settles).
CURRENCIES: tuple[str, ...] = (
    "aud", "brl", "cad", "chf", "czk", "dkk", "eur", "gbp", "hkd", "huf", "idr", "inr",
    "jpy", "krw", "mxn", "nok", "nzd", "pln", "ron", "sek", "sgd", "thb", "twd", "usd", "vnd",
)  # fmt: skip
# Currencies whose minor unit is the unit itself (Stripe's zero-decimal list, those we support).
ZERO_DECIMAL: frozenset[str] = frozenset({"jpy", "krw", "vnd"})
# Currencies with three decimals (Stripe settles these; formatting and parsing respect them).
THREE_DECIMAL: frozenset[str] = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
CURRENCY_CHOICES = [(code, code.upper()) for code in CURRENCIES]
SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£", "jpy": "¥", "krw": "₩", "chf": "CHF "}


class MoneyDict(TypedDict):
    amount: int
    currency: str


def decimals(currency: str) -> int:
    code = currency.lower()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def money(amount: int, currency: str) -> MoneyDict:
    return {"amount": int(amount), "currency": currency.lower()}


def format_money(amount: int, currency: str) -> str:
    """`1999, "eur"` → `€19.99`; `1500, "jpy"` → `¥1,500`."""
    places = decimals(currency)
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(int(amount)), 10**places)
    text = f"{whole:,}" + (f".{minor:0{places}d}" if places else "")
    symbol = SYMBOLS.get(currency.lower())
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency.upper()}"


def format_major(amount: int, currency: str) -> str:
    """The amount in major units as an operator types it, without symbol or grouping: `12999, "eur"` → `129.99`."""
    places = decimals(currency)
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(int(amount)), 10**places)
    return f"{sign}{whole}" + (f".{minor:0{places}d}" if places else "")


_MAJOR = re.compile(r"^(?P<sign>-?)(?P<whole>\d{1,3}(?:,\d{3})+|\d+)?(?:\.(?P<fraction>\d+))?$")


def parse_major(text: str, currency: str) -> int:
    """What an operator typed, in major units, as minor units: `"129.99", "eur"` → `12999`; `"1,200", "jpy"` → `1200`.

    Accepts a leading currency symbol or code, `,` between thousands, and `,` as the decimal mark when there is
    no `.` (`"129,99"`). Raises ValueError with a sentence for the operator.
    """
    places = decimals(currency)
    code = currency.upper()
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    symbol = SYMBOLS.get(currency.lower(), "").strip()
    for mark in (symbol, code, code.lower()):
        if mark and cleaned.startswith(mark):
            cleaned = cleaned[len(mark) :]
        if mark and cleaned.endswith(mark):
            cleaned = cleaned[: -len(mark)]
    if re.fullmatch(r"-?\d+,\d{1,2}", cleaned):
        cleaned = cleaned.replace(",", ".")  # a decimal comma: "129,99" (three digits after a comma are thousands)
    match = _MAJOR.match(cleaned)
    if match is None or not (match["whole"] or match["fraction"]):
        example = "1200" if places == 0 else f"129.{'99'.ljust(places, '0')}"
        raise ValueError(f"Enter an amount in {code}, such as {example}.")
    fraction = (match["fraction"] or "").rstrip("0")
    if len(fraction) > places:
        if places == 0:
            raise ValueError(f"{code} has no smaller unit: enter a whole amount, such as 1200.")
        raise ValueError(f"{code} amounts have at most {places} decimals.")
    whole = int((match["whole"] or "0").replace(",", ""))
    minor = int(fraction.ljust(places, "0")) if places else 0
    amount = whole * 10**places + minor
    return -amount if match["sign"] else amount
