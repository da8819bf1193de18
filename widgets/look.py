"""How the widgets draw on this terminal: the glyphs (Unicode, or ASCII for a Linux console, a
vt100 or a locale without them) and the colours (on a 16-colour terminal orange becomes the red
of FAIL, so the canary is magenta there and the baseline cyan).

Chosen once at start by the app (`use`), read by every widget when it draws (`current`). The
`AsciiFilter` is the net under the ASCII look: whatever a widget of Textual's own or plotext draws
beyond ASCII (box lines, scrollbar blocks, an ellipsis) becomes ASCII of the same width.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from rich.cells import cell_len
from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter
from textual.theme import BUILTIN_THEMES, Theme


@dataclass(frozen=True, slots=True)
class Look:
    """The glyphs and colours of every widget. Colours are Rich colour names; `*_plot` are
    plotext's names for the same colour."""

    ascii: bool = False
    colors16: bool = False
    baseline: str = "blue"
    canary: str = "dark_orange"
    baseline_plot: str = "blue+"
    canary_plot: str = "orange"
    arrow: str = "→"
    then: str = " → "
    """Between the steps of a plan."""
    dash: str = "—"
    ellipsis: str = "…"
    line: str = "━"
    """A line in a chart's legend."""
    bar_full: str = "█"
    bar_eighths: str = " ▏▎▍▌▋▊▉"
    """Partial cells of a bar, by eighths ("" draws whole cells only)."""
    bar_empty: str = "·"
    done: str = "▰"
    """A cell of the hold timer that has passed."""
    left: str = "▱"
    spark: str = "▁▂▃▄▅▆▇█"
    """A sparkline's eight heights."""
    baseline_marker: str = "braille"
    canary_marker: str = "braille"
    """plotext markers: "braille" or one character."""


UNICODE = Look()
ASCII_GLYPHS = {
    "ascii": True,
    "arrow": "->",
    "then": "->",
    "dash": "-",
    "ellipsis": "...",
    "line": "-",
    "bar_full": "#",
    "bar_eighths": "",
    "bar_empty": ".",
    "done": "#",
    "left": "-",
    "spark": "_.,-=+*#",
    "baseline_marker": "+",
    "canary_marker": "o",
}
COLORS16 = {
    "colors16": True,
    "baseline": "cyan",
    "canary": "magenta",
    "baseline_plot": "cyan",
    "canary_plot": "magenta",
}
"""Red stays FAIL's, yellow MARGINAL's and green PASS's; cyan and magenta are left."""


def look_for(*, ascii: bool = False, colors16: bool = False) -> Look:
    """The look for a terminal that can (not) draw beyond ASCII and has (not) only 16 colours."""
    changes: dict[str, object] = {}
    if ascii:
        changes.update(ASCII_GLYPHS)
    if colors16:
        changes.update(COLORS16)
    return replace(UNICODE, **changes)  # type: ignore[arg-type]


def theme16() -> Theme:
    """Textual's theme of the terminal's own 16 colours (RGB bent to the nearest of them turns
    orange red), with the footer's keys in the blue of the borders: magenta is the canary's."""
    base = BUILTIN_THEMES["ansi-dark"]
    variables = {**base.variables, "footer-key-foreground": "ansi_blue"}
    return replace(base, name="monotui-16", variables=variables)


PLOT_THEME16: Literal["clear"] = "clear"
"""plotext's theme on 16 colours: the terminal's own background and text (Textual's ANSI colours
have no RGB, and read as black they hide the axes on the black canvas)."""


_current = UNICODE


def use(look: Look) -> Look:
    """Draw with `look` from now on; returns the look it replaces."""
    global _current
    before, _current = _current, look
    return before


def current() -> Look:
    """The look chosen at start."""
    return _current


_SINGLE = {
    "▰": "#",
    "▱": "-",
    "·": ".",
    "•": "o",
    "…": ".",
    "—": "-",
    "–": "-",
    "×": "x",
    "∞": "~",
    "→": ">",
    "←": "<",
    "↑": "^",
    "↓": "v",
    "⏎": "<",
    "⌫": "<",
    "🔎": ">",  # the command palette's search icon
    "▀": "-",  # thick borders (dialogs, the help screen)
    "▄": "-",
    "▌": "|",
    "▐": "|",
}


def _ascii_char(char: str) -> str:
    """One character as ASCII of the same width."""
    if char.isascii():
        return char
    width = max(cell_len(char), 1)
    if char in _SINGLE:
        return _SINGLE[char].ljust(width)
    code = ord(char)
    if 0x2800 <= code <= 0x28FF:  # braille: a dot, unless blank
        return " " if code == 0x2800 else "."
    if 0x2500 <= code <= 0x257F:  # box drawing
        name = unicodedata.name(char, "")
        if " AND " in name:  # corners, tees, crosses: an axis keeps its ticks
            return "+"
        return "-" if "HORIZONTAL" in name else "|" if "VERTICAL" in name else "+"
    if 0x2581 <= code <= 0x2583:  # low blocks: a scrollbar's or a sparkline's bottom
        return "_"
    if 0x2580 <= code <= 0x259F:  # other blocks and shades
        return "#"
    if unicodedata.category(char).startswith("Z"):
        return " " * width
    return "?" * width


@lru_cache(maxsize=4096)
def to_ascii(text: str) -> str:
    """`text` in ASCII, each character replaced by ASCII of the same width."""
    if text.isascii():
        return text
    return "".join(_ascii_char(c) for c in text)


class AsciiFilter(LineFilter):
    """Every line drawn made ASCII, cell for cell: for terminals that cannot draw more."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [
            segment if segment.control else Segment(to_ascii(segment.text), segment.style)
            for segment in segments
        ]
