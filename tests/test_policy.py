"""The automation: pure counting rules, then whole rollouts in the simulated world (fixed seeds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monotui import policy
from monotui.audit import AuditLog, read_audit
from monotui.config import JudgeConfig
from monotui.model import (
    Action,
    ActionKind,
    Phase,
    Plan,
    Verdict,
    VerdictResult,
)
from monotui.sim.demo import STEPS, Demo, build_demo
from monotui.sim.world import BASELINE, CANARY

CFG = JudgeConfig(nodata_limit=3)
MW = JudgeConfig(method="mann-whitney", failure_limit=2, nodata_limit=3)
PLAN = Plan(steps=(1, 5, 10, 25, 50, 100), canary_pct=5)
V = {r: Verdict(r, 100.0 if r == VerdictResult.PASS else 0.0, r.value) for r in VerdictResult}
INCIDENT = Verdict(VerdictResult.MARGINAL, None, "both versions failing", incident=True)


def run(
    results: list[VerdictResult | Verdict],
    *,
    plan: Plan = PLAN,
    poll_s: float = 10.0,
    window_s: float = 10.0,
    cfg: JudgeConfig = CFG,
    hold_s: float = 1000.0,
    canary_requests: float = 100.0,
    healthy: bool = True,
) -> list[policy.Decision | None]:
    """Feed verdicts one poll apart (the step started at 0), return each poll's decision."""
    state = policy.PolicyState()
    decisions = []
    for i, result in enumerate(results):
        verdict = result if isinstance(result, Verdict) else V[result]
        now = poll_s * i
        state = policy.observe(state, verdict, now, fresh_after_s=window_s)
        at = policy.Situation(now, 0.0, hold_s, canary_requests, healthy)
        decisions.append(policy.decide(state, verdict, plan, at, cfg))
    return decisions


F, P, N, M = VerdictResult.FAIL, VerdictResult.PASS, VerdictResult.NODATA, VerdictResult.MARGINAL


def kinds(decisions: list[policy.Decision | None]) -> list[str | None]:
    return [d.kind.value if d else None for d in decisions]


def test_the_sequential_judges_fail_rolls_back_at_once() -> None:
    # Its evidence already accumulated over every poll: no second look is needed.
    decisions = run([P, P, F])
    assert kinds(decisions) == [None, None, "rollback"]
    assert "verdict FAIL" in decisions[-1].reason  # type: ignore[union-attr]


def test_mann_whitney_fails_count_on_fresh_windows_and_pass_resets_them() -> None:
    assert kinds(run([F, P, F, P, F], cfg=MW)) == [None] * 5
    assert kinds(run([F, F], cfg=MW))[-1] == "rollback"
    # Polled every 5 s with a 1m window: FAILs 5 s apart judge the same minute.
    decisions = run([F] * 13, poll_s=5.0, window_s=60.0, cfg=MW)
    assert kinds(decisions) == [None] * 12 + ["rollback"]
    gap = run([F, N, F], cfg=MW)
    assert kinds(gap) == [None, None, "rollback"]
    assert "2 consecutive FAIL verdicts (limit 2)" in gap[-1].reason  # type: ignore[union-attr]


def test_marginal_pauses_once_so_a_resume_sticks() -> None:
    assert kinds(run([P, M, M, M])) == [None, "pause", None, None]


def test_both_versions_failing_holds_without_pausing_or_advancing() -> None:
    # Past the hold, with traffic: PASS advances, an incident holds, and it never pauses.
    decisions = run([INCIDENT, INCIDENT, P], hold_s=0.0)
    assert kinds(decisions) == [None, None, "advance"]


def test_nodata_pauses_at_the_limit_once_and_says_why() -> None:
    decisions = run([N, N, N, N, N])
    assert kinds(decisions) == [None, None, "pause", None, None]
    assert "3 polls without fresh canary data (limit 3)" in decisions[2].reason  # type: ignore[union-attr]


def test_a_step_advances_when_its_hold_is_over_counted_from_the_step_start() -> None:
    # Polls 10 s apart, hold 30 s: the hold is over at the fourth poll, a gap in between costs
    # nothing (it neither restarts nor extends the hold).
    assert kinds(run([P, P, P, P], hold_s=30.0)) == [None, None, None, "advance"]
    assert kinds(run([P, N, P, P], hold_s=30.0)) == [None, None, None, "advance"]


def test_no_advance_without_canary_traffic_or_with_a_stale_source() -> None:
    assert kinds(run([P, P], hold_s=0.0, canary_requests=0.0)) == [None, None]
    wanting = JudgeConfig(min_canary_requests=500)
    assert kinds(run([P], hold_s=0.0, canary_requests=499.0, cfg=wanting)) == [None]
    assert kinds(run([P], hold_s=0.0, canary_requests=500.0, cfg=wanting)) == ["advance"]
    assert kinds(run([P, P], hold_s=0.0, healthy=False)) == [None, None]
    at = policy.Situation(100.0, 0.0, 10.0, 0.0, True)
    assert "waiting for canary traffic: 0 of 1 requests" in policy.waiting_for(V[P], PLAN, at, CFG)


def test_nothing_moves_when_paused_or_finished() -> None:
    paused = Plan(steps=PLAN.steps, canary_pct=5, paused=True, phase=Phase.PAUSED)
    assert kinds(run([F, F, F], plan=paused)) == [None] * 3
    done = Plan(steps=PLAN.steps, canary_pct=0, phase=Phase.FAILED)
    assert kinds(run([F, F, F], plan=done)) == [None] * 3


