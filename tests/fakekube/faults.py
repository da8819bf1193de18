"""Failures a test injects into the next matching requests (by method and path pattern).

Kinds of fault:
  ``fail``     answer ``status`` instead of handling the request (a Status body; a 429 without
               a message is the plain-text answer of the real server's priority-and-fairness
               filter, "Too many requests, please try again later.", with ``Retry-After``)
  ``drop``     close the connection without answering (the request is not handled)
  ``slow``     wait ``delay_s`` before handling the request
  ``late``     handle the request (a PATCH or PUT *is applied*), then hold the answer
               ``delay_s`` (None: until :meth:`FakeKube.release_held` or the fake stops)
  ``trickle``  handle the request, then send the answer ``chunk_bytes`` at a time, one chunk
               every ``delay_s``
Each fault may be narrowed to one user's requests (``user``: the name its bearer token maps
to), e.g. a partition that cuts one process off the API while its peers still reach it. Deny
rules (403) are in :mod:`.rbac`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["FAULT_KINDS", "Fault", "Faults"]

FAULT_KINDS = ("fail", "drop", "slow", "late", "trickle")


@dataclass
class Fault:
    """One injected fault for the next ``remaining`` matching requests (None: every one)."""

    kind: str
    remaining: int | None
    method: str | None = None
    path: re.Pattern[str] | None = None
    status: int = 500
    message: str | None = None
    retry_after: int | None = None
    delay_s: float | None = 0.0
    chunk_bytes: int = 1
    user: str | None = None

    @classmethod
    def of(
        cls, kind: str, n: int | None, method: str | None, path: str | None, **fields: Any
    ) -> Fault:
        """A fault of ``kind`` for ``method`` (any case) and ``path`` (a regular expression)."""
        pattern = re.compile(path) if path else None
        return cls(kind, n, method.upper() if method else None, pattern, **fields)

    def matches(self, method: str, path: str, user: str | None = None) -> bool:
        return (
            self.method in (None, method)
            and (self.path is None or bool(self.path.search(path)))
            and (self.user is None or self.user == user)
        )


class Faults:
    """The pending faults, guarded by the fake's one lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"fakekube: unknown fault kind {fault.kind!r}")
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str, user: str | None = None) -> Fault | None:
        """The first pending fault for this request (from ``user``), counted as used (dropped
        when used up)."""
        with self._lock:
            fault = next((f for f in self._faults if f.matches(method, path, user)), None)
            if fault is not None and fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            return fault
