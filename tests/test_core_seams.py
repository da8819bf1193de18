"""The seams of the core (issue 9): events come out typed and in order, the scheduler honours each
rollout's interval, an observer cannot write, an action does not re-poll, the demo's dry-run sends
the Istio router's own patch, a denied watch is a visible source problem, sources are closed."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from monotui.events import EventBus
from monotui.model import (
    Action,
    ActionEvent,
    ActionKind,
    Event,
    SourceState,
    VerdictChanged,
    Weights,
)
from monotui.rollout import Rollout, assemble
from monotui.scheduler import PollScheduler
from monotui.sim.demo import build_demo
from monotui.sim.sources import SimRouter
from monotui.sources.kube import KubeConnection
from monotui.sources.router_istio import IstioRouter
from monotui.sources.router_static import StaticRouter
from tests.configs import rollout_config
from tests.fakekube import FakeKube
from tests.router_helpers import NS, conn_fixture, virtual_service

conn = conn_fixture()


def test_every_event_reaches_every_subscriber_typed_and_in_one_order() -> None:
    bus = EventBus()
    seen: list[list[Event]] = [[], []]
    bus.subscribe(seen[0].append)
    bus.subscribe(seen[1].append)

    def publish(n: int) -> None:
        for i in range(200):
            bus.publish(Event(float(i), f"r{n}", f"{n}:{i}"))

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen[0]) == 800 and seen[0] == seen[1]  # one order for everyone
    for n in range(4):  # and each publisher's own order kept
        mine = [e.text for e in seen[0] if e.rollout == f"r{n}"]
        assert mine == [f"{n}:{i}" for i in range(200)]


def test_a_broken_subscriber_neither_stops_the_others_nor_the_rollout() -> None:
    bus = EventBus()
    got: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(got.append)
    demo = build_demo("healthy", realtime=False, bus=bus)
    demo.start()
    result = demo.rollout("checkout").apply(Action(ActionKind.ADVANCE, "checkout"))
    assert result.ok
    assert any(isinstance(e, ActionEvent) and e.result == result for e in got)
    assert any(isinstance(e, VerdictChanged) for e in got)


def test_the_scheduler_polls_each_rollout_at_its_own_interval() -> None:
    demo = build_demo("healthy", realtime=False)
    demo.start()
    fast, slow = demo.rollouts
    fast.config = fast.config.model_copy(update={"interval_s": 0.05})
    slow.config = slow.config.model_copy(update={"interval_s": 0.4})
    counts = {fast.name: 0, slow.name: 0}
    lock = threading.Lock()

    def deliver(name: str, snapshot: object) -> None:
        with lock:
            counts[name] += 1

    scheduler = PollScheduler(demo.rollouts, deliver=deliver, started=True)
    scheduler.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with lock:
            if counts[fast.name] >= 16:
                break
        time.sleep(0.01)  # the clock is the thing under test here
    scheduler.stop()
    with lock:
        assert counts[fast.name] >= 16
        assert counts[slow.name] <= counts[fast.name] // 3  # about 8x fewer


def test_a_stuck_poll_shows_its_rollout_as_stale_and_holds_no_one_up() -> None:
    release = threading.Event()
    demo = build_demo("healthy", realtime=False)
    demo.start()
    stuck, other = demo.rollouts
    stuck.config = stuck.config.model_copy(update={"interval_s": 0.05})
    other.config = other.config.model_copy(update={"interval_s": 0.05})
    real_cycle = stuck.cycle

    def hang() -> Any:
        release.wait(10)
        return real_cycle()

    stuck.cycle = hang  # type: ignore[method-assign]
    seen: dict[str, int] = {stuck.name: 0, other.name: 0}
    lock = threading.Lock()

    def deliver(name: str, snapshot: object) -> None:
        with lock:
            seen[name] += 1

    scheduler = PollScheduler(demo.rollouts, deliver=deliver, started=True, concurrency=2)
    scheduler.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with lock:
            if seen[stuck.name] >= 3 and seen[other.name] >= 10:
                break
        time.sleep(0.01)
    release.set()
    scheduler.stop()
    # The stuck rollout's snapshot was delivered while its poll hung (its sources age towards
    # STALE on screen), and the other rollout kept its cadence meanwhile.
    with lock:
        assert seen[stuck.name] >= 3 and seen[other.name] >= 10


def test_status_observes_only(fake_kube: FakeKube, conn: KubeConnection, tmp_path: Path) -> None:
    fake_kube.put_object(virtual_service(10))
    cfg = rollout_config({"name": "reviews", "namespace": NS, "metrics": {"kind": "none"}})
    rollout = assemble(cfg, router=IstioRouter(conn, cfg), policy_name="auto")
    before = len(fake_kube.requests)
    snap = rollout.observer.observe()
    assert snap.weights == Weights(90, 10)
    assert not [r for r in fake_kube.requests[before:] if r[0] != "GET"]
    assert not hasattr(rollout.observer.router, "write")  # the reading half has no writer


def test_an_action_updates_the_state_without_reading_every_source_again() -> None:
    demo = build_demo("healthy", realtime=False)
    demo.start()
    checkout = demo.rollout("checkout")
    fetches = []
    metrics = checkout.observer.metrics
    assert metrics is not None
    real = metrics.fetch
    metrics.fetch = lambda since: fetches.append(since) or real(since)  # type: ignore[method-assign]
    checkout.apply(Action(ActionKind.ADVANCE, "checkout"))
    assert fetches == []  # the actuator wrote and read the route back; no poll
    assert checkout.snapshot().weights == Weights(95, 5)


def test_the_demos_dry_run_shows_the_patch_the_istio_router_sends(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    demo = build_demo("healthy", realtime=False, dry_run=True)
    demo.start()
    sim = demo.rollout("checkout").actuator.router
    assert isinstance(sim, SimRouter)
    state = sim.read()
    shown = sim.write(Weights(95, 5), state, dry_run=True).patch
    # The same VirtualService on a cluster: the real router sends exactly that patch.
    vs = sim.virtual_service(state)
    vs["metadata"].pop("resourceVersion")
    fake_kube.put_object(vs)
    cfg = rollout_config(
        {"name": "checkout", "namespace": "shop", "router": {"kind": "istio", "name": "checkout"}}
    )
    istio = IstioRouter(conn, cfg)
    sent = istio.write(Weights(95, 5), istio.read(), dry_run=True).patch
    assert json.loads(shown) == json.loads(sent)


def test_a_denied_watch_is_a_visible_source_problem(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(virtual_service(10))
    fake_kube.deny("watch", "virtualservices")
    cfg = rollout_config({"name": "reviews", "namespace": NS, "metrics": {"kind": "none"}})
    rollout = assemble(cfg, router=IstioRouter(conn, cfg))
    try:
        rollout.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            watch = rollout.snapshot().source("watch")
            if watch is not None:
                break
            time.sleep(0.02)
        assert watch is not None and watch.state == SourceState.ERROR
        assert "forbidden" in watch.message and "watch" in watch.message
    finally:
        rollout.close()


def test_closing_a_rollout_closes_its_sources() -> None:
    closed: list[str] = []

    class Router(StaticRouter):
        def close(self) -> None:
            closed.append("router")

    cfg = rollout_config({"name": "x", "router": {"kind": "none"}, "metrics": {"kind": "none"}})
    rollout: Rollout = assemble(cfg, router=Router())
    rollout.close()
    assert closed == ["router"]


def test_the_demo_is_polled_at_its_pace_not_at_its_simulated_interval() -> None:
    # The demo's intervals are simulated seconds (10 s at speed 10): a scheduler with pace 10
    # polls every real second. Two rollouts with the same interval, one scheduler each: the one
    # at pace 8 polls about 8x as often as the one at pace 1.
    demo = build_demo("healthy", realtime=False)
    demo.start()
    for rollout in demo.rollouts:
        rollout.config = rollout.config.model_copy(update={"interval_s": 0.8})
    fast, slow = demo.rollouts
    counts = {fast.name: 0, slow.name: 0}
    lock = threading.Lock()

    def deliver(name: str, snapshot: object) -> None:
        with lock:
            counts[name] += 1

    schedulers = [
        PollScheduler([fast], deliver=deliver, started=True, pace=8.0),
        PollScheduler([slow], deliver=deliver, started=True),
    ]
    for scheduler in schedulers:
        scheduler.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with lock:
            if counts[fast.name] >= 16:
                break
        time.sleep(0.01)  # the clock is the thing under test here
    for scheduler in schedulers:
        scheduler.stop()
    with lock:
        assert counts[fast.name] >= 16
        assert counts[slow.name] <= counts[fast.name] // 3  # about 8x fewer
