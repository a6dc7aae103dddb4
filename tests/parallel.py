"""Work run in several threads at once, for the tests that race workers against each other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def at_once(workers: int, work: Callable[[], T]) -> list[T]:
    """Run `work` in `workers` threads released together; each thread closes its own connection."""
    barrier = threading.Barrier(workers)

    def run() -> T:
        barrier.wait(timeout=30)
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run) for _ in range(workers)]
        return [future.result(timeout=120) for future in futures]
