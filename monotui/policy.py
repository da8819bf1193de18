"""What the automation does with a verdict: pure, so it can be tested without a world.

manual: nothing moves by itself. auto:
- FAIL rolls back at once under the sequential judge (its evidence already accumulates over every
  poll since the canary started taking traffic); under `method = "mann-whitney"` after
  `failure_limit` FAILs, each on a fresh metrics window.
- A step advances once its hold (`hold_s`, counted from when the weight was reached) is over, the
  verdict is PASS, every source is fresh, and the canary has served at least
  max(1, `min_canary_requests`) requests at this step. A metrics gap costs nothing: it neither
  restarts nor extends the hold (the next poll's increase covers it); too little traffic is not a
  reason to pause, only to wait.
- Both versions failing (an incident, not the canary) holds the automation while it lasts; it goes
  on by itself when it is over.
- MARGINAL (the Mann-Whitney judge's) pauses once: a human decides.
- `nodata_limit` consecutive polls without fresh canary data (NO DATA) pause, once.
- After a rollback the plan is terminal (Failed), so the rollback is written once.
"""

from __future__ import annotations

from dataclasses import dataclass

from monotui.config import JudgeConfig
from monotui.model import ActionKind, Phase, Plan, Verdict, VerdictResult


@dataclass(frozen=True, slots=True)
class PolicyState:
    """Counters the automation carries from one verdict to the next."""

    consecutive_fail: int = 0
    consecutive_nodata: int = 0
    consecutive_marginal: int = 0
    fail_counted_at: float | None = None  # mann-whitney: when a FAIL last counted
    incident: bool = False  # both versions failing: holding


@dataclass(frozen=True, slots=True)
class Decision:
    """An automatic action and the reason it gives."""

    kind: ActionKind
    reason: str


@dataclass(frozen=True, slots=True)
class Situation:
    """What the decision looks at besides the verdict: the step and the sources."""

    now: float
    step_since: float
    hold_s: float
    canary_requests: float
    """Canary requests served at this step."""
    healthy: bool
    """Every source answered with fresh data."""


def observe(
    state: PolicyState, verdict: Verdict, now: float, *, fresh_after_s: float = 0.0
) -> PolicyState:
    """Count the verdict (a FAIL counts again only on a fresh metrics window: mann-whitney)."""
    result = verdict.result
    counted_at = state.fail_counted_at
    if result == VerdictResult.FAIL:
        fresh = counted_at is None or now - counted_at >= fresh_after_s * 0.99  # poll jitter
        fails = state.consecutive_fail + 1 if fresh else state.consecutive_fail
        counted_at = now if fresh else counted_at
    elif result == VerdictResult.NODATA:
        fails = state.consecutive_fail
    else:
        fails, counted_at = 0, None
    marginal = result == VerdictResult.MARGINAL and not verdict.incident
    return PolicyState(
        consecutive_fail=fails,
        consecutive_nodata=state.consecutive_nodata + 1 if result == VerdictResult.NODATA else 0,
        consecutive_marginal=state.consecutive_marginal + 1 if marginal else 0,
        fail_counted_at=counted_at,
        incident=verdict.incident,
    )


def hold_elapsed(step_since: float, now: float) -> float:
    """How long the current step has lasted."""
    return max(0.0, now - step_since)


def decide(
    state: PolicyState, verdict: Verdict, plan: Plan, at: Situation, cfg: JudgeConfig
) -> Decision | None:
    """The automatic action for this verdict under policy auto, or None."""
    if plan.paused or plan.phase in (Phase.PROMOTED, Phase.ROLLED_BACK, Phase.FAILED):
        return None
    result = verdict.result
    if result == VerdictResult.FAIL and plan.canary_pct > 0:
        if cfg.method == "sequential":
            return Decision(ActionKind.ROLLBACK, f"verdict FAIL: {verdict.reason}")
        if state.consecutive_fail >= cfg.failure_limit:
            return Decision(
                ActionKind.ROLLBACK,
                f"{state.consecutive_fail} consecutive FAIL verdicts "
                f"(limit {cfg.failure_limit}): {verdict.reason}",
            )
        return None
    if verdict.incident:
        return None  # holding while both versions fail; the events say so
    if result == VerdictResult.MARGINAL:
        if state.consecutive_marginal == 1:
            return Decision(
                ActionKind.PAUSE, f"verdict MARGINAL, a human decides: {verdict.reason}"
            )
        return None
    if result == VerdictResult.NODATA:
        if state.consecutive_nodata == cfg.nodata_limit:
            return Decision(
                ActionKind.PAUSE,
                f"{state.consecutive_nodata} polls without fresh canary data "
                f"(limit {cfg.nodata_limit}): {verdict.reason}",
            )
        return None
    ready = hold_elapsed(at.step_since, at.now) >= at.hold_s
    exposed = at.canary_requests >= max(1.0, cfg.min_canary_requests)
    if result == VerdictResult.PASS and plan.next_step is not None and ready and exposed:
        if not at.healthy:
            return None
        return Decision(
            ActionKind.ADVANCE,
            f"step held {at.hold_s:.0f}s at {plan.canary_pct} %: {verdict.reason}",
        )
    return None


def waiting_for(verdict: Verdict, plan: Plan, at: Situation, cfg: JudgeConfig) -> str:
    """Why the automation is not advancing yet, in words ("" when nothing holds it)."""
    if verdict.incident:
        return "both versions failing: not the canary; holding"
    if verdict.result != VerdictResult.PASS or plan.next_step is None:
        return ""
    if hold_elapsed(at.step_since, at.now) < at.hold_s:
        return ""
    needed = max(1.0, cfg.min_canary_requests)
    if at.canary_requests < needed:
        return f"waiting for canary traffic: {at.canary_requests:,.0f} of {needed:,.0f} requests"
    if not at.healthy:
        return "waiting for every source to answer fresh"
    return ""


__all__ = [
    "Decision",
    "PolicyState",
    "Situation",
    "decide",
    "hold_elapsed",
    "observe",
    "waiting_for",
]
