"""The synthetic probes: one row per probe, one column per track (baseline, canary,
canary+flag), each cell PASS / FAIL / STALE / ERROR with its latency and a sparkline of its
recent results; under a row, why each cell that is not PASS is so (the last failure's reason)
and the judge's evidence on each canary track. Narrower than FOLD_BELOW columns it folds into one
line: "synthetics 3/4 pass; checkout-submit FAIL on canary+flag"."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size

import widgets.look as look
from monotui.model import MetricLabel, ProbeCell, ProbeState, Snapshot, Synthetics
from widgets.panel import SnapshotPanel
from widgets.text import clean

FOLD_BELOW = 90
"""Columns under which the panel is one line."""
STATE_STYLES = {
    ProbeState.PASS: "bold green",
    ProbeState.FAIL: "bold red",
    ProbeState.STALE: "bold yellow",
    ProbeState.ERROR: "bold magenta",
}
SPARK = 8
"""Recent results in a cell's sparkline."""


def sparkline(recent: tuple[float, ...], n: int = SPARK) -> Text:
    """Each recent reading's share of passing probes as a bar: full and green when all passed,
    low and red when all failed."""
    text = Text(end="")
    blocks = look.current().spark
    for share in recent[-n:]:
        block = blocks[min(len(blocks) - 1, max(0, round(share * (len(blocks) - 1))))]
        text.append(block, style="green" if share >= 1 else "red" if share <= 0 else "yellow")
    return text


def ratio(value: float) -> str:
    """Evidence as a plain ratio: 0.52x, 12x, 1,200x, >1,000,000x."""
    if value >= 1e6:
        return ">1,000,000x"
    return f"{value:.2g}x" if value < 10 else f"{value:,.0f}x"


def latency(cell: ProbeCell) -> str:
    return "" if cell.latency_ms is None else f"{cell.latency_ms:,.0f} ms"


def cell_text(cell: ProbeCell | None, width: int) -> Text:
    """One cell: state, latency, sparkline, cut to `width`."""
    text = Text(end="")
    if cell is None:
        text.append("—", style="dim")
    else:
        text.append(f"{cell.state.value:<5}", style=STATE_STYLES[cell.state])
        shown = latency(cell)
        text.append(f" {shown:>8} " if shown else " " * 10)
        text.append_text(sparkline(cell.recent))
    text.truncate(max(1, width), overflow="ellipsis", pad=True)
    return text


def fold(synthetics: Synthetics) -> Text:
    """The one-line summary (80x24)."""
    line = synthetics.summary()
    failing = any(c.state == ProbeState.FAIL for c in synthetics.cells) or any(
        v.label == MetricLabel.HIGH for v in synthetics.verdicts
    )
    trouble = any(c.state != ProbeState.PASS for c in synthetics.cells)
    style = "bold red" if failing else "yellow" if trouble else "green"
    text = Text(end="")
    head, _, tail = line.partition(";")
    text.append(clean(head), style=style if not tail else "")
    if tail:
        text.append(";" + clean(tail), style=style)
    if not synthetics.cells and synthetics.note:
        text.append("synthetics: ", style="dim")
        text.append(clean(synthetics.note), style="dim")
    return text


class SyntheticsPanel(SnapshotPanel):
    """The probes beside the canary; hidden when the rollout has none."""

    TITLE = "synthetics"
    DEFAULT_CSS = """
    SyntheticsPanel { display: none; }
    SyntheticsPanel.-shown { display: block; }
    """

    def __init__(
        self, *, fold: bool = False, id: str | None = None, classes: str | None = None
    ) -> None:
        """`fold`: always the one line (the screen shows this one where room is short)."""
        super().__init__(id=id, classes=classes)
        self.fold = fold

    def digest(self, snapshot: Snapshot | None) -> object:
        return None if snapshot is None else snapshot.synthetics

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        syn = snapshot.synthetics if snapshot is not None else None
        self.set_class(bool(syn and (syn.cells or syn.note)), "-shown")
        super().watch_snapshot(snapshot)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """The lines drawn at `width`: folding or not depends on the width, so the height is
        asked of the text at the width the layout gives, not of what was drawn before it."""
        width = max(width, 20)
        return len(self.draw(self.snapshot, width).wrap(self.app.console, width))

    def draw(self, snapshot: Snapshot | None, width: int) -> Text:
        if snapshot is None:
            return Text("", end="")
        syn = snapshot.synthetics
        if self.fold or width < FOLD_BELOW:
            return fold(syn)
        tracks = syn.tracks
        name_w = min(24, max([5, *(len(p) for p in syn.probes)]) + 2)
        col_w = max(12, (width - name_w) // max(1, len(tracks)))
        text = Text(end="")
        text.append(f"{'probe':<{name_w}}", style="dim")
        for track in tracks:
            text.append(f"{track:<{col_w}}", style="dim")
        for probe in syn.probes:
            judged = [syn.verdict(probe, t) for t in tracks]
            high = any(v is not None and v.label == MetricLabel.HIGH for v in judged)
            text.append("\n")
            text.append(
                f"{clean(probe)[: name_w - 2]:<{name_w}}", style="bold red" if high else "bold"
            )
            for track in tracks:
                text.append_text(cell_text(syn.cell(probe, track), col_w))
            for track in tracks:
                self._why(text, syn, probe, track, name_w)
        if syn.note:
            text.append("\n")
            text.append(clean(syn.note), style="dim italic")
        return text

    @staticmethod
    def _why(text: Text, syn: Synthetics, probe: str, track: str, indent: int) -> None:
        """Under the row: why the cell is not PASS, and the judge's evidence on a canary track."""
        cell = syn.cell(probe, track)
        verdict = syn.verdict(probe, track)
        reason = ""
        if cell is not None and cell.state != ProbeState.PASS and cell.reason:
            reason = cell.reason
        elif cell is not None and cell.last_failure:
            reason = f"last failure: {cell.last_failure}"
        ev = verdict.evidence if verdict is not None else None
        judged = ""
        if verdict is not None and ev is not None and ev.canary_bad > 0:
            judged = (
                f"{ev.canary_bad:,.0f}/{ev.canary_requests:,.0f} failed, baseline "
                f"{ev.baseline_bad:,.0f}/{ev.baseline_requests:,.0f}: evidence "
                f"{ratio(ev.e_value)} of {ratio(ev.limit)}"
            )
            if verdict.label == MetricLabel.HIGH:
                judged += ": FAIL"
            elif verdict.both_failing:
                judged += ": both failing, not the canary"
            elif "not judged" in verdict.sentence:
                judged += ": not judged, " + clean(verdict.sentence.rpartition("not judged: ")[2])
        if not reason and not judged:
            return
        text.append("\n" + " " * indent)
        text.append(f"{track}: ", style="dim")
        if reason:
            style = "red" if cell is not None and cell.state == ProbeState.FAIL else "dim"
            text.append(clean(reason), style=style)
        if judged:
            high = verdict is not None and verdict.label == MetricLabel.HIGH
            text.append(("  " if reason else "") + judged, style="bold red" if high else "dim")
