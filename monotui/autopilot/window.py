"""The cockpit's side of the autopilot: its windows onto the Leases.

A cockpit follows the Lease of each rollout it steers on Kubernetes (one list+watch of the
autopilot's Leases per namespace, or one for the cluster, in the session's informers: nothing is
sent per poll at steady state), shows who holds it in the header and what that autopilot does
next in the plan, and defers to it: before its own automation acts, it reads the Lease again
and refuses while someone holds it live (renewed within its duration on the holder's clock, or
changed within it on ours: either makes it live, so clock skew only ever makes a cockpit defer).
A Lease it cannot read also makes it defer, and so does one deleted or whose holder was cleared
by hand while its last holder may still act (as a standby autopilot waits it out). Keys are not gated: a person's action is theirs, and
the autopilot sees it at its next poll.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from monotui.autopilot.elector import RELEASED_DURATION_S, Seen
from monotui.autopilot.lease import LeaseLock, LeaseRecord
from monotui.autopilot.names import GROUP, PLURAL, RBAC, SELECTOR, VERSION, lease_name
from monotui.autopilot.status import status_of
from monotui.errors import MonotuiError
from monotui.model import AutopilotStatus
from monotui.rollout import Rollout
from monotui.sources.kube import KubeConnection
from monotui.sources.kube_informers import CachedObject, InformerPool, Kind

FOLLOW_S = 2.0
"""How often the windows look at their informers' caches (no request: a look is local)."""
KUBE_ROUTERS = frozenset({"istio", "gateway-api", "argo"})
"""The router kinds whose resource lives in Kubernetes, where an autopilot can run."""
LEASES = Kind(
    group=GROUP,
    versions=(VERSION,),
    plural=PLURAL,
    unserved=f"the API server serves no {GROUP}/{VERSION} leases: the autopilot needs them",
    rbac=RBAC,
    selector=SELECTOR,
)
"""The autopilot's Leases as the informers follow them (only those its label marks)."""


