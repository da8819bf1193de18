"""The controller as the keys and the CLI use it, on the simulated world: compare-and-set writes,
audit, outside changes, read-only, dry-run, and failed sources that never look healthy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monotui.audit import AuditLog, read_audit
from monotui.errors import BackendUnavailableError
from monotui.model import Action, ActionKind, SourceState, VerdictResult, Weights
from monotui.sim.demo import Demo, build_demo
from monotui.sim.sources import SimRouter
from monotui.sources.base import RouteState


def _demo(tmp_path: Path, **kwargs: bool) -> tuple[Demo, AuditLog]:
    audit = AuditLog(tmp_path / "audit.jsonl", user="oncall")
    demo = build_demo("healthy", seed=3, realtime=False, audit=audit, **kwargs)
    demo.start()
    return demo, audit


def _audit_lines(path: Path) -> list[dict[str, object]]:
    return list(read_audit(path))


def test_advance_writes_the_next_step_and_audits_it(tmp_path: Path) -> None:
    demo, _ = _demo(tmp_path)
    checkout = demo.rollout("checkout")
    result = checkout.apply(Action(ActionKind.ADVANCE, "checkout", reason="a key"))
    assert result.ok, result.message
    assert demo.world.route("checkout")[0] == Weights(95, 5)
    assert checkout.snapshot().plan.canary_pct == 5
    (record,) = _audit_lines(tmp_path / "audit.jsonl")
    assert record["user"] == "oncall" and record["rollout"] == "checkout"
    assert (record["before"], record["after"], record["result"]) == ("99/1", "95/5", "ok")
    assert record["reason"] == "a key"
    assert any("advanced: 99/1 -> 95/5" in e.text for e in checkout.events())


def test_rollback_reaches_zero_and_promote_reaches_hundred(tmp_path: Path) -> None:
    demo, _ = _demo(tmp_path)
    checkout = demo.rollout("checkout")
    checkout.apply(Action(ActionKind.SET_WEIGHT, "checkout", weight_pct=37))
    assert demo.world.route("checkout")[0] == Weights(63, 37)
    checkout.apply(Action(ActionKind.ROLLBACK, "checkout"))
    assert demo.world.route("checkout")[0] == Weights(100, 0)
    assert checkout.snapshot().phase.value == "RolledBack"
    checkout.apply(Action(ActionKind.PROMOTE, "checkout"))
    assert demo.world.route("checkout")[0] == Weights(0, 100)
    assert checkout.snapshot().phase.value == "Promoted"


def test_a_foreign_write_between_read_and_write_is_never_overwritten(tmp_path: Path) -> None:
    demo, audit = _demo(tmp_path)
    checkout = demo.rollout("checkout")
    checkout.cycle()  # we have read 99/1
    demo.world.set_weights("checkout", Weights(80, 20))  # someone else, right now
    result = checkout.apply(Action(ActionKind.ADVANCE, "checkout"))
    assert not result.ok and result.exit_code == 3
    assert "now 80/20" in result.message and "nothing applied" in result.message
    assert demo.world.route("checkout")[0] == Weights(80, 20)  # their write survives
    assert checkout.snapshot().weights == Weights(80, 20)  # and we show it
    assert audit.records[-1]["result"] == "refused"


def test_outside_change_is_an_event(tmp_path: Path) -> None:
    demo, _ = _demo(tmp_path)
    checkout = demo.rollout("checkout")
    demo.world.set_weights("checkout", Weights(90, 10))
    checkout.cycle()
    assert any(
        e.text == "weights changed outside monotui: 99/1 -> 90/10" for e in checkout.events()
    )


def test_read_only_refuses_every_action_and_changes_nothing(tmp_path: Path) -> None:
    demo, audit = _demo(tmp_path, read_only=True)
    checkout = demo.rollout("checkout")
    flags_before = checkout.snapshot().flags
    for action in (
        Action(ActionKind.ADVANCE, "checkout"),
        Action(ActionKind.ROLLBACK, "checkout"),
        Action(ActionKind.PROMOTE, "checkout"),
        Action(ActionKind.SET_WEIGHT, "checkout", weight_pct=50),
        Action(ActionKind.TOGGLE_FLAG, "checkout", flag_key="new-checkout"),
    ):
        result = checkout.apply(action)
        assert not result.ok and "read-only" in result.message
    assert demo.world.route("checkout")[0] == Weights(99, 1)
    assert checkout.cycle().flags == flags_before
    assert [r["result"] for r in audit.records] == ["refused"] * 5


def test_dry_run_shows_the_patch_and_sends_nothing(tmp_path: Path) -> None:
    demo, _ = _demo(tmp_path, dry_run=True)
    checkout = demo.rollout("checkout")
    result = checkout.apply(Action(ActionKind.ADVANCE, "checkout"))
    assert result.ok and result.patch is not None
    assert json.loads(result.patch)[-1]["value"] == 5  # the canary weight it would write
    assert "dry-run" in result.message
    assert demo.world.route("checkout")[0] == Weights(99, 1)


def test_metrics_timeouts_go_stale_then_error_and_never_count_as_healthy(tmp_path: Path) -> None:
    demo, _ = _demo(tmp_path)
    demo.tick()
    demo.inject("metrics-timeout", duration_s=10 * demo.interval_s, rollout="checkout")
    states = []
    for _ in range(4):
        snap = next(s for s in demo.tick() if s.rollout == "checkout")
        metrics = snap.source("metrics")
        assert metrics is not None
        states.append(metrics.state)
        assert snap.verdict.result == VerdictResult.NODATA
        assert snap.latest is not None and snap.latest.canary.value(0) is None
    assert states[0] == SourceState.STALE and states[-1] == SourceState.ERROR
    assert "timed out" in metrics.message


def test_our_own_flag_toggle_is_not_reported_as_an_outside_change(tmp_path: Path) -> None:
    demo, _ = _demo(tmp_path)
    checkout = demo.rollout("checkout")
    result = checkout.apply(Action(ActionKind.TOGGLE_FLAG, "checkout", flag_key="new-checkout"))
    assert result.ok, result.message
    checkout.cycle()
    texts = [e.text for e in checkout.events()]
    assert any(t.startswith("flag new-checkout: on -> off") for t in texts), texts
    assert not any(t.startswith("flags changed") for t in texts), texts
    demo.world.toggle_flag("checkout", "new-checkout")  # someone else turns it back on
    checkout.cycle()
    assert any(t.startswith("flags changed") for t in (e.text for e in checkout.events()))


def test_a_canary_worse_at_more_traffic_is_not_hidden_behind_its_quieter_past(
    tmp_path: Path,
) -> None:
    # bad-canary, jumped by hand from 1 % to 25 %: the samples of the 1 % step (no canary errors)
    # must not outvote the new step's, or the verdict flaps FAIL/PASS while the canary burns.
    audit = AuditLog(None)
    demo = build_demo("bad-canary", seed=7, realtime=False, audit=audit)
    demo.start()
    checkout = demo.rollout("checkout")
    for pct in (5, 10, 25):
        checkout.apply(Action(ActionKind.SET_WEIGHT, "checkout", weight_pct=pct))
    verdicts = [next(s for s in demo.tick() if s.rollout == "checkout").verdict for _ in range(20)]
    first_fail = next(i for i, v in enumerate(verdicts) if v.result == VerdictResult.FAIL)
    assert all(v.result == VerdictResult.FAIL for v in verdicts[first_fail:]), [
        v.reason for v in verdicts[first_fail:] if v.result != VerdictResult.FAIL
    ]


def test_automation_never_advances_while_the_route_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The automation once gated on the metrics' health only: a route it could not read moved on.
    audit = AuditLog(tmp_path / "audit.jsonl")
    demo = build_demo("healthy", seed=3, realtime=False, policy="auto", audit=audit)
    demo.start()

    def unreachable(self: SimRouter) -> RouteState:
        raise BackendUnavailableError("cannot reach the API server")

    with monkeypatch.context() as patched:
        patched.setattr(SimRouter, "read", unreachable)
        for _ in range(30):  # three holds' worth of PASS polls
            snap = next(s for s in demo.tick() if s.rollout == "checkout")
        router = snap.source("router")
        assert router is not None and router.state == SourceState.ERROR
        assert demo.world.route("checkout")[0] == Weights(99, 1)
    for _ in range(15):
        demo.tick()
    assert demo.world.route("checkout")[0] != Weights(99, 1)  # a readable route moves on
