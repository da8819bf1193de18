"""The fleet's sparklines: the canary's error rate per metrics window and its route weight at
the end of each window, as block characters; NO DATA is a gap, never a zero.

The windows are aligned on absolute time, so from one poll to the next only the newest window
takes a new sample: `SparkMemo` keeps each window's value and pools again only the windows whose
samples changed (one in eight at steady state, instead of every window of every rollout at
every poll).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from operator import attrgetter

from monotui.model.samples import Sample, pooled
from monotui.model.snapshot import Snapshot

SPARK = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 8

_time = attrgetter("t")
_Window = tuple[Sample, Sample, int, float | None]
"""A window's first and last sample, how many it holds, and its pooled value."""


def spark(values: Sequence[float | None], top: float) -> str:
    """Block characters of `values` scaled to `top` (a full block at or above it); a gap for
    None (NO DATA is never drawn as zero)."""
    out = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(" ")
            continue
        share = 0.0 if top <= 0 else min(1.0, max(0.0, v / top))
        out.append(SPARK[min(len(SPARK) - 1, int(share * (len(SPARK) - 1) + 0.5))])
    return "".join(out)


def columns(s: Snapshot, width: int) -> list[list[Sample]]:
    """The last `width` metrics windows, aligned on absolute time so a column keeps its
    samples as time goes by (only the newest one fills up); each column newest first. Found by
    bisection (the samples are in time order): a rollout's history holds hundreds."""
    if not s.samples or s.window_s <= 0:
        return [[] for _ in range(width)]
    samples, size = s.samples, s.window_s

    def window(i: int) -> int:
        return int(samples[i].t // size)

    newest = window(len(samples) - 1)
    end = len(samples)
    cols: list[list[Sample]] = [[] for _ in range(width)]
    for k in range(width - 1, -1, -1):
        first = newest - (width - 1 - k)
        begin = bisect_left(samples, first * size, hi=end, key=_time)
        # Where t // size says the window starts (the product above may round either way).
        while begin > 0 and window(begin - 1) >= first:
            begin -= 1
        while begin < end and window(begin) < first:
            begin += 1
        cols[k] = list(samples[begin:end][::-1])
        end = begin
    return cols


class SparkMemo:
    """Each rollout's error rate per window, as last pooled. A window is pooled again when its
    first or last sample is another object or it holds another number of them (samples are
    frozen and a rollout's series only grows at its end, or is read anew); the windows that
    scrolled out are forgotten. For one screen's thread."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, int, bool], dict[int, _Window]] = {}

    def error_values(self, s: Snapshot, i: int, ratio: bool, width: int) -> list[float | None]:
        """The canary's metric `i` pooled over each of the last `width` windows of `s`."""
        key = (s.rollout, i, ratio)
        before = self._windows.get(key, {})
        kept: dict[int, _Window] = {}
        values: list[float | None] = []
        newest = int(s.samples[-1].t // s.window_s) if s.samples and s.window_s > 0 else 0
        for k, col in enumerate(columns(s, width)):
            if not col:
                values.append(None)
                continue
            window = newest - (width - 1 - k)
            was = before.get(window)
            if was is not None and was[0] is col[0] and was[1] is col[-1] and was[2] == len(col):
                value = was[3]
            else:
                value = pooled(col, i, ratio=ratio, canary=True)
            kept[window] = (col[0], col[-1], len(col), value)
            values.append(value)
        self._windows[key] = kept
        return values


def error_spark(s: Snapshot, width: int = SPARK_WIDTH, memo: SparkMemo | None = None) -> str:
    """The canary's error rate per metrics window; full scale at its limit (or its peak).
    `memo`: reuse the windows pooled at the previous poll of the same rollout."""
    found = s.metric("error_rate")
    if found is None:
        return " " * width
    i, spec = found
    if memo is not None:
        values = memo.error_values(s, i, spec.ratio, width)
    else:
        values = [
            pooled(c, i, ratio=spec.ratio, canary=True) if c else None for c in columns(s, width)
        ]
    peak = max((v for v in values if v is not None), default=0.0)
    return spark(values, max(spec.limit or 0.0, peak))


def weight_spark(s: Snapshot, width: int = SPARK_WIDTH) -> str:
    """The canary's route weight at the end of each metrics window (0..100); a gap before
    monotui first saw the route."""
    if s.weights is None or s.window_s <= 0:
        return " " * width
    end = (int(s.t // s.window_s) + 1) * s.window_s
    values: list[float | None] = []
    for k in range(width):
        at = end - (width - 1 - k) * s.window_s
        seen = [w.canary for t, w in s.weight_changes if t <= at]
        values.append(float(seen[-1]) if seen else None)
    values[-1] = float(s.weights.canary)
    return spark(values, 100.0)
