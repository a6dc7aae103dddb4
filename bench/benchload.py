"""What the benchmarks measure with: client threads each with their own keep-alive connection (`Connection`),
closed loop or on a schedule (`run_load`), their latencies (`Run`, percentiles), and the CPU each group of
processes spent (`Cpu`, from Linux /proc). The processes and servers they measure are `benchkit`'s.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass
class Run:
    """Latencies and failures of one load run."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)  # what went wrong (first 200 characters): how often

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    @property
    def first_error(self) -> str:
        return next(iter(self.failures), "")

    @property
    def sent(self) -> int:
        return len(self.latencies) + self.errors

    def kinds(self) -> dict[str, int]:
        """The failures counted by kind: what stands before the first colon (an HTTP status, an exception)."""
        counts: dict[str, int] = {}
        for error, count in self.failures.items():
            kind = error.split(":", 1)[0][:40]
            counts[kind] = counts.get(kind, 0) + count
        return counts

    def percentile(self, q: float, minus: float = 0.0) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] - minus


# --- load ------------------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection with TCP_NODELAY; reopened after the server closes it."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port
        self.conn: http.client.HTTPConnection | None = None

    def send(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.conn.connect()
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[union-attr]
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            data = response.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        if response.will_close:
            self.conn.close()
            self.conn = None
        return response.status, data


class Exhausted(Exception):
    """Raised by a call that has nothing left to work on: its thread stops. With a message, it is a failure."""


Call = Callable[[], str | None]


def run_load(
    make_call: Callable[[], Call], concurrency: int, seconds: float = math.inf, rate: float | None = None
) -> Run:
    """``concurrency`` threads call their own ``make_call()`` for ``seconds`` (or until it raises Exhausted).

    A call returns None, or what went wrong; an exception is a failure too. Closed loop (each thread calls
    again as soon as it has its answer), or with ``rate`` an open schedule the threads share: call k is due
    at start + k / rate, and whichever thread is free takes the next due call. Its latency then runs from
    when it was due, so a call that starts late (every thread busy) counts its wait.
    """
    run = Run()
    lock = threading.Lock()
    ready = threading.Barrier(concurrency + 1)
    window = [0.0, 0.0]  # start, stop (perf_counter)
    due = itertools.count()

    def next_start() -> float | None:
        """When this thread's next call starts (waiting for it on a schedule), or None when the run is over."""
        if rate is None:
            now = time.perf_counter()
            return now if now < window[1] else None
        scheduled = window[0] + next(due) / rate
        if scheduled >= window[1]:
            return None
        time.sleep(max(0.0, scheduled - time.perf_counter()))
        return scheduled

    def worker() -> None:
        call = make_call()
        latencies: list[float] = []
        failures: dict[str, int] = {}
        ready.wait()
        while (started := next_start()) is not None:
            try:
                error = call()
            except Exhausted as exc:
                if str(exc):
                    failures[str(exc)] = failures.get(str(exc), 0) + 1
                break
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            if error is None:
                latencies.append(time.perf_counter() - started)
            else:
                failures[error[:200]] = failures.get(error[:200], 0) + 1
        with lock:
            run.latencies.extend(latencies)
            for error, count in failures.items():
                run.failures[error] = run.failures.get(error, 0) + count

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    window[:] = [started, started + seconds]
    ready.wait()
    for thread in threads:
        thread.join(timeout=None if math.isinf(seconds) else seconds + 60)
    run.seconds = time.perf_counter() - started
    return run


# --- CPU accounting (Linux /proc) -------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds of this process (all its threads) so far; None once it is gone, or without one."""
    if pid is None:
        return None
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    return None


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine so far (all cores; idle and iowait excluded)."""
    with contextlib.suppress(OSError, ValueError):
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
        return (sum(values) - values[3] - values[4]) / TICK
    return 0.0


def with_children(pids: list[int]) -> list[int]:
    """These processes and their children."""
    parents = set(pids)
    found = list(pids)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) in parents:
                    found.append(int(entry.name))
    return found


class Cpu:
    """Where the CPU of a block went, in seconds, by group of processes (and this one, and the machine).

    The groups' processes are sampled twice a second, so those that come and go during the block count
    too, up to their last sample (PostgreSQL backends do: Django reopens its connections after
    DB_CONN_MAX_AGE); a process first seen after the start counts from 0. `probes` are sampled alongside
    and averaged. `spent` has a key per group, then "bench client", "other processes" and "machine".
    """

    def __init__(
        self, groups: dict[str, Callable[[], list[int]]], probes: dict[str, Callable[[], float]] | None = None
    ) -> None:
        self.groups, self.probes = groups, probes or {}
        self.spent: dict[str, float] = {}
        self.seconds = 0.0
        self.last: dict[str, dict[int, float]] = {name: {} for name in groups}
        self.probed: dict[str, list[float]] = {name: [] for name in self.probes}
        self.done = threading.Event()

    def sample(self) -> None:
        for name, find in self.groups.items():
            for pid in sorted(set(self.last[name]) | set(find())):
                value = process_cpu(pid)
                if value is not None:
                    self.last[name][pid] = value

    def sampler(self) -> None:
        while not self.done.wait(0.5):
            self.sample()
            for name, probe in self.probes.items():
                self.probed[name].append(probe())

    def __enter__(self) -> Cpu:
        self.sample()
        self.start = {name: dict(seen) for name, seen in self.last.items()}
        self.client = sum(os.times()[:2])
        self.machine = machine_cpu()
        self.started = time.perf_counter()
        self.thread = threading.Thread(target=self.sampler, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started
        self.done.set()
        self.thread.join()
        self.sample()
        for name in self.groups:
            self.spent[name] = sum(self.used(name).values())
        self.spent["bench client"] = sum(os.times()[:2]) - self.client
        machine = machine_cpu() - self.machine
        self.spent["other processes"] = max(0.0, machine - sum(self.spent.values()))
        self.spent["machine"] = machine

    def used(self, name: str) -> dict[int, float]:
        """CPU seconds of each process of the group during the block."""
        start = self.start.get(name, {})
        return {pid: seconds - start.get(pid, 0.0) for pid, seconds in self.last[name].items()}

    def busiest(self, name: str) -> float:
        """The largest share of one core (percent) a single process of the group used."""
        return max(self.used(name).values(), default=0.0) / self.seconds * 100 if self.seconds else 0.0

    def average(self, probe: str) -> float:
        values = self.probed.get(probe) or [0.0]
        return sum(values) / len(values)

    def busy(self) -> float:
        """How busy all the machine's cores were during the block, in percent."""
        cores = os.cpu_count() or 1
        return self.spent.get("machine", 0.0) / (self.seconds * cores) * 100 if self.seconds else 0.0

    def line(self, count: int, unit: str) -> str:
        """CPU milliseconds per `unit` (of `count`) by group, and how busy the machine was."""
        parts = [
            f"{name} {seconds * 1000 / max(1, count):.2f}" for name, seconds in self.spent.items() if name != "machine"
        ]
        return f"CPU ms per {unit}: " + ", ".join(parts) + f"; machine {self.busy():.0f}% busy ({os.cpu_count()} CPUs)"
