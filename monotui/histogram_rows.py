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
import numpy.typing as npt

Rows = npt.NDArray[np.float64]
"""Histograms, one a row: the counts at each bound, then at +Inf."""


def finite_rows(rows: Sequence[Sequence[float]], width: int) -> Rows | None:
    """`rows` as an array, None unless each has `width` counts, all finite."""
    try:
        counts = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):  # rows of different widths, or not numbers
        return None
    if counts.ndim != 2 or counts.shape[1] != width or not np.isfinite(counts).all():
        return None
    return counts


def observed(counts: Rows) -> npt.NDArray[np.bool_]:
    """The histograms with observations (a positive total): the others have no quantile."""
    return counts[:, -1] > 0


def quantiles(q: float, bounds: Sequence[float], counts: Rows) -> list[float]:
    """`quantile(q, bounds, row)` of each row (finite, with a positive total)."""
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


def slow_counts(bounds: Sequence[float], counts: Rows, slow_ms: float) -> list[float]:
    """`slow_count(bounds, row, slow_ms)` of each row (finite counts)."""
    total = counts[:, -1]
    fast_at = [i for i, le in enumerate(bounds) if le <= slow_ms + 1e-9]
    slow = total - (counts[:, fast_at[-1]] if fast_at else 0.0)
    out: list[float] = np.where(slow > 0.0, slow, 0.0).tolist()
    return out
