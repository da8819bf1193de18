"""Which samples the judge compares, read into numpy columns: the part of judging that touches every
sample, so the part that must be fast (bench/judge_bench.py: 100 rollouts x 600 samples judged
within 50 ms; with a Python loop and a has-data call per sample the judge took ~80 ms). Pure; numpy
is imported where it is used, never at import.

The columns: one per sample, oldest first, rows T..RATE below, NaN where a sample said None or NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from monotui.model import Sample

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]
    Indices = npt.NDArray[np.intp]

T = 0
"""Row of the time. Metric i's baseline values are row `row_of(i)`, its canary's the next one;
the canary request rate is the last row (`rate_row(n)`)."""


def row_of(metric: int) -> int:
    """The baseline row of metric `metric` (its canary row is the next)."""
    return 1 + 2 * metric


def rate_row(n_metrics: int) -> int:
    """The row of the canary's request rate, after the metrics' rows."""
    return 1 + 2 * n_metrics


def independent(
    samples: Sequence[Sample], window_s: float, count: int, n_metrics: int = 2
) -> list[Sample]:
    """The newest `count` samples with data whose rate windows do not overlap, oldest first.

    A sample is a rate over the last `window_s` seconds; polled every 5 s with a 1 m window, six
    neighbours share most of their requests. The U test assumes independent values: fed overlapping
    windows, one unlucky minute looks like six agreeing samples and a healthy canary fails. Samples
    without any error-rate or latency value are skipped, so a gap costs one poll, not a window.
    """
    start, _, picked = independent_columns(samples, window_s, count, n_metrics)
    return [samples[start + i] for i in picked.tolist()]


def _read(samples: Sequence[Sample], n_metrics: int) -> Floats:
    """The samples as columns of one array (rows: T, each metric's baseline and canary values,
    the canary request rate); NaN is NO DATA, None or NaN alike.

    Attribute reads in comprehensions are the cheapest way to get at the fields of 600 slotted
    dataclasses, and dtype=float turns None into NaN, so one test (x == x) finds every gap.
    """
    import numpy as np

    rows: list[list[float | None]] = [[s.t for s in samples]]
    for i in range(n_metrics):
        rows.append([s.baseline.value(i) for s in samples])
        rows.append([s.canary.value(i) for s in samples])
    rows.append([s.request_rate.canary for s in samples])
    return np.array(rows, dtype=float)


def independent_columns(
    samples: Sequence[Sample], window_s: float, count: int, n_metrics: int = 2
) -> tuple[int, Floats, Indices]:
    """The newest stretch of `samples` read into columns (rows T..RATE), as (its start in
    `samples`, the columns, the indices in them that `independent` picks, oldest first).

    The walk starts at the newest sample and only looks back, so a tail in which it picks `count`
    samples yields the picks of the whole series: read a tail long enough for `count` windows at
    the recent poll interval, and a four times longer one when gaps made it fall short. With 5 s
    polls and a 60 s window, 10 picks read ~180 of the 1800 samples the controller keeps.
    """
    spacing = window_s * 0.99  # polls drift by milliseconds; a window apart is a window apart
    size = _tail_guess(samples, window_s, count)
    while True:
        start = max(0, len(samples) - size)
        columns = _read(samples[start:], n_metrics)
        picked = _pick(columns, spacing, count, n_metrics)
        if len(picked) >= count or start == 0:
            return start, columns, picked
        size *= 4


def _tail_guess(samples: Sequence[Sample], window_s: float, count: int) -> int:
    """How many of the newest samples likely hold `count` picks, with a quarter more for gaps. Only a
    first guess: a short one costs a second read, never a different pick."""
    k = min(len(samples), 17)
    gap = (samples[-1].t - samples[-k].t) / (k - 1) if k > 1 else math.nan
    polls = window_s / gap if gap > 0 else 1.0  # samples per window; NaN, inf and 0 gaps guess 1
    guess = 1.25 * max(count, 0) * (polls + 1) + 16
    return int(max(16.0, guess)) if guess < len(samples) else len(samples)


def _pick(columns: Floats, spacing: float, count: int, n_metrics: int) -> Indices:
    """The columns the walk back from the newest sample picks, oldest first.

    Where the samples are a window apart and have data (polls as slow as the window, as in the
    bench), the walk picks them one after the other: numpy finds where that run from the newest
    sample ends, and the exact walk, a Python loop, goes on from there if more are needed.
    """
    import numpy as np

    values = columns[row_of(0) : rate_row(n_metrics)]
    has = (values == values).any(axis=0)  # any metric value; x == x is False for NaN
    with_data = np.flatnonzero(has)
    if count <= 0 or not len(with_data):
        return np.empty(0, dtype=np.intp)
    newest = int(with_data[-1])  # the walk's first pick: nothing before it to keep apart from
    t = columns[T]
    # follows[i]: sample i is picked right after sample i + 1, given that i + 1 was picked; the
    # negated `<` treats a NaN time as the Python walk does (never too close).
    follows = has[:-1] & ~(t[1:] - t[:-1] < spacing)
    breaks = np.flatnonzero(~follows[:newest])
    first = max(int(breaks[-1]) + 1 if len(breaks) else 0, newest + 1 - count)
    run = np.arange(first, newest + 1, dtype=np.intp)
    if len(run) >= count or first == 0:
        return run
    more = _walk_back(t.tolist(), has.tolist(), spacing, count - len(run), first)
    return np.concatenate((np.array(more[::-1], dtype=np.intp), run))


def _walk_back(
    times: list[float], has: list[bool], spacing: float, count: int, end: int
) -> list[int]:
    """Newest first, up to `count` samples before index `end` (a pick) that have data, each at least
    `spacing` older than the previous pick."""
    picked: list[int] = []
    last = times[end]
    for i in range(end - 1, -1, -1):
        t = times[i]
        if last - t < spacing:
            continue  # cheap test first: with 5 s polls most samples end here
        if has[i]:
            picked.append(i)
            if len(picked) >= count:
                break
            last = t
    return picked


def has_data(sample: Sample) -> bool:
    """Whether the sample has any metric value (None and NaN are NO DATA)."""
    for side in (sample.baseline, sample.canary):
        for v in side.values:
            if v is not None and v == v:  # v == v is False only for NaN
                return True
    return False
