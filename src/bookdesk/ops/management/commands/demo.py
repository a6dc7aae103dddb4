"""`bookdesk demo`: the whole product on one machine — database, seed, Stripe sandbox, web server and worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_ENV = {
    "DEBUG": "1",
    "ACCOUNT_EMAIL_VERIFICATION": "none",
    "STRIPE_API_BASE": "http://127.0.0.1:12111",
    "STRIPE_SECRET_KEY": "sk_test_bookdesk_demo",
    "STRIPE_WEBHOOK_SECRET": "whsec_bookdesk_demo",
}


STARTUP_SECONDS = 60  # for the web server and the sandbox to answer, then for the sample orders


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (a local http:// URL)
            return bool(response.status < 500)
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


# The signals that end the demo: Ctrl-C, `kill`, and the terminal going away. Each stops all three children.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stop(Exception):
    """A stop signal arrived (raised from its handler, so the main loop unwinds into the shutdown)."""


def _stop(signum: int, frame: Any) -> None:
    raise Stop(signal.Signals(signum).name)


def _die_with_parent() -> None:
    """In each child, before it runs (Linux): if the demo dies without its shutdown (SIGKILL), the child gets
    SIGTERM from the kernel instead of living on as an orphan."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Command(BaseCommand):
    help = "Migrate, seed, then run the Stripe sandbox, the web server and a worker until Ctrl-C."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=12111)

    def _sample_orders(self, exe: list[str], env: dict[str, str], *, port: int, sandbox_port: int) -> None:
        """Once the web server and the sandbox answer: a few customers' paid orders (`payments.demo_orders`, once per
        database), confirmed by their webhooks like any. The demo goes on without them if that fails."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (_answers(f"http://127.0.0.1:{port}/healthz") and _answers(f"http://127.0.0.1:{sandbox_port}/")):
            if time.monotonic() > deadline:
                self.stderr.write("The web server or the sandbox did not answer: no sample orders.")
                return
            time.sleep(0.3)
        try:
            done = subprocess.run(  # noqa: S603
                [*exe, "demoorders"], env=env, preexec_fn=_die_with_parent, timeout=STARTUP_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:  # it is killed; the demo goes on
            self.stderr.write("Sample orders took too long; the demo runs without the rest of them.")
            return
        if done.returncode:
            self.stderr.write(f"Sample orders failed (exit {done.returncode}); the demo runs without them.")

    def handle(self, *args: Any, port: int, sandbox_port: int, **options: Any) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, _stop)
        env = {**os.environ, **{k: v for k, v in DEMO_ENV.items() if k not in os.environ}}
        env["STRIPE_API_BASE"] = f"http://127.0.0.1:{sandbox_port}"
        # Stripe's success and cancel pages come back to this server, whatever its port.
        env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
        mail_dir = settings.DATA_DIR / "mail"
        env.setdefault("EMAIL_URL", f"file://{mail_dir}")
        mail_dir.mkdir(parents=True, exist_ok=True)

        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("seed")
        call_command("createdemouser")
        call_command("createdemouser", operator=True)

        exe = [sys.executable, "-m", "bookdesk"]
        commands = {
            "sandbox": [
                *exe,
                "stripe-sandbox",
                "--port",
                str(sandbox_port),
                "--webhook",
                f"http://127.0.0.1:{port}/api/stripe/webhook",
                "--webhook-secret",
                env["STRIPE_WEBHOOK_SECRET"],
                # Stripe's side of the orders lives as long as the shop's: a restarted demo's sandbox still knows
                # what was paid in the last run (else the worker's reconciliation would put it under review).
                "--db",
                str(settings.DATA_DIR / "stripe-sandbox.sqlite3"),
            ],
            "web": [*exe, "runserver", f"127.0.0.1:{port}", "--noreload"],
            "worker": [*exe, "worker"],
        }
        processes: dict[str, subprocess.Popen[bytes]] = {}
        try:  # from the first child on: whatever ends the demo stops every child it started
            for name, command in commands.items():
                processes[name] = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent)  # noqa: S603
            self._sample_orders(exe, env, port=port, sandbox_port=sandbox_port)
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nbookdesk is running at http://127.0.0.1:{port}  "
                    f"(Stripe sandbox at http://127.0.0.1:{sandbox_port})\n"
                    f"Emails are written to {mail_dir}. Press Ctrl-C to stop.\n"
                )
            )
            while all(p.poll() is None for p in processes.values()):
                time.sleep(0.5)
            for name, process in processes.items():
                if process.poll() is not None:
                    self.stderr.write(f"{name} stopped (exit {process.returncode}); stopping the rest.")
        except (KeyboardInterrupt, Stop):
            self.stdout.write("\nStopping…")
        finally:
            # No second signal may cut the shutdown short (and leave children behind): they are stopped, then
            # killed after 10 s.
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_IGN)
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
