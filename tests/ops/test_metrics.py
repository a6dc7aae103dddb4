"""Prometheus exposition at /metrics, labelled by route pattern rather than raw path."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from bookdesk.ops.metrics import HTTP_REQUESTS, REGISTRY

pytestmark = pytest.mark.django_db


def _requests_total(method: str, route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "bookdesk_http_requests_total", {"method": method, "route": route, "status": status}
    )
    return value or 0.0


def test_metrics_exposes_the_request_counter_after_a_request(client: Client) -> None:
    before = _requests_total("GET", "/healthz", "200")
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert "bookdesk_http_requests" in families
    assert "bookdesk_http_request_duration_seconds" in families
    samples = [
        sample
        for sample in families["bookdesk_http_requests"].samples
        if sample.name == "bookdesk_http_requests_total"
        and sample.labels == {"method": "GET", "route": "/healthz", "status": "200"}
    ]
    assert samples
    assert samples[0].value >= before + 1


def test_routes_are_labelled_by_pattern_not_by_path(client: Client) -> None:
    before = _requests_total("GET", "/courses/<slug:slug>", "404")
    client.get("/courses/first-missing")
    client.get("/courses/second-missing")
    assert _requests_total("GET", "/courses/<slug:slug>", "404") == before + 2
    unmatched_before = _requests_total("GET", "<unmatched>", "404")
    client.get("/some/random/path-12345")
    assert _requests_total("GET", "<unmatched>", "404") == unmatched_before + 1
    labels = {sample.labels.get("route") for sample in HTTP_REQUESTS.collect()[0].samples}
    assert "/some/random/path-12345" not in labels


def test_metrics_token_requires_a_bearer(client: Client, settings) -> None:
    settings.METRICS_TOKEN = "scrape-me-please"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
    assert response.status_code == 200
    assert b"bookdesk_http_requests_total" in response.content


@pytest.mark.django_db
def test_in_production_metrics_are_closed_without_a_token(client: Client, settings) -> None:
    """Route and request counts (admin paths included) are not for anyone: production needs METRICS_TOKEN."""
    settings.BOOKDESK_PRODUCTION = True
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics")
    assert response.status_code == 404
    assert b"http_requests" not in response.content


@pytest.mark.django_db
def test_in_production_a_missing_metrics_token_is_said_by_the_config_checks(client: Client, settings) -> None:
    from django.core import checks

    settings.BOOKDESK_PRODUCTION = True
    settings.METRICS_TOKEN = ""
    ids = {message.id for message in checks.run_checks(include_deployment_checks=True)}
    assert "bookdesk.W011" in ids
    settings.METRICS_TOKEN = "a-long-random-metrics-token"
    ids = {message.id for message in checks.run_checks(include_deployment_checks=True)}
    assert "bookdesk.W011" not in ids
    response = client.get("/metrics", headers={"Authorization": "Bearer a-long-random-metrics-token"})
    assert response.status_code == 200
