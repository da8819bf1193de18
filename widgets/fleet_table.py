"""The fleet table: one line per rollout (or a group's title, or a whole cluster that is down),
drawn with the Line API so that only the lines whose content changed are redrawn (a line's
value is its digest: an idle fleet sends next to nothing over the link).

The columns fit the width: the rollout's name, weight, verdict, the canary's error rate and the
data's state always; the error-rate trend, phase, cluster, namespace, the weight trend and the
baseline's error rate as room allows. The verdict is a badge with its own background, so the
cursor (a neutral background) never hides a red FAIL. Outside text is shown literally.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from monotui.model import Phase, SourceState, VerdictResult
from monotui.model.fleet import FleetRow, Line, Severity
from widgets.text import clean


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    width: int
    priority: int  # lower: kept first when the terminal is narrow (0: always)


COLUMNS: tuple[Column, ...] = (
    Column("cluster", "cluster", 9, 1),
    Column("namespace", "namespace", 10, 4),
    Column("name", "rollout", 12, 0),
    Column("phase", "phase", 11, 3),
    Column("weight", "weight", 12, 0),
    Column("weight_spark", "w-trend", 8, 5),
    Column("verdict", "verdict", 9, 0),
    Column("canary_err", "canary 5xx", 10, 0),
    Column("error_spark", "5xx trend", 9, 2),
    Column("baseline_err", "base 5xx", 8, 6),
    Column("data", "data", 6, 0),
)
MAX_NAME = 28
VERDICT_BADGES = {
    VerdictResult.PASS: Style(color="green", bold=True),
    VerdictResult.MARGINAL: Style(color="black", bgcolor="yellow", bold=True),
    VerdictResult.FAIL: Style(color="bright_white", bgcolor="red", bold=True),
    VerdictResult.NODATA: Style(color="yellow"),
}
PHASES = {
    Phase.PROGRESSING: Style(color="green"),
    Phase.PAUSED: Style(color="yellow", bold=True),
    Phase.PROMOTED: Style(color="cyan"),
    Phase.ROLLED_BACK: Style(color="magenta"),
    Phase.FAILED: Style(color="red", bold=True),
}
DIM = Style(dim=True)


def layout(width: int, clusters: bool) -> list[tuple[Column, int]]:
    """The columns that fit `width`, with their widths (the name takes what is left)."""
    wanted = [c for c in COLUMNS if clusters or c.key != "cluster"]
    fixed = [c for c in wanted if c.priority == 0 and c.key != "name"]
    used = sum(c.width + 1 for c in fixed) + COLUMNS[2].width + 1
    chosen = {c.key for c in fixed} | {"name"}
    for c in sorted((c for c in wanted if c.priority), key=lambda c: c.priority):
        if used + c.width + 1 <= width:
            chosen.add(c.key)
            used += c.width + 1
    out = []
    spare = max(0, width - used)
    for c in wanted:
        if c.key not in chosen:
            continue
        w = c.width
        if c.key == "name":
            grow = min(spare, MAX_NAME - c.width)
            w, spare = w + grow, spare - grow
        elif c.key == "data":
            w += spare
        out.append((c, w))
    return out


def percent(value: float | None) -> str:
    return "NO DATA" if value is None else f"{100 * value:.2f}%"


def cells(row: FleetRow, badges: Mapping[str, str]) -> dict[str, tuple[str, Style]]:
    """Each column's text and style for `row` (text made literal)."""
    verdict = "NO DATA" if row.verdict == VerdictResult.NODATA else row.verdict.value
    if row.incident:
        verdict = "BOTH"
    badge = VERDICT_BADGES[row.verdict]
    if row.incident:
        badge = Style(color="black", bgcolor="bright_yellow", bold=True)
    problem = (
        Style(color="red", bold=True)
        if row.problem_state == SourceState.ERROR
        else Style(color="yellow")
    )
    color = badges.get(row.cluster)
    weight = "NO DATA" if row.canary_pct is None else f"{row.canary_pct} % canary"
    return {
        "cluster": (clean(row.cluster), Style(color=color, bold=True) if color else DIM),
        "namespace": (clean(row.namespace), DIM),
        "name": (clean(row.name), Style(bold=True)),
        "phase": (row.phase.value, PHASES.get(row.phase, DIM)),
        "weight": (weight, Style(color="yellow", bold=True) if row.canary_pct is None else Style()),
        "weight_spark": (row.weight_spark, Style(color="cyan")),
        "verdict": (f" {verdict} ", badge),
        "canary_err": (
            percent(row.canary_err),
            Style(color="yellow") if row.canary_err is None else Style(),
        ),
        "error_spark": (
            row.error_spark,
            Style(color="red") if row.severity == Severity.FAIL else Style(color="blue"),
        ),
        "baseline_err": (percent(row.baseline_err), DIM),
        "data": (clean(row.problem) or "ok", problem if row.problem else Style(color="green")),
    }


