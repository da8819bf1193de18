"""What the window means: when the canary started taking traffic, when the judge first saw
significant evidence (10x) and when it reached the evidence that rolls back (1/alpha), when the
canary was rolled back (mitigation), what it cost until then, and the timeline of every action
and verdict change with the judge's numbers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from monotui.backtest import STEP_POLLS, Decision, Summary, replay
from monotui.config import RolloutConfig, duration_s
from monotui.judge import Judge
from monotui.metrics import metrics_for, specs
from monotui.model import MetricSpec, Sample, Verdict
from monotui.report.gather import Record
from monotui.report.impact import Cost, Stretch, cost, nearest_step, share, stretches

SIGNIFICANT = 10.0
"""The evidence that counts as a first sign (the Bayes-factor scale's "strong")."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the timeline."""

    t: float
    kind: str  # action | verdict
    what: str
    who: str
    why: str
    numbers: str


@dataclass(frozen=True, slots=True)
class Findings:
    """Everything the Markdown says, computed."""

    rollout: RolloutConfig
    start: float
    end: float
    samples: tuple[Sample, ...]
    specs: tuple[MetricSpec, ...]
    records: tuple[Record, ...]
    replay: Summary
    canary_start: float | None
    first_evidence: float | None
    rolls_back_evidence: float | None
    """When the evidence reached 1/alpha (the judge would roll back)."""
    mitigated: float | None
    mitigated_by: str
    costs: tuple[Cost, ...]
    """From the canary's start to the mitigation (or the window's end)."""
    stretches: tuple[Stretch, ...]
    timeline: tuple[Entry, ...]


def analyse(
    rollout: RolloutConfig,
    samples: Sequence[Sample],
    recs: Sequence[Record],
    start: float,
    end: float,
) -> Findings:
    """The findings of one window."""
    metric_specs = specs(metrics_for(rollout.judge))
    window = tuple(s for s in samples if start <= s.t <= end)
    summary = replay(rollout, samples, start=start, end=end)
    canary_start = next((s.t - s.span_s for s in window if (s.canary.requests or 0) > 0), None)
    rollback = next((r for r in recs if r.action == "rollback" and r.applied), None)
    mitigated = rollback.t if rollback else None
    until = mitigated if mitigated is not None else end
    running = tuple(s for s in window if s.t <= until + _interval(window))
    runs = stretches(window, metric_specs, rollout.steps)
    at = judged_at(rollout, samples, start, end)
    return Findings(
        rollout=rollout,
        start=start,
        end=end,
        samples=window,
        specs=metric_specs,
        records=tuple(recs),
        replay=summary,
        canary_start=canary_start,
        first_evidence=summary.first_evidence_at,
        rolls_back_evidence=_reached_limit(summary.decisions),
        mitigated=mitigated,
        mitigated_by=rollback.who if rollback else "",
        costs=cost(running, metric_specs),
        stretches=tuple(runs),
        timeline=tuple(timeline(recs, summary.decisions, at, canary_start)),
    )


def step_starts(samples: Sequence[Sample], steps: Sequence[int], start: float) -> list[float]:
    """When the step each sample belongs to started, as `backtest.replay` follows the observed
    split (a new share counts after STEP_POLLS polls), so the numbers at an action are the ones
    the replay's judge had."""
    out = []
    step_pct, step_since, pending, pending_count = 0, start, 0, 0
    for s in samples:
        nearest = nearest_step(share(s), steps)
        if s.t >= start and nearest != step_pct:
            pending_count = pending_count + 1 if nearest == pending else 1
            pending = nearest
            if pending_count >= STEP_POLLS or step_pct == 0:
                step_pct, step_since, pending_count = nearest, s.t, 0
        else:
            pending_count = 0
        out.append(step_since)
    return out


def judged_at(
    rollout: RolloutConfig, samples: Sequence[Sample], start: float, end: float
) -> Callable[[float], Verdict | None]:
    """What the judge said at time `t`: its verdict at the last poll before `t`, the judge run
    over every poll of the window in order (it keeps state from poll to poll, as it did live)
    within the steps the replay had them in."""
    judge = Judge(metrics_for(rollout.judge), rollout.judge, duration_s(rollout.metrics.window))
    since = step_starts(samples, rollout.steps, start)
    verdicts: list[tuple[float, Verdict]] = []
    for k, s in enumerate(samples):
        if start <= s.t <= end:
            verdict = judge.judge(
                samples[: k + 1], run_since=None, step_since=since[k], canary_expected=True
            )
            verdicts.append((s.t, verdict))

    def at(t: float) -> Verdict | None:
        before = [v for vt, v in verdicts if vt <= t]
        return before[-1] if before else None

    return at


def timeline(
    recs: Sequence[Record],
    decisions: Sequence[Decision],
    judged: Callable[[float], Verdict | None],
    canary_start: float | None,
) -> list[Entry]:
    """Every action (with the judge's numbers at that moment) and every verdict change the judge
    replay found once the canary took traffic, in time order."""
    entries = []
    for d in decisions:
        if canary_start is None or d.t < canary_start:
            continue
        if d.action == "" or d.action in ("rollback", "pause", "hold"):
            what = f"verdict {d.verdict.result.value}" + (
                f" (the judge would {_WOULD.get(d.action, d.action)})" if d.action else ""
            )
            entries.append(
                Entry(d.t, "verdict", what, "judge", d.reason, verdict_numbers(d.verdict))
            )
    for r in recs:
        verdict = judged(r.t)
        numbers = verdict_numbers(verdict) if verdict is not None else ""
        moved = f" {r.before} -> {r.after}" if r.before and r.after and r.before != r.after else ""
        result = "" if r.applied else f" ({r.result})"
        what = f"{r.action}{moved}{result}"
        entries.append(Entry(r.t, "action", what, r.who, r.reason or r.message, numbers))
    return sorted(entries, key=lambda e: (e.t, e.kind != "verdict"))


def verdict_numbers(verdict: Verdict) -> str:
    """The judge's numbers behind a verdict, one short line per metric with evidence."""
    parts = []
    for m in verdict.metrics:
        e = m.evidence
        if e is None:
            continue
        ratio = "" if e.ratio is None else f", canary/baseline {e.ratio:.2f}"
        ci = (
            f" [{e.ci_low:.2f}, {e.ci_high:.2f}]"
            if e.ci_low is not None and e.ci_high is not None
            else ""
        )
        parts.append(
            f"{e.what or m.name}: evidence {_x(e.e_value)} of {_x(e.limit)}{ratio}{ci}; "
            f"{e.canary_bad:,.0f} in {e.canary_requests:,.0f} canary requests this step"
        )
    return "; ".join(parts)


def _reached_limit(decisions: Sequence[Decision]) -> float | None:
    for d in decisions:
        if any(
            m.evidence is not None and m.evidence.e_value >= m.evidence.limit
            for m in d.verdict.metrics
        ):
            return d.t
    return None


def _interval(samples: Sequence[Sample]) -> float:
    return samples[-1].span_s if samples else 0.0


def _x(value: float) -> str:
    if value > 1e6:
        return ">1,000,000x"
    return f"{value:,.1f}x" if value < 100 else f"{value:,.0f}x"


_WOULD = {"rollback": "roll back", "pause": "pause", "hold": "hold"}
