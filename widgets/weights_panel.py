"""Configured route weights (what the router says) next to the observed split (what metrics say)."""

from __future__ import annotations

from rich.text import Text

from monotui.model import Snapshot
from widgets.panel import SnapshotPanel
from widgets.text import source_problem

STABLE_STYLE = "blue"
CANARY_STYLE = "dark_orange"


def bar(pct: float, width: int, style: str) -> Text:
    """A horizontal bar of `pct` percent of `width` cells, with eighth-cell resolution."""
    cells = max(0.0, min(100.0, pct)) / 100.0 * width
    full = int(cells)
    eighths = int((cells - full) * 8)
    partial = " ▏▎▍▌▋▊▉"[eighths] if eighths and full < width else ""
    text = Text("█" * full + partial, style=style, end="")
    text.append("·" * (width - full - len(partial)), style="dim")
    return text


class WeightsPanel(SnapshotPanel):
    """Two bars per side: configured and observed. Unknown values say NO DATA / STALE / ERROR."""

    TITLE = "weights"

    def digest(self, snapshot: Snapshot | None) -> object:
        if snapshot is None:
            return None
        split = snapshot.observed_split
        observed = None if split is None else (round(split.stable, 1), round(split.canary, 1))
        return (
            snapshot.weights,
            observed,
            source_problem(snapshot, "router"),
            source_problem(snapshot, "metrics"),
        )

    def draw(self, snapshot: Snapshot | None, width: int) -> Text:
        label_w, value_w = 18, 8
        bar_w = max(4, width - label_w - value_w)
        text = Text(end="")
        weights = snapshot.weights if snapshot else None
        router_problem = source_problem(snapshot, "router")
        text.append("configured", style="bold")
        if router_problem is not None:
            text.append("  ")
            text.append_text(router_problem)
        text.append("\n")
        if weights is None:
            text.append("  NO DATA\n  \n", style="bold yellow")
        else:
            for name, value, style in (
                ("stable", weights.stable, STABLE_STYLE),
                ("canary", weights.canary, CANARY_STYLE),
            ):
                text.append(f"  {name:<16}")
                text.append_text(bar(value, bar_w, style))
                text.append(f" {value:>5d} %\n")
        split = snapshot.observed_split if snapshot else None
        metrics_problem = source_problem(snapshot, "metrics")
        text.append("observed", style="bold")
        if metrics_problem is not None:
            text.append("  ")
            text.append_text(metrics_problem)
        text.append("\n")
        if split is None:
            text.append("  NO DATA (no request rate)\n  ", style="bold yellow")
        else:
            for name, fvalue, style in (
                ("stable", split.stable, STABLE_STYLE),
                ("canary", split.canary, CANARY_STYLE),
            ):
                text.append(f"  {name:<16}")
                text.append_text(bar(fvalue, bar_w, style))
                text.append(f" {fvalue:>5.1f} %")
                if name == "stable":
                    text.append("\n")
        return text
