"""The cockpit: every panel of one rollout, and the keys that steer it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer

from monotui.model import Snapshot
from monotui.screens.base import RolloutScreen
from monotui.screens.commands import COCKPIT_COMMANDS, WRITING, applies, bindings
from monotui.screens.curl import CurlScreen
from monotui.screens.steering import Steering
from monotui.screens.store import SnapshotStore
from widgets import (
    ErrorRateChart,
    EventLog,
    FlagsTable,
    LatencyChart,
    PlanPanel,
    RolloutHeader,
    SyntheticsPanel,
    VerdictPanel,
    WeightsPanel,
)
from widgets.panel import SnapshotPanel
from widgets.time_chart import TimeChart


class CockpitScreen(RolloutScreen):
    """One rollout. Wide terminals get charts side by side over a row of panels; narrow ones stack
    the panels so the chart, weights, plan and verdict fit in 80x24 and the rest scrolls."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (50, "-tall")]
    BINDINGS = bindings(COCKPIT_COMMANDS)
    DEFAULT_CSS = """
    CockpitScreen #body { height: 1fr; scrollbar-size-vertical: 1; }
    CockpitScreen #top { height: 1fr; min-height: 20; }
    CockpitScreen #charts { height: 1fr; min-height: 8; }
    CockpitScreen ErrorRateChart { width: 3fr; }
    CockpitScreen LatencyChart { width: 2fr; }
    CockpitScreen #panels {
        height: auto; grid-size: 3; grid-rows: auto; grid-columns: 2fr 2fr 3fr;
    }
    CockpitScreen #lower { height: 12; }
    CockpitScreen #lower FlagsTable { width: 3fr; height: 100%; max-height: 100%; }
    CockpitScreen #lower EventLog { width: 2fr; height: 100%; }
    /* Narrow: the chart, weights, plan and verdict fill the first screen; flags and events
       follow below (f scrolls to the flags). Top borders only, to give the charts the rows. */
    CockpitScreen.-narrow #top { height: 100%; min-height: 20; }
    CockpitScreen.-narrow #panels { grid-size: 2; grid-columns: 1fr 1fr; }
    CockpitScreen.-narrow VerdictPanel { column-span: 2; }
    CockpitScreen.-narrow TimeChart, CockpitScreen.-narrow #panels > SnapshotPanel,
    CockpitScreen.-narrow EventLog, CockpitScreen.-narrow FlagsTable {
        border: none; border-top: round $primary 50%;
    }
    CockpitScreen.-narrow FlagsTable:focus { border: none; border-top: round $accent; }
    CockpitScreen.-narrow #lower { height: auto; layout: vertical; }
    CockpitScreen.-narrow #lower FlagsTable { width: 100%; height: auto; max-height: 10; }
    CockpitScreen.-narrow #lower EventLog { width: 100%; height: 10; }
    /* The synthetics: a table of their own between the panels and the flags on a big screen;
       else one line over the verdict, which an 80x24 screen still sees and which leaves the
       charts their rows. max-height too: a grid's auto row asks the text's height at one
       column's width, where the line would wrap, and would leave an empty row under it. */
    CockpitScreen #panels > #synthetics-fold {
        column-span: 2; border: none; padding: 0 1; height: 1; max-height: 1;
    }
    CockpitScreen #panels > #synthetics-line {
        column-span: 3; border: none; padding: 0 1; height: 1; max-height: 1;
    }
    CockpitScreen.-wide #synthetics-fold.-shown { display: none; }
    CockpitScreen.-narrow #synthetics-line.-shown, CockpitScreen.-tall #synthetics-line.-shown {
        display: none;
    }
    CockpitScreen.-narrow #synthetics.-shown, CockpitScreen.-short #synthetics.-shown {
        display: none;
    }
    """

    def __init__(
        self,
        rollout: str,
        store: SnapshotStore,
        steering: Steering,
        *,
        has_fleet: bool = False,
    ) -> None:
        super().__init__(store, steering, name=f"cockpit:{rollout}")
        self.rollout = rollout
        self.has_fleet = has_fleet
        self._bindings_key: object = None

    @property
    def latest(self) -> Snapshot | None:
        """The newest snapshot of this rollout."""
        return self.store.get(self.rollout)

    def compose(self) -> ComposeResult:
        # Shown from the first layout when the rollout has probes: a panel that appears later
        # would resize the charts after they were drawn.
        latest = self.latest
        probes = latest is not None and bool(latest.synthetics.cells or latest.synthetics.note)
        shown = "-shown" if probes else None
        yield RolloutHeader()
        with VerticalScroll(id="body"):
            with Vertical(id="top"):
                with Horizontal(id="charts"):
                    yield ErrorRateChart()
                    yield LatencyChart()
                with Grid(id="panels"):
                    yield WeightsPanel()
                    yield PlanPanel()
                    yield self._synthetics("synthetics-fold", latest, shown)
                    yield VerdictPanel()
                    yield self._synthetics("synthetics-line", latest, shown)
            yield self._synthetics("synthetics", latest, shown)
            with Horizontal(id="lower"):
                yield FlagsTable()
                yield EventLog()
        yield Footer(compact=True, show_command_palette=False)

    @staticmethod
    def _synthetics(id: str, latest: Snapshot | None, shown: str | None) -> SyntheticsPanel:
        """A synthetics panel that knows its rollout from the first layout on (its height does
        not change under the charts once they are drawn)."""
        panel = SyntheticsPanel(fold=id != "synthetics", id=id, classes=shown)
        panel.set_reactive(SyntheticsPanel.snapshot, latest)
        return panel

    def on_mount(self) -> None:
        self.title = self.rollout
        if self.latest is not None:
            self.show(self.latest)

    def show(self, snapshot: Snapshot) -> None:
        """Hand every panel the new snapshot; each redraws only what changed."""
        if snapshot.rollout != self.rollout:
            return
        self.query_one(RolloutHeader).snapshot = snapshot
        for chart in self.query(TimeChart):
            chart.snapshot = snapshot
        for panel in self.query(SnapshotPanel):
            panel.snapshot = snapshot
        self.query_one(FlagsTable).snapshot = snapshot
        self.query_one(EventLog).snapshot = snapshot
        key = (snapshot.read_only, *(applies(c, snapshot) for c in sorted(WRITING)))
        if key != self._bindings_key:
            self._bindings_key = key
            self.refresh_bindings()

    def target_rollout(self) -> str:
        """The keys steer this cockpit's rollout."""
        return self.rollout

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Writing keys vanish in read-only mode and are dimmed when they do not apply."""
        if action == "back":
            return self.has_fleet
        if action == "curl":
            latest = self.latest
            return latest is not None and bool(latest.synthetics.cells or latest.synthetics.note)
        return self.check_writing(action)

    # --- the keys that are the cockpit's own (a, p, r, P, w come from RolloutScreen) ------------

    def action_flags(self) -> None:
        table = self.query_one(FlagsTable)
        table.focus()
        table.scroll_visible()

    def action_curl(self) -> None:
        """The curl lines that reach the canary (the http probes' requests), no secrets."""
        snapshot = self.latest
        lines = snapshot.synthetics.curl if snapshot is not None else ()
        if not lines:
            self.notify(
                "no http probe reaches the canary: curl lines come from [[rollouts.synthetics]] "
                'of kind "http"',
                severity="warning",
                markup=False,
            )
            return
        note = snapshot.synthetics.note if snapshot is not None else ""
        self.app.push_screen(CurlScreen(self.rollout, lines, note))

    def action_back(self) -> None:
        if self.has_fleet:
            self.dismiss()

    def on_flags_table_toggle_requested(self, message: FlagsTable.ToggleRequested) -> None:
        snapshot = self.latest
        if snapshot is not None and snapshot.read_only:
            self.notify("read-only: flags cannot be toggled", severity="warning", markup=False)
            return
        self.steering.toggle_flag(self.rollout, message.flag_key)
