"""How fresh each source of one rollout is: OK, STALE (with its age) or ERROR (with why).

A failed read is STALE while the last good answer is younger than two intervals, then ERROR; an
answer that came with old data (StaleDataError) is STALE with that age. An OK source whose last
answer grows older than two intervals (a poll stuck in flight) turns STALE by itself. A new
failure, a changed failure and a recovery are each told once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

from monotui.errors import MonotuiError, StaleDataError
from monotui.model import EventLevel, SourceFailed, SourceRecovered, SourceState, SourceStatus
from monotui.outside_text import redact_urls_in
from monotui.rollout.told import Told


class SourceHealth:
    """The states of one rollout's sources. Thread-safe."""

    def __init__(self, interval_s: float, clock: Callable[[], float], told: Told) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self.told = told
        self._lock = threading.Lock()
        self._status: dict[str, SourceStatus] = {}
        self._last_ok: dict[str, float] = {}

    def ok(self, name: str, message: str = "") -> None:
        """`name` answered."""
        with self._lock:
            previous = self._status.get(name)
            self._last_ok[name] = self.clock()
            self._status[name] = SourceStatus(name, SourceState.OK, message, 0.0)
        if previous is not None and previous.state != SourceState.OK:
            self.told.tell(SourceRecovered, f"{name}: answers again", source=name)

    def failed(self, name: str, exc: MonotuiError) -> SourceStatus:
        """`name` failed with `exc`; returns its new status."""
        now = self.clock()
        with self._lock:
            previous = self._status.get(name)
            last = self._last_ok.get(name)
            age = None if last is None else now - last
            stale = age is not None and age <= 2 * self.interval_s
            if isinstance(exc, StaleDataError):  # it answered, with old data: STALE, its age
                stale, age = True, exc.age_s
            state = SourceState.STALE if stale else SourceState.ERROR
            # Shown on every output (status --json, the TUI, notifications): never a password.
            message = redact_urls_in(str(exc))
            status = SourceStatus(name, state, message, age, exc.exit_code)
            self._status[name] = status
        if previous is None or previous.state == SourceState.OK or previous.message != message:
            self.told.tell(SourceFailed, f"{name}: {message}", EventLevel.ERROR, source=status)
        return status

    def clear(self, name: str) -> None:
        """`name` is fine again and is not polled (a notification sink): forgotten rather than
        kept OK, which would age into STALE; its recovery is told once, as `ok` would."""
        with self._lock:
            previous = self._status.pop(name, None)
            self._last_ok.pop(name, None)
        if previous is not None and previous.state != SourceState.OK:
            self.told.tell(SourceRecovered, f"{name}: answers again", source=name)

    def get(self, name: str) -> SourceStatus | None:
        """The status of `name` as last recorded (not aged), None before its first answer."""
        with self._lock:
            return self._status.get(name)

    def all(self) -> tuple[SourceStatus, ...]:
        """Every source's status now, aged."""
        now = self.clock()
        with self._lock:
            return tuple(
                _aged(s, self._last_ok.get(s.name), now, self.interval_s)
                for s in self._status.values()
            )


def _aged(
    status: SourceStatus, last_ok: float | None, now: float, interval_s: float
) -> SourceStatus:
    """An OK source whose last answer is older than two intervals is STALE."""
    if status.state != SourceState.OK or last_ok is None:
        return status
    age = now - last_ok
    if age > 2 * interval_s:
        return SourceStatus(status.name, SourceState.STALE, f"no answer for {age:.0f}s", age)
    return replace(status, age_s=age)
