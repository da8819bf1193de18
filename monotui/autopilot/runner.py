"""The autopilot process: the configured rollouts cycled by the poll scheduler, each automation
behind its Lease, every event as a JSON line, and the HTTP endpoints; until SIGTERM, then a
graceful stop (no new action, the one in flight finishes, the Leases are released).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from prometheus_client import CollectorRegistry, ProcessCollector

from monotui.autopilot.elector import LeaseTiming
from monotui.autopilot.endpoints import Endpoints
from monotui.autopilot.jsonlog import JsonLog
from monotui.autopilot.leadership import Leadership
from monotui.autopilot.metrics import AutopilotCollector
from monotui.daemon_pool import DaemonPool
from monotui.events import EventBus
from monotui.registry import BuildContext
from monotui.rollout import Rollout
from monotui.scheduler import PollScheduler

START_CONCURRENCY = 8
DRAIN_POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class AutopilotOptions:
    """Who this process is, how it elects, where it listens."""

    identity: str
    timing: LeaseTiming
    listen: tuple[str, int]


def _unsteered() -> str:
    """The gate of a rollout the autopilot takes no Lease for: it writes nothing there, not
    even the probes' header routes (every replica would, and each remove them as it stops)."""
    return 'the autopilot does not steer it (not on policy = "auto", or read-only, or dry-run)'


class Autopilot:
    """Runs the rollouts unattended until `stop` is set; `run` returns the exit code."""

    def __init__(
        self,
        rollouts: Sequence[Rollout],
        ctx: BuildContext,
        bus: EventBus,
        options: AutopilotOptions,
        *,
        out: TextIO,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.rollouts = list(rollouts)
        self.ctx = ctx
        self.options = options
        self.wall = wall
        self.log = JsonLog(out, options.identity)
        bus.subscribe(self.log)
        # Only a rollout whose automation may act needs the Lease: one on manual, read-only or
        # dry-run never writes automatically, and must not keep a real autopilot from acting.
        kube = ctx.kube()
        self.leaderships = {
            r.name: Leadership(r, kube, options.identity, options.timing)
            for r in self.rollouts
            if r.automation.enabled and not r.actuator.dry_run
        }
        for rollout in self.rollouts:
            if rollout.name not in self.leaderships:
                rollout.automation.gate = _unsteered  # observed and exported, never written
        self._started: set[str] = set()
        self._started_lock = threading.Lock()
        self.collector = AutopilotCollector(
            self.rollouts, leading=self.leading, ready=lambda: self.unready() is None
        )
        bus.subscribe(self.collector)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self.collector)
        ProcessCollector(registry=registry)
        self.endpoints = Endpoints(
            options.listen, registry=registry, healthy=self.unhealthy, ready=self.unready
        )
        self.scheduler: PollScheduler | None = None

    # --- the probes ------------------------------------------------------------------------------

    def unready(self) -> str | None:
        """None once every rollout finished its first cycle, else how many have."""
        with self._started_lock:
            done = len(self._started)
        total = len(self.rollouts)
        return None if done == total else f"{done} of {total} rollouts finished their first cycle"

    def unhealthy(self) -> str | None:
        """None while every Lease is still being renewed (or waited for)."""
        stuck = [name for name, lead in self.leaderships.items() if not lead.alive]
        return f"the lease renewals stopped for {', '.join(stuck)}" if stuck else None

    def leading(self, rollout: str) -> bool:
        """Whether this process holds `rollout`'s Lease now."""
        lead = self.leaderships.get(rollout)
        return lead is not None and lead.leading

    # --- running ---------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> int:
        for lead in self.leaderships.values():
            lead.start()
        # The first cycle's events (a stored pause, a FAIL) are told only by the holder: a free
        # Lease is taken before the rollouts start, so a lone replica does not drop them.
        first_s = self.options.timing.request_timeout_s + 1
        for lead in self.leaderships.values():
            lead.first_round(first_s)
        self.endpoints.start()
        self.log.note(
            self.wall(),
            f"autopilot {self.options.identity} started, listening on {self.endpoints.address}",
            listen=self.endpoints.address,
            rollouts=[r.name for r in self.rollouts],
            leases={name: lead.path for name, lead in self.leaderships.items()},
        )
        if not self.leaderships:  # discovery's rollouts are on manual: say so, not silence
            self.log.note(
                self.wall(),
                'no rollout is on policy = "auto" (or all are read-only or dry-run): the '
                'autopilot observes and acts on none; set policy = "auto" in monotui.toml '
                "for the rollouts it should steer, or pass --policy auto",
                level="warning",
            )
        self._start_rollouts()
        if not stop.is_set():
            self.scheduler = PollScheduler(
                self.rollouts, deliver=lambda name, snap: None, failed=self._failed, started=True
            )
            self.scheduler.start()
            stop.wait()
        return self.shutdown()

    def _start_rollouts(self) -> None:
        """Each rollout's first cycle (history, first observation, first decision)."""

        def start(rollout: Rollout) -> None:
            try:
                rollout.start()
            except Exception as exc:  # a bug in one rollout must not keep the others from running
                self._failed(rollout.name, exc)
            with self._started_lock:
                self._started.add(rollout.name)

        workers = max(1, min(START_CONCURRENCY, len(self.rollouts)))
        with DaemonPool(workers, thread_name_prefix="start") as pool:
            list(pool.map(start, self.rollouts))

    def _failed(self, rollout: str, exc: BaseException) -> None:
        self.log.note(self.wall(), f"{rollout}: cycle failed: {exc}", "error", failed=rollout)

    def shutdown(self) -> int:
        """No new action; the cycles in flight finish; then the Leases are released (unless a
        cycle is still running: then they expire as if we had crashed, the safe way)."""
        for lead in self.leaderships.values():
            lead.refuse()
        self.log.note(self.wall(), "stopping: no new action; the cycles in flight finish")
        drained = True
        if self.scheduler is not None:
            self.scheduler.stop()
            drained = self._drain(self.scheduler, self.options.timing.renew_deadline_s)
        for lead in self.leaderships.values():
            lead.stop()
        if drained:
            for lead in self.leaderships.values():
                lead.release()
        else:
            self.log.note(
                self.wall(),
                "a cycle is still running: the leases are not released, they expire",
                "warn",
            )
        self.endpoints.stop()
        for rollout in self.rollouts:
            rollout.close()
        self.ctx.close()
        # Every audit record is on disk already (each line is fsynced as it is written).
        self.log.note(self.wall(), "stopped", released=drained)
        return 0

    @staticmethod
    def _drain(scheduler: PollScheduler, timeout_s: float) -> bool:
        """Wait until no cycle runs (a shutdown, not a test: polling the pool is all there is)."""
        deadline = time.monotonic() + timeout_s
        while scheduler.in_flight:
            if time.monotonic() > deadline:
                return False
            time.sleep(DRAIN_POLL_S)
        return True
