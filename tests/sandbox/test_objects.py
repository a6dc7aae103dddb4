"""The object builders' building blocks: ids."""

from __future__ import annotations

import collections
import string

from stripe_sandbox.objects import new_id


def test_ids_have_the_prefix_the_length_and_only_letters_and_digits() -> None:
    for length in (0, 1, 14, 24, 56, 300):
        made = new_id("cs_test_a1", length)
        assert made.startswith("cs_test_a1")
        body = made.removeprefix("cs_test_a1")
        assert len(body) == length
        assert set(body) <= set(string.ascii_letters + string.digits)


def test_ids_use_every_symbol_about_equally_often() -> None:
    counts = collections.Counter("".join(new_id("", 1000) for _ in range(124)))  # 2000 of each expected
    assert len(counts) == 62
    # A bias such as mapping all 256 byte values with % 62 would give 8 symbols 5/4 of the others' share.
    assert max(counts.values()) < 2000 * 1.12
    assert min(counts.values()) > 2000 * 0.88


def test_ids_do_not_repeat() -> None:
    assert len({new_id("evt_") for _ in range(10_000)}) == 10_000
