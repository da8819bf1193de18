"""A fleet's history works out its p99s and slow-request counts many at a time; each must be the
number one histogram alone gives (what a poll shows for the same counts), to the last bit, or the
charts and the judge would disagree with the polls that follow."""

from __future__ import annotations

import random

from monotui.config import JudgeConfig
from monotui.metrics import ROWS_FOR_NUMPY, metrics_for, side_of, sides_of

BOUNDS = (1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0)


def _cumulative(rnd: random.Random) -> tuple[float, ...]:
    """Bucket counts as increase() gives them: ties, zeros, thirds, even a dip between buckets."""
    shape = rnd.random()
    if shape < 0.3:
        return tuple(float(rnd.randint(0, 4)) for _ in range(len(BOUNDS) + 1))
    counts, total = [], 0.0
    for _ in range(len(BOUNDS) + 1):
        total += rnd.choice([0.0, 1 / 3, rnd.random() * 40])
        counts.append(total)
    if shape > 0.9:
        counts[3] = counts[2] * 0.999  # extrapolated increases need not be monotone
    return tuple(counts)


def test_a_history_says_what_each_poll_would_say_one_histogram_at_a_time() -> None:
    rnd = random.Random(17)
    metrics = metrics_for(JudgeConfig(latency=True))
    points = ROWS_FOR_NUMPY * 4
    for slow_ms in (250.0, 0.5, 1e9, float("inf")):
        requests = [rnd.choice([None, 0.0, 42.5, 1000.0]) for _ in range(points)]
        errors = [rnd.choice([None, 0.0, 3.0]) for _ in range(points)]
        buckets = [(BOUNDS, _cumulative(rnd)) for _ in range(points)]
        history = sides_of(metrics, requests, [errors, buckets], slow_ms)
        one_by_one = [
            side_of(metrics, n, [e, h], slow_ms)
            for n, e, h in zip(requests, errors, buckets, strict=True)
        ]
        assert repr(history) == repr(one_by_one)
        assert any(side.values[1] is not None for side in history)
