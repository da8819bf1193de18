"""The automation's seams for the autopilot, on the simulated world: a gate that refuses an
automatic action (told once, nothing written), and a hold continued by another process from the
state stored in the Lease (never earlier than the true step start, never across a step change)."""

from __future__ import annotations

import pytest

from monotui import config
from monotui.audit import AuditLog
from monotui.autopilot.resume import StoredState, capture, restore
from monotui.config import Config
from monotui.model import ActionEvent, ActionKind, VerdictResult, Weights
from monotui.registry import BuildContext
from monotui.rollout import Rollout, build_rollouts
from monotui.sim.demo import add_demo_rollouts
from monotui.sim.kinds import registry_for
from monotui.sim.world import EPOCH, World

INTERVAL_S, HOLD_S = 10.0, 100.0


def world() -> World:
    w = World(seed=3, start=EPOCH - 600)
    add_demo_rollouts(w, "healthy")
    w.advance_to(EPOCH)
    return w


def rollout(w: World) -> Rollout:
    kinds = registry_for(w)
    data = {
        "name": "reviews",
        "namespace": "bookinfo",
        "hold_s": HOLD_S,
        "interval_s": INTERVAL_S,
        "policy": "auto",
        "router": {"kind": "sim"},
        "metrics": {"kind": "sim", "window": "10s", "history_s": 600},
        "judge": {"allowed_increase": 1.25},
    }
    cfg: Config = config.parse({"rollouts": [data]}, kinds=kinds)
    ctx = BuildContext(cfg, context="sim")
    (built,) = build_rollouts(cfg, kinds, ctx, audit=AuditLog(None), clock=w.now)
    return built


def tick(w: World, r: Rollout, n: int = 1) -> None:
    for _ in range(n):
        w.advance(INTERVAL_S)
        r.cycle()


def test_a_refusing_gate_writes_nothing_and_says_so_once() -> None:
    w = world()
    r = rollout(w)
    r.start()
    r.automation.gate = lambda: "pod-b holds the lease bookinfo/monotui-sim-reviews"
    tick(w, r, 15)  # past the hold: the policy wants to advance at every poll
    assert r.snapshot().verdict.result == VerdictResult.PASS
    assert w.route("reviews")[0] == Weights(90, 10)
    refused = [e for e in r.events() if isinstance(e, ActionEvent) and e.outcome == "refused"]
    assert [e.text for e in refused] == [
        "automatic advance not applied: pod-b holds the lease bookinfo/monotui-sim-reviews"
    ]
    r.automation.gate = lambda: None
    tick(w, r)
    assert w.route("reviews")[0] == Weights(75, 25)


def test_a_new_process_continues_the_stored_hold_instead_of_starting_over() -> None:
    w = world()
    leader = rollout(w)
    leader.start()
    step_began = leader.actuator.state.known().step_since
    tick(w, leader, 6)
    held = leader.automation.hold_elapsed_s(w.now())
    assert 40 <= held < HOLD_S
    stored = StoredState.loads(_stored(leader, w))
    assert stored is not None and stored.canary_pct == 10
    w.advance(3)  # the Lease reaches the standby a little after it was written
    successor = rollout(w)
    successor.start()
    started = w.now()
    assert successor.automation.hold_elapsed_s(started) < INTERVAL_S  # its own count: from now
    state, step_since, canary = restore(stored, started, successor.actuator.state.known())
    assert canary == 10 and successor.automation.resume(state, step_since, canary)
    resumed = successor.automation.hold_elapsed_s(started)
    assert held <= resumed <= held + 3 + 0.5  # continued, and never ahead of the true hold
    while w.route("reviews")[0] == Weights(90, 10):
        assert w.now() < started + HOLD_S, "the successor started the hold over"
        tick(w, successor)
    (advance,) = [e for e in successor.events() if isinstance(e, ActionEvent) and e.automatic]
    assert advance.t - step_began >= HOLD_S  # one step per hold, across the handover
    assert w.route("reviews")[0] == Weights(75, 25)


def test_a_route_that_moved_since_the_stored_hold_starts_the_hold_over() -> None:
    w = world()
    leader = rollout(w)
    leader.start()
    tick(w, leader, 6)
    stored = StoredState.loads(_stored(leader, w))
    assert stored is not None
    seen_at = w.now()
    successor = rollout(w)
    successor.start()
    w.set_weights("reviews", Weights(80, 20))  # a person, after the standby read the Lease
    tick(w, successor)
    state, step_since, canary = restore(stored, seen_at, successor.actuator.state.known())
    assert canary is None
    assert not successor.automation.resume(state, step_since, canary)
    assert successor.automation.hold_elapsed_s(w.now()) < INTERVAL_S


def _stored(r: Rollout, w: World) -> str:
    stored = capture(r, w.now())
    assert stored is not None
    assert ActionKind.ADVANCE.value in stored.next_move or "advances" in stored.next_move
    return stored.dumps()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        '{"format":1,"canary_pct":5,"step_age_s":1}',  # the older format: not read
        '{"format":2,"canary_pct":500,"step_age_s":1}',
        '{"format":2,"canary_pct":5,"step_age_s":-1}',
        '{"format":2,"canary_pct":5,"step_age_s":true}',
        '{"format":2,"canary_pct":5}',
        '{"format":2,"canary_pct":5,"step_age_s":1,"next_move":"' + "x" * 5000 + '"}',
    ],
)
def test_a_stored_state_that_is_not_ours_is_ignored(text: str) -> None:
    assert StoredState.loads(text) is None
