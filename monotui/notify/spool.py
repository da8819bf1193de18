"""The on-disk queue of one sink: messages not delivered yet, as JSON lines, in order.

Appending writes one complete line and fsyncs it before the message counts as queued; taking
messages off the front rewrites the file atomically (a temporary file, fsynced, renamed over the
old one), so a crash leaves either the old queue or the new one, never half of either. The queue
is bounded: past `max_items` the oldest messages are dropped and counted (`dropped`), so a sink
that is down for days costs a bounded file. A torn or unreadable line (a crash mid-append) is
skipped when the file is read back. `path=None` keeps the queue in memory only.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from monotui.notify import files
from monotui.notify.message import SCHEMA_VERSION, Message


class Spool:
    """A bounded FIFO of messages, persisted. Thread-safe."""

    def __init__(self, path: Path | None, max_items: int) -> None:
        self.path = path
        self.max_items = max_items
        self.dropped = 0
        """Messages dropped because the queue was full (since this process started)."""
        self._lock = threading.Lock()
        self._items: list[Message] = self._load()
        if len(self._items) > max_items:
            self.dropped += len(self._items) - max_items
            self._items = self._items[-max_items:]
            self._rewrite()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def keys(self) -> set[str]:
        with self._lock:
            return {m.key for m in self._items}

    def append(self, message: Message) -> None:
        """Queue `message` at the back (on disk before this returns), dropping the oldest when
        the queue is full."""
        with self._lock:
            self._items.append(message)
            if len(self._items) > self.max_items:
                over = len(self._items) - self.max_items
                self._items = self._items[over:]
                self.dropped += over
                self._rewrite()
            else:
                self._append_line(message)

    def peek(self, n: int) -> list[Message]:
        """The first `n` messages, oldest first (they stay queued)."""
        with self._lock:
            return self._items[:n]

    def drop_front(self, delivered: list[Message]) -> None:
        """Take `delivered` (the front of the queue, as peeked) off it."""
        with self._lock:
            n = 0
            while n < len(delivered) and n < len(self._items) and self._items[n] is delivered[n]:
                n += 1
            if n:
                self._items = self._items[n:]
                self._rewrite()

    # --- disk -----------------------------------------------------------------------------------

    def _line(self, message: Message) -> bytes:
        data = {"v": SCHEMA_VERSION, "message": message.to_dict()}
        return (json.dumps(data, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")

    def _append_line(self, message: Message) -> None:
        if self.path is not None:
            files.append_line(self.path, self._line(message))

    def _rewrite(self) -> None:
        if self.path is not None:
            files.replace(self.path, b"".join(self._line(m) for m in self._items))

    def _load(self) -> list[Message]:
        if self.path is None:
            return []
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        items = []
        for line in raw.splitlines():
            message = _parse(line)
            if message is not None:
                items.append(message)
        return items


def _parse(line: bytes) -> Message | None:
    try:
        data: Any = json.loads(line)
        return Message.from_dict(data["message"])
    except (ValueError, KeyError, TypeError):
        return None  # torn by a crash, or not ours: skipped
