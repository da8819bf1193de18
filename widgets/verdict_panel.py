"""The judge's verdict: the result in colour, the score, the numbers per metric and the reason."""

from __future__ import annotations

from rich.text import Text

from monotui.model import MetricLabel, MetricVerdict, Snapshot, VerdictResult
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


def metric_value(name: str, value: float | None) -> str:
    """A median in the metric's unit; None is NO DATA."""
    if value is None:
        return "NO DATA"
    if "error" in name:
        return f"{100 * value:.2f} %"
    if "latency" in name or name.endswith("_ms"):
        return f"{value:.0f} ms"
    return f"{value:.3g}"


def metric_line(metric: MetricVerdict) -> Text:
    """One metric: label, baseline → canary medians, p-value, effect, sample counts."""
    text = Text(end="")
    # A critical metric's name is bold: its FAIL alone fails the verdict.
    text.append(f"{clean(metric.name)[:14]:<14} ", style="bold" if metric.critical else "")
    text.append(f"{metric.label.value:<6}", style=LABEL_STYLES.get(metric.label, ""))
    text.append(
        f" {metric_value(metric.name, metric.baseline)} → "
        f"{metric_value(metric.name, metric.canary)}"
    )
    if metric.p_value is not None:
        text.append(f"  p={metric.p_value:.3f}")
    if metric.effect is not None:
        text.append(f"  ×{metric.effect:.2f}")
    text.append(f"  n={metric.n_baseline}/{metric.n_canary}", style="dim")
    return text


class VerdictPanel(SnapshotPanel):
    """PASS / MARGINAL / FAIL / NO DATA with its score, numbers and reason in words."""

    TITLE = "verdict"

    def digest(self, snapshot: Snapshot | None) -> object:
        if snapshot is None:
            return None
        return (snapshot.verdict, source_problem(snapshot, "metrics"))

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
        for metric in verdict.metrics:
            text.append("\n")
            text.append_text(metric_line(metric))
        text.append("\n")
        text.append(clean(verdict.reason), style="italic")
        return text
