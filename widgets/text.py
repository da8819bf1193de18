"""Helpers every panel uses: outside text made literal, numbers formatted, source states spelled out.

Outside text (flag keys, values, event text, error messages) is data: it is escaped here so neither
Rich markup nor terminal escape sequences in it can style or move the screen.
"""

from __future__ import annotations

from rich.text import Text

from monotui.model import Snapshot, SourceState, SourceStatus

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
del _CONTROL[0x09]  # a tab is harmless: Rich expands it


def clean(value: object) -> str:
    """`value` as a string whose control characters are shown as `\\xNN` instead of acting."""
    return str(value).translate(_CONTROL)


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
