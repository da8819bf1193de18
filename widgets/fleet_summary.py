"""The fleet's summary: how many rollouts need a look (`3 FAIL · 1 both failing · 2 paused · ...`),
each cluster's badge and health, and what the view shows (filter, namespace, cluster, sort,
grouping). Redrawn only when what it says changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.cells import cell_len
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from monotui.model.fleet import ClusterHealth, FleetView
from widgets.text import clean

DARK_TEXT_ABOVE = 0.35
"""The badge's luminance (0-1) above which its text is black instead of white."""


def badge_style(color: str) -> Style:
    """A cluster's badge: its colour as the background, k9s-style, with the text in black on a
    light colour (cyan, yellow, white, #ff8800) and white on a dark one (red, blue, magenta)."""
    rgb = Color.parse(color).get_truecolor()
    luminance = (0.2126 * rgb.red + 0.7152 * rgb.green + 0.0722 * rgb.blue) / 255
    return Style(
        color="black" if luminance > DARK_TEXT_ABOVE else "bright_white",
        bgcolor=color,
        bold=True,
    )


class FleetSummary(Static):
    """Two lines: the counts by severity, then the clusters and the view."""

    DEFAULT_CSS = """
    FleetSummary { height: auto; padding: 0 1; background: $panel; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._shown: object = None
        self._height: int | None = None

    def show(
        self,
        *,
        total: int,
        polled: int,
        summary: str,
        clusters: Sequence[ClusterHealth],
        badges: Mapping[str, str],
        view: FleetView,
        shown: int,
        problem: str = "",
    ) -> None:
        """Say it (nothing is sent when it says the same as before)."""
        room = self.content_region.width or self.size.width
        key = (
            total,
            polled,
            summary,
            tuple(clusters),
            tuple(badges.items()),
            view,
            shown,
            problem,
            room,
        )
        if key == self._shown:
            return
        self._shown = key
        text = Text(end="")
        count = f"{total} rollouts" if polled >= total else f"{total} rollouts (polled {polled})"
        text.append(count, style="bold")
        text.append(" · ")
        bad = summary.split(" · ", 1)
        text.append(bad[0], style="bold red" if not bad[0].startswith("0 ") else "green")
        if len(bad) > 1:
            text.append(" · " + bad[1])
        if len(badges) > 1 or any(c.down for c in clusters):
            text.append("\n")
            for health in clusters:
                color = badges.get(health.name, "blue")
                text.append(f" {clean(health.name)} ", style=badge_style(color))
                if health.down:
                    text.append(" ERROR", style="bold red")
                else:
                    text.append(f" {health.rollouts}")
                    if health.failing:
                        # FAIL and both failing, as the summary line counts them apart.
                        text.append(f" · {health.failing} failing", style="bold red")
                text.append("   ")
        text.append("\n")
        text.append(view_text(view, shown, total, room), style="dim")
        if problem:
            text.append("  ")
            text.append(clean(problem), style="bold red")
        self.update(text, layout=self._relayout(text, room))

    def _relayout(self, text: Text, room: int) -> bool:
        """Whether the screen must be laid out again for `text`: only when the summary's height
        may change (another number of lines, or a line that may wrap). A key that changes the
        view then repaints two lines instead of laying out and repainting the whole screen."""
        lines = text.plain.split("\n")
        fits = room > 0 and all(cell_len(line) <= room for line in lines)
        height = len(lines) if fits else None
        relayout = height is None or height != self._height
        self._height = height
        return relayout


KEY_HINTS = "/ filter · s sort · g group"


def view_text(view: FleetView, shown: int, total: int, width: int = 0) -> str:
    """What the view shows, in words: "showing 12 of 300 · filter /svc-00/ · sort severity",
    and the keys that change it when they fit in `width` (0: always; the footer has them too,
    and a line that wraps at 80 columns pushes the table down)."""
    parts = [f"showing {shown} of {total}"]
    if view.filter:
        parts.append(f"filter /{view.filter}/")
    if view.namespace:
        parts.append(f"ns {view.namespace}")
    if view.cluster:
        parts.append(f"ctx {view.cluster}")
    parts.append(f"sort {view.sort}{' ↑' if view.reverse else ''}")
    if view.group != "none":
        parts.append(f"group {view.group}")
    text = " · ".join(clean(p) for p in parts)
    hinted = f"{text} · {KEY_HINTS}"
    return hinted if not width or cell_len(hinted) <= width else text
