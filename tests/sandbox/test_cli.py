"""The command line, run as a real subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from stripe_sandbox import cli

SRC = Path(__file__).resolve().parents[2] / "src"


def test_the_cli_serves_until_terminated(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_sandbox",
            "--port",
            "0",
            "--db",
            str(tmp_path / "state.sqlite3"),
            "--webhook",
            "http://127.0.0.1:9/hook",
            "--webhook-secret",
            "whsec_cli",
            "--retry-schedule",
            "0.2,0.4,0.8",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=SRC,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        base_url = line.split("listening on ")[1].split()[0]
        with urllib.request.urlopen(base_url + "/_sandbox/health", timeout=5) as response:
            assert response.status == 200
            assert json.loads(response.read())["status"] == "ok"
        assert "whsec_cli" in process.stdout.readline()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0


def test_main_returns_when_sigterm_arrives_in_process() -> None:
    started = time.monotonic()
    timer = __import__("threading").Timer(0.3, lambda: signal.raise_signal(signal.SIGTERM))
    timer.start()
    assert cli.main(["--port", "0"]) == 0
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "argv",
    [
        ["--webhook-secret", "whsec_x"],
        ["--webhook", "http://a", "--webhook-secret", "nope"],
        ["--retry-schedule", "a,b"],
        ["--error-rate", "3"],
    ],
)
def test_bad_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 2
