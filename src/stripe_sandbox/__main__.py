"""``python -m stripe_sandbox``: run the sandbox until Ctrl-C or SIGTERM."""

from stripe_sandbox.cli import main

raise SystemExit(main())
