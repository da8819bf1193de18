"""The fleet: every rollout in one table; enter opens its cockpit."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from monotui.model import Snapshot
from widgets import FleetTable

if TYPE_CHECKING:
    from monotui.app import MonotuiApp


class FleetScreen(Screen[None]):
    """Shown first when two or more rollouts are configured."""

    BINDINGS = [Binding("enter", "open", "open cockpit", id="open", tooltip="open the rollout")]
    DEFAULT_CSS = """
    FleetScreen > #fleet-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    """

    def compose(self) -> ComposeResult:
        yield Static("fleet", id="fleet-title", markup=False)
        yield FleetTable()
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        app = cast("MonotuiApp", self.app)
        count = len(app.controllers)
        read_only = any(c.read_only for c in app.controllers)
        title = f"{app.title}: {count} rollouts · enter opens a cockpit"
        self.query_one("#fleet-title", Static).update(("READ-ONLY  " if read_only else "") + title)
        for snapshot in app.snapshots.values():
            self.show(snapshot)
        self.query_one(FleetTable).focus()

    def on_screen_resume(self) -> None:
        for snapshot in cast("MonotuiApp", self.app).snapshots.values():
            self.show(snapshot)

    def show(self, snapshot: Snapshot) -> None:
        """Update the rollout's row."""
        self.query_one(FleetTable).show(snapshot)

    def action_open(self) -> None:
        table = self.query_one(FleetTable)
        if table.row_count:
            row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
            if row_key.value is not None:
                cast("MonotuiApp", self.app).open_cockpit(str(row_key.value))

    def on_fleet_table_rollout_chosen(self, message: FleetTable.RolloutChosen) -> None:
        cast("MonotuiApp", self.app).open_cockpit(message.rollout)
