"""The cockpit's side of the autopilot: its windows onto the Leases.

A cockpit follows the Lease of each rollout it steers on Kubernetes (one LIST of the autopilot's
Leases per namespace every `FOLLOW_S`), shows who holds it in the header and what that autopilot
does next in the plan, and defers to it: before its own automation acts, it reads the Lease again
and refuses while someone holds it live (renewed within its duration on the holder's clock, or
changed within it on ours: either makes it live, so clock skew only ever makes a cockpit defer).
A Lease it cannot read also makes it defer. Keys are not gated: a person's action is theirs, and
the autopilot sees it at its next poll.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from monotui.autopilot.elector import Seen
from monotui.autopilot.lease import LeaseLock, LeaseRecord
from monotui.autopilot.names import GROUP, PLURAL, RBAC, SELECTOR, VERSION, lease_name
from monotui.autopilot.status import status_of
from monotui.errors import MonotuiError
from monotui.model import AutopilotStatus
from monotui.rollout import Rollout
from monotui.sources import kube_http
from monotui.sources.kube import KubeConnection, translate

FOLLOW_S = 2.0
KUBE_ROUTERS = frozenset({"istio", "gateway-api", "argo"})
"""The router kinds whose resource lives in Kubernetes, where an autopilot can run."""


class RolloutWindow:
    """What one cockpit knows about one rollout's Lease. Thread-safe."""

    def __init__(
        self,
        lock: LeaseLock,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lock = lock
        self.path = lock.path
        self._wall = wall
        self._monotonic = monotonic
        self._mutex = threading.Lock()
        self._seen: Seen | None = None
        self._read = False  # whether a read ever succeeded
        self._error = ""

    def saw(self, record: LeaseRecord | None) -> None:
        """A read found `record` (None: there is no Lease)."""
        with self._mutex:
            self._read, self._error = True, ""
            if record is None:
                self._seen = None
            elif self._seen is None or self._seen.record.version != record.version:
                self._seen = Seen(record, self._monotonic(), self._wall())

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
        with self._mutex:
            seen = self._seen
        if seen is not None and self._live(seen):
            return (
                f"autopilot {seen.record.holder} holds the lease {self.path}: the cockpit leaves "
                "the automation to it"
            )
        return None

    def _live(self, seen: Seen | None) -> bool:
        if seen is None or not seen.record.holder:
            return False
        duration = seen.record.duration_s
        if self._monotonic() < seen.at + duration:
            return True
        renewed = seen.record.renew_t
        return renewed is not None and self._wall() < renewed + duration


class LeaseWindows:
    """Follows the Leases of a cockpit's rollouts in one thread; `close` stops it."""

    def __init__(
        self,
        rollouts: Sequence[Rollout],
        kube: KubeConnection,
        *,
        follow_s: float = FOLLOW_S,
    ) -> None:
        self.kube = kube
        self.follow_s = follow_s
        self.windows: dict[str, RolloutWindow] = {}
        self._by_namespace: dict[str, dict[str, RolloutWindow]] = {}
        for rollout in rollouts:
            config = rollout.config
            if config.router.kind not in KUBE_ROUTERS:
                continue
            name = lease_name(config)
            lock = LeaseLock(kube, config.namespace, name, config.name, timeout_s=kube.timeout_s)
            window = RolloutWindow(lock)
            self.windows[rollout.name] = window
            self._by_namespace.setdefault(config.namespace, {})[name] = window
            rollout.automation.gate = window.gate
            rollout.automation.status = window.status
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease windows", daemon=True)

    def start(self) -> LeaseWindows:
        if self.windows:
            self._thread.start()
        return self

    def refresh(self) -> None:
        """One LIST of the autopilot's Leases per namespace."""
        for namespace, windows in self._by_namespace.items():
            try:
                listed = kube_http.call(
                    self.kube.custom.list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    namespace,
                    PLURAL,
                    label_selector=SELECTOR,
                    timeout_s=self.kube.timeout_s,
                )
            except Exception as exc:
                why = translate(
                    exc,
                    verb="list",
                    what="leases",
                    namespace=namespace,
                    resource=RBAC,
                    server=self.kube.server,
                )
                for window in windows.values():
                    window.failed(str(why))
                continue
            items = listed.get("items") if isinstance(listed, dict) else None
            found = {}
            for item in items if isinstance(items, list) else []:
                meta = item.get("metadata") if isinstance(item, dict) else None
                if isinstance(meta, dict):
                    found[str(meta.get("name", ""))] = LeaseRecord.of(item)
            for name, window in windows.items():
                window.saw(found.get(name))

    def close(self) -> None:
        """Stop following; never waits for a LIST in flight (a hanging API server must not hold
        up `q`): the thread is a daemon and ends at its next look at the stop flag."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.follow_s)
