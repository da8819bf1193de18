"""Feature flags: key, state, default variant and value, targeting, and what enter would do.

Kill switches are marked; when the verdict is FAIL the subtitle says which one to turn off.
"""

from __future__ import annotations

import json

from rich.text import Text
from textual.events import Resize
from textual.message import Message
from textual.reactive import var
from textual.widgets import DataTable

import widgets.look as look
from monotui.model import Flag, Snapshot, VerdictResult
from widgets.text import key_text, literal, source_problem

COLUMNS = ("flag", "state", "variant", "enter", "targeting")
"""Narrow enough for half of a 120-column terminal: the default variant and its value share a
column, and `enter →` names only where a toggle goes (the state column says where it is now); the
column's key is "enter", its label has the look's arrow."""
MAX_CELL = 28
"""Longer variants end in …; the targeting gets what is left of the width. So the table never needs
a horizontal scrollbar."""


def column_label(column: str) -> str:
    """A column's heading: `enter →` says enter sets what the column shows."""
    return f"enter {look.current().arrow}" if column == "enter" else column


def flag_row(flag: Flag, *, kill_switch: bool, read_only: bool) -> tuple[Text, ...]:
    """The cells of one flag; every piece of outside text is literal."""
    key = Text(end="")
    if kill_switch:
        key.append("! ", style="bold red")
    key.append(key_text(flag.key), style="bold" if kill_switch else "")
    if flag.error:
        state = literal(f"ERROR {flag.error}", "bold red")
    elif flag.state.upper() == "ENABLED":
        state = literal(flag.state, "green")
    else:
        state = literal(flag.state, "dim")
    if read_only:
        enter = literal("read-only", "dim")
    elif flag.toggle is None:
        enter = literal("cannot", "dim")
    else:
        enter = literal(toggle_target(flag.toggle))
    # The targeting is cut to the room left when the table is filled (FlagsTable._room_for_last).
    return (key, state, _short(variant(flag)), enter, literal(flag.targeting, "dim"))


def variant(flag: Flag) -> str:
    """The default variant and what it serves: `on = true`, or `green` when they are the same."""
    value = None if flag.value is None else _json(flag.value)
    if flag.default_variant is None:
        return "—" if value is None else value
    if value is None or value == flag.default_variant:
        return flag.default_variant
    return f"{flag.default_variant} = {value}"


def toggle_target(toggle: str) -> str:
    """Where a toggle goes: `on -> off` is `off`; a text without an arrow stays whole."""
    _, arrow, after = toggle.rpartition(" -> ")
    return after if arrow else toggle


def _short(value: object, style: str = "") -> Text:
    text = literal(value, style)
    text.truncate(MAX_CELL, overflow="ellipsis")
    return text


def _first_of_each_key(flags: tuple[Flag, ...]) -> tuple[Flag, ...]:
    first: dict[str, Flag] = {}
    for flag in flags:
        first.setdefault(flag.key, flag)
    return tuple(first.values())


def _json(value: object) -> str:
    """A value as the flag file writes it (JSON), not as Python prints it: an object variant reads
    {"title": "Hi", "images": true}, never {'title': 'Hi', 'images': True}."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value or '""'  # an empty string variant must not read as nothing at all
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


class FlagsTable(DataTable[Text]):
    """The flags of one rollout; `enter` on a row asks to toggle it (the screen confirms first)."""

    DEFAULT_CSS = """
    FlagsTable {
        height: auto;
        max-height: 10;
        border: round $primary 50%;
    }
    FlagsTable:focus { border: round $accent; }
    """

    class ToggleRequested(Message):
        """The user pressed enter on a flag."""

        def __init__(self, flag_key: str) -> None:
            super().__init__()
            self.flag_key = flag_key

    snapshot: var[Snapshot | None] = var(None, always_update=True, init=False)
    """The rollout whose flags to list; set by the screen on every poll."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self._digest: object = object()

    def on_mount(self) -> None:
        for column in COLUMNS:
            self.add_column(column_label(column), key=column)
        self.border_title = "flags"
        self.watch_snapshot(self.snapshot)

    def watch_snapshot(self, snapshot: Snapshot | None) -> None:
        if not self.columns:
            return
        failing = snapshot is not None and snapshot.verdict.result == VerdictResult.FAIL
        problem = (
            source_problem(snapshot, "flags") if snapshot and snapshot.source("flags") else None
        )
        digest = (
            None
            if snapshot is None
            else (snapshot.flags, snapshot.kill_switches, snapshot.read_only),
            failing,
            problem,
        )
        if digest == self._digest:
            return
        self._digest = digest
        self._fill(snapshot, failing, problem)

    def _fill(self, snapshot: Snapshot | None, failing: bool, problem: Text | None) -> None:
        selected = self.selected_key
        self.clear()
        kill = set(snapshot.kill_switches) if snapshot else set()
        # One row per key: a source that lists a key twice (an OFREP answer, a flagd list) must
        # not take the table down; the source reports the duplicate as an error of its own.
        flags = _first_of_each_key(snapshot.flags) if snapshot else ()
        rows = [
            flag_row(
                flag, kill_switch=flag.key in kill, read_only=bool(snapshot and snapshot.read_only)
            )
            for flag in flags
        ]
        room = self._room_for_last(rows)
        for flag, row in zip(flags, rows, strict=True):
            last = row[-1].copy()
            last.truncate(room, overflow="ellipsis")
            self.add_row(*row[:-1], last, key=flag.key)
        if selected is not None and selected in {f.key for f in flags}:
            self.move_cursor(row=self.get_row_index(selected), animate=False)
        title = Text("flags", end="")
        if problem is not None:
            title.append("  ")
            title.append_text(problem)
        elif snapshot is not None and not flags:
            title.append(
                "  NO DATA" if snapshot.source("flags") else "  none configured", style="dim"
            )
        self.border_title = title
        self.border_subtitle = self._hint(snapshot, flags, kill) if failing else None

    def _room_for_last(self, rows: list[tuple[Text, ...]]) -> int:
        """The width left for the last column (targeting), so no horizontal scrollbar is needed."""
        padding = 2 * self.cell_padding
        used = sum(
            max([len(column_label(name)), *(row[i].cell_len for row in rows)]) + padding
            for i, name in enumerate(COLUMNS[:-1])
        )
        width = self.scrollable_content_region.width or self.size.width
        # -1: DataTable's virtual width is one cell wider than its columns.
        return max(len(COLUMNS[-1]), width - used - padding - 1)

    def on_resize(self, event: Resize) -> None:
        self._digest = object()  # refill: the targeting column's room changed
        self.watch_snapshot(self.snapshot)

    @staticmethod
    def _hint(snapshot: Snapshot | None, flags: tuple[Flag, ...], kill: set[str]) -> Text | None:
        """What the kill switches can still do, from their real values (a switch is on only
        when it serves true): turn the ones that are on off, or say they are off already."""
        switches = [f for f in flags if f.key in kill]
        on = [f.key for f in switches if f.is_on]
        if on:
            text = Text("turning off ", style="bold", end="")
            text.append(key_text(", ".join(on)), style="bold red")
            text.append(" may stop the errors", style="bold")
            return text
        if not switches:
            return None
        text = Text("kill switch ", style="bold", end="")
        text.append(key_text(", ".join(f.key for f in switches)), style="bold")
        text.append(" is off already: the errors come from elsewhere", style="bold")
        return text

    @property
    def selected_key(self) -> str | None:
        """The key of the flag under the cursor, or None when the table is empty."""
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return None if row_key.value is None else str(row_key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.ToggleRequested(str(event.row_key.value)))
