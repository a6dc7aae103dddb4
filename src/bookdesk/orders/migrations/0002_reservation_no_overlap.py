"""No two active reservations of one resource overlap: a PostgreSQL exclusion constraint.

SQLite has no such constraint; there the same rule is checked under the database write lock
(transactions are IMMEDIATE, see settings), in `order_place`.
"""

from django.db import migrations

CREATE = (
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """
ALTER TABLE orders_reservation ADD CONSTRAINT reservation_no_overlap
    EXCLUDE USING gist (resource_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
    WHERE (status IN ('held', 'confirmed'))
""",
)
DROP = "ALTER TABLE orders_reservation DROP CONSTRAINT IF EXISTS reservation_no_overlap;"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
