"""Helpers every panel uses: outside text made literal, numbers formatted, source states spelled out.

Outside text (flag keys, values, event text, error messages) is data: it passes through the one
sanitiser (`monotui.outside_text.literal`) so neither Rich markup nor escape sequences, bidi
overrides or zero-width characters in it can style, move, reorder or hide what the screen shows.
"""

from __future__ import annotations

from rich.text import Text

from monotui.model import Snapshot, SourceState, SourceStatus
from monotui.outside_text import literal as _literal

MAX_TEXT = 2000
"""The longest piece of outside text a widget shows; longer ends in …"""


def clean(value: object, *, max_len: int = MAX_TEXT, spell_breaks: bool = False) -> str:
    """`value` as one terminal-safe line: controls, bidi and zero-width characters spelled out
    (`\\x1b`, `\\u202e`), line breaks as one space (`spell_breaks`: as `\\n`, for names)."""
    return _literal(value, max_len=max_len, spell_breaks=spell_breaks)


def key_text(value: object, *, max_len: int = 200) -> str:
    """A name from outside (a flag key, a rollout): like `clean`, with line breaks spelled out,
    so "a\\nb" never reads as "a b"."""
    return clean(value, max_len=max_len, spell_breaks=True)


def literal(value: object, style: str = "") -> Text:
    """A Rich Text that shows `value` exactly as it is: no markup, no escape sequences."""
    return Text(clean(value), style=style, end="")


def pct(value: float | None, digits: int = 2) -> str:
    """A fraction 0..1 as a percentage; None is NO DATA, never 0."""
    return "NO DATA" if value is None else f"{100 * value:.{digits}f} %"


def age(seconds: float | None) -> str:
    """A short age: 5s, 3m, 2h."""
    if seconds is None:
        return "never"
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def source_problem(snapshot: Snapshot | None, *names: str) -> Text | None:
    """NO DATA / STALE (age) / ERROR (why) for the first listed source that is not OK, else None.

    A source the controller has not heard from yet (no status) is NO DATA.
    """
    if snapshot is None:
        return Text("NO DATA", style="bold yellow")
    for name in names:
        status = snapshot.source(name)
        if status is None:
            return Text(f"NO DATA ({name})", style="bold yellow")
        if status.state != SourceState.OK:
            return state_text(status)
    return None


def state_text(status: SourceStatus) -> Text:
    """One source's state as a badge; the message is literal."""
    if status.state == SourceState.STALE:
        text = Text(f"STALE ({age(status.age_s)})", style="bold yellow")
    elif status.state == SourceState.ERROR:
        text = Text("ERROR", style="bold red")
    else:
        return Text("OK", style="green")
    if status.message:
        text.append(f" {status.name}: ", style="dim")
        text.append(clean(status.message))
    return text
