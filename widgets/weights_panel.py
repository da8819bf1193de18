"""Configured route weights (what the router says) next to the observed split (what metrics say)."""

from __future__ import annotations

from rich.text import Text

import widgets.look as look
from monotui.model import Snapshot
from widgets.panel import SnapshotPanel
from widgets.text import source_problem


def bar(pct: float, width: int, style: str) -> Text:
    """A horizontal bar of `pct` percent of `width` cells, with eighth-cell resolution (whole
    cells in ASCII)."""
    drawn = look.current()
    cells = max(0.0, min(100.0, pct)) / 100.0 * width
    full = int(cells)
    eighths = int((cells - full) * 8)
    partial = drawn.bar_eighths[eighths] if drawn.bar_eighths and eighths and full < width else ""
    text = Text(drawn.bar_full * full + partial, style=style, end="")
    text.append(drawn.bar_empty * (width - full - len(partial)), style="dim")
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
            snapshot.split_disagreement is not None,
        )

    def draw(self, snapshot: Snapshot | None, width: int) -> Text:
        # Three lines: a heading, then stable and canary with configured and observed side by side.
        label_w = 7
        column_w = max(10, (width - label_w) // 2)
        bar_w = max(3, column_w - 9)
        weights = snapshot.weights if snapshot else None
        split = snapshot.observed_split if snapshot else None
        text = Text(end="", no_wrap=True, overflow="ellipsis")
        text.append(" " * label_w)
        text.append_text(_heading("configured", source_problem(snapshot, "router"), column_w))
        # The router and the traffic disagree: the observed side says so, not in the normal
        # colour (the header and the plan say by how much).
        off = snapshot is not None and snapshot.split_disagreement is not None
        problem = source_problem(snapshot, "metrics")
        if off and problem is None:
            problem = Text(" OFF ", style="bold reverse yellow", end="")
        text.append_text(_heading("observed", problem, column_w))
        drawn = look.current()
        for name, style in (("stable", drawn.baseline), ("canary", drawn.canary)):
            text.append(f"\n{name:<{label_w}}")
            if weights is None:
                text.append(f"{'NO DATA':<{column_w}}", style="bold yellow")
            else:
                value = getattr(weights, name)
                text.append_text(bar(value, bar_w, style))
                text.append(f" {value:>5d} % ")
            if split is None:
                text.append("NO DATA", style="bold yellow")
            else:
                fvalue = getattr(split, name)
                text.append_text(bar(fvalue, bar_w, style))
                text.append(f" {fvalue:>5.1f} %", style="bold yellow" if off else "")
        return text


def _heading(title: str, problem: Text | None, width: int) -> Text:
    text = Text(title, style="bold", end="", no_wrap=True, overflow="ellipsis")
    if problem is not None:
        text.append(" ")
        text.append_text(problem)
    text.truncate(width - 1, overflow="ellipsis", pad=True)
    text.append(" ")
    return text
