"""What the terminal shows, cell by cell, and the least output that brings it to Textual's frame.

Textual repaints a changed region by sending each of its rows from the left edge of the widget
to the end of the change: a new figure at the right of the fleet table resends the whole row,
four times when four columns changed, and a chart's new column resends every row of the chart up
to that column. Over ssh each of those bytes is on the link. `ScreenDiff` reads what Textual
writes (cursor moves, SGR styles, text), keeps what every cell of the terminal holds, and sends
only the cells that differ, each run after one cursor move, in the same styles.

Anything it does not model is passed through unchanged, in order, and a sequence that could
change cells it does not track (alternate screen, erase, scrolling, text at an unknown cursor)
makes it forget the screen: a cell it does not know is always sent. Forgetting is always safe;
knowing wrong would leave a stale cell on the screen.
"""

from __future__ import annotations

import re

from rich.cells import cell_len, get_character_cell_size

Cell = tuple[str, str, str]
"""(hyperlink sequence in force or "", SGR sequences in force or "", text: the character, or ""
for the right half of a double-width character)"""
TAIL = ""
"""The text of the right half of a double-width character."""

RESET = "\x1b[0m"
LINK_END = "\x1b]8;;\x1b\\"
SYNC_START = "\x1b[?2026h"
SYNC_END = "\x1b[?2026l"
MERGE_GAP = 4
"""Unchanged cells between two changed runs sent again rather than a new cursor move (which
costs 6 to 8 bytes)."""

_TOKEN = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC, ended by BEL or ST
    r"|\x1b[ -/]*[0-~]"  # other escapes (ESC 7, ESC =, ESC c ...)
    r"|[\x00-\x1f\x7f]"  # one control character
    r"|[^\x00-\x1f\x7f\x1b]+"  # text
)
_INCOMPLETE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[ -/]*)?\Z")
"""An escape sequence cut by the end of a write: kept for the next one."""
_SGR_PARAMS = re.compile(r"[0-9;:]*\Z")
_CUP_PARAMS = re.compile(r"(\d*)(?:;(\d*))?\Z")
_SCREEN_MODES = frozenset({"47", "1047", "1049"})
"""DEC private modes that switch screens: what the terminal shows is no longer known."""
_NO_CELLS = frozenset("hlnpqtu")
"""Final bytes of the private and query sequences Textual sends that change no cell (modes,
reports, the keyboard protocol, the cursor's shape, window operations)."""


