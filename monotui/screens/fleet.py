"""The fleet: every rollout in one table; enter opens its cockpit, and the cockpit's writing keys
(a, p, r, P, w) act on the highlighted row, k9s style, with the same confirmations."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from monotui.model import Snapshot
from monotui.screens.base import RolloutScreen
from monotui.screens.commands import COCKPIT_COMMANDS, WRITING, applies, bindings
from monotui.screens.steering import Steering
from monotui.screens.store import SnapshotStore
from widgets import FleetTable

FLEET_COMMANDS = tuple(c for c in COCKPIT_COMMANDS if c.writes)
"""The cockpit's writing commands; on the fleet they act on the highlighted rollout."""


class FleetScreen(RolloutScreen):
    """Shown first when two or more rollouts are configured."""

    BINDINGS = [
        Binding("enter", "open", "open cockpit", id="open", tooltip="open the rollout"),
        *bindings(FLEET_COMMANDS),
    ]
    DEFAULT_CSS = """
    FleetScreen > #fleet-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    """

    def __init__(self, store: SnapshotStore, steering: Steering, *, title: str = "monotui") -> None:
        super().__init__(store, steering)
        self.title_text = title
        self._keys: object = None

    def compose(self) -> ComposeResult:
        yield Static("fleet", id="fleet-title", markup=False)
        yield FleetTable()
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.booted()
        self.query_one(FleetTable).focus()

    def booted(self) -> None:
        """The rollouts are known (or still coming: then say so, and show no numbers)."""
        store = self.store
        table = self.query_one(FleetTable)
        if store.starting:
            title = f"{self.title_text}: starting…"
            table.border_subtitle = "starting: reading the rollouts…"
        else:
            title = ("READ-ONLY  " if store.read_only else "") + (
                f"{self.title_text}: {len(store)} rollouts · enter opens a cockpit"
            )
            table.border_subtitle = None
        self.query_one("#fleet-title", Static).update(title)
        for snapshot in store:
            self.show(snapshot)

    def boot_failed(self, text: str) -> None:
        """The rollouts could not be built: say why where the rows would be."""
        self.query_one("#fleet-title", Static).update(f"{self.title_text}: could not start")
        # The error is outside text: a Text so that no markup in it is interpreted.
        self.query_one(FleetTable).border_subtitle = Text(text, style="bold red")

    def show(self, snapshot: Snapshot) -> None:
        """Update the rollout's row (and the footer, if the highlighted rollout's keys changed)."""
        table = self.query_one(FleetTable)
        table.show(snapshot)
        self._refresh_keys()

    def target_rollout(self) -> str | None:
        """The highlighted row's rollout."""
        table = self.query_one(FleetTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return None if row_key.value is None else str(row_key.value)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Writing keys vanish in read-only mode and are dimmed when they do not apply to the
        highlighted rollout."""
        if action == "open":
            return self.target_rollout() is not None
        return self.check_writing(action)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._refresh_keys()

    def _refresh_keys(self) -> None:
        snapshot = self.target_snapshot()
        key = (
            self.target_rollout(),
            snapshot is not None and snapshot.read_only,
            *(applies(c, snapshot) for c in sorted(WRITING)),
        )
        if key != self._keys:
            self._keys = key
            self.refresh_bindings()

    def action_open(self) -> None:
        rollout = self.target_rollout()
        if rollout is not None:
            self.open_cockpit(rollout)

    def on_fleet_table_rollout_chosen(self, message: FleetTable.RolloutChosen) -> None:
        self.open_cockpit(message.rollout)
