"""What both contract suites (routers, flags) share: the refusal a world makes for what it cannot
do by nature, the one-clean-line check of a user's error, and a closed port."""

from __future__ import annotations

import re
import socket
import threading
from typing import Generic, TypeVar

from monotui.errors import MonotuiError

T = TypeVar("T")

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


class Unsupported(Exception):
    """A world asked for something it cannot do by nature (a simulated world has no RBAC); the
    case declares it in `cannot`, and the suite checks that the world refuses exactly that."""


def clean_line(error: MonotuiError) -> str:
    """The error's message, checked to be what a user may see: one non-empty line, no traceback,
    no object address."""
    text = str(error)
    assert text.strip(), f"{type(error).__name__} without a message"
    assert "\n" not in text and "\r" not in text, text
    assert "Traceback" not in text and not _ADDRESS.search(text), text
    return text


def closed_port() -> int:
    """A loopback port nothing listens on (bound and released: connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Recorder(Generic[T]):
    """A callback that keeps what it is called with, safe to read from the test's thread."""

    def __init__(self) -> None:
        self._items: list[T] = []
        self._lock = threading.Lock()

    def __call__(self, item: T) -> None:
        with self._lock:
            self._items.append(item)

    def items(self) -> list[T]:
        with self._lock:
            return list(self._items)