class ScreenDiff:
    """A model of the terminal's cells and a filter of what is written to it: `feed(data)` returns
    what to send instead of `data` (the same picture, fewer bytes)."""

    def __init__(self, width: int = 0, height: int = 0) -> None:
        self.width, self.height = width, height
        """The terminal's size (0: unknown, nothing is checked against it)."""
        self._shown: dict[int, dict[int, Cell]] = {}
        """What the terminal holds, where known (a cell not in it is unknown)."""
        self._drawn: dict[int, dict[int, Cell]] = {}
        """What the current write draws, not yet compared with what is shown."""
        self._carry = ""
        self._sgr = ""
        self._link = ""
        self._x: int | None = None
        self._y: int | None = None
        """Where Textual's cursor is (None: unknown)."""
        self._terminal_cursor: tuple[int, int] | None = None
        """Where our output left the terminal's cursor (None: unknown)."""
        self._held_sync = False
        self._terminal_style = ("", "")
        """The hyperlink and SGR sequences in force on the terminal ("", "": none)."""
        self._newline = False
        """Textual wrote a line feed that was not sent: it moves the cursor down, and Textual
        always moves it explicitly before it writes again. Sent only if something else comes."""
        self._cursor_hidden = False
        self._placed: tuple[int, int] | None = None
        """Where Textual last asked its (hidden) cursor to be."""
        self._out: list[str] = []

    # --- what the driver calls -----------------------------------------------------------------

    def resize(self, width: int, height: int) -> None:
        """The terminal has this size; a new one means what it shows is no longer known."""
        if (width, height) != (self.width, self.height):
            self.width, self.height = width, height
            self.forget()

    def rows(self) -> list[str]:
        """What the terminal shows, row by row, where known (an unknown cell reads as a space):
        what a benchmark that plays a session's output on this model reads on its screen."""
        out = []
        for y in range(max(self._shown, default=-1) + 1):
            row = self._shown.get(y, {})
            out.append(
                "".join(row[x][2] if x in row else " " for x in range(max(row, default=-1) + 1))
            )
        return out

    def forget(self) -> None:
        """Forget what the terminal shows: every cell is sent again the next time it is drawn."""
        self._shown.clear()
        self._terminal_cursor = None

    def feed(self, data: str) -> str:
        """What to write to the terminal for Textual's `data`."""
        data, self._carry = self._carry + data, ""
        cut = _INCOMPLETE.search(data)
        if cut is not None:
            data, self._carry = data[: cut.start()], data[cut.start() :]
        self._out = []
        for match in _TOKEN.finditer(data):
            token = match.group()
            if token[0] == "\x1b":
                self._escape(token)
            elif len(token) == 1 and (token < " " or token == "\x7f"):
                self._control(token)
            else:
                self._text(token)
        self._flush()
        self._place_cursor()
        self._style(self._link, self._sgr)  # a write ends in Textual's style (the default)
        out, self._out = "".join(self._out), []
        return out

    # --- Textual's output, read -----------------------------------------------------------------

    def _escape(self, token: str) -> None:
        if token.startswith("\x1b]"):
            if token.startswith("\x1b]8;"):  # a hyperlink: part of the cells' style
                body = token[4:].removesuffix("\x07").removesuffix("\x1b\\")
                self._link = token if body.partition(";")[2] else ""
            else:
                self._pass(token)  # titles, colours, clipboard: no cells
            return
        if not token.startswith("\x1b["):
            # ESC = and ESC > (keypad modes) change no cell; ESC 7/8, ESC c and the rest might.
            self._pass(token, forget=token not in ("\x1b=", "\x1b>"))
            return
        params, final = token[2:-1], token[-1]
        private = params[:1] in ("?", ">", "<", "=")
        if final == "m" and not private and _SGR_PARAMS.match(params):
            self._sgr = "" if params in ("", "0") else self._sgr + token
        elif final in "Hf" and (found := _CUP_PARAMS.match(params)):
            self._newline = False
            self._y, self._x = int(found.group(1) or 1) - 1, int(found.group(2) or 1) - 1
        elif token == SYNC_START:
            self._flush()
            self._held_sync = True  # sent only if the frame sends something
        elif token == SYNC_END:
            self._flush()
            if self._held_sync:
                self._held_sync = False  # nothing was sent in between: nothing to sync
            else:
                self._out.append(token)
        elif params.startswith("?") and final in "hl":
            modes = set(params[1:].split(";"))
            if "25" in modes:
                self._cursor_hidden = final == "l"
            self._pass(token, forget=bool(modes & _SCREEN_MODES))
        elif (private or final in "nt" or token.endswith((" q", "$p"))) and final in _NO_CELLS:
            self._pass(token)
        else:
            self._pass(token, forget=True)  # may move the cursor or change cells

    def _control(self, char: str) -> None:
        if char == "\n" and not self._newline:
            self._flush()
            self._newline = True
        elif char == "\r" and not self._newline and self._y is not None:
            self._x = 0
        elif char == "\x07":
            self._pass(char)
        else:
            self._pass(char, forget=True)

    def _text(self, text: str) -> None:
        self._send_newline()
        x, y = self._x, self._y
        if x is None or y is None or (self.height and y >= self.height):
            self._pass(text, forget=True)
            return
        row = self._drawn.setdefault(y, {})
        width = len(text) if text.isascii() else cell_len(text)
        if row and not row.keys().isdisjoint(range(x, x + width)):
            # Over cells drawn earlier in this write: those go out first, in Textual's order.
            self._flush()
            row = self._drawn.setdefault(y, {})
        link, sgr = self._link, self._sgr
        if text.isascii():
            if self.width and x + len(text) > self.width:
                self._pass(text, forget=True)  # past the edge: it may wrap or scroll
                return
            for i, char in enumerate(text, x):
                row[i] = (link, sgr, char)
            self._x = x + len(text)
            return
        for i, char in enumerate(text):
            size = get_character_cell_size(char)
            if size == 0:
                if x - 1 not in row or row[x - 1][2] == TAIL:
                    self._x = x
                    self._pass(text[i:], forget=True)  # joins a cell it cannot see
                    return
                before = row[x - 1]
                row[x - 1] = (before[0], before[1], before[2] + char)
                continue
            if self.width and x + size > self.width:
                self._x = x
                self._pass(text[i:], forget=True)
                return
            row[x] = (link, sgr, char)
            if size == 2:
                row[x + 1] = (link, sgr, TAIL)
            x += size
        self._x = x

    def _pass(self, token: str, *, forget: bool = False) -> None:
        """Send `token` as it is, after what was drawn before it. One that may draw or move the
        cursor (`forget`) goes where Textual's own output would have put it: the terminal's
        cursor is brought to Textual's first (the cells skipped left it elsewhere)."""
        self._send_newline()
        self._flush()
        self._release_sync()
        if forget and self._x is not None and self._y is not None:
            self._cursor_to(self._y, self._x)
        self._style(self._link, self._sgr)  # what Textual's own output had in force here
        self._out.append(token)
        if forget:
            self.forget()
            self._x = self._y = None

    def _cursor_to(self, y: int, x: int) -> None:
        """Bring the terminal's cursor to (y, x). Past the last column is where a terminal leaves
        it after writing there (the next character wraps): only writing that cell again gets it
        there, a cursor move stops at the edge."""
        if self._terminal_cursor == (y, x):
            return
        if self.width and x >= self.width:
            row = self._shown.get(y, {})
            last = self.width - 1
            if last in row and row[last][2] == TAIL:
                last -= 1
            if last in row:
                cell = row[last]
                self._out.append(f"\x1b[{y + 1};{last + 1}H")
                self._style(cell[0], cell[1])
                self._out.append(cell[2])
                self._terminal_cursor = (y, self.width)
                return
        self._out.append(f"\x1b[{y + 1};{x + 1}H")
        self._terminal_cursor = (y, min(x, self.width - 1) if self.width else x)

    def _send_newline(self) -> None:
        """A line feed held back, sent after all: something other than a cursor move follows."""
        if self._newline:
            self._newline = False
            self._pass("\n", forget=True)

    # --- the terminal's output, written ---------------------------------------------------------

    def _style(self, link: str, sgr: str) -> None:
        """Put the terminal in this style (hyperlink and SGR), if it is not in it already: runs
        of cells in the same style, in one frame, share one SGR sequence."""
        if (link, sgr) == self._terminal_style:
            return
        shown_link, shown_sgr = self._terminal_style
        if shown_sgr:
            self._out.append(RESET)
        if shown_link and shown_link != link:
            self._out.append(LINK_END)
        if link and link != shown_link:
            self._out.append(link)
        self._out.append(sgr)
        self._terminal_style = (link, sgr)

    def _release_sync(self) -> None:
        if self._held_sync:
            self._out.append(SYNC_START)
            self._held_sync = False

    def _flush(self) -> None:
        """Send the cells drawn so far that differ from what the terminal shows."""
        rows, self._drawn = self._drawn, {}
        for y in sorted(rows):
            drawn = rows[y]
            shown = self._shown.setdefault(y, {})
            changed = sorted(x for x, cell in drawn.items() if shown.get(x) != cell)
            if not changed:
                continue
            for start, end in self._runs(changed, drawn):
                self._send(y, start, end, drawn)
            for x in sorted(drawn):
                self._overwrite(shown, drawn, x)

    @staticmethod
    def _runs(changed: list[int], drawn: dict[int, Cell]) -> list[tuple[int, int]]:
        """Runs [start, end) that cover the changed cells, joined over short gaps of cells drawn
        unchanged, and widened to whole double-width characters drawn. Every cell sent is one
        Textual wrote, in its order: a double-width character on the screen that a changed cell
        cuts in half breaks on the terminal exactly as it would have without the diff."""

        def tail(x: int) -> bool:
            return x in drawn and drawn[x][2] == TAIL

        runs: list[list[int]] = []
        for x in changed:
            last = runs[-1] if runs else None
            if last and x - last[1] <= MERGE_GAP and all(g in drawn for g in range(last[1], x)):
                last[1] = x + 1
            else:
                runs.append([x, x + 1])
        merged: list[tuple[int, int]] = []
        for start, end in runs:
            while tail(start) and start - 1 in drawn:
                start -= 1
            while tail(end):
                end += 1
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    def _send(self, y: int, start: int, end: int, drawn: dict[int, Cell]) -> None:
        self._release_sync()
        out = self._out
        if self._terminal_cursor != (y, start):
            out.append(f"\x1b[{y + 1};{start + 1}H")
        for x in range(start, end):
            cell = drawn[x]
            if cell[2] == TAIL:
                continue  # drawn by the character on its left
            self._style(cell[0], cell[1])
            out.append(cell[2])
        self._terminal_cursor = (y, end)  # at the width: past the edge, the next one wraps

    @staticmethod
    def _overwrite(shown: dict[int, Cell], drawn: dict[int, Cell], x: int) -> None:
        """The terminal's cell `x` holds what was drawn; a double-width character shown there
        and cut in half by it is gone (terminals blank its other half)."""
        before, cell = shown.get(x), drawn[x]
        if before is not None and before != cell:
            if before[2] == TAIL and cell[2] != TAIL and x - 1 not in drawn:
                shown.pop(x - 1, None)
            wide = get_character_cell_size(before[2][:1] or " ") == 2
            if wide and x + 1 not in drawn and x + 1 in shown and shown[x + 1][2] == TAIL:
                shown.pop(x + 1, None)
        shown[x] = cell

    def _place_cursor(self) -> None:
        """Leave the terminal's cursor where Textual left its own. A hidden one is moved only when
        Textual moves it (an input took the focus), not after every change drawn elsewhere: it
        shows nothing, and the move would be bytes on the link each frame."""
        if self._x is None or self._y is None or self._newline:
            return
        wanted = (self._y, self._x)
        if self._terminal_cursor == wanted or self._cursor_hidden and self._placed == wanted:
            return
        self._release_sync()
        self._cursor_to(*wanted)
        self._placed = wanted
