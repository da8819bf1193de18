"""The fleet, for triage: a summary line, every rollout in one table sorted by severity (FAIL,
both failing, ERROR, NO DATA, paused, then the rest), `/` to filter by regular expression, `s`
and `S` to sort by any column, `g` to group by namespace or cluster, the palette's `:ns`, `:ctx`,
`:filter` and `:sort`. Enter opens a rollout's cockpit, and the cockpit's writing keys (a, p, r,
P, w) act on the rollout under the cursor, k9s style, with the same confirmations.

Snapshots arrive one rollout at a time; the table and the summary are brought up to date after
each burst of them (at most `FLUSHES_PER_S` times a second under load), and only the lines whose
content changed are redrawn.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import replace

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Footer, Input, Static

from monotui.clusters import COLORS, PROD_COLOR
from monotui.model import Snapshot
from monotui.model.fleet import (
    GROUPINGS,
    SORT_KEYS,
    FilterError,
    FleetRow,
    FleetView,
    Grouping,
    Severity,
    SortKey,
    cluster_health,
    fleet_row,
    lines,
    severity,
    summary,
)
from monotui.model.fleet_sparks import SparkMemo
from monotui.screens.base import RolloutScreen
from monotui.screens.commands import COCKPIT_COMMANDS, WRITING, applies, bindings
from monotui.screens.steering import Steering
from monotui.screens.store import SnapshotStore
from widgets import FleetTable
from widgets.fleet_filter import FleetFilter
from widgets.fleet_summary import FleetSummary

FLEET_COMMANDS = tuple(c for c in COCKPIT_COMMANDS if c.writes)
"""The cockpit's writing commands; on the fleet they act on the rollout under the cursor."""
FLUSH_S = 0.25
FLUSHES_PER_S = 4
SHORTEST_TIMER_S = 0.05
"""A flush due sooner runs after this refresh instead. Textual's one-shot timer never fires
when the loop first runs it after its time (Timer._run skips the tick it is late for, and a
zero delay divides by zero): with hundreds of snapshots a second that happened, the flush
was lost, and the fleet stood still for good ("300 waiting" on a fleet all judged)."""
LOST_FLUSH_S = 1.0
"""A flush still pending after this long is taken as lost and scheduled again."""


class FleetShown(Message):
    """Every rollout of the fleet is on screen for the first time (polled, maybe not judged)."""


