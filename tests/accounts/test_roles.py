"""The operator role: made by a migration, kept in step by `bookdesk createoperator`, and never more than listed."""

from __future__ import annotations

import importlib
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command

from bookdesk.accounts.models import User
from bookdesk.accounts.roles import OPERATOR_GROUP, operator_codenames

pytestmark = pytest.mark.django_db

# The console's access rule and actions (issue 15), which the role must cover.
CONSOLE_NEEDS = {
    "orders.view_order",
    "orders.change_order",
    "orders.change_booking",
    "payments.add_refund",
    "payments.change_webhookevent",
    "notifications.change_outgoingemail",
}


@pytest.fixture
def migrated_group() -> None:
    """The group as the data migration makes it (run again here: a transactional test may have flushed it)."""
    Group.objects.filter(name=OPERATOR_GROUP).delete()
    migration = importlib.import_module("bookdesk.accounts.migrations.0002_operator_group")
    migration.create_operator_group(apps, None)


def group_permissions() -> set[str]:
    group = Group.objects.get(name=OPERATOR_GROUP)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


@pytest.mark.usefixtures("migrated_group")
def test_the_migration_makes_the_group_with_exactly_the_listed_permissions() -> None:
    # 0002 holds a frozen copy of the role; a later change to accounts/roles.py adds a migration (and a test).
    assert group_permissions() == {f"{app}.{codename}" for app, _model, codename in operator_codenames()}


@pytest.mark.usefixtures("migrated_group")
def test_the_role_covers_the_console_and_never_deletes_or_manages_people() -> None:
    permissions = group_permissions()
    assert permissions >= CONSOLE_NEEDS
    assert not any(p.split(".")[1].startswith("delete_") for p in permissions)
    assert not any(p.startswith(("accounts.", "auth.", "account.", "socialaccount.")) for p in permissions)


def test_createoperator_makes_a_staff_member_in_the_group_and_can_run_again() -> None:
    out = StringIO()
    call_command("createoperator", "Lee@Example.com", stdout=out)
    assert "Created operator lee@example.com." in out.getvalue()
    assert "changepassword" in out.getvalue()
    user = User.objects.get(email="lee@example.com")
    assert (user.is_staff, user.is_superuser, user.has_usable_password()) == (True, False, False)
    assert user.has_perm("payments.add_refund")
    assert user.has_perm("catalog.add_course")
    assert not user.has_perm("orders.delete_order")

    Group.objects.get(name=OPERATOR_GROUP).permissions.clear()  # drifted: the command puts it back
    call_command("createoperator", "lee@example.com", stdout=StringIO())
    assert User.objects.filter(email="lee@example.com").count() == 1
    assert group_permissions() >= CONSOLE_NEEDS


def test_createoperator_keeps_an_existing_users_password() -> None:
    user = User.objects.create_user(email="sam@example.com", password="long-enough-pass")
    out = StringIO()
    call_command("createoperator", "sam@example.com", stdout=out)
    assert "Updated operator sam@example.com." in out.getvalue()
    user.refresh_from_db()
    assert user.is_staff
    assert user.check_password("long-enough-pass")
