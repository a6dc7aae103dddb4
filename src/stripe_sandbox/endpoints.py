"""Webhook endpoints (create, update, delete) and the event list they are fed from."""

from __future__ import annotations

import re
from typing import Any

from stripe_sandbox import event_types, objects
from stripe_sandbox.errors import invalid, missing_param
from stripe_sandbox.params import Params
from stripe_sandbox.reads import list_objects, load
from stripe_sandbox.state import State

_EVENT_TYPE = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$")


def list_events(state: State, params: Params) -> dict[str, Any]:
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
        return not wanted or event_types.matches(wanted, event["type"])

    return list_objects(state, "event", "/v1/events", params, predicate=matches)


def create_webhook_endpoint(state: State, params: Params) -> dict[str, Any]:
    url = params.text("url", required=True) or ""
    _check_webhook_url(url)
    enabled_events = _enabled_events(params, required=True)
    api_version = params.text("api_version")
    endpoint = objects.webhook_endpoint(
        created=int(state.now()),
        url=url,
        enabled_events=enabled_events,
        description=params.text("description", max_length=5000),
        metadata=params.metadata(),
        api_version=api_version,
        secret=objects.new_webhook_secret(),
    )
    with state.transaction():
        state.store.put(endpoint)
    shown = state.render(endpoint)
    shown["secret"] = endpoint["_secret"]  # only ever shown on create
    return shown


def update_webhook_endpoint(state: State, endpoint_id: str, params: Params) -> dict[str, Any]:
    with state.transaction():
        endpoint = load(state, "webhook_endpoint", endpoint_id)
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
        state.store.put(endpoint)
        return state.render(endpoint)


def delete_webhook_endpoint(state: State, endpoint_id: str) -> dict[str, Any]:
    with state.transaction():
        load(state, "webhook_endpoint", endpoint_id)
        state.store.delete(endpoint_id)
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


def _check_webhook_url(url: str) -> None:
    if not re.match(r"^https?://[^\s/]+", url):
        raise invalid(f"Invalid URL: {url}", "url", "url_invalid")


def _enabled_events(params: Params, *, required: bool) -> list[str]:
    events = params.strings("enabled_events", required=required)
    if required and not events:
        raise missing_param("enabled_events")
    for index, name in enumerate(events):
        if not event_types.is_known(name):
            raise invalid(
                f"Invalid enabled_events[{index}]: `{name}` is not one of Stripe's event types "
                "(https://stripe.com/docs/api/events/types), `*`, or a group of them such as `charge.*`.",
                f"enabled_events[{index}]",
            )
    return events
