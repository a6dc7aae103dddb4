"""Django system checks for the configuration (`bookdesk.ops.config`).

The start check runs before every management command (runserver, `bookdesk serve`, the worker, migrate):
what must never serve stops them. The deploy check (`bookdesk check --deploy`) says everything /readyz
would refuse, and warns.
"""

from __future__ import annotations

from typing import Any

from django.core import checks

from bookdesk.ops.config import ConfigProblem, Level, config_problems

# A stable check id per problem.
CHECK_IDS = {
    "insecure_secret_key": "bookdesk.E001",
    "debug_in_production": "bookdesk.E002",
    "stripe_key_missing": "bookdesk.E003",
    "stripe_key_malformed": "bookdesk.E004",
    "stripe_live_key_in_debug": "bookdesk.E005",
    "stripe_live_key_off_stripe": "bookdesk.E006",
    "stripe_test_key_in_production": "bookdesk.W007",
    "stripe_webhook_secret_missing": "bookdesk.E008",
    "stripe_webhook_secret_malformed": "bookdesk.E009",
    "stripe_webhook_secret_default": "bookdesk.E010",
    "metrics_token_missing": "bookdesk.W011",
    "sender_email_local": "bookdesk.W012",
}


def _message(problem: ConfigProblem) -> checks.CheckMessage:
    kind = checks.Warning if problem.level == Level.WARNING else checks.Error
    return kind(problem.message, id=CHECK_IDS[problem.id], hint=problem.id)


@checks.register(checks.Tags.security)
def check_bookdesk_start(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [_message(problem) for problem in config_problems() if problem.level == Level.REFUSE_START]


@checks.register(checks.Tags.security, deploy=True)
def check_bookdesk_config(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [_message(problem) for problem in config_problems() if problem.level != Level.REFUSE_START]
