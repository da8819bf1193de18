"""`quantile` and `slow_count` (monotui.metrics) over many histograms with the same bounds at once:
a fleet's history is hundreds of thousands of them (300 rollouts, two versions, 360 points).

The same numbers, not approximations: each is the same IEEE operations in the same order as the
one-histogram functions (NumPy's element-wise +, -, *, / round exactly as Python's), and only
histograms of finite counts come here (a NaN or an infinity would compare and round another way
in `max`). Imported when a history is large enough to be worth NumPy's start.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def quantiles(q: float, bounds: Sequence[float], rows: Sequence[Sequence[float]]) -> list[float]:
    """`quantile(q, bounds, row)` of each row (its counts at each bound, then at +Inf; each
    finite, with a positive total)."""
    counts = np.asarray(rows, dtype=np.float64)
    finite = counts[:, : len(bounds)]
    le = np.asarray(bounds, dtype=np.float64)
    rank = q * counts[:, -1]
    reached = finite >= rank[:, None]
    found = reached.any(axis=1)
    j = reached.argmax(axis=1)  # the first bucket whose count reaches the rank
    at = np.arange(len(counts))
    before = np.maximum(j - 1, 0)
    first = j == 0
    lower = np.where(first, 0.0, le[before])
    below = np.where(first, 0.0, finite[at, before])
    count = finite[at, j]
    inside = count - below
    positive = inside > 0
    share = np.ones_like(inside)
    np.divide(rank - below, inside, out=share, where=positive)
    value = lower + (le[j] - lower) * share
    if not found.all():  # beyond the last finite bound: that bound
        value = np.where(found, value, le[-1])
    out: list[float] = value.tolist()
    return out


def slow_counts(
    bounds: Sequence[float], rows: Sequence[Sequence[float]], slow_ms: float
) -> list[float]:
    """`slow_count(bounds, row, slow_ms)` of each row (finite counts)."""
    counts = np.asarray(rows, dtype=np.float64)
    total = counts[:, -1]
    fast_at = [i for i, le in enumerate(bounds) if le <= slow_ms + 1e-9]
    slow = total - (counts[:, fast_at[-1]] if fast_at else 0.0)
    out: list[float] = np.where(slow > 0.0, slow, 0.0).tolist()
    return out