class FleetScreen(RolloutScreen):
    """Shown first when two or more rollouts are configured."""

    BINDINGS = [
        Binding("enter", "open", "open cockpit", id="open", tooltip="open the rollout"),
        *bindings(FLEET_COMMANDS),
        Binding("slash", "filter", "filter", id="filter", key_display="/", tooltip="regex"),
        Binding("s", "sort", "sort", id="sort", tooltip="sort by the next column"),
        Binding("S", "reverse", "reverse", id="reverse", show=False),
        Binding("g", "group", "group", id="group", tooltip="group by namespace, cluster"),
        Binding("escape", "clear", "clear filter", id="clear", show=False),
    ]
    DEFAULT_CSS = """
    FleetScreen > #fleet-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    """

    def __init__(self, store: SnapshotStore, steering: Steering, *, title: str = "monotui") -> None:
        super().__init__(store, steering)
        self.title_text = title
        self.view = FleetView()
        self._rows: dict[str, FleetRow] = {}
        self._sparks = SparkMemo()  # each row's error-rate windows, pooled again only if new
        self._ranked: dict[str, tuple[Snapshot, Severity]] = {}  # severity of the row shown
        self._dirty = False
        self._pending = False
        self._pending_since = 0.0
        self._flushes: deque[float] = deque(maxlen=FLUSHES_PER_S)
        self._keys: object = None
        self._problem = ""
        self._editing_from: FleetView | None = None
        self._all_shown = False
        self._polled: set[str] = set()  # the rollouts shown polled at least once

    def compose(self) -> ComposeResult:
        yield Static("fleet", id="fleet-title", markup=False)
        yield FleetSummary(id="fleet-summary")
        yield FleetTable()
        yield FleetFilter(id="fleet-filter")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.booted()
        self.query_one(FleetTable).focus()

    # --- snapshots -------------------------------------------------------------------------------

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
        self.flush()

    def boot_failed(self, text: str) -> None:
        """The rollouts could not be built: say why where the rows would be."""
        self.query_one("#fleet-title", Static).update(f"{self.title_text}: could not start")
        # The error is outside text: a Text so that no markup in it is interpreted.
        self.query_one(FleetTable).border_subtitle = Text(text, style="bold red")

    def show(self, snapshot: Snapshot) -> None:
        """Note the rollout's new row; the table catches up at the next flush."""
        row = fleet_row(snapshot, self._sparks)
        self._rows[snapshot.rollout] = row
        self._ranked[snapshot.rollout] = (snapshot, row.severity)
        if snapshot.sources:
            self._polled.add(snapshot.rollout)
        self._dirty = True
        self._schedule()

    def _schedule(self) -> None:
        """Flush after this burst of messages: at once while there were fewer than
        FLUSHES_PER_S flushes in the last second, else FLUSH_S after the last one; at once
        when this burst completes the fleet's first full frame."""
        first_full = not self._all_shown and len(self._polled) >= len(self.store) > 0
        now = time.monotonic()
        if self._pending and not first_full and now - self._pending_since < LOST_FLUSH_S:
            return
        self._pending, self._pending_since = True, now
        busy = len(self._flushes) == FLUSHES_PER_S and now - self._flushes[0] < 1.0
        delay = self._flushes[-1] + FLUSH_S - now if self._flushes else 0.0
        if busy and not first_full and delay >= SHORTEST_TIMER_S:
            self.set_timer(delay, self.flush)
        else:
            self.call_after_refresh(self.flush)

    def flush(self) -> None:
        """Bring the table and the summary up to date (only changed lines are redrawn)."""
        self._pending = False
        if not self._dirty or not self.is_mounted:
            return
        self._dirty = False
        self._flushes.append(time.monotonic())
        snapshots = list(self.store)
        health = cluster_health(snapshots, self._rank)
        badges = self.badges()
        down = [h for h in health if h.down and len(health) > 1]
        shown = lines(self._rows.values(), self.view, down)
        table = self.query_one(FleetTable)
        table.show(shown, badges=badges, clusters=len(badges) > 1)
        total = max(len(self.store), len(snapshots))
        polled = sum(1 for s in snapshots if s.sources)
        if polled >= total > 0 and not self._all_shown:
            self._all_shown = True
            self.post_message(FleetShown())
        self.query_one(FleetSummary).show(
            total=total,
            polled=polled,
            summary=summary(snapshots, self._rank),
            clusters=health,
            badges=badges,
            view=self.view,
            shown=sum(1 for x in shown if x.kind == "row"),
            problem=self._problem,
        )
        self._refresh_keys()

    def _rank(self, snapshot: Snapshot) -> Severity:
        """The severity of `snapshot`, as its row found it when it is the snapshot shown (the
        summary and each cluster's health count all 300 rollouts at every flush)."""
        ranked = self._ranked.get(snapshot.rollout)
        return ranked[1] if ranked is not None and ranked[0] is snapshot else severity(snapshot)

    def badges(self) -> dict[str, str]:
        """Each cluster's badge colour: as configured (the store), else red for "prod"."""
        out = dict(self.store.badges)
        others = 0
        for name in sorted({s.context for s in self.store} - out.keys()):
            if "prod" in name.lower():
                out[name] = PROD_COLOR
            else:
                out[name] = COLORS[others % len(COLORS)]
                others += 1
        return out

    # --- the view (keys and the palette) ---------------------------------------------------------

    def set_view(self, view: FleetView) -> None:
        self.view = view
        self._dirty = True
        self.flush()

    def apply_filter(self, text: str) -> str | None:
        """Filter by `text` (a regex); returns what is wrong with it instead (nothing changes)."""
        try:
            view = self.view.with_filter(text)
        except FilterError as exc:
            self._problem = f"filter: {exc}"
            self._dirty = True
            self.flush()
            return self._problem
        self._problem = ""
        self.set_view(view)
        return None

    def apply_namespace(self, namespace: str | None) -> None:
        self.set_view(replace(self.view, namespace=namespace))

    def apply_cluster(self, cluster: str | None) -> None:
        self.set_view(replace(self.view, cluster=cluster))

    def apply_sort(self, key: SortKey, reverse: bool = False) -> None:
        self.set_view(replace(self.view, sort=key, reverse=reverse))

    def apply_group(self, group: Grouping) -> None:
        self.set_view(replace(self.view, group=group))

    def namespaces(self) -> list[str]:
        return sorted({s.namespace for s in self.store})

    def clusters(self) -> list[str]:
        return sorted({s.context for s in self.store if s.context})

    def action_filter(self) -> None:
        field = self.query_one(FleetFilter)
        self._editing_from = self.view
        field.value = self.view.filter
        field.add_class("shown")
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "fleet-filter" or self._editing_from is None:
            return
        bad = self.apply_filter(event.value)
        event.input.set_class(bad is not None, "-bad")
        event.input.border_subtitle = bad

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "fleet-filter":
            self._close_filter()

    def on_fleet_filter_cancelled(self, message: FleetFilter.Cancelled) -> None:
        if self._editing_from is not None:
            self._problem = ""
            self.set_view(self._editing_from)
        self._close_filter()

    def _close_filter(self) -> None:
        field = self.query_one(FleetFilter)
        self._editing_from = None
        if field.has_class("-bad"):  # leave the last good filter, and say nothing more
            self._problem = ""
            field.remove_class("-bad")
            field.border_subtitle = None
            self._dirty = True
        field.remove_class("shown")
        self.query_one(FleetTable).focus()
        self.flush()

    def action_clear(self) -> None:
        if self.view.filter or self.view.namespace or self.view.cluster:
            self.set_view(
                FleetView(sort=self.view.sort, reverse=self.view.reverse, group=self.view.group)
            )

    def action_sort(self) -> None:
        keys = [k for k in SORT_KEYS if k != "cluster" or len(self.clusters()) > 1]
        nxt = (
            keys[(keys.index(self.view.sort) + 1) % len(keys)]
            if self.view.sort in keys
            else keys[0]
        )
        self.apply_sort(nxt)

    def action_reverse(self) -> None:
        self.apply_sort(self.view.sort, not self.view.reverse)

    def action_group(self) -> None:
        self.apply_group(GROUPINGS[(GROUPINGS.index(self.view.group) + 1) % len(GROUPINGS)])

    # --- the rollout under the cursor ------------------------------------------------------------

    def target_rollout(self) -> str | None:
        """The rollout under the cursor."""
        return self.query_one(FleetTable).current_rollout()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Writing keys vanish in read-only mode and are dimmed when they do not apply to the
        rollout under the cursor."""
        if action == "open":
            return self.target_rollout() is not None
        return self.check_writing(action)

    def on_fleet_table_cursor_moved(self, message: FleetTable.CursorMoved) -> None:
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
