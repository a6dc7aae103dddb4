"""The `bookdesk` console script: a thin manage.py.

`bookdesk stripe-sandbox …` runs the offline Stripe stand-in, which imports nothing from bookdesk
(so it is dispatched before Django loads).
"""

import os
import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "stripe-sandbox":
        from stripe_sandbox.cli import main as sandbox_main

        sys.exit(sandbox_main(sys.argv[2:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookdesk.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
