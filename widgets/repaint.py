"""Repaint only what changed: the cells of a text that differ from what is on the screen.

Textual sends every row of a refreshed widget, whole, with each span's colours spelled out; over
ssh an idle cockpit's bytes are those rows. A widget that keeps the lines it showed hands the
new ones to `changed_regions` and refreshes only the returned regions (a hold timer's digits, a
legend's value), or everything when the shape changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.geometry import Region


def _styles(line: Text) -> list[tuple[str | Style, ...]]:
    """The spans' styles over each character of `line` (its own style is the same throughout)."""
    styles: list[tuple[str | Style, ...]] = [()] * len(line.plain)
    for span in line.spans:
        for i in range(max(span.start, 0), min(span.end, len(styles))):
            styles[i] = (*styles[i], span.style)
    return styles


def changed_cells(before: Text, after: Text) -> tuple[int, int] | None:
    """The cells [start, end) of the row that differ between `before` and `after`, compared cell
    by cell where they stand on the screen (None: the same row). A row that changed length
    repaints from its first difference to the end of the longer one: the cells past the end of
    the shorter one must be cleared."""
    if before.plain == after.plain and before.spans == after.spans and before.style == after.style:
        return None
    a, b = before.plain, after.plain
    if before.style != after.style:
        return 0, max(cell_len(a), cell_len(b), 1)
    sa, sb = _styles(before), _styles(after)
    first = 0
    most = min(len(a), len(b))
    while first < most and a[first] == b[first] and sa[first] == sb[first]:
        first += 1
    start = cell_len(b[:first])  # the same characters before it: the same cells
    if len(a) != len(b) or cell_len(a) != len(a) or cell_len(b) != len(b):
        return start, max(cell_len(a), cell_len(b), start + 1)
    last = len(b)  # one cell a character, the same length: compare from the end in place
    while last > first and a[last - 1] == b[last - 1] and sa[last - 1] == sb[last - 1]:
        last -= 1
    return start, max(last, start + 1)


def changed_regions(
    before: Sequence[Text] | None, after: Sequence[Text], width: int
) -> list[Region] | None:
    """The regions of the rows in `after` that differ from `before`, one per changed row; None
    when everything must be repainted (nothing shown yet, or a different number of rows)."""
    if before is None or len(before) != len(after):
        return None
    regions = []
    for y, (old, new) in enumerate(zip(before, after, strict=True)):
        cells = changed_cells(old, new)
        if cells is not None:
            start, end = cells
            # Textual pads a row to the widget's width with the background: a shorter line
            # repaints to where the old one ended; the end is clipped to the widget.
            regions.append(Region(start, y, max(1, min(end, width) - start), 1))
    return regions
