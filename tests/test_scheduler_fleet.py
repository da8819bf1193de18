"""Scheduling a fleet: a cluster whose sources hang holds up only its own lane (its rollouts turn
STALE on screen while the other cluster's keep their cadence), and however many rollouts poll a
Prometheus, no more than `[prometheus] max_concurrent_queries` queries reach it at once."""

from __future__ import annotations

import gc
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from monotui import collector
from monotui import scheduler as scheduler_module
from monotui.config import Config, PrometheusConfig
from monotui.model import Sample, Side, Snapshot, SourceState
from monotui.registry import PRODUCTION, BuildContext
from monotui.rollout import Rollout, assemble
from monotui.scheduler import START_BATCH, PollScheduler
from monotui.sources.base import NothingNewYet
from monotui.sources.metrics_prometheus import PrometheusMetrics
from monotui.sources.router_static import StaticRouter
from tests.configs import rollout_config

INTERVAL_S = 0.1


class Metrics:
    """Counts at once, or only once `gate` opens (a source that hangs)."""

    name = "test"

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.polls = 0

    def fetch(self, since: float | None) -> Sample:
        self.polls += 1
        if self.gate is not None:
            self.gate.wait(30)
        side = Side(100.0, (0.0,), (0.0,))
        return Sample(time.time(), INTERVAL_S, side, side)

    def history(self, span_s: float, points: int) -> tuple[Sample, ...]:
        return ()

    def close(self) -> None:
        """Nothing to release."""


def _rollout(name: str, cluster: str, gate: threading.Event | None = None) -> Rollout:
    cfg = rollout_config(
        {
            "name": name,
            "interval_s": INTERVAL_S,
            "router": {"kind": "none"},
            "metrics": {"kind": "none"},
            "judge": {"latency": False},
        }
    ).model_copy(update={"cluster": cluster})
    return assemble(cfg, router=StaticRouter(), metrics=Metrics(gate), clock=time.time)


def polls(rollout: Rollout) -> int:
    metrics = rollout.observer.metrics
    assert isinstance(metrics, Metrics)
    return metrics.polls


