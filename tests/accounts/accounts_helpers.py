"""Helpers shared by the account tests: read links out of the emails allauth sends."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

PASSWORD = "a-long-test-passphrase-42"


def link_in(message: Any, fragment: str) -> str:
    """The path of the first link in an email that contains `fragment`."""
    for url in re.findall(r"https?://\S+", message.body):
        if fragment in url:
            return urlsplit(url).path
    raise AssertionError(f"no link with {fragment!r} in: {message.body}")


def key_in(message: Any, fragment: str) -> str:
    """The key at the end of an emailed link (what a headless client posts back)."""
    return unquote(link_in(message, fragment).rstrip("/").rsplit("/", 1)[-1])


def is_logged_in(client: Any) -> bool:
    return "_auth_user_id" in client.session
