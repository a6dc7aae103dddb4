"""PostgreSQL plans each statement once per connection: server-side binding and prepared statements."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from django.db import connection

from bookdesk.catalog.models import Course

PRINT_OPTIONS = (
    "import json; import bookdesk.settings as settings; "  # the module alone: no apps loaded
    "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
)


def database_options(**overrides: str) -> dict[str, Any]:
    """The default database's OPTIONS as bookdesk.settings builds them in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DB_PREPARED_STATEMENTS")}
    env.update(DJANGO_SETTINGS_MODULE="bookdesk.settings", **overrides)
    result = subprocess.run(
        [sys.executable, "-c", PRINT_OPTIONS], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_postgresql_prepares_statements_unless_turned_off() -> None:
    url = "postgres://bookdesk@db.example.test:5432/bookdesk"
    assert database_options(DATABASE_URL=url) == {"server_side_binding": True, "prepare_threshold": 1}
    assert database_options(DATABASE_URL=url, DB_PREPARED_STATEMENTS="0") == {}
    assert "prepare_threshold" not in database_options()  # SQLite


@pytest.mark.django_db
def test_a_statement_run_twice_is_prepared_on_postgresql() -> None:
    for _ in range(2):
        list(Course.objects.filter(slug="nothing-like-it"))
    if connection.vendor != "postgresql":
        assert "prepare_threshold" not in connection.settings_dict.get("OPTIONS", {})
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "catalog_course"' in statement and "slug" in statement for statement in prepared), prepared
