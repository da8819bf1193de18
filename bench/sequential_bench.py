"""The sequential judge's cost per poll: 300 rollouts x 2 metrics in one batched update.

Run with `python -m bench.sequential_bench`. Prints the batched update's time as a ratio to a floor
measured in the same run (one `numpy.logaddexp` over the same (rows, grid) array: the one
transcendental op per grid point the update cannot skip), to the issue's budget (20 ms per poll
for 300 rollouts), and to updating the same rollouts one by one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from bench.traffic import INTERVAL_S, Traffic, TrafficModel
from monotui.judge.evidence import CountEvidence
from monotui.judge.sequential import SequentialTest

ROLLOUTS = 300
METRICS = 2
BUDGET_MS = 20.0


def _best_ms(fn: Callable[[], object], repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


def main() -> None:
    """Time one poll's update for 300 rollouts x 2 metrics and print the ratios."""
    test = SequentialTest()
    rows = ROLLOUTS * METRICS
    traffic = Traffic(TrafficModel(rate_rps=200), ROLLOUTS, seed=1)
    history = traffic.poll(0, 0.0).errors()
    states: list[CountEvidence] = [
        test.start([(float(history[r % ROLLOUTS, 0]), float(history[r % ROLLOUTS, 1]))])
        for r in range(rows)
    ]
    for k in range(1, 41):  # a filled dispersion window and a likelihood with some shape
        poll = traffic.poll(10, k * INTERVAL_S)
        states = test.update_many(states, np.vstack([poll.errors(), poll.slow()]))
    poll = traffic.poll(10, 41 * INTERVAL_S)
    counts = np.vstack([poll.errors(), poll.slow()])

    batched = _best_ms(lambda: test.update_many(states, counts))
    one_by_one = _best_ms(
        lambda: [
            test.update(
                ev,
                baseline_total=float(c[0]),
                baseline_bad=float(c[1]),
                canary_total=float(c[2]),
                canary_bad=float(c[3]),
            )
            for ev, c in zip(states, counts, strict=True)
        ],
        repeat=3,
    )
    grid = np.vstack([ev.log_lik for ev in states])
    floor = _best_ms(lambda: np.logaddexp(0.0, grid))
    print(
        f"batched update, {ROLLOUTS} rollouts x {METRICS} metrics ({rows} rows): {batched:.2f} ms"
    )
    print(
        f"  ratio to the floor (one logaddexp over {grid.shape}, {floor:.3f} ms): "
        f"{batched / floor:.1f}"
    )
    print(
        f"  ratio to the budget ({BUDGET_MS:.0f} ms per poll): {batched / BUDGET_MS:.2f} "
        "(below 1 meets it)"
    )
    print(f"  one by one instead: {one_by_one:.1f} ms, {one_by_one / batched:.0f}x the batch")


if __name__ == "__main__":
    main()
