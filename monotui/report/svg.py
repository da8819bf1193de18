"""A small line chart as SVG, written by hand (no dependency): two series (baseline, canary)
over time as polylines, a dashed limit, marks at the times that matter (detection, mitigation),
axes with a few ticks. A gap in a series (NO DATA) breaks its line; it is never drawn as zero."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 36
COLORS = {"baseline": "#7c5cff", "canary": "#ff8c1a", "limit": "#d73a49", "mark": "#555555"}

Point = tuple[float, float | None]


@dataclass(frozen=True, slots=True)
class Mark:
    """A vertical line at `t` with a label."""

    t: float
    label: str


def chart(
    title: str,
    series: Mapping[str, Sequence[Point]],
    *,
    unit: str,
    scale: float = 1.0,
    limit: float | None = None,
    marks: Sequence[Mark] = (),
) -> str:
    """The SVG document. `series` maps a name (baseline, canary) to (time, value) points;
    values are shown times `scale` in `unit`."""
    times = [t for points in series.values() for t, _ in points]
    values = [v * scale for points in series.values() for _, v in points if v is not None]
    if limit is not None:
        values.append(limit * scale)
    t0, t1 = (min(times), max(times)) if times else (0.0, 1.0)
    t1 = t1 if t1 > t0 else t0 + 1
    top = max(values, default=1.0) * 1.1 or 1.0

    def x(t: float) -> float:
        return LEFT + (t - t0) / (t1 - t0) * (WIDTH - LEFT - RIGHT)

    def y(v: float) -> float:
        return HEIGHT - BOTTOM - v / top * (HEIGHT - TOP - BOTTOM)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
        _axes(x, y, t0, t1, top, unit),
    ]
    if limit is not None:
        ly = y(limit * scale)
        out.append(
            f'<line x1="{LEFT}" y1="{ly:.1f}" x2="{WIDTH - RIGHT}" y2="{ly:.1f}" '
            f'stroke="{COLORS["limit"]}" stroke-dasharray="4 3"/>'
        )
    for i, mark in enumerate(marks):
        mx = x(mark.t)
        label_y = TOP + 10 + 12 * i  # one row per mark: close marks' labels never overlap
        out.append(
            f'<line x1="{mx:.1f}" y1="{TOP}" x2="{mx:.1f}" y2="{HEIGHT - BOTTOM}" '
            f'stroke="{COLORS["mark"]}" stroke-dasharray="2 2"/>'
            f'<text x="{mx + 3:.1f}" y="{label_y}" fill="{COLORS["mark"]}">'
            f"{escape(mark.label)}</text>"
        )
    for name, points in series.items():
        color = COLORS.get(name, "#333333")
        for run in _runs(points):
            coords = " ".join(f"{x(t):.1f},{y(v * scale):.1f}" for t, v in run)
            out.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{coords}"/>'
            )
    for i, name in enumerate(series):
        lx = WIDTH - RIGHT - 150 + i * 75
        out.append(
            f'<rect x="{lx}" y="8" width="10" height="10" fill="{COLORS.get(name, "#333")}"/>'
            f'<text x="{lx + 14}" y="17">{escape(name)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _axes(
    fx: Callable[[float], float],
    fy: Callable[[float], float],
    t0: float,
    t1: float,
    top: float,
    unit: str,
) -> str:
    parts = [
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" '
        'stroke="#999"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#999"/>',
    ]
    for k in range(5):
        v = top * k / 4
        yy = fy(v)
        parts.append(
            f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">{_num(v)}{escape(unit)}'
            "</text>"
        )
    for k in range(5):
        t = t0 + (t1 - t0) * k / 4
        xx = fx(t)
        label = datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")
        anchor = "start" if k == 0 else "end" if k == 4 else "middle"  # the edges stay inside
        parts.append(
            f'<text x="{xx:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="{anchor}">{label}</text>'
        )
    return "\n".join(parts)


def _runs(points: Sequence[Point]) -> list[list[tuple[float, float]]]:
    """The points split at every gap (None)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for t, v in points:
        if v is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((t, v))
    return [r for r in runs if len(r) > 0]


def _num(v: float) -> str:
    return f"{v:.0f}" if v >= 10 else f"{v:.2f}".rstrip("0").rstrip(".") or "0"
