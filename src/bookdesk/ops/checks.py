"""Django system checks for the same configuration sanity /readyz enforces (`bookdesk check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from bookdesk.ops.config import config_problems

# A stable check id per problem, so a deployment can silence one deliberately (SILENCED_SYSTEM_CHECKS).
CHECK_IDS = {
    "insecure_secret_key": "bookdesk.E001",
    "debug_in_production": "bookdesk.E002",
    "stripe_key_missing": "bookdesk.E003",
    "stripe_key_malformed": "bookdesk.E004",
    "stripe_live_key_in_debug": "bookdesk.E005",
    "stripe_live_key_off_stripe": "bookdesk.E006",
    "stripe_test_key_in_production": "bookdesk.E007",
    "stripe_webhook_secret_missing": "bookdesk.E008",
    "stripe_webhook_secret_malformed": "bookdesk.E009",
}


@checks.register(checks.Tags.security, deploy=True)
def check_bookdesk_config(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [
        checks.Error(problem.message, id=CHECK_IDS.get(problem.id, "bookdesk.E000"), hint=problem.id)
        for problem in config_problems()
    ]
