"""The reading helpers of admin_base: times named in the active zone, record data with amounts as money."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.utils import timezone

from bookdesk.admin_base import breakable, format_data, format_local_time, money_display, truncated_display

WINTER = dt.datetime(2026, 12, 4, 18, 5, tzinfo=dt.UTC)
SUMMER = dt.datetime(2027, 7, 1, 8, 0, tzinfo=dt.UTC)


def test_times_are_named_in_the_active_zone() -> None:
    with timezone.override(ZoneInfo("Europe/Berlin")):
        assert format_local_time(WINTER) == "4 Dec 2026 19:05 CET"
        assert format_local_time(SUMMER) == "1 Jul 2027 10:00 CEST"
    with timezone.override(ZoneInfo("Asia/Tokyo")):
        assert format_local_time(WINTER) == "5 Dec 2026 03:05 JST"
    assert format_local_time(None) == "—"


def test_record_data_reads_as_a_line_with_amounts_as_money() -> None:
    data = {"total": 14900, "currency": "eur", "lines": 1, "kind": "course_booking"}
    assert format_data(data, None) == "total €149.00 · currency EUR · lines 1 · kind course_booking"
    assert format_data({"amount": 1200, "reason": "late"}, "jpy") == "amount ¥1,200 · reason late"
    assert format_data({"amount_refunded": -250, "attempt": 2}, "usd") == "amount refunded -$2.50 · attempt 2"
    assert format_data({}, "eur") == ""


def test_display_methods_format_and_cut() -> None:
    line = SimpleNamespace(total_amount=129999, order=SimpleNamespace(currency="kwd"))
    assert money_display("total_amount", currency="order.currency")(None, line) == "129.999 KWD"
    assert money_display("total_amount", currency="order.missing")(None, line) == "—"
    event = SimpleNamespace(last_error="x" * 100, outcome="ok")
    cut = truncated_display("last_error", 20)(None, event)
    assert cut.startswith('<span title="' + "x" * 100 + '">')
    assert cut.endswith("x" * 19 + "…</span>")
    assert truncated_display("outcome", 20)(None, event) == "ok"
    assert breakable("checkout.session.completed") == "checkout.<wbr>session.<wbr>completed<wbr>"
