"""Money is an integer amount of minor units plus a lowercase ISO 4217 currency. Never floats."""

from __future__ import annotations

from typing import TypedDict

# Currencies the business may price in (a subset of what Stripe settles).
CURRENCIES: tuple[str, ...] = (
    "aud", "brl", "cad", "chf", "czk", "dkk", "eur", "gbp", "hkd", "huf", "idr", "inr",
    "jpy", "krw", "mxn", "nok", "nzd", "pln", "ron", "sek", "sgd", "thb", "twd", "usd", "vnd",
)  # fmt: skip
# Currencies whose minor unit is the unit itself (Stripe's zero-decimal list, those we support).
ZERO_DECIMAL: frozenset[str] = frozenset({"jpy", "krw", "vnd"})
CURRENCY_CHOICES = [(code, code.upper()) for code in CURRENCIES]
SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£", "jpy": "¥", "krw": "₩", "chf": "CHF "}


class MoneyDict(TypedDict):
    amount: int
    currency: str


def decimals(currency: str) -> int:
    return 0 if currency.lower() in ZERO_DECIMAL else 2


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
