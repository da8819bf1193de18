"""The poll scheduler: runs each rollout's cycle at its own `interval_s`, in worker threads.

- One cycle in flight per rollout; the next is due one interval after the previous one was due
  (a fixed cadence), or at once when a cycle ran over.
- At most `concurrency` cycles run at once per lane (a cluster: `lane`), whatever the number
  of rollouts (threads and connections do not grow with the fleet). A cluster whose API or
  Prometheus is slow holds up its own lane only, never the other clusters' rollouts; the
  queries themselves are bounded per Prometheus by `[prometheus] max_concurrent_queries`.
- A cycle still running when its next one is due does not hold anyone up: the rollout's snapshot
  (no I/O) is delivered instead, so its sources age to STALE on screen while the others go on.
- Every snapshot goes to `deliver(rollout, snapshot)` from a worker thread: the UI posts a
  message, the autopilot logs. A cycle that raises goes to `failed(rollout, error)`.
- With `preview`, every rollout first gets a quick look (Rollout.preview: its route and this
  poll's counts, no history, no judgement, no automation), all of them before any start: a
  fleet's first frame shows every row while the histories are read. The starts follow once the
  screen has shown them (`release_starts`; at the latest STARTS_WAIT_S after the last first
  look), at most START_CONCURRENCY at a time per lane, beside the lane's polls, each taking up
  to START_BATCH due starts whose histories it judges in one round: reading and
  judging a history is work for the CPU (the fleet's history is one batched read, tens of MB of
  JSON), and more threads at it would only take the interpreter from the screen and from the
  rollouts already polling.
- Polls due together are cycled together: a worker takes up to CYCLE_BATCH of its lane's
  rollouts with the same interval due within BATCH_SLACK_S, reads them one after the other
  (their metrics are one batched query anyway, monotui.sources.prometheus_batch) and judges
  them in one round (rollout.cycle_together); those taken a little early poll on the first
  one's cadence from then on, so a fleet's polls gather into rounds. Fewer threads then want
  the interpreter at once (the screen's keys wait less) and the judge's arithmetic is batched.
  A rollout whose read took SLOW_READ_S or more polls alone until a read of it is quick again:
  a slow source delays its round-mates once, never for good.
- `stop()` never waits for a cycle in flight: the workers are daemon threads (monotui.daemon_pool),
  so a source that hangs cannot hold the exit; each source still has its own deadline.

No Textual here: the app, the autopilot and the benchmarks share it.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from monotui.daemon_pool import DaemonPool
from monotui.model import Snapshot
from monotui.rollout import Rollout
from monotui.rollout.reading import Reading
from monotui.rollout.rollout import cycle_together, start_together

log = logging.getLogger(__name__)

Deliver = Callable[[str, Snapshot], None]
Failed = Callable[[str, BaseException], None]
Lane = Callable[[Rollout], str]


def cluster_lane(rollout: Rollout) -> str:
    """The default lane: the rollout's cluster ("" without clusters)."""
    return rollout.config.cluster or ""


DEFAULT_CONCURRENCY = 8
START_CONCURRENCY = 2
START_BATCH = 16
"""Starts taken together by one start worker: their histories judged in one round."""
STARTS_WAIT_S = 1.0
CYCLE_BATCH = 500
"""Polls taken together by one worker: read one after the other, judged in one round. A fleet's
polls of one cluster are one round: measured at 300 rollouts, rounds of 32 (several workers at
once) cost more CPU than one, and some waited for a free worker."""
BATCH_SLACK_S = 0.25
"""How early a poll may be taken to join a round (at most a tenth of its interval)."""
SLOW_READ_S = 1.0
"""A read at least this long (a slow source) takes its rollout out of the rounds."""


