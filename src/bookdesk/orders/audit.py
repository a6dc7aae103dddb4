"""The audit log: every state change of an order, payment or refund, with who did it and why.

`audit` writes one entry; inside `audit_batch` the entries of a step are collected and written in one
INSERT when it ends (a step that writes several: paid → confirmed writes three).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from bookdesk.db import compiled
from bookdesk.orders.models import AuditEntry, Order

# The audit entries of the step in progress, when it batches them (see `audit_batch`).
_batch: ContextVar[list[AuditEntry] | None] = ContextVar("audit_batch", default=None)


def audit(
    *, actor: str, action: str, obj: Any, order: Order | None = None, data: dict[str, Any] | None = None
) -> AuditEntry:
    entry = AuditEntry(
        actor=actor,
        action=action,
        order=order,
        object_type=type(obj).__name__.lower(),
        object_id=str(getattr(obj, "code", None) or obj.pk),
        data=data or {},
    )
    batch = _batch.get()
    if batch is None:
        compiled.insert(entry)
    else:
        batch.append(entry)
    return entry


@contextmanager
def audit_batch() -> Iterator[None]:
    """Within the block, audit entries are collected and written in one INSERT when it ends.

    For a step that writes several entries (paid → confirmed writes three). Nothing is written if the
    block raises: its transaction rolls back anyway.
    """
    if _batch.get() is not None:  # already batching: the outer block writes
        yield
        return
    entries: list[AuditEntry] = []
    token = _batch.set(entries)
    try:
        yield
    finally:
        _batch.reset(token)
    AuditEntry.objects.bulk_create(entries)
