"""The judge's verdict: the result in colour, the score, the numbers per metric and the reason."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.cells import cell_len
from rich.text import Text

import widgets.look as look
from monotui.model import (
    ActionEvent,
    ActionKind,
    MetricLabel,
    MetricSpec,
    MetricVerdict,
    Phase,
    Snapshot,
    VerdictResult,
)
from widgets.panel import SnapshotPanel
from widgets.text import clean, source_problem

RESULT_STYLES = {
    VerdictResult.PASS: "bold reverse green",
    VerdictResult.MARGINAL: "bold reverse yellow",
    VerdictResult.FAIL: "bold reverse red",
    VerdictResult.NODATA: "bold reverse bright_black",
}
LABEL_STYLES = {
    MetricLabel.PASS: "green",
    MetricLabel.HIGH: "bold red",
    MetricLabel.LOW: "yellow",
    MetricLabel.NODATA: "bright_black",
}


def metric_value(spec: MetricSpec | None, value: float | None) -> str:
    """A value in the metric's unit; None is NO DATA."""
    if spec is None:
        return "NO DATA" if value is None else f"{value:.3g}"
    return spec.format(value)


def _ratio(value: float) -> str:
    if value >= 1e6:
        return ">1,000,000x"
    return f"{value:.2g}x" if value < 10 else f"{value:,.0f}x"


def metric_line(metric: MetricVerdict, spec: MetricSpec | None, width: int = 200) -> Text:
    """One metric on one line of `width` cells: label, baseline → canary in this step, then the
    evidence against the canary as a plain ratio of the one that rolls back, canary/baseline with
    its interval, and how many canary requests it rests on (the sequential judge); or p-value,
    effect and samples (the Mann-Whitney judge). What does not fit is left out, the least
    important first (the counts, then the interval), never wrapped onto a line of its own."""
    text = Text(end="")
    title = spec.title if spec is not None else metric.name
    # A critical metric's name is bold: its FAIL alone fails the verdict (Mann-Whitney).
    text.append(f"{clean(title)[:12]:<12} ", style="bold" if metric.critical else "")
    text.append(f"{metric.label.value:<6}", style=LABEL_STYLES.get(metric.label, ""))
    arrow = look.current().arrow
    ev = metric.evidence
    # A canary that took no request in this step (weight 0, after a rollback) has no value to
    # show, and that is not a fault of the metrics: say why, not NO DATA.
    idle = metric.canary is None and ev is not None and ev.canary_requests == 0
    canary = "no traffic" if idle else metric_value(spec, metric.canary)
    text.append(f" {metric_value(spec, metric.baseline)} {arrow} {canary}")
    extras: list[tuple[str, str]] = []  # (text, style), most important first
    if ev is not None:
        style = "bold red" if ev.e_value >= ev.limit else "yellow" if ev.e_value >= 10 else ""
        extras.append((f"  evidence {_ratio(ev.e_value)} of {_ratio(ev.limit)}", style))
        bounded = ev.ci_low is not None or (ev.ci_high is not None and ev.ci_high < 50)
        if ev.ratio is not None and bounded:  # no interval yet: a ratio would mean nothing
            low = _ratio(ev.ci_low) if ev.ci_low is not None else "0"
            high = _ratio(ev.ci_high) if ev.ci_high is not None else "∞"
            extras.append((f"  ×{ev.ratio:.2g} [{low}–{high}]", ""))
        bad = spec.bad if spec is not None else "bad"
        extras.append((f"  {ev.canary_bad:,.0f} {bad} / {ev.canary_requests:,.0f} req", "dim"))
    else:
        if metric.p_value is not None:
            extras.append((f"  p={metric.p_value:.3f}", ""))
        if metric.effect is not None:
            extras.append((f"  ×{metric.effect:.2f}", ""))
        extras.append((f"  n={metric.n_baseline}/{metric.n_canary}", "dim"))
    used = text.cell_len
    for i, (part, style) in enumerate(extras):
        if i > 0 and used + cell_len(part) > width:
            break  # the first (the evidence) always shows: the panel may wrap it, never drop it
        text.append(part, style=style)
        used += cell_len(part)
    return text


def _last_rollback(snapshot: Snapshot) -> Text | None:
    """After a rollback, until someone acts: who rolled it back, when and why."""
    if snapshot.phase not in (Phase.FAILED, Phase.ROLLED_BACK):
        return None
    for event in reversed(snapshot.events):
        if not isinstance(event, ActionEvent) or event.result is None:
            continue
        action = event.result.action
        if action.kind != ActionKind.ROLLBACK or not event.result.ok:
            continue
        stamp = datetime.fromtimestamp(event.t, tz=UTC).astimezone().strftime("%H:%M:%S")
        who = "the automation" if event.automatic else f"{action.origin}"
        text = Text(f"rolled back at {stamp} by {who}", style="bold red", end="")
        if action.reason:
            text.append(f": {clean(action.reason)}", style="red")
        return text
    return None


class VerdictPanel(SnapshotPanel):
    """PASS / MARGINAL / FAIL / NO DATA with its score, numbers and reason in words. PASS means "no
    evidence of harm", and the reason says how much canary traffic it rests on."""

    TITLE = "verdict"

    def digest(self, snapshot: Snapshot | None) -> object:
        if snapshot is None:
            return None
        return (
            snapshot.verdict,
            source_problem(snapshot, "metrics"),
            snapshot.phase,
            snapshot.live_kill_switches,
            _last_rollback(snapshot),
        )

    def draw(self, snapshot: Snapshot | None, width: int) -> Text:
        text = Text(end="")
        if snapshot is None:
            text.append(" NO DATA ", style=RESULT_STYLES[VerdictResult.NODATA])
            return text
        verdict = snapshot.verdict
        label = "NO DATA" if verdict.result == VerdictResult.NODATA else verdict.result.value
        text.append(f" {label} ", style=RESULT_STYLES[verdict.result])
        if verdict.score is not None:
            text.append(f"  score {verdict.score:.0f}")
        problem = source_problem(snapshot, "metrics")
        if problem is not None:
            text.append("  ")
            text.append_text(problem)
        if verdict.incident:
            text.append("  both versions failing: not the canary", style="bold yellow")
        rollback = _last_rollback(snapshot)
        if rollback is not None:
            text.append("\n")
            text.append_text(rollback)
        live = snapshot.live_kill_switches
        if verdict.result == VerdictResult.FAIL and live:
            # Where an 80x24 screen sees it: the flags panel is below the fold there.
            text.append("\nturning off ", style="bold")
            text.append(clean(", ".join(live)), style="bold red")
            text.append(" may stop the errors", style="bold")
        for metric in verdict.metrics:
            found = snapshot.metric(metric.name)
            text.append("\n")
            text.append_text(metric_line(metric, found[1] if found else None, width))
        text.append("\n")
        text.append(clean(verdict.reason), style="italic")
        return text
