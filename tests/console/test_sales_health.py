"""Sales agree with the payments and refunds they count (page, charts and CSV), and the machinery's health:
worker heartbeats written by the worker loop, a stale worker flagged on the health page and in /readyz."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import time
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bookdesk.catalog.selectors import business_today
from bookdesk.ops.heartbeats import heartbeat_beat
from bookdesk.ops.models import WorkerHeartbeat
from bookdesk.payments.models import Payment, ReconcileRun, Refund, SalesRollup, WebhookEvent
from bookdesk.worker.loop import reconcile_once, run

from .conftest import course_today, local, seat_order

pytestmark = pytest.mark.django_db


def _payment(status: str, amount: int, day: dt.date, hour: int = 12, currency: str = "eur") -> Payment:
    order = seat_order(course_today(capacity=3))
    payment = Payment.objects.create(
        order=order,
        attempt=1,
        session_id=f"cs_test_{order.code}",
        payment_intent_id=f"pi_{order.code}",
        status=status,
        amount=amount,
        amount_received=amount if status in ("paid", "refunded", "refunding") else 0,
        currency=currency,
        expires_at=timezone.now(),
    )
    Payment.objects.filter(pk=payment.pk).update(created_at=local(day, hour))
    return payment


@pytest.fixture
def week_of_sales() -> dict[str, Any]:
    today = business_today()
    yesterday = today - dt.timedelta(days=1)
    paid = [_payment("paid", 9900, yesterday), _payment("paid", 4900, yesterday, 23), _payment("paid", 10000, today, 0)]
    _payment("failed", 9900, yesterday)
    _payment("expired", 9900, today)
    _payment("paid", 5000, today, currency="usd")
    refund = Refund.objects.create(
        payment=paid[0], stripe_refund_id="re_1", amount=2500, currency="eur", status="succeeded", reason="x"
    )
    Refund.objects.filter(pk=refund.pk).update(created_at=local(today, 9))
    Refund.objects.create(
        payment=paid[1], stripe_refund_id="re_2", amount=999, currency="eur", status="failed", reason="x"
    )
    return {"today": today, "yesterday": yesterday}


def test_sales_by_day_agree_with_the_payments(operator: Client, week_of_sales: dict[str, Any]) -> None:
    today, yesterday = week_of_sales["today"], week_of_sales["yesterday"]
    response = operator.get(f"/console/sales?by=day&from={yesterday.isoformat()}&to={today.isoformat()}")
    assert response.status_code == 200
    sales = response.context["sales"]
    first, second = sales.periods
    # Yesterday: two paid (€99 + €49, the second at 23:00 local), one failed: 2 of 3 finished → 66.6 %.
    assert (first.revenue, first.orders, first.refunds, first.paid, first.failed) == (14800, 2, 0, 2, 1)
    assert first.success_permille == 666
    assert first.average_order == 7400
    # Today: €100 at 00:00 local (still "today" in Berlin), an abandoned session, a €25 refund (the failed one not).
    assert (second.revenue, second.orders, second.refunds, second.abandoned) == (10000, 1, 2500, 1)
    assert second.success_permille == 1000
    assert response.context["total"].net == 14800 + 10000 - 2500
    html = response.content.decode()
    assert "<svg" in html
    assert "series-revenue" in html
    assert "<polyline" in html
    assert "€223.00" in html  # the net, beside the charts
    assert "cdn" not in html.lower()
    top = sales.top_items
    assert top
    assert top[0].kind == "Course seat"


def test_top_items_tell_a_license_from_goods(operator: Client) -> None:
    from bookdesk.orders.services import ItemRequest
    from factories import BeatFactory, PhysicalProductFactory, UserFactory, confirm, place

    beat, record = BeatFactory(title="Night Drive"), PhysicalProductFactory(title="Night Sessions LP")
    license_ = beat.licenses.order_by("price_amount").first()
    for item in (
        ItemRequest(kind="product", product_id=beat.pk, license_id=license_.pk),
        ItemRequest(kind="product", product_id=record.pk, quantity=2),
    ):
        order = confirm(place(UserFactory(), item))
        Payment.objects.create(
            order=order, attempt=1, session_id=f"cs_test_{order.code}", payment_intent_id=f"pi_{order.code}",
            status="paid", amount=order.total_amount, amount_received=order.total_amount, currency="eur",
            expires_at=timezone.now(),
        )  # fmt: skip

    top = {item.name: item.kind for item in operator.get("/console/sales").context["sales"].top_items}

    assert top == {f"Night Drive — {license_.name}": "License", "Night Sessions LP": "Goods"}


def test_the_sales_page_links_the_invoices_of_its_days_for_staff_who_may_read_them(
    operator: Client, viewer: Client, week_of_sales: dict[str, Any]
) -> None:
    today, yesterday = week_of_sales["today"], week_of_sales["yesterday"]
    page = f"/console/sales?by=day&from={yesterday.isoformat()}&to={today.isoformat()}"
    link = f'href="/console/invoices.csv?from={yesterday.isoformat()}&amp;to={today.isoformat()}"'

    assert link in operator.get(page).content.decode()
    export = operator.get(f"/console/invoices.csv?from={yesterday.isoformat()}&to={today.isoformat()}")
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    assert 'id="invoices-csv"' not in viewer.get(page).content.decode()  # staff who may only look at the console


def test_sales_csv_has_a_row_per_period(operator: Client, week_of_sales: dict[str, Any]) -> None:
    today, yesterday = week_of_sales["today"], week_of_sales["yesterday"]
    response = operator.get(f"/console/sales?by=day&from={yesterday.isoformat()}&to={today.isoformat()}&format=csv")
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:4] == ["period", "currency", "revenue", "refunds"]
    assert rows[1] == [yesterday.isoformat(), "EUR", "148.00", "0.00", "148.00", "2", "74.00", "2", "1", "0", "66.6"]
    assert rows[2] == [today.isoformat(), "EUR", "100.00", "25.00", "75.00", "1", "100.00", "1", "0", "1", "100.0"]


def test_sales_in_another_currency_and_by_month(operator: Client, week_of_sales: dict[str, Any]) -> None:
    response = operator.get("/console/sales?by=month&currency=usd")
    sales = response.context["sales"]
    assert sales.currency == "usd"
    assert sales.total.revenue == 5000
    assert len(sales.periods) == 12
    assert "$50.00" in response.content.decode()


# --- health and heartbeats -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_worker_loop_writes_its_heartbeat_and_takes_it_away_when_it_stops(settings: Any) -> None:
    settings.WORKER_HEARTBEAT_SECONDS = 0.05
    settings.RECONCILE_INTERVAL_SECONDS = 0
    stop = threading.Event()
    worker = threading.Thread(target=run, args=(stop,), kwargs={"interval": 0.02, "sweep_interval": 60})
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not WorkerHeartbeat.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        first = WorkerHeartbeat.objects.get()
        while WorkerHeartbeat.objects.get().seen_at == first.seen_at and time.monotonic() < deadline:
            time.sleep(0.05)
        assert WorkerHeartbeat.objects.get().seen_at > first.seen_at  # it beats again, not once
        assert SalesRollup.objects.exists()  # the sales roll-up was brought up to date at start
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not WorkerHeartbeat.objects.exists()


def test_a_stale_worker_is_flagged_on_the_health_page_and_in_readyz(
    operator: Client, client: Client, settings: Any
) -> None:
    heartbeat_beat(name="studio-box:4242", now=timezone.now() - dt.timedelta(minutes=5))
    heartbeat_beat(name="studio-box:4343")
    page = operator.get("/console/health").content.decode()
    assert "1 worker silent for more than 1 min" in page
    assert "Stale" in page
    assert "Alive" in page
    settings.SECRET_KEY = "a-strong-secret-key-for-the-readiness-check-0123456789-abcdefghijkl"
    ready = client.get("/readyz")
    assert ready.status_code == 200  # a web process stays in the load balancer: see ops.views.readyz
    body = ready.json()
    assert body["checks"]["workers"] == "stale: studio-box:4242"
    assert any("studio-box:4242 silent for 300 s" in warning for warning in body["warnings"])


def test_readyz_is_ok_without_any_worker(client: Client) -> None:
    body = client.get("/readyz").json()
    assert body["checks"]["workers"] == "none"


def test_health_shows_the_queues(operator: Client) -> None:
    now = timezone.now()
    for i, status in enumerate(["received", "failed", "dead", "processed"]):
        WebhookEvent.objects.create(
            stripe_id=f"evt_{i}",
            type="checkout.session.completed",
            payload={},
            stripe_created=now - dt.timedelta(seconds=30),
            status=status,
            next_attempt_at=now,
            processed_at=now if status == "processed" else None,
        )
    health = operator.get("/console/health").context["health"]
    assert (health.inbox_waiting, health.inbox_failing, health.dead_events) == (2, 1, 1)
    assert 29 <= health.lag_median.total_seconds() <= 31


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("stripe_sandbox")
def test_a_reconciliation_is_recorded_on_the_worker_s_heartbeat(operator: Client) -> None:
    reconcile_once()
    assert WorkerHeartbeat.objects.get().reconciled_at is not None
    assert "not yet" not in operator.get("/console/health").content.decode().split("Last reconciliation")[1][:200]


def test_the_last_kept_reconciliation_shows_with_no_worker_running(operator: Client) -> None:
    page = operator.get("/console/health").content.decode().split("Last reconciliation")[1][:200]
    assert "not yet" in page
    finished = timezone.now() - dt.timedelta(minutes=7)
    ReconcileRun.objects.create(started_at=finished - dt.timedelta(seconds=3), finished_at=finished, since=finished)
    assert not WorkerHeartbeat.objects.exists()
    health = operator.get("/console/health").context["health"]
    assert health.last_reconciled_at == finished
