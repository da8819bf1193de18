"""One rollout's automation under its Lease: the election in a thread of its own (every retry
period: acquire, or renew with the automation's state), the gate the automation asks before
each action, and the status its snapshots carry.

Only the holder acts, and only while its last renewal is younger than the renew deadline; a new
holder first continues the stored hold (monotui.autopilot.resume) and refuses to act until it
has. A standby keeps observing (its own hold timer counts from what it saw, which is never
earlier than the true one), so it can take over within one retry period of the Lease expiring.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from monotui.autopilot.elector import Elector, LeaseTiming, Seen
from monotui.autopilot.lease import LeaseLock
from monotui.autopilot.names import lease_name, lease_path
from monotui.autopilot.resume import StoredState, capture, restore
from monotui.autopilot.status import status_of
from monotui.model import AutopilotStatus, Event, EventLevel, LeadershipChanged
from monotui.rollout import Rollout
from monotui.sources.kube import KubeConnection


class Leadership:
    """The Lease of one rollout, held (or waited for) by `identity`. Thread-safe."""

    def __init__(
        self,
        rollout: Rollout,
        kube: KubeConnection,
        identity: str,
        timing: LeaseTiming,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        config = rollout.config
        self.rollout = rollout
        self.identity = identity
        self.timing = timing
        self.path = lease_path(config)
        lock = LeaseLock(
            kube,
            config.namespace,
            lease_name(config),
            config.name,
            timeout_s=timing.request_timeout_s,
        )
        self.elector = Elector(lock, identity, timing, monotonic=monotonic, wall=wall)
        self._wall = wall
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._leading = False
        self._resumed = False
        self._refusing = False
        self._resume_from: Seen | None = None
        self._told_error = ""
        self._stop = threading.Event()
        self._first_round = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease {config.name}", daemon=True)

    # --- what the automation and the snapshots ask -----------------------------------------------

    def attach(self) -> None:
        """Make the rollout's automation ask this Lease before it acts, and show it."""
        self.rollout.automation.gate = self.gate
        self.rollout.automation.status = self.status

    @property
    def alive(self) -> bool:
        """The renewals run (or were stopped on purpose)."""
        return self._stop.is_set() or self._thread.is_alive()

    @property
    def leading(self) -> bool:
        """We hold the Lease and may act on it now."""
        with self._lock:
            leading = self._leading
        return leading and self.elector.may_act()

    def gate(self) -> str | None:
        """None when this process may act on the rollout now, else why not (stable words)."""
        with self._lock:
            refusing, leading, resumed = self._refusing, self._leading, self._resumed
        if refusing:
            return "the autopilot is shutting down"
        if not leading:
            seen = self.elector.seen
            holder = seen.record.holder if seen is not None else ""
            other = f"; {holder} does" if holder and holder != self.identity else ""
            return f"{self.identity} does not hold the lease {self.path}{other}"
        if not resumed:
            return f"{self.identity} has just taken the lease {self.path} and first continues the stored hold"
        if not self.elector.may_act():
            return (
                f"the lease {self.path} was not renewed within "
                f"{self.timing.renew_deadline_s:g}s: {self.identity} may no longer act"
            )
        return None

    def status(self) -> AutopilotStatus:
        """The Lease as last seen (no I/O)."""
        seen = self.elector.seen
        here = self.leading
        if seen is None:
            return status_of(
                self.path, None, live=False, here=False, now=self._wall(), error=self.elector.error
            )
        record = seen.record
        live = here or (bool(record.holder) and self._monotonic() < seen.at + record.duration_s)
        return status_of(self.path, record, live=live, here=here, now=self._wall())

    # --- the election ----------------------------------------------------------------------------

    def start(self) -> None:
        self.attach()
        self._thread.start()

    def tick(self) -> None:
        """One round: renew (storing the automation's state) or try to acquire."""
        with self._lock:
            leading, resumed = self._leading, self._resumed
        state = None
        if leading and resumed:
            stored = capture(self.rollout, self._wall())
            state = stored.dumps() if stored is not None else None
        if self.elector.try_acquire_or_renew(state):
            if not leading:
                self._became_leader(self.elector.taken_over)
        elif leading and not self.elector.may_act():
            self._stepped_down()
        with self._lock:
            pending = self._leading and not self._resumed
        if pending:
            self._resume()
        self._tell_error()

    def refuse(self) -> None:
        """From now on, refuse every action (shutting down); the Lease is still renewed."""
        with self._lock:
            self._refusing = True

    def stop(self) -> None:
        """Stop renewing (the thread ends within one retry period)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.timing.retry_period_s + self.timing.request_timeout_s + 1)

    def release(self) -> bool:
        """Give the Lease up so a standby takes it at once; returns whether it is not ours."""
        with self._lock:
            leading, self._leading = self._leading, False
        released = self.elector.release()
        if leading:
            text = (
                f"{self.identity} released the lease {self.path}"
                if released
                else f"{self.identity} could not release the lease {self.path} "
                f"({self.elector.error}); a standby takes over when it expires"
            )
            self._tell(LeadershipChanged, text, leading=False, holder="")
        return released

    def first_round(self, timeout_s: float) -> bool:
        """Wait until the first try to acquire is over (won or not); whether it is."""
        return self._first_round.wait(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # a bug must not end the renewals of the other Leases
                self._tell(Event, f"lease {self.path}: {exc}", EventLevel.ERROR)
            self._first_round.set()
            self._stop.wait(self.timing.retry_period_s)

    def _became_leader(self, taken_over: Seen | None) -> None:
        with self._lock:
            self._leading = True
            # Renewing our own Lease again (or a new one): what we know is the current state.
            self._resumed = taken_over is None
            self._resume_from = taken_over
        was = f" from {taken_over.record.holder or 'nobody'}" if taken_over is not None else ""
        text = f"{self.identity} leads {self.path}{was}: the autopilot acts on this rollout"
        self._tell(LeadershipChanged, text, leading=True, holder=self.identity)

    def _stepped_down(self) -> None:
        with self._lock:
            self._leading = False
        seen = self.elector.seen
        holder = seen.record.holder if seen is not None else ""
        why = self.elector.error or "the lease was renewed by nobody"
        text = (
            f"{self.identity} stopped leading {self.path}: no renewal within "
            f"{self.timing.renew_deadline_s:g}s ({why})"
        )
        self._tell(LeadershipChanged, text, EventLevel.WARN, leading=False, holder=holder)

    def _resume(self) -> None:
        """Continue the hold the last holder stored, once the route has been read."""
        known = self.rollout.actuator.state.known()
        if known.route is None:
            return  # the first observation has not read the route yet: the gate still refuses
        with self._lock:
            source = self._resume_from
        stored = StoredState.loads(source.record.state) if source is not None else None
        if source is None or stored is None:
            text = f"{self.path}: no stored hold to continue; the hold counts from what we saw"
        else:
            policy_state, step_since, canary = restore(stored, source.wall, known)
            if self.rollout.automation.resume(policy_state, step_since, canary):
                ago = max(0.0, self._wall() - step_since)
                text = f"{self.path}: continues the hold at {canary} % reached {ago:.0f}s ago"
            else:
                text = (
                    f"{self.path}: the route moved since the stored hold "
                    f"(at {stored.canary_pct} %): the hold counts from what we saw"
                )
        with self._lock:
            self._resumed = True
        self._tell(Event, text)

    def _tell_error(self) -> None:
        error = self.elector.error
        if error == self._told_error:
            return
        self._told_error = error
        if error:
            self._tell(Event, f"lease {self.path}: {error}", EventLevel.WARN)

    def _tell(
        self, cls: type[Event], text: str, level: EventLevel = EventLevel.INFO, **facts: object
    ) -> None:
        if cls is LeadershipChanged:
            facts["lease"] = self.path
        self.rollout.observer.told.tell(cls, text, level, **facts)
