"""The fleet: one row per rollout with its phase, weight, verdict and error rates."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from monotui.model import Snapshot, VerdictResult
from widgets.rollout_header import PHASE_STYLES
from widgets.text import clean, literal, pct, source_problem

COLUMNS = ("rollout", "phase", "weight", "verdict", "baseline err", "canary err", "data")
VERDICT_STYLES = {
    VerdictResult.PASS: "bold green",
    VerdictResult.MARGINAL: "bold yellow",
    VerdictResult.FAIL: "bold red",
    VerdictResult.NODATA: "dim",
}


def fleet_row(snapshot: Snapshot) -> tuple[Text, ...]:
    """The cells of one rollout."""
    err = snapshot.current("error_rate")
    weight = (
        literal("NO DATA", "bold yellow")
        if snapshot.weights is None
        else literal(f"{snapshot.weights.canary} % canary")
    )
    verdict = snapshot.verdict.result
    problem = source_problem(snapshot, "router", "metrics")
    return (
        Text(clean(snapshot.rollout), style="bold", end=""),
        Text(snapshot.phase.value, style=PHASE_STYLES.get(snapshot.phase, ""), end=""),
        weight,
        Text(
            "NO DATA" if verdict == VerdictResult.NODATA else verdict.value,
            style=VERDICT_STYLES[verdict],
            end="",
        ),
        literal(pct(err.baseline)),
        literal(pct(err.canary)),
        problem if problem is not None else Text("ok", style="green", end=""),
    )


class FleetTable(DataTable[Text]):
    """Every rollout; `enter` posts `RolloutChosen`."""

    DEFAULT_CSS = """
    FleetTable { height: 1fr; border: round $primary 50%; }
    """
    # DataTable's own enter binding is hidden and would hide the screen's from the footer too.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "open", tooltip="open the rollout's cockpit", id="open"),
    ]

    class RolloutChosen(Message):
        """The user picked a rollout to open in the cockpit."""

        def __init__(self, rollout: str) -> None:
            super().__init__()
            self.rollout = rollout

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row")
        self._rows: dict[str, tuple[Text, ...]] = {}

    def on_mount(self) -> None:
        for column in COLUMNS:
            self.add_column(column, key=column)
        self.border_title = "rollouts"

    def show(self, snapshot: Snapshot) -> None:
        """Add or update the row of `snapshot.rollout`, touching only cells that changed."""
        row = fleet_row(snapshot)
        old = self._rows.get(snapshot.rollout)
        if old is None:
            self.add_row(*row, key=snapshot.rollout)
        else:
            for column, before, after in zip(COLUMNS, old, row, strict=True):
                if before != after:
                    self.update_cell(snapshot.rollout, column, after, update_width=True)
        self._rows[snapshot.rollout] = row

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.RolloutChosen(str(event.row_key.value)))
