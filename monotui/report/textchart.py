"""The same charts as text, for `report --text`: a grid of characters, baseline `·`, canary
`o` (both at one cell: `@`), a column per stretch of time, NO DATA left blank."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from monotui.report.svg import Point

ROWS, COLUMNS = 8, 64
GLYPHS = {"baseline": "·", "canary": "o"}


def chart(
    title: str, series: Mapping[str, Sequence[Point]], *, unit: str, scale: float = 1.0
) -> str:
    """Lines of text (in a fenced block when put in Markdown)."""
    times = [t for points in series.values() for t, _ in points]
    if not times:
        return f"{title}: NO DATA"
    t0, t1 = min(times), max(times)
    span = (t1 - t0) or 1.0
    columns: dict[str, list[float | None]] = {}
    for name, points in series.items():
        sums = [0.0] * COLUMNS
        counts = [0] * COLUMNS
        for t, v in points:
            if v is None:
                continue
            c = min(COLUMNS - 1, int((t - t0) / span * COLUMNS))
            sums[c] += v * scale
            counts[c] += 1
        columns[name] = [s / n if n else None for s, n in zip(sums, counts, strict=True)]
    top = max((v for col in columns.values() for v in col if v is not None), default=0.0)
    top = top * 1.05 or 1.0
    grid = [[" "] * COLUMNS for _ in range(ROWS)]
    for name, col in columns.items():
        glyph = GLYPHS.get(name, "*")
        for c, v in enumerate(col):
            if v is None:
                continue
            r = ROWS - 1 - min(ROWS - 1, int(v / top * ROWS))
            grid[r][c] = "@" if grid[r][c] not in (" ", glyph) else glyph
    label_w = 10
    lines = [f"{title}   (· baseline, o canary, @ both)"]
    for r, row in enumerate(grid):
        value = top * (ROWS - r) / ROWS
        label = f"{value:.2f}{unit}" if r in (0, ROWS - 1) else ""
        lines.append(f"{label:>{label_w}} |{''.join(row)}")
    start = datetime.fromtimestamp(t0, UTC).strftime("%H:%M:%S")
    end = datetime.fromtimestamp(t1, UTC).strftime("%H:%M:%S")
    lines.append(f"{'':>{label_w}} +{'-' * COLUMNS}")
    lines.append(f"{'':>{label_w}}  {start}{end:>{COLUMNS - len(start)}}")
    return "\n".join(lines)
