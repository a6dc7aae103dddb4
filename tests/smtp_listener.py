"""A real SMTP listener for tests (aiosmtpd): it keeps what it receives, or refuses the first tries."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from email.message import Message
from typing import Any


class MailHandler:
    """Accepts messages, or answers `451` to the first `refuse` DATA commands (a greylisting server)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[Message] = []
        self.raw: list[bytes] = []
        self.data_commands = 0
        self.peers: set[Any] = set()  # one per SMTP connection a sender opened
        self.refuse = 0
        self.delay = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.data_commands += 1
            self.peers.add(session.peer)
            refused = self.data_commands <= self.refuse
        if self.delay:
            await asyncio.sleep(self.delay)
        if refused:
            return "451 4.7.1 Try again later"
        raw: bytes = envelope.original_content
        with self.lock:
            self.raw.append(raw)
            self.messages.append(email.message_from_bytes(raw))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