def _fit(text: str, width: int) -> str:
    return text[: width - 1] + "…" if len(text) > width else text.ljust(width)


class FleetTable(ScrollView, can_focus=True):
    """The fleet's lines; `enter` posts `RolloutChosen` for the rollout under the cursor."""

    DEFAULT_CSS = """
    FleetTable { height: 1fr; border: round $primary 50%; overflow-x: hidden; }
    FleetTable > .fleet-table--header { text-style: bold; background: $panel; }
    FleetTable > .fleet-table--cursor { background: $primary 45%; }
    FleetTable:focus > .fleet-table--cursor { background: $primary 60%; }
    FleetTable > .fleet-table--group { text-style: bold; background: $boost; }
    FleetTable > .fleet-table--down { color: $text-error; text-style: bold; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "fleet-table--header",
        "fleet-table--cursor",
        "fleet-table--group",
        "fleet-table--down",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "open", tooltip="open the rollout's cockpit", id="open"),
        Binding("up,k", "cursor(-1)", "up", show=False),
        Binding("down,j", "cursor(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "cursor_to(0)", "first", show=False),
        Binding("end", "cursor_to(-1)", "last", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class RolloutChosen(Message):
        """The user picked a rollout to open in the cockpit."""

        def __init__(self, rollout: str) -> None:
            super().__init__()
            self.rollout = rollout

    class CursorMoved(Message):
        """The cursor is on another line (the footer's keys follow it)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: list[Line] = []
        self._badges: dict[str, str] = {}
        self._clusters = False
        self._layout: list[tuple[Column, int]] = []
        self._layout_width = 0
        """The width `_layout` was worked out for."""
        self._strips: dict[tuple[FleetRow, Style | None, Style, int], Strip] = {}
        """Rows as drawn, by their content and look: regrouping or sorting back and forth, or a
        poll that changed nothing on a row, draws it from here."""
        self._drawn_with: object = None
        self._base: Style | None = None
        """The table's own style (`rich_style`, which walks every ancestor's styles: a fifth of
        a fleet's redraw when worked out per line), kept until the styles change."""
        self.redrawn = 0
        """Lines redrawn because they changed (for tests and the benchmarks)."""

    # --- what the screen calls -------------------------------------------------------------------

    @property
    def lines(self) -> Sequence[Line]:
        return self._lines

    def show(self, lines: Sequence[Line], *, badges: Mapping[str, str], clusters: bool) -> None:
        """Show `lines`, redrawing only those that changed (all of them when the order did)."""
        lines = list(lines)
        key = self.current_key()
        relayout = clusters != self._clusters or dict(badges) != self._badges
        self._badges, self._clusters = dict(badges), clusters
        old, self._lines = self._lines, lines
        if relayout or [x.key for x in old] != [x.key for x in lines]:
            self.virtual_size = Size(1, len(lines) + 1)
            self._layout = []
            self.move_to(key)
            self.refresh()
            self.redrawn += len(lines)
            return
        for i, (before, after) in enumerate(zip(old, lines, strict=True)):
            if before == after:
                continue
            self.redrawn += 1
            if before.row is None or after.row is None or not self._layout:
                self.refresh_line(i + 1)
                continue
            # Only the cells that changed: a new 5xx figure sends a few bytes, not the line.
            was, now = cells(before.row, self._badges), cells(after.row, self._badges)
            x = 0
            for column, w in self._layout:
                if was[column.key] != now[column.key]:
                    self._refresh_span(i + 1, x, w)
                x += w + 1

    def current_key(self) -> str | None:
        """The key of the line under the cursor."""
        return self._lines[self.cursor].key if 0 <= self.cursor < len(self._lines) else None

    def current_rollout(self) -> str | None:
        """The rollout under the cursor (None on a group's title or a cluster's line)."""
        if 0 <= self.cursor < len(self._lines) and self._lines[self.cursor].kind == "row":
            return self._lines[self.cursor].key
        return None

    def move_to(self, key: str | None) -> None:
        """Put the cursor on `key` (or the first rollout)."""
        index = next((i for i, x in enumerate(self._lines) if x.key == key), None)
        if index is None:
            index = next((i for i, x in enumerate(self._lines) if x.kind == "row"), 0)
        self.cursor = index

    # --- keys and mouse --------------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        self._move(self.cursor + step, step)

    def action_page(self, step: int) -> None:
        self._move(self.cursor + step * max(1, self.size.height - 2), step)

    def action_cursor_to(self, index: int) -> None:
        self._move(index if index >= 0 else len(self._lines) - 1, 1 if index >= 0 else -1)

    def action_choose(self) -> None:
        rollout = self.current_rollout()
        if rollout is not None:
            self.post_message(self.RolloutChosen(rollout))

    async def _on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y - 1
        if 0 <= index < len(self._lines) and event.y >= 1:
            if index == self.cursor and event.chain > 1:
                self.action_choose()
            self.cursor = index

    def _move(self, index: int, direction: int) -> None:
        if not self._lines:
            return
        index = max(0, min(len(self._lines) - 1, index))
        step = 1 if direction >= 0 else -1
        probe = index
        while 0 <= probe < len(self._lines) and self._lines[probe].kind != "row":
            probe += step
        if not 0 <= probe < len(self._lines):  # nothing selectable that way: stay near
            probe = index
        self.cursor = probe

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old + 1)
        self.refresh_line(new + 1)
        # Keep the cursor's line in view, below the header.
        height = max(1, self.size.height - 1)
        if new < self.scroll_y:
            self.scroll_to(y=new, animate=False)
        elif new >= self.scroll_y + height:
            self.scroll_to(y=new - height + 1, animate=False)
        self.post_message(self.CursorMoved())

    # --- drawing ---------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        self._base = None  # a theme or a class changed: the table's look is worked out again
        super().notify_style_update()

    @property
    def base_style(self) -> Style:
        """`rich_style`, worked out once per change of the styles."""
        if self._base is None:
            self._base = self.rich_style
        return self._base

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(1, len(self._lines) + 1)  # the columns follow in render_line

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        # The columns follow the width they are drawn at, not only `on_resize`: in tmux, a
        # header drawn at a new width with the old columns stayed after the terminal grew (the
        # rows, redrawn by the next poll, had the new ones).
        if not self._layout or width != self._layout_width:
            self._layout, self._layout_width = layout(width, self._clusters), width
            drawn_with = (tuple(self._layout), tuple(self._badges.items()))
            if drawn_with != self._drawn_with:  # other columns or colours: rows look different
                self._drawn_with = drawn_with
                self._strips.clear()
        if y == 0:
            return self._header(width)
        index = y - 1 + int(self.scroll_y)
        if index >= len(self._lines):
            return Strip.blank(width, self.base_style)
        line = self._lines[index]
        cursor = (
            self.get_component_rich_style("fleet-table--cursor") if index == self.cursor else None
        )
        if line.kind == "row" and line.row is not None:
            return self._row(line.row, width, cursor)
        style = self.get_component_rich_style(
            "fleet-table--group" if line.kind == "group" else "fleet-table--down"
        )
        mark = "▾ " if line.kind == "group" else "✖ "
        if cursor is not None:
            style = style + Style(bgcolor=cursor.bgcolor)
        return Strip([Segment(_fit(mark + clean(line.title), width), style)], width)

    def _header(self, width: int) -> Strip:
        style = self.get_component_rich_style("fleet-table--header")
        segments = []
        for column, w in self._layout:
            segments.append(Segment(_fit(column.title, w) + " ", style))
        return Strip(segments).adjust_cell_length(width, style)

    def _row(self, row: FleetRow, width: int, cursor: Style | None) -> Strip:
        key = (row, cursor, self.base_style, width)
        strip = self._strips.get(key)
        if strip is None:
            if len(self._strips) > 2 * len(self._lines) + 100:
                self._strips.clear()  # rows polled since: their old looks go
            strip = self._strips[key] = self._draw_row(row, width, cursor)
        return strip

    def _draw_row(self, row: FleetRow, width: int, cursor: Style | None) -> Strip:
        values = cells(row, self._badges)
        base = self.base_style
        if cursor is not None:
            base = base + Style(bgcolor=cursor.bgcolor, bold=cursor.bold)
        segments = []
        for column, w in self._layout:
            text, style = values[column.key]
            # Added last, a badge's own background wins over the cursor's: a FAIL stays red.
            segments.append(Segment(_fit(text, w), base + style))
            segments.append(Segment(" ", base))
        return Strip(segments).adjust_cell_length(width, base)

    def _refresh_span(self, y: int, x: int, width: int) -> None:
        visible = y - int(self.scroll_y)
        if 1 <= visible < self.size.height:
            self.refresh(Region(x, visible, width, 1))

    def refresh_line(self, y: int) -> None:
        """Redraw virtual line `y` (0 is the header, which does not scroll)."""
        if y <= 0:
            self.refresh(Region(0, 0, self.size.width, 1))
            return
        visible = y - int(self.scroll_y)
        if 1 <= visible < self.size.height:
            self.refresh(Region(0, visible, self.size.width, 1))
