"""`bookdesk demo` as a real subprocess on free ports: it comes up with the sample orders paid and confirmed, and
SIGTERM, SIGINT and SIGHUP each stop the sandbox, the web server and the worker with it — no process left behind,
both ports free again."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from smtp_listener import free_port

DEADLINE = 120  # a first start migrates and seeds a fresh SQLite file; the machine may be busy


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status < 500)
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


SAMPLE_ORDERS = 5  # bookdesk.payments.demo_orders.samples()


def confirmed_orders(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(database, timeout=5)) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM orders_order WHERE status = 'confirmed'").fetchone()[0])


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, demo_files_made: Path) -> Path:
    """The demo's data directory, its media holding the demo files already (hard links to the ones the test
    process made once): the first start's seed finds them and synthesises none."""
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(demo_files_made, root / "media", copy_function=os.link)
    return root


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_stops_the_demo_and_everything_it_started(data_dir: Path, signum: signal.Signals) -> None:
    port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKDESK_TESTING", "DATABASE_URL", "REDIS_URL"))}
    env.update(DJANGO_SETTINGS_MODULE="bookdesk.settings", BOOKDESK_DATA_DIR=str(data_dir))
    demo = subprocess.Popen(
        [sys.executable, "-m", "bookdesk", "demo", "--port", str(port), "--sandbox-port", str(sandbox_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group: the signal reaches the demo alone, as `kill PID` would
    )
    children: list[int] = []
    try:
        deadline = time.monotonic() + DEADLINE
        while not (answers(f"http://127.0.0.1:{port}/healthz") and answers(f"http://127.0.0.1:{sandbox_port}/")):
            assert demo.poll() is None, "the demo stopped on its own"
            assert time.monotonic() < deadline, "the demo did not come up"
            time.sleep(0.3)
        while len(children := children_of(demo.pid)) < 3:
            assert time.monotonic() < deadline, f"expected sandbox, web and worker; found {children}"
            time.sleep(0.2)
        # Stripe's side is kept beside the shop's database, for the next start (tests/sandbox/test_persistence.py).
        assert (data_dir / "stripe-sandbox.sqlite3").is_file()
        # The sample orders (once per database), paid on the sandbox and confirmed by its webhooks through the web
        # server and the worker: the console has a day to show.
        while confirmed_orders(data_dir / "bookdesk.sqlite3") < SAMPLE_ORDERS:
            assert time.monotonic() < deadline, f"{confirmed_orders(data_dir / 'bookdesk.sqlite3')} orders confirmed"
            time.sleep(0.3)

        demo.send_signal(signum)
        demo.wait(timeout=30)

        deadline = time.monotonic() + 15
        while any(alive(pid) for pid in children) or not (port_free(port) and port_free(sandbox_port)):
            assert time.monotonic() < deadline, (
                f"left behind: {[pid for pid in children if alive(pid)]}, "
                f"ports free: {port_free(port)}, {port_free(sandbox_port)}"
            )
            time.sleep(0.1)
    finally:
        for pid in [demo.pid, *children]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        demo.wait(timeout=10)
