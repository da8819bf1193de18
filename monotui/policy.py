"""What the automation does with a verdict: pure, so it can be tested without a world.

manual: nothing moves by itself. auto: advance after a PASS verdict held for `hold_s` at the current
step; pause on MARGINAL (a human decides); roll back after `failure_limit` consecutive FAILs; pause
after `nodata_limit` consecutive NODATA verdicts. NO DATA never advances.

Counting rules, and why:
- A NO DATA verdict neither extends nor breaks a run of FAILs: a Prometheus gap between two FAILs is
  no evidence the canary got better, so FAIL, NODATA, FAIL still counts as two. PASS and MARGINAL
  (verdicts with data) reset it.
- The pauses fire once per run (the first MARGINAL, the `nodata_limit`-th NODATA): when a human
  resumes during the same run, that is their decision, and the automation does not pause again.
- A FAIL counts again only once a fresh metrics window has passed since the last one counted
  (`fresh_after_s`, the rate window): polled every 5 s with a 1m window, two FAILs 5 s apart judge
  the same minute of traffic, and `failure_limit = 2` would mean "failing for 5 s" instead of two
  windows of evidence (Flagger's interval x threshold). In between, a FAIL neither extends nor breaks
  the run.
- After a rollback the plan is terminal (Failed), so the rollback is written once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from monotui.config import JudgeConfig
from monotui.model import ActionKind, Phase, Plan, Verdict, VerdictResult


@dataclass(frozen=True, slots=True)
class PolicyState:
    """Counters the automation carries from one verdict to the next."""

    consecutive_fail: int = 0
    consecutive_nodata: int = 0
    consecutive_marginal: int = 0
    pass_since: float | None = None  # when the verdict last became PASS
    step_since: float = 0.0  # when the current weight was reached
    fail_counted_at: float | None = None  # when a FAIL last counted toward the run


@dataclass(frozen=True, slots=True)
class Decision:
    """An automatic action and the reason it gives."""

    kind: ActionKind
    reason: str


def reached_step(state: PolicyState, now: float) -> PolicyState:
    """The weight changed: the hold timer starts again."""
    return replace(state, step_since=now, pass_since=None)


def observe(
    state: PolicyState, verdict: Verdict, now: float, *, fresh_after_s: float = 0.0
) -> PolicyState:
    """Count the verdict (see the module docstring for what resets what)."""
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
    return PolicyState(
        consecutive_fail=fails,
        consecutive_nodata=state.consecutive_nodata + 1 if result == VerdictResult.NODATA else 0,
        consecutive_marginal=(
            state.consecutive_marginal + 1 if result == VerdictResult.MARGINAL else 0
        ),
        pass_since=(state.pass_since if state.pass_since is not None else now)
        if result == VerdictResult.PASS
        else None,
        step_since=state.step_since,
        fail_counted_at=counted_at,
    )


def hold_elapsed(state: PolicyState, now: float) -> float:
    """How long the verdict has been PASS at this step."""
    if state.pass_since is None:
        return 0.0
    return max(0.0, now - max(state.pass_since, state.step_since))


def decide(
    state: PolicyState, verdict: Verdict, plan: Plan, now: float, *, hold_s: float, cfg: JudgeConfig
) -> Decision | None:
    """The automatic action for this verdict under policy auto, or None."""
    if plan.paused or plan.phase in (Phase.PROMOTED, Phase.ROLLED_BACK, Phase.FAILED):
        return None
    result = verdict.result
    if result == VerdictResult.FAIL and plan.canary_pct > 0:
        if state.consecutive_fail >= cfg.failure_limit:
            return Decision(
                ActionKind.ROLLBACK,
                f"{state.consecutive_fail} consecutive FAIL verdicts "
                f"(limit {cfg.failure_limit}): {verdict.reason}",
            )
        return None
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
                f"{state.consecutive_nodata} polls without data (limit {cfg.nodata_limit}): "
                f"{verdict.reason}",
            )
        return None
    ready = hold_elapsed(state, now) >= hold_s
    if result == VerdictResult.PASS and plan.next_step is not None and ready:
        return Decision(
            ActionKind.ADVANCE,
            f"verdict PASS held for {hold_s:.0f}s at {plan.canary_pct} %: {verdict.reason}",
        )
    return None