# --- the simulated world ---------------------------------------------------------------------


def demo(scenario: str, tmp_path: Path, *, policy_name: str = "auto", seed: int = 7) -> Demo:
    audit = AuditLog(tmp_path / "audit.jsonl")
    d = build_demo(scenario, seed=seed, policy=policy_name, realtime=False, audit=audit)
    d.start()
    return d


def audit_lines(tmp_path: Path, action: str) -> list[dict[str, object]]:
    path = tmp_path / "audit.jsonl"
    lines = list(read_audit(path)) if path.exists() else []
    return [x for x in lines if x["action"] == action and x["rollout"] == "checkout"]


def until_done(d: Demo, polls: int) -> list[tuple[int, VerdictResult]]:
    """Tick until checkout is promoted or failed; the canary weight and verdict after each poll."""
    checkout = d.rollout("checkout")
    seen = []
    for _ in range(polls):
        d.tick()
        snap = checkout.snapshot()
        assert snap.weights is not None
        seen.append((snap.weights.canary, snap.verdict.result))
        if snap.phase in (Phase.PROMOTED, Phase.FAILED):
            break
    return seen


@pytest.mark.parametrize("seed", [7, 11])
def test_healthy_auto_promotes_to_100(tmp_path: Path, seed: int) -> None:
    d = demo("healthy", tmp_path, seed=seed)
    seen = until_done(d, 200)
    snap = d.rollout("checkout").snapshot()
    assert snap.phase == Phase.PROMOTED
    assert snap.weights is not None and snap.weights.canary == 100
    assert [w for w, _ in seen if w not in STEPS] == []  # only the plan's steps, in order
    advances = audit_lines(tmp_path, "advance")
    assert len(advances) == len(STEPS) - 1
    assert all(a["origin"] == "automation" and "step held" in str(a["reason"]) for a in advances)


@pytest.mark.parametrize("seed", [7, 11, 12])
def test_bad_canary_auto_rolls_back_by_the_step_after_errors_show(
    tmp_path: Path, seed: int
) -> None:
    d = demo("bad-canary", tmp_path, seed=seed)
    checkout = d.rollout("checkout")
    visible_at: int | None = None  # the first step where the canary errs at least twice as often
    most = 0
    for _ in range(200):
        d.tick()
        snap = checkout.snapshot()
        assert snap.weights is not None
        most = max(most, snap.weights.canary)
        if visible_at is None and d.world.error_probability(
            "checkout", CANARY
        ) >= 2 * d.world.error_probability("checkout", BASELINE):
            visible_at = snap.weights.canary
        if snap.phase == Phase.FAILED:
            break
    assert snap.phase == Phase.FAILED
    assert snap.weights == d.world.route("checkout")[0]
    assert snap.weights is not None and snap.weights.canary == 0
    (rollback,) = audit_lines(tmp_path, "rollback")
    assert rollback["origin"] == "automation"
    reason = str(rollback["reason"])
    assert "verdict FAIL" in reason
    if visible_at is None:  # the checkout probe failed on the canary before its 5xx showed
        assert "synthetic checkout-submit fails on canary" in reason
        assert most <= STEPS[1]
        return
    assert most <= STEPS[STEPS.index(visible_at) + 1]
    assert "5xx: evidence" in reason or "synthetic" in reason  # the numbers that caused it


def test_rollback_is_written_once(tmp_path: Path) -> None:
    d = demo("bad-canary", tmp_path)
    until_done(d, 200)
    version_after = d.world.route("checkout")[1]
    for _ in range(30):
        d.tick()  # the verdict stays FAIL on the old samples: no second write
    assert d.world.route("checkout")[1] == version_after
    assert len(audit_lines(tmp_path, "rollback")) == 1


def test_flaky_metrics_never_advances_on_nodata(tmp_path: Path) -> None:
    d = demo("flaky-metrics", tmp_path, seed=3)
    seen = until_done(d, 250)
    before = STEPS[0]
    advanced_on = []
    for weight, verdict in seen:
        if weight > before:
            advanced_on.append(verdict)
        before = weight
    assert any(v == VerdictResult.NODATA for _, v in seen)  # the scenario did have gaps
    assert advanced_on  # and the rollout still moved
    assert set(advanced_on) == {VerdictResult.PASS}


def test_p_stops_automation_at_once(tmp_path: Path) -> None:
    d = demo("healthy", tmp_path)
    checkout = d.rollout("checkout")
    for _ in range(5):
        d.tick()
    result = checkout.apply(Action(ActionKind.PAUSE, "checkout"))
    assert result.ok
    weight = checkout.snapshot().weights
    for _ in range(60):  # long enough for several holds
        d.tick()
    snap = checkout.snapshot()
    assert snap.weights == weight
    assert snap.phase == Phase.PAUSED
    assert audit_lines(tmp_path, "advance") == []


@pytest.mark.parametrize("scenario", ["healthy", "bad-canary"])
def test_manual_never_moves_by_itself(tmp_path: Path, scenario: str) -> None:
    d = demo(scenario, tmp_path, policy_name="manual")
    for _ in range(60):
        d.tick()
    snap = d.rollout("checkout").snapshot()
    assert snap.weights is not None and snap.weights.canary == STEPS[0]
    assert audit_lines(tmp_path, "advance") == audit_lines(tmp_path, "rollback") == []
