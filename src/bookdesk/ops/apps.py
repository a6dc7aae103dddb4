from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_table(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """The database cache needs its table; create it after every migrate (a no-op when it exists)."""
    from django.conf import settings
    from django.core.management import call_command

    uses_db_cache = any(
        cache["BACKEND"] == "django.core.cache.backends.db.DatabaseCache" for cache in settings.CACHES.values()
    )
    if uses_db_cache:
        call_command("createcachetable", database=using, verbosity=0)


class OpsConfig(AppConfig):
    name = "bookdesk.ops"
    label = "ops"

    def ready(self) -> None:
        from bookdesk.ops import checks  # noqa: F401  (registers the system checks)

        post_migrate.connect(_create_cache_table, sender=self, dispatch_uid="bookdesk.ops.create_cache_table")