def wait_for(check: Callable[[], object], what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_a_hanging_cluster_holds_up_only_its_own_rollouts() -> None:
    gate = threading.Event()
    stuck = [_rollout(f"stuck-{i}", "far", gate) for i in range(4)]  # more than the lane's pool
    fine = [_rollout(f"fine-{i}", "near") for i in range(20)]
    cycles: Counter[str] = Counter()
    latest: dict[str, Snapshot] = {}
    lock = threading.Lock()

    def deliver(name: str, snapshot: Snapshot) -> None:
        with lock:
            cycles[name] += 1
            latest[name] = snapshot

    scheduler = PollScheduler([*stuck, *fine], deliver=deliver, concurrency=2)
    scheduler.start()
    try:
        # The other cluster keeps polling: ten polls each while the far one hangs (a delivery
        # alone is not a poll: a rollout still in flight is delivered as it was).
        wait_for(lambda: all(polls(r) >= 10 for r in fine), "the near cluster's polls")

        def stale() -> bool:
            with lock:
                snap = latest.get("stuck-0")
            status = snap.source("metrics") if snap is not None else None
            return status is not None and status.state == SourceState.STALE

        # The hanging rollout's row ages on screen: never shown fresh while its first poll
        # hangs, and its last answer turns STALE once it hangs again.
        with lock:
            first = latest.get("stuck-0")
        before = first.source("metrics") if first is not None else None
        assert before is None or before.state == SourceState.STALE
        gate.set()
        wait_for(lambda: polls(stuck[0]) >= 3, "the far cluster answering again")
        gate.clear()
        wait_for(stale, "the far rollout shown STALE while its poll hangs")
        assert max(scheduler.late[r.name] for r in fine) < 10 * INTERVAL_S
    finally:
        gate.set()
        scheduler.stop()


def _fleet_member(
    name: str, interval_s: float, metrics: Metrics, clock: Callable[[], float]
) -> Rollout:
    """A rollout of a fleet on a static route, read from `metrics`."""
    cfg = {
        "name": name,
        "interval_s": interval_s,
        "router": {"kind": "none"},
        "metrics": {"kind": "none"},
        "judge": {"latency": False},
    }
    return assemble(rollout_config(cfg), router=StaticRouter(), metrics=metrics, clock=clock)


class SlowHistory(Metrics):
    """Counts at once; its history only once `gate` opens (a fleet's history being read)."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.history_gate = gate
        self.histories = 0

    def history(self, span_s: float, points: int) -> tuple[Sample, ...]:
        self.histories += 1
        self.history_gate.wait(30)
        return ()


def test_with_preview_every_rollout_shows_its_counts_before_any_history_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scheduler_module, "STARTS_WAIT_S", 60.0)  # only release_starts starts
    gate = threading.Event()
    sources = [SlowHistory(gate) for _ in range(20)]
    fleet = [_fleet_member(f"r{i}", 30, source, time.time) for i, source in enumerate(sources)]
    seen: dict[str, list[Snapshot]] = {}
    lock = threading.Lock()

    def deliver(name: str, snapshot: Snapshot) -> None:
        with lock:
            seen.setdefault(name, []).append(snapshot)

    # Two workers: were the starts (whose histories hang) queued first, most rows would wait.
    scheduler = PollScheduler(fleet, deliver=deliver, concurrency=2, preview=True)
    scheduler.start()
    try:
        wait_for(lambda: len(seen) == 20, "a first look at every rollout")
        with lock:
            firsts = [snaps[0] for snaps in seen.values()]
        assert all(s.judging and s.samples[-1].canary.requests == 100.0 for s in firsts)
        assert all(s.verdict.reason.startswith("not judged yet") for s in firsts)
        assert sum(s.histories for s in sources) == 0  # held until the screen shows them
        scheduler.release_starts()
        wait_for(lambda: sum(s.histories for s in sources) == 2, "two starts at a time")
        gate.set()

        def judged() -> bool:
            with lock:
                return all(not snaps[-1].judging for snaps in seen.values())

        wait_for(judged, "every rollout started after its first look")
        assert [s.histories for s in sources] == [1] * 20
    finally:
        gate.set()
        scheduler.stop()


class _Counting(BaseHTTPRequestHandler):
    """An empty vector after a moment, counting how many requests are in flight at once."""

    lock = threading.Lock()
    now = 0
    most = 0

    def _answer(self) -> None:
        cls = type(self)
        with cls.lock:
            cls.now += 1
            cls.most = max(cls.most, cls.now)
        time.sleep(0.05)  # the server's own work, so that requests overlap
        # Out of flight before the answer leaves: once the client reads it, it frees its slot and
        # its next query may arrive before this thread would otherwise have counted down.
        with cls.lock:
            cls.now -= 1
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def counting_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    _Counting.now = _Counting.most = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_no_more_queries_in_flight_than_max_concurrent_queries(counting_server: str) -> None:
    prom = PrometheusConfig(url=counting_server, max_concurrent_queries=2)
    cfg = Config(prometheus=prom)
    ctx = BuildContext(cfg)
    override = "sum by ($version_label) (increase(my_requests{$filter}[$interval]))"
    sources = []
    for i in range(12):  # each with its own queries (an override), all on one Prometheus
        rollout = rollout_config(
            {
                "name": f"r{i}",
                "router": {"kind": "none"},
                "metrics": {"kind": "prometheus", "requests_query": override},
            }
        )
        source = PRODUCTION.get("metrics", "prometheus").build(rollout.metrics, rollout, ctx)
        assert isinstance(source, PrometheusMetrics)
        sources.append(source)
    threads = [threading.Thread(target=s.fetch, args=(None,)) for s in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert _Counting.most == 2  # they did overlap, never beyond the limit
        assert sources[0].shared.sent == 12 + 2  # each rollout's own + the fleet's 5xx, buckets
    finally:
        ctx.close()


class History(Metrics):
    """An hour of 10 s polls ending at T: 200 req/s, the canary at `canary_bad` x the 0.5 %."""

    T = 1_800_000_000.0

    def __init__(self, seed: int, canary_bad: float) -> None:
        super().__init__()
        rng = np.random.default_rng(seed)
        samples = []
        for k in range(360):
            n_b, n_c = float(rng.poisson(1800)), float(rng.poisson(200))
            e_b = float(rng.binomial(int(n_b), 0.005))
            e_c = float(rng.binomial(int(n_c), 0.005 * canary_bad))
            samples.append(
                Sample(
                    self.T - 10.0 * (359 - k),
                    10.0,
                    Side(n_b, (e_b,), (e_b / n_b,)),
                    Side(n_c, (e_c,), (e_c / n_c,)),
                )
            )
        self.samples = tuple(samples)

    def fetch(self, since: float | None) -> Sample:
        return self.samples[-1]

    def history(self, span_s: float, points: int) -> tuple[Sample, ...]:
        return self.samples


def _judged_fleet(n: int) -> list[Rollout]:
    return [
        _fleet_member(f"r{i}", 10, History(i, 3.0 if i % 4 == 1 else 1.0), lambda: History.T)
        for i in range(n)
    ]


def test_a_fleet_started_in_batches_gets_the_verdicts_of_rollouts_started_alone() -> None:
    """With preview the starts are taken in batches whose histories are judged in one round:
    every rollout's first verdict is the one it gets started on its own."""
    alone = {r.name: r.start().verdict for r in _judged_fleet(40)}
    assert any(v.result.value == "FAIL" for v in alone.values())  # a mixed fleet
    seen: dict[str, Snapshot] = {}
    lock = threading.Lock()

    def deliver(name: str, snapshot: Snapshot) -> None:
        with lock:
            if not snapshot.judging:
                seen.setdefault(name, snapshot)

    scheduler = PollScheduler(_judged_fleet(40), deliver=deliver, concurrency=2, preview=True)
    scheduler.start()
    scheduler.release_starts()
    try:
        wait_for(lambda: len(seen) == 40, "every rollout judged")
    finally:
        scheduler.stop()
    assert {name: repr(s.verdict) for name, s in seen.items()} == {
        name: repr(v) for name, v in alone.items()
    }


def test_each_round_of_starts_is_kept_out_of_later_garbage_collections() -> None:
    """The cockpit freezes what lives after each round of starts (monotui.collector): the
    histories just read are then never walked by the full collections that paused the screen
    for 100-190 ms at 300 rollouts. The hook runs after the round's snapshots are delivered,
    so the last call comes once every rollout is started; `release` undoes the freezes."""
    started: set[str] = set()
    seen_at_rounds: list[int] = []
    lock = threading.Lock()

    def deliver(name: str, snapshot: Snapshot) -> None:
        with lock:
            if not snapshot.judging:
                started.add(name)

    def started_round() -> None:
        collector.keep_what_lives()
        with lock:
            seen_at_rounds.append(len(started))

    scheduler = PollScheduler(
        _judged_fleet(40), deliver=deliver, concurrency=2, preview=True, started_round=started_round
    )
    scheduler.start()
    scheduler.release_starts()
    try:
        wait_for(lambda: seen_at_rounds and seen_at_rounds[-1] == 40, "the last round of starts")
        assert gc.get_freeze_count() > 0
    finally:
        scheduler.stop()
        collector.release()
    assert len(seen_at_rounds) >= 40 // START_BATCH  # once per round, not once for the fleet
    assert seen_at_rounds == sorted(seen_at_rounds)
    assert gc.get_freeze_count() == 0


class Polls(History):
    """History's hour, then `more` new polls of the same traffic, one per fetch; nothing new after
    them. Its clock (`now`) is one poll past the newest sample fetched."""

    def __init__(self, seed: int, canary_bad: float, more: int) -> None:
        super().__init__(seed, canary_bad)
        rng = np.random.default_rng(1000 + seed)
        self.more = []
        for k in range(1, more + 1):
            n_b, n_c = float(rng.poisson(1800)), float(rng.poisson(200))
            e_b = float(rng.binomial(int(n_b), 0.005))
            e_c = float(rng.binomial(int(n_c), 0.005 * canary_bad))
            b, c = Side(n_b, (e_b,), (e_b / n_b,)), Side(n_c, (e_c,), (e_c / n_c,))
            self.more.append(Sample(self.T + 10.0 * k, 10.0, b, c))
        self.fetched = 0
        self.lock = threading.Lock()

    def now(self) -> float:
        with self.lock:
            return self.T + 10.0 * (self.fetched + 1)

    def fetch(self, since: float | None) -> Sample:
        with self.lock:
            self.polls += 1
            if self.fetched == len(self.more):
                raise NothingNewYet(self.T + 10.0 * (self.fetched + 1))
            self.fetched += 1
            return self.more[self.fetched - 1]


def _polled_fleet(n: int, more: int) -> list[Rollout]:
    fleet = []
    for i in range(n):
        source = Polls(i, 2.5 if i % 3 == 1 else 1.0, more)
        fleet.append(_fleet_member(f"r{i}", 10, source, source.now))
    return fleet


def test_a_fleet_polled_in_rounds_gets_the_verdicts_of_rollouts_polled_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Polls due together are judged in one round: after the same polls, every rollout's verdict
    is the one it gets polled on its own."""
    more = 12
    alone = {}
    for rollout in _polled_fleet(40, more):
        rollout.start()
        for _ in range(more + 1):  # and one with nothing new
            snapshot = rollout.cycle()
        alone[rollout.name] = snapshot.verdict
    assert len({v.result for v in alone.values()}) > 1  # a mixed fleet
    rounds: list[int] = []
    together = scheduler_module.cycle_together

    def counted(fleet: Any, *args: Any) -> Any:
        rounds.append(len(fleet))
        return together(fleet, *args)

    monkeypatch.setattr(scheduler_module, "cycle_together", counted)
    fleet = _polled_fleet(40, more)
    seen: dict[str, Snapshot] = {}
    lock = threading.Lock()

    def deliver(name: str, snapshot: Snapshot) -> None:
        with lock:
            seen[name] = snapshot

    def done() -> bool:
        # one poll with nothing new after the last sample, delivered
        return all(polls(r) >= more + 2 for r in fleet) and len(seen) == 40

    scheduler = PollScheduler(fleet, deliver=deliver, concurrency=2, pace=100.0)
    scheduler.start()
    try:
        wait_for(done, "every rollout polled past its last sample")
    finally:
        scheduler.stop()
    assert max(rounds) > 1  # they were cycled in rounds
    assert {name: repr(s.verdict) for name, s in seen.items()} == {
        name: repr(v) for name, v in alone.items()
    }


class Slow(Metrics):
    """Counts after `delay_s` on every poll (a slow source)."""

    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s

    def fetch(self, since: float | None) -> Sample:
        time.sleep(self.delay_s)
        return super().fetch(since)


def test_a_slow_source_leaves_the_rounds_and_its_mates_keep_their_cadence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Polls due together are read one after the other: a slow read would hold up the others of
    its round every poll. It delays them once, then its rollout polls alone."""
    monkeypatch.setattr(scheduler_module, "SLOW_READ_S", 0.3)
    cfg = rollout_config(
        {
            "name": "slow",
            "interval_s": INTERVAL_S,
            "router": {"kind": "none"},
            "metrics": {"kind": "none"},
            "judge": {"latency": False},
        }
    )
    slow = assemble(cfg, router=StaticRouter(), metrics=Slow(0.6), clock=time.time)
    fine = [_rollout(f"fine-{i}", "") for i in range(8)]
    scheduler = PollScheduler([slow, *fine], deliver=lambda name, snapshot: None, concurrency=2)
    scheduler.start()
    try:
        wait_for(lambda: polls(slow) >= 6, "six slow polls", timeout_s=30)
        # Six slow polls take 3.6 s: the others poll every 0.1 s meanwhile, unless each of their
        # rounds waited for the slow read.
        assert min(polls(r) for r in fine) >= 3 * polls(slow)
    finally:
        scheduler.stop()