class RolloutWindow:
    """What one cockpit knows about one rollout's Lease. Thread-safe."""

    def __init__(
        self,
        lock: LeaseLock,
        *,
        cached: CachedObject | None = None,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lock = lock
        self.path = lock.path
        self._cached = cached  # the informer's cache, told of what `gate` reads by hand
        self._wall = wall
        self._monotonic = monotonic
        self._mutex = threading.Lock()
        self._seen: Seen | None = None
        self._gone: Seen | None = None  # the live record last seen before the Lease vanished
        self._read = False  # whether a read ever succeeded
        self._error = ""

    def saw(self, record: LeaseRecord | None) -> None:
        """A read found `record` (None: there is no Lease)."""
        with self._mutex:
            self._read, self._error = True, ""
            if record is None:
                if self._seen is not None and self._live(self._seen):
                    self._gone = self._seen
                self._seen = None
            elif self._seen is None or self._seen.record.version != record.version:
                self._seen = Seen(record, self._monotonic(), self._wall())
                self._gone = None

    def failed(self, error: str) -> None:
        with self._mutex:
            self._error = error

    def status(self) -> AutopilotStatus:
        """The Lease as last read (no I/O)."""
        with self._mutex:
            seen, error = self._seen, self._error
        record = seen.record if seen is not None else None
        return status_of(
            self.path, record, live=self._live(seen), here=False, now=self._wall(), error=error
        )

    def gate(self) -> str | None:
        """Read the Lease now; None when no autopilot holds it live (the cockpit may act)."""
        try:
            record = self.lock.get()
        except MonotuiError as exc:
            self.failed(str(exc))
            return (
                f"cannot read the lease {self.path}, so an autopilot may hold it: the cockpit "
                "does not act automatically (grant get on leases, or use policy manual)"
            )
        self.saw(record)
        if record is not None and self._cached is not None:
            self._cached.offer(record.obj)  # the next look at the cache is not behind it
        with self._mutex:
            seen, gone = self._seen, self._gone
        if seen is not None and self._live(seen):
            return (
                f"autopilot {seen.record.holder} holds the lease {self.path}: the cockpit leaves "
                "the automation to it"
            )
        # Deleted, or its holder cleared, by hand: the last holder does not know yet and may
        # still act until its Lease runs out (only a release, a 1 s duration, says it stopped).
        if seen is None and gone is not None and self._live(gone):
            return (
                f"the lease {self.path} was deleted while autopilot {gone.record.holder} held "
                "it, which may still act: the cockpit waits until that lease runs out"
            )
        if seen is not None and self._cleared(seen):
            return (
                f"the holder of the lease {self.path} was cleared by hand, and the last one may "
                "still act: the cockpit waits until that lease runs out"
            )
        return None

    def _cleared(self, seen: Seen) -> bool:
        record = seen.record
        return (
            not record.holder
            and record.duration_s > RELEASED_DURATION_S
            and self._monotonic() < seen.at + record.duration_s
        )

    def _live(self, seen: Seen | None) -> bool:
        if seen is None or not seen.record.holder:
            return False
        duration = seen.record.duration_s
        if self._monotonic() < seen.at + duration:
            return True
        renewed = seen.record.renew_t
        return renewed is not None and self._wall() < renewed + duration


def by_cluster(rollouts: Sequence[Rollout]) -> dict[str | None, list[Rollout]]:
    """The rollouts whose Lease lives in Kubernetes, by the cluster they run in (None: the one
    kubeconfig context): each cluster's Leases are followed on its own connection."""
    out: dict[str | None, list[Rollout]] = {}
    for rollout in rollouts:
        if rollout.config.router.kind in KUBE_ROUTERS:
            out.setdefault(rollout.config.cluster, []).append(rollout)
    return out


class LeaseWindows:
    """Follows the Leases of a cockpit's rollouts through informers (one list+watch of the
    autopilot's Leases per namespace, or one for the cluster as the pool decides), reading their
    cache in one thread every `follow_s`: nothing is sent per poll at steady state. `informers`
    is the session's pool (shared with its routers); without one the windows make and own
    theirs. `close` stops it."""

    def __init__(
        self,
        rollouts: Sequence[Rollout],
        kube: KubeConnection,
        *,
        informers: InformerPool | None = None,
        follow_s: float = FOLLOW_S,
    ) -> None:
        self.kube = kube
        self.follow_s = follow_s
        self._owned = informers is None
        self.informers = informers if informers is not None else InformerPool(kube)
        self.windows: dict[str, RolloutWindow] = {}
        self._followed: list[tuple[RolloutWindow, CachedObject]] = []
        for rollout in rollouts:
            config = rollout.config
            if config.router.kind not in KUBE_ROUTERS:
                continue
            name = lease_name(config)
            lock = LeaseLock(kube, config.namespace, name, config.name, timeout_s=kube.timeout_s)
            cached = self.informers.cache(LEASES, config.namespace, name)
            window = RolloutWindow(lock, cached=cached)
            self.windows[rollout.name] = window
            self._followed.append((window, cached))
            rollout.automation.gate = window.gate
            rollout.automation.status = window.status
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease windows", daemon=True)

    def start(self) -> LeaseWindows:
        if self.windows:
            self._thread.start()
        return self

    def refresh(self) -> None:
        """Each window from its informer's cache (no request once the informers have synced;
        the first call waits for their first lists, each within the request timeout)."""
        for _, cached in self._followed:  # every list under way at once, not one after another
            cached.start()
        for window, cached in self._followed:
            if self._stop.is_set():
                return
            try:
                found = cached.find()
                record = None if found is None else LeaseRecord.of(found)
            except MonotuiError as exc:
                window.failed(str(exc))
                continue
            window.saw(record)

    def close(self) -> None:
        """Stop following; never waits for a request in flight (a hanging API server must not
        hold up `q`): the thread is a daemon and ends at its next look at the stop flag, and
        informers of our own are stopped without being joined (the session closes its own)."""
        self._stop.set()
        if self._owned:
            self.informers.close(timeout_s=0)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.follow_s)