class PollScheduler:
    """Cycles a fixed set of rollouts until stopped."""

    def __init__(
        self,
        rollouts: Sequence[Rollout],
        *,
        deliver: Deliver,
        failed: Failed | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        clock: Callable[[], float] = time.monotonic,
        started: bool = False,
        lane: Lane = cluster_lane,
        pace: float = 1.0,
        preview: bool = False,
        started_round: Callable[[], None] | None = None,
    ) -> None:
        """`started`: the rollouts were already started (their first cycle is a plain one).
        `pace`: the rollouts' seconds per second of `clock` (the demo's world runs `--speed`
        times faster: its 10 s interval is one real second at speed 10). `preview`: a quick
        look at every rollout before the first starts (see the module's docstring).
        `started_round`: called after each round of starts, from its worker (the cockpit keeps
        the histories just read out of later garbage collections: monotui.collector)."""
        self._rollouts = {r.name: r for r in rollouts}
        self._deliver = deliver
        self._failed = failed or (lambda name, exc: log.error("poll of %s failed: %s", name, exc))
        self._clock = clock
        self._pace = pace if pace > 0 else 1.0
        lanes: dict[str, int] = {}
        for r in rollouts:
            lanes[lane(r)] = lanes.get(lane(r), 0) + 1
        self._pools = {
            name: DaemonPool(max(1, min(concurrency, count)), f"poll {name}".rstrip())
            for name, count in lanes.items()
        }
        self._lane = {r.name: lane(r) for r in rollouts}
        self._preview = preview and not started
        self._start_pools = {
            name: DaemonPool(max(1, min(START_CONCURRENCY, count)), f"start {name}".rstrip())
            for name, count in lanes.items()
            if self._preview
        }
        self.durations: dict[str, float] = {}
        """Each rollout's last cycle, in seconds (the benchmarks' "every poll within its
        interval")."""
        self.late: dict[str, float] = {}
        """How late each rollout's last cycle started after it was due, in seconds."""
        self._wake = threading.Condition()
        self._due: list[tuple[float, str]] = []
        self._in_flight: set[str] = set()
        self._started: set[str] = set(self._rollouts) if started else set()
        self._slow: set[str] = set()
        """Rollouts whose last read was slow: polled alone, not in a round."""
        self._looks_left = len(self._rollouts) if self._preview else 0
        self._starts_at: float | None = None if self._preview else 0.0
        """When the starts may begin (None: not before every first look is in)."""
        self._started_round = started_round
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="poll-scheduler", daemon=True)

    def start(self) -> None:
        """Start cycling every rollout now."""
        now = self._clock()
        with self._wake:
            for name, rollout in self._rollouts.items():
                if self._preview:
                    # Queued in the pools before any start is: every first look comes first.
                    self._in_flight.add(name)
                    self._pools[self._lane[name]].submit(self._first_look, rollout)
                else:
                    heapq.heappush(self._due, (now, name))
        self._thread.start()

    def stop(self, timeout_s: float = 1.0) -> None:
        """Stop scheduling; cycles in flight are not waited for (their threads are daemons and
        each source has its own deadline)."""
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        for pool in [*self._pools.values(), *self._start_pools.values()]:
            pool.shutdown(wait=False, cancel_futures=True)

    def release_starts(self) -> None:
        """The first looks are on screen: the starts may begin (with `preview`)."""
        with self._wake:
            self._starts_at = self._clock()
            self._wake.notify_all()

    @property
    def in_flight(self) -> frozenset[str]:
        with self._wake:
            return frozenset(self._in_flight)

    def _run(self) -> None:
        with self._wake:
            while not self._stopped:
                if not self._due:
                    self._wake.wait()
                    continue
                due, name = self._due[0]
                wait = due - self._clock()
                if name not in self._started and self._preview:
                    # A start waits for the screen to show the first looks.
                    starts_at = self._starts_at
                    wait = max(wait, 1.0 if starts_at is None else starts_at - self._clock())
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._due)
                rollout = self._rollouts[name]
                nxt = max(due + rollout.config.interval_s / self._pace, self._clock())
                heapq.heappush(self._due, (nxt, name))
                if name in self._in_flight:
                    # Not through the pool: its workers may all be stuck on slow sources.
                    self._wake.release()
                    try:
                        self._late(rollout)
                    finally:
                        self._wake.acquire()
                    continue
                self._in_flight.add(name)
                lane = self._lane[name]
                if self._preview and name not in self._started:
                    batch = [rollout, *self._due_starts(lane, START_BATCH - 1)]
                    self._start_pools[lane].submit(self._start_batch, batch, due)
                    continue
                if name in self._started and name not in self._slow:
                    mates = self._due_cycles(rollout, nxt, CYCLE_BATCH - 1)
                    if mates:
                        self._pools[lane].submit(self._cycle_batch, [rollout, *mates], due)
                        continue
                self._pools[lane].submit(self._cycle, rollout, due)

    def _due_cycles(self, lead: Rollout, nxt: float, most: int) -> list[Rollout]:
        """Up to `most` started rollouts of `lead`'s lane and interval, due within the slack,
        taken off the queue to be cycled with it: marked in flight, their next poll at `nxt`
        (the lead's). Called with the lock held."""
        interval_s = lead.config.interval_s
        lane = self._lane[lead.name]
        until = self._clock() + min(BATCH_SLACK_S, interval_s / self._pace / 10)
        taken: list[Rollout] = []
        passed: list[tuple[float, str]] = []
        while self._due and len(taken) < most and self._due[0][0] <= until:
            due, name = heapq.heappop(self._due)
            rollout = self._rollouts[name]
            if (
                name in self._started
                and name not in self._in_flight
                and name not in self._slow
                and self._lane[name] == lane
                and rollout.config.interval_s == interval_s
            ):
                taken.append(rollout)
                self._in_flight.add(name)
                self.late[name] = max(0.0, self._clock() - due)
                passed.append((nxt, name))
            else:
                passed.append((due, name))
        for item in passed:
            heapq.heappush(self._due, item)
        return taken

    def _due_starts(self, lane: str, most: int) -> list[Rollout]:
        """Up to `most` more rollouts of `lane` whose start is due now, taken off the queue
        (their next cycle queued) and marked in flight. Called with the lock held."""
        now = self._clock()
        taken: list[Rollout] = []
        kept: list[tuple[float, str]] = []
        for due, name in sorted(self._due):
            if (
                len(taken) < most
                and due <= now
                and name not in self._started
                and name not in self._in_flight
                and self._lane[name] == lane
            ):
                rollout = self._rollouts[name]
                taken.append(rollout)
                self._in_flight.add(name)
                kept.append((max(due + rollout.config.interval_s / self._pace, now), name))
            else:
                kept.append((due, name))
        if taken:
            heapq.heapify(kept)
            self._due = kept
        return taken

    def _cycle(self, rollout: Rollout, due: float) -> None:
        name = rollout.name
        began = self._clock()
        self.late[name] = max(0.0, began - due)
        try:
            first = name not in self._started
            self._started.add(name)
            snapshot = rollout.start() if first else rollout.cycle()
        except Exception as exc:  # a bug in one rollout must not stop the others
            self._failed(name, exc)
        else:
            self._deliver(name, snapshot)
        finally:
            took = self.durations[name] = self._clock() - began
            with self._wake:
                if took < SLOW_READ_S:
                    self._slow.discard(name)  # quick again: back in the rounds
                self._in_flight.discard(name)

    def _cycle_batch(self, rollouts: list[Rollout], due: float) -> None:
        """Cycle several rollouts in one round (cycle_together); a slow read takes its rollout
        out of the rounds."""
        began = self._clock()
        self.late[rollouts[0].name] = max(0.0, began - due)

        def read(rollout: Rollout) -> Reading:
            start = self._clock()
            try:
                return rollout.observer.read()
            finally:
                if self._clock() - start >= SLOW_READ_S:
                    with self._wake:
                        self._slow.add(rollout.name)

        try:
            self._deliver_each(cycle_together(rollouts, self._failed, read))
        finally:
            self._done(rollouts, began)

    def _start_batch(self, rollouts: list[Rollout], due: float) -> None:
        """Start several rollouts, their histories judged in one round (start_together); one
        that fails is started alone again, so that it fails on its own."""
        began = self._clock()
        for rollout in rollouts:
            self.late[rollout.name] = max(0.0, began - due)
            self._started.add(rollout.name)
        try:
            try:
                snapshots = start_together(rollouts)
            except Exception:  # a bug in one: the others start alone, it fails alone
                for rollout in rollouts:
                    try:
                        self._deliver(rollout.name, rollout.start())
                    except Exception as exc:
                        self._failed(rollout.name, exc)
                return
            self._deliver_each(zip(rollouts, snapshots, strict=True))
        finally:
            self._done(rollouts, began)
            if self._started_round is not None:
                self._started_round()

    def _deliver_each(self, snapshots: Iterable[tuple[Rollout, Snapshot]]) -> None:
        for rollout, snapshot in snapshots:
            try:
                self._deliver(rollout.name, snapshot)
            except Exception as exc:
                self._failed(rollout.name, exc)

    def _done(self, rollouts: Sequence[Rollout], began: float) -> None:
        """A round begun at `began` is over: each of its rollouts took that long."""
        took = self._clock() - began
        with self._wake:
            for rollout in rollouts:
                self.durations[rollout.name] = took
                self._in_flight.discard(rollout.name)

    def _first_look(self, rollout: Rollout) -> None:
        name = rollout.name
        try:
            snapshot = rollout.preview()
        except Exception as exc:  # its start says it again, and properly
            log.info("first look at %s failed: %s", name, exc)
        else:
            try:
                self._deliver(name, snapshot)
            except Exception as exc:
                self._failed(name, exc)
        finally:
            with self._wake:
                self._in_flight.discard(name)
                heapq.heappush(self._due, (self._clock(), name))
                self._looks_left -= 1
                if self._looks_left == 0 and self._starts_at is None:
                    self._starts_at = self._clock() + STARTS_WAIT_S
                self._wake.notify()

    def _late(self, rollout: Rollout) -> None:
        """The rollout's cycle is still running: show its ageing snapshot meanwhile."""
        try:
            self._deliver(rollout.name, rollout.snapshot())
        except Exception as exc:
            self._failed(rollout.name, exc)
