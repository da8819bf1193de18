"""The audit log: one complete JSON line per action, appended with a single write and flushed.

A crash cannot leave half a line: each record is encoded first and written with one `os.write` on a
file opened with O_APPEND, then fsync'ed.
"""

from __future__ import annotations

import getpass
import json
import os
import threading
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monotui.errors import ConfigError

MEMORY_RECORDS = 1000


def default_path() -> Path:
    """$XDG_STATE_HOME/monotui/audit.jsonl."""
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "monotui" / "audit.jsonl"


def local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


class AuditLog:
    """Appends audit records; `path=None` keeps them in memory only (tests, demo without a file)."""

    def __init__(self, path: Path | None, *, user: str | None = None) -> None:
        self.path = path
        self.user = user or local_user()
        self._lock = threading.Lock()
        # The newest records, for the demo (no file) and tests; the file holds them all.
        self.records: deque[dict[str, Any]] = deque(maxlen=MEMORY_RECORDS)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"audit log {path}: cannot create its folder: {exc.strerror}"
                ) from None

    def record(self, **fields: Any) -> dict[str, Any]:
        """Append one record: time and user are added; returns what was written."""
        entry = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "user": self.user}
        entry.update(fields)
        line = (json.dumps(entry, default=str, ensure_ascii=False) + "\n").encode()
        with self._lock:
            self.records.append(entry)
            if self.path is not None:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
        return entry
