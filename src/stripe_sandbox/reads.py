"""Reading the stored objects as the API shows them: one by id, ``expand[]``, and pages of lists."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from typing import Any

from stripe_sandbox import objects
from stripe_sandbox.errors import StripeError, invalid, resource_missing
from stripe_sandbox.params import Params
from stripe_sandbox.state import State


def load(state: State, kind: str, object_id: str, param: str = "id") -> dict[str, Any]:
    obj = state.store.get(object_id, kind)
    if obj is None:
        raise resource_missing(kind, object_id, param)
    return obj


def expand(state: State, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Render ``obj`` with ``expand[]`` applied (ids → objects, ``line_items`` → list)."""
    # Expanding a nested path writes into nested values: those must be copies then.
    shown = state.render(obj, copy_nested=any("." in path for path in paths))
    for path in paths:
        _expand_path(state, shown, path.split("."), path, obj)
    return shown


def _expand_path(
    state: State, node: dict[str, Any], parts: list[str], full: str, raw: dict[str, Any] | None = None
) -> None:
    """Expand ``parts`` in ``node``; ``raw`` is the stored object that ``node`` renders, if known."""
    head, rest = parts[0], parts[1:]
    if node.get("object") == "list" and head == "data":
        for item in node["data"]:
            if rest:
                _expand_path(state, item, rest, full)
        return
    if head == "line_items" and node.get("object") == "checkout.session":
        if raw is None:
            raw = state.store.get(node["id"], "checkout.session") or {}
        items = [objects.public(item) for item in raw.get("_line_items", [])]
        node["line_items"] = objects.list_object(f"/v1/checkout/sessions/{node['id']}/line_items", items)
        return
    if head not in node:
        raise invalid(f"This property cannot be expanded ({full}).", "expand")
    value = node[head]
    if isinstance(value, str):
        target = state.store.get(value)
        if target is None:
            raise invalid(f"This property cannot be expanded ({full}).", "expand")
        value = state.render(target)
        node[head] = value
    if rest and isinstance(value, dict):
        _expand_path(state, value, rest, full)


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
    state: State,
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

    with state.lock:
        created = created_filter(params)
        limit, starting_after, ending_before = _page_request(params)
        older_than = newer_than = None
        cursor, param = (starting_after, "starting_after") if starting_after else (ending_before, "ending_before")
        if cursor:
            found = state.store.position(cursor, kind, created)
            if found is None or not listed(found[1]):
                raise _no_such_cursor(cursor, param)
            if starting_after:
                older_than = found[0]
            else:
                newer_than = found[0]
        scan = state.store.scan(kind, created, older_than=older_than, newer_than=newer_than)
        with contextlib.closing(scan):  # ends the SELECT that is left unread
            taken = list(itertools.islice(filter(listed, scan), limit + 1))
        page = taken[:limit]
        if newer_than is not None:
            page.reverse()  # read nearest first, that is oldest first
        shown = [_expand_list_item(state, item, expand_paths) for item in page]
        return objects.list_object(url, shown, len(taken) > limit)


def _expand_list_item(state: State, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    item_paths = [path.removeprefix("data.") for path in paths if path.startswith("data.")]
    return expand(state, obj, item_paths)


def _field(obj: dict[str, Any], dotted: str) -> Any:
    value: Any = obj
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def retrieve(state: State, kind: str, object_id: str, params: Params) -> dict[str, Any]:
    with state.lock:
        return expand(state, load(state, kind, object_id), params.strings("expand"))
