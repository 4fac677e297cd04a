"""A real SMTP server (``aiosmtpd``) on loopback for tests that follow an e-mail to its
arrival: ``Mailbox`` keeps each message and signals it; ``smtp_server`` starts one."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from pinbase.testing import free_port


class Mailbox:
    """An aiosmtpd handler that keeps each message it takes and signals it; ``port`` is the
    server's once ``smtp_server`` started it."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.arrived = threading.Event()
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.arrived.set()
        return "250 Message accepted"


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server on a free loopback port, for the block, and what it receives."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port
    try:
        yield mailbox
    finally:
        controller.stop()
