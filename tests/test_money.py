"""Money as people read and type it: the currency's own decimals (0 for JPY, 3 for KWD), signs, grouping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bookdesk.money import CURRENCIES, THREE_DECIMAL, format_major, format_money, parse_major


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (12999, "eur", "€129.99"),
        (1200, "jpy", "¥1,200"),
        (123456789, "usd", "$1,234,567.89"),
        (5, "eur", "€0.05"),
        (-12999, "eur", "-€129.99"),
        (-1200, "jpy", "-¥1,200"),
        (1234, "kwd", "1.234 KWD"),
        (-1, "bhd", "-0.001 BHD"),
        (50000, "krw", "₩50,000"),
        (12345, "sek", "123.45 SEK"),
        (0, "eur", "€0.00"),
    ],
)
def test_format_money_respects_the_currency(amount: int, currency: str, shown: str) -> None:
    assert format_money(amount, currency) == shown


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [
        ("129.99", "eur", 12999),
        ("129,99", "eur", 12999),
        ("€129.99", "eur", 12999),
        ("EUR 3", "eur", 300),
        ("1,234.5", "eur", 123450),
        ("1,234", "eur", 123400),
        (".5", "eur", 50),
        ("1200", "jpy", 1200),
        ("¥1,200", "jpy", 1200),
        ("1200.00", "jpy", 1200),
        ("1.234", "kwd", 1234),
        ("-5", "eur", -500),
    ],
)
def test_parse_major_reads_what_an_operator_types(typed: str, currency: str, minor: int) -> None:
    assert parse_major(typed, currency) == minor


@pytest.mark.parametrize(
    ("typed", "currency", "message"),
    [
        ("1200.5", "jpy", "JPY has no smaller unit: enter a whole amount, such as 1200."),
        ("12.999", "eur", "EUR amounts have at most 2 decimals."),
        ("1.2345", "kwd", "KWD amounts have at most 3 decimals."),
        ("abc", "eur", "Enter an amount in EUR, such as 129.99."),
        ("", "eur", "Enter an amount in EUR, such as 129.99."),
        ("1,2,3", "usd", "Enter an amount in USD, such as 129.99."),
        ("12999 cents", "eur", "Enter an amount in EUR, such as 129.99."),
    ],
)
def test_parse_major_refuses_with_a_sentence(typed: str, currency: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace(".", r"\.") + "$"):
        parse_major(typed, currency)


@given(
    amount=st.integers(min_value=-(10**12), max_value=10**12), currency=st.sampled_from([*CURRENCIES, *THREE_DECIMAL])
)
def test_what_is_shown_for_typing_reads_back_as_the_same_amount(amount: int, currency: str) -> None:
    assert parse_major(format_major(amount, currency), currency) == amount
    assert parse_major(format_money(amount, currency).replace("-", ""), currency) == abs(amount)
