"""`bookdesk serve`: the production server (granian) as a real subprocess, with production settings.

collectstatic, then serve: a page, its hashed stylesheet, the API, a signed webhook; SIGTERM stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from bookdesk.payments.models import WebhookEvent
from payments.conftest import SECRET, sign
from smtp_listener import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    """The test database, for another process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def fetch(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BOOKDESK_TESTING", "REDIS_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="bookdesk.settings",
        DATABASE_URL=database_url(),
        DEBUG="0",
        BOOKDESK_DATA_DIR=str(tmp_path),
        STRIPE_WEBHOOK_SECRET=SECRET,
    )
    command = [sys.executable, "-m", "bookdesk"]
    collected = subprocess.run(
        [*command, "collectstatic", "--noinput", "-v", "0"], env=env, capture_output=True, timeout=120, check=False
    )
    assert collected.returncode == 0, collected.stderr
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--workers", "1", "--threads", "4"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # granian's worker processes too can be stopped as one group
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if fetch(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"bookdesk serve did not come up:\n{(tmp_path / 'serve.log').read_text()}")
        yield base, process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group after the test
        process.wait(10)
        log.close()


def test_serve_answers_pages_static_files_the_api_and_webhooks_then_stops_on_sigterm(
    served: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, process = served

    status, _, page = fetch(f"{base}/")
    assert status == 200
    stylesheet = re.search(rb'href="(/static/[^"]+\.css)"', page)
    assert stylesheet is not None, page[:500]
    assert re.search(rb"/static/web/site\.[0-9a-f]{12}\.css", stylesheet.group(1))  # collectstatic's hashed name
    status, headers, _ = fetch(base + stylesheet.group(1).decode())
    assert (status, headers["Content-Type"].split(";")[0]) == (200, "text/css")

    status, _, body = fetch(f"{base}/api/courses")
    assert (status, json.loads(body)["total"]) == (200, 0)

    event = json.dumps(
        {
            "id": "evt_served",
            "object": "event",
            "type": "customer.created",
            "created": int(time.time()),
            "data": {"object": {"id": "cus_1"}},
        }
    ).encode()
    status, _, body = fetch(
        f"{base}/api/stripe/webhook",
        data=event,
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(event)},
    )
    assert (status, json.loads(body)) == (200, {"received": True, "duplicate": False})
    assert WebhookEvent.objects.get().stripe_id == "evt_served"

    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
