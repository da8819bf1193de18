"""What one sink has already been told, kept across restarts: the keys of the messages queued for
it (rollout, event, state, generation), with when; and, for the Slack bot, the message each
rollout's thread hangs from. A second monotui (or the same one restarted) with the same state
file does not send a state change again.

The file is small JSON, rewritten atomically on every change; keys older than `remember_s` are
forgotten (the same state a day later is news again), and at most `MAX_KEYS` are kept.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from monotui.notify import files

MAX_KEYS = 10_000
REMEMBER_S = 86_400.0


class Ledger:
    """Told keys and thread anchors of one sink. Thread-safe; `path=None` keeps them in memory."""

    def __init__(self, path: Path | None, *, remember_s: float = REMEMBER_S) -> None:
        self.path = path
        self.remember_s = remember_s
        self._lock = threading.Lock()
        data = self._load()
        self._told: dict[str, float] = {
            str(k): float(v) for k, v in (data.get("told") or {}).items()
        }
        self._threads: dict[str, dict[str, str]] = dict(data.get("threads") or {})

    def told(self, key: str) -> bool:
        """Whether `key` was queued within `remember_s`."""
        with self._lock:
            at = self._told.get(key)
            return at is not None and time.time() - at < self.remember_s

    def tell(self, key: str, clears: tuple[str, ...] = ()) -> None:
        """Record `key` as queued now and forget `clears` (the episodes it ended)."""
        with self._lock:
            for old in clears:
                self._told.pop(old, None)
            self._told[key] = time.time()
            self._trim()
            self._save()

    def thread(self, rollout: str) -> dict[str, str] | None:
        """The Slack bot's anchor message of `rollout`: {"channel": ..., "ts": ...}."""
        with self._lock:
            found = self._threads.get(rollout)
            return dict(found) if found else None

    def set_thread(self, rollout: str, anchor: dict[str, str] | None) -> None:
        with self._lock:
            if anchor is None:
                self._threads.pop(rollout, None)
            else:
                self._threads[rollout] = dict(anchor)
            self._save()

    def _trim(self) -> None:
        now = time.time()
        self._told = {k: t for k, t in self._told.items() if now - t < self.remember_s}
        if len(self._told) > MAX_KEYS:
            newest = sorted(self._told.items(), key=lambda kv: kv[1])[-MAX_KEYS:]
            self._told = dict(newest)

    def _load(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # missing or damaged: start afresh (at worst a message is sent again)
        return data if isinstance(data, dict) else {}

    def _save(self) -> None:
        if self.path is not None:
            data = {"told": self._told, "threads": self._threads}
            files.replace(self.path, json.dumps(data, ensure_ascii=True).encode("ascii"))
