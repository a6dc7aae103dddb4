"""Staff roles: the "operator" runs the shop (orders, refunds, catalog, the console) without being a superuser.

The group is made by the data migration `accounts/0002_operator_group` (a frozen copy of this list) and kept
in step by `operator_group_sync` (run by `bookdesk createoperator`). A model added later that operators work
with goes here AND into a new data migration; `tests/accounts/test_roles.py` holds the two to the same list.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

OPERATOR_GROUP = "operator"

# app label → model → actions. Never users or groups; never a delete of orders or payments.
OPERATOR_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "catalog": dict.fromkeys(
        (
            "course",
            "resource",
            "openinghours",
            "service",
            "product",
            "license",
            "voicetag",
            "shippingzone",
            "shippingrate",
        ),
        ("view", "add", "change"),
    ),
    "orders": {
        "order": ("view", "change"),  # change: resolve a review (console)
        "orderline": ("view",),  # the order page's lines
        "booking": ("view", "change"),  # change: check-in (console)
        "reservation": ("view",),
        "grant": ("view",),
        "auditentry": ("view",),
        "stockhold": ("view",),
        "shipment": ("view", "change"),  # change: packing slip, shipped with tracking, delivered
    },
    "payments": {
        "payment": ("view",),
        "refund": ("view", "add"),  # add: refund an order (admin, console)
        "webhookevent": ("view", "change"),  # change: replay a dead event
        "invoice": ("view",),  # and the invoices CSV (console)
        "creditnote": ("view",),
        "reconcilerun": ("view",),
    },
    "notifications": {"outgoingemail": ("view", "change")},  # change: send a failed email again
}


def operator_codenames() -> list[tuple[str, str, str]]:
    """(app label, model, codename) of every permission the operator group holds."""
    return [
        (app, model, f"{action}_{model}")
        for app, models in OPERATOR_PERMISSIONS.items()
        for model, actions in models.items()
        for action in actions
    ]


@transaction.atomic
def operator_group_sync() -> Group:
    """The operator group with exactly the permissions listed above (missing ones are created first)."""
    group, _ = Group.objects.get_or_create(name=OPERATOR_GROUP)
    permissions = []
    for app, model, codename in operator_codenames():
        content_type = ContentType.objects.get_by_natural_key(app, model)
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type,
            codename=codename,
            defaults={"name": f"Can {codename.split('_', 1)[0]} {content_type.name}"},
        )
        permissions.append(permission)
    group.permissions.set(permissions)
    return group
