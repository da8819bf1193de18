"""Leader election over one Lease, the way client-go's `tryAcquireOrRenew` does it, with one
stricter rule about who "we" are.

Only local clocks decide (the record's times may come from a clock that is off): a candidate
takes a Lease held by someone else only after it saw the record unchanged for the record's
`leaseDurationSeconds`, measured on its own monotonic clock from the moment it first saw that
version. The holder may act only until `renew_deadline_s` after it *sent* its last successful
renewal. The other side saw that renewal at or after it was written, so it waits at least
`lease_duration_s` from then: the gap between the two (15 s - 10 s by default) is the time an action
that began before the deadline has to finish. Every write is a compare-and-set on the
resourceVersion, so of two candidates at most one wins.

A record that names our identity is ours only if we wrote it (its renewTime is one we sent): a
container restarted under the same pod name, or two processes given one `--identity`, wait the
Lease out like any other candidate instead of both believing they lead.

And one more: a Lease deleted by hand, or whose holder was cleared by hand, is not free at once
(client-go would create or take it in its next try): its last holder does not know and may act
until its own renew deadline, so a candidate waits the last record it saw out first. Only a
release (no holder, a 1 s duration) says the holder stopped.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from monotui.autopilot.lease import LeaseLock, LeaseRecord, lease_spec
from monotui.errors import ConfigError, MonotuiError

JITTER = 1.2  # client-go's: the renew deadline must leave room for a jittered retry
RELEASED_DURATION_S = 1
OWN_RENEWALS = 8


@dataclass(frozen=True, slots=True)
class LeaseTiming:
    """client-go's three durations (defaults: its core controllers' 15 s, 10 s and 2 s)."""

    lease_duration_s: int = 15
    renew_deadline_s: float = 10.0
    retry_period_s: float = 2.0

    def __post_init__(self) -> None:
        if self.lease_duration_s < 1:
            raise ConfigError("--lease-duration must be a whole number of seconds >= 1")
        if self.retry_period_s <= 0 or self.renew_deadline_s <= 0:
            raise ConfigError("--renew-deadline and --retry-period must be greater than 0")
        if self.renew_deadline_s >= self.lease_duration_s:
            raise ConfigError("--lease-duration must be greater than --renew-deadline")
        if self.renew_deadline_s <= JITTER * self.retry_period_s:
            raise ConfigError(
                f"--renew-deadline must be greater than {JITTER} x --retry-period "
                "(a renewal needs more than one try before the deadline)"
            )

    @property
    def request_timeout_s(self) -> float:
        """One Lease request may take this long: a hung one must not use up the deadline."""
        return max(0.2, self.renew_deadline_s / 2)


@dataclass(frozen=True, slots=True)
class Seen:
    """A version of the Lease and when we first saw it (monotonic, and wall for the record's
    stored ages)."""

    record: LeaseRecord
    at: float
    wall: float


class Elector:
    """Acquires, renews and releases one Lease for `identity`. Thread-safe."""

    def __init__(
        self,
        lock: LeaseLock,
        identity: str,
        timing: LeaseTiming,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.lock = lock
        self.identity = identity
        self.timing = timing
        self._monotonic = monotonic
        self._wall = wall
        self._mutex = threading.Lock()
        self._seen: Seen | None = None
        self._taken_over: Seen | None = None
        self._renewed_at: float | None = None  # when our last successful write was sent
        self._sent: deque[str] = deque(maxlen=OWN_RENEWALS)
        self.error = ""  # why the last try failed ("" when it did not)

    # --- what we know ---------------------------------------------------------------------------

    @property
    def seen(self) -> Seen | None:
        with self._mutex:
            return self._seen

    @property
    def taken_over(self) -> Seen | None:
        """What the last successful try took over: the other holder's last version (the state a
        new leader continues); None when it created the Lease or renewed our own."""
        with self._mutex:
            return self._taken_over

    def is_leader(self) -> bool:
        """The Lease as last seen is ours (we wrote it, and it names us)."""
        with self._mutex:
            return self._ours(self._seen)

    def may_act(self) -> bool:
        """Ours, and renewed less than `renew_deadline_s` ago (counted from when it was sent)."""
        with self._mutex:
            renewed = self._renewed_at
            if not self._ours(self._seen) or renewed is None:
                return False
            return self._monotonic() < renewed + self.timing.renew_deadline_s

    # --- client-go's tryAcquireOrRenew ----------------------------------------------------------

    def try_acquire_or_renew(self, state: str | None = None) -> bool:
        """One try; True when we hold the Lease afterwards. `state` (None: leave it) is stored
        with a renewal of ours, never when taking the Lease over (the last holder's stays)."""
        sent = self._monotonic()
        now = self._wall()
        seen = self.seen
        if seen is not None and self.is_leader() and sent < seen.at + seen.record.duration_s:
            # The fast path: renew the version we wrote, without reading it first.
            record = seen.record
            spec = self._spec(now, record.acquire_t or now, record.transitions)
            if self._write(lambda: self.lock.update(record, spec, state), sent, None):
                return True
        before = self.seen
        try:
            current = self.lock.get()
        except MonotuiError as exc:
            self.error = str(exc)
            return False
        if current is None:
            if self._waits_for(before):
                self.error = ""
                return False  # deleted under a live holder, who may still act: wait it out
            spec = self._spec(now, now, 0)
            return self._write(lambda: self.lock.create(spec, state), sent, None)
        seen = self._saw(current)
        ours = self.is_leader()
        if self._waits_for(seen):
            self.error = ""
            return False  # someone else holds it, and renewed it recently enough
        if ours:
            spec = self._spec(now, current.acquire_t or now, current.transitions)
            return self._write(lambda: self.lock.update(current, spec, state), sent, None)
        spec = self._spec(now, now, current.transitions + 1)
        return self._write(lambda: self.lock.update(current, spec), sent, seen)

    def release(self) -> bool:
        """Give the Lease up (holder empty, a 1 s duration) if it is still ours, compare-and-set,
        so a standby takes it at once: client-go's ReleaseOnCancel. The stored state stays for
        the next holder. Returns whether the Lease is not ours any more."""
        for _ in range(2):  # a renewal in flight may have moved it: look again once
            try:
                current = self.lock.get()
            except MonotuiError as exc:
                self.error = str(exc)
                return False
            if current is None:
                return True
            seen = self._saw(current)
            if not self.is_leader():
                return True
            now = self._wall()
            spec = lease_spec("", RELEASED_DURATION_S, now, now, seen.record.transitions)
            try:
                record = self.lock.update(current, spec)
            except MonotuiError as exc:
                self.error = str(exc)
                continue
            with self._mutex:
                self._seen = Seen(record, self._monotonic(), self._wall())
                self._renewed_at = None
            return True
        return False

    # --- internals ------------------------------------------------------------------------------

    def _spec(self, now: float, acquire_t: float, transitions: int) -> dict[str, object]:
        spec = lease_spec(self.identity, self.timing.lease_duration_s, acquire_t, now, transitions)
        with self._mutex:
            self._sent.append(str(spec["renewTime"]))
        return spec

    def _write(self, write: Callable[[], LeaseRecord], sent: float, taking: Seen | None) -> bool:
        try:
            record = write()
        except MonotuiError as exc:
            self.error = str(exc)
            return False
        self.error = ""
        with self._mutex:
            self._seen = Seen(record, self._monotonic(), self._wall())
            self._renewed_at = sent
            self._taken_over = taking
        return True

    def _saw(self, record: LeaseRecord) -> Seen:
        """Record a read; a version not seen before counts from now."""
        with self._mutex:
            if self._seen is None or self._seen.record.version != record.version:
                self._seen = Seen(record, self._monotonic(), self._wall())
            return self._seen

    def _waits_for(self, seen: Seen | None) -> bool:
        """Whether `seen` still binds us: someone else's record, not yet silent for its duration
        on our clock. A record without a holder is free at once only when it is a release (the
        1 s duration that `release` writes): one whose holder was cleared by hand, like a Lease
        deleted by hand, says nothing of whether the last holder stopped acting."""
        if seen is None or self._ours(seen):
            return False
        record = seen.record
        if not record.holder and record.duration_s <= RELEASED_DURATION_S:
            return False
        return self._monotonic() < seen.at + record.duration_s

    def _ours(self, seen: Seen | None) -> bool:
        return (
            seen is not None
            and seen.record.holder == self.identity
            and seen.record.renew_time in self._sent
        )
