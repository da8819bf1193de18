"""The fleet: every rollout in one table; enter opens its cockpit."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
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
        self.booted()
        self.query_one(FleetTable).focus()

    def booted(self) -> None:
        """The rollouts are known (or still coming: then say so, and show no numbers)."""
        app = cast("MonotuiApp", self.app)
        table = self.query_one(FleetTable)
        if app.starting:
            title = f"{app.title}: starting…"
            table.border_subtitle = "starting: reading the rollouts…"
        else:
            count = len(app.controllers)
            read_only = any(c.read_only for c in app.controllers)
            title = ("READ-ONLY  " if read_only else "") + (
                f"{app.title}: {count} rollouts · enter opens a cockpit"
            )
            table.border_subtitle = None
        self.query_one("#fleet-title", Static).update(title)
        for snapshot in app.snapshots.values():
            self.show(snapshot)

    def boot_failed(self, text: str) -> None:
        """The rollouts could not be built: say why where the rows would be."""
        app = cast("MonotuiApp", self.app)
        self.query_one("#fleet-title", Static).update(f"{app.title}: could not start")
        # The error is outside text: a Text so that no markup in it is interpreted.
        self.query_one(FleetTable).border_subtitle = Text(text, style="bold red")

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
