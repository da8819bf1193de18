"""The sequential count judge: calibration, power, anytime coverage and the inputs it must survive.

Rollouts run on bench/traffic.py at the demo's timing (10 s polls, steps 1-5-10-25-50, advancing
every 10 polls unless rolled back; at 100 % there is no baseline left to judge against), with 60
polls of the baseline's history before the canary starts (`start(baseline_history)`), as the
observer is meant to seed it. Seeds are fixed, so every number below is reproducible.
"""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from bench.traffic import INTERVAL_S, STEPS, Traffic, TrafficModel
from monotui.judge.evidence import CountEvidence
from monotui.judge.sequential import SequentialTest
from monotui.judge.words import evidence_sentence

ROLLOUTS = 400
POLLS = 50  # 5 steps x 10 polls, the last judged step being 50 %
HISTORY = 60


@dataclass
class Case:
    """One traffic model over many rollouts, and what the judge did with it."""

    name: str
    model: TrafficModel
    seed: int
    metric: str = "errors"
    rollouts: int = ROLLOUTS
    rho: float | None = None  # the true ratio, when the interval is to be checked against it
    first_rollback: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    below: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    above: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def _weight(poll: int) -> int:
    return STEPS[(poll - 1) // 10]


def _run(test: SequentialTest, cases: list[Case]) -> None:
    """Judge every case's rollouts poll by poll in one batch; with rho, check the interval too."""
    traffic = [Traffic(c.model, c.rollouts, c.seed) for c in cases]

    def counts(t: Traffic, c: Case, weight: int, at_s: float) -> np.ndarray:
        poll = t.poll(weight, at_s)
        return poll.errors() if c.metric == "errors" else poll.slow()

    states: list[CountEvidence] = []
    for t, c in zip(traffic, cases, strict=True):
        history = [counts(t, c, 0, k * INTERVAL_S) for k in range(-HISTORY + 1, 1)]
        for r in range(c.rollouts):
            states.append(test.start([(float(h[r, 0]), float(h[r, 1])) for h in history]))
        c.first_rollback = np.zeros(c.rollouts, dtype=int)
        c.below = np.zeros(c.rollouts, dtype=bool)  # the lower end ever above the true rho
        c.above = np.zeros(c.rollouts, dtype=bool)  # the upper end ever below it
    for poll in range(1, POLLS + 1):
        table = np.vstack(
            [
                counts(t, c, _weight(poll), poll * INTERVAL_S)
                for t, c in zip(traffic, cases, strict=True)
            ]
        )
        states = test.update_many(states, table)
        row = 0
        for c in cases:
            for r in range(c.rollouts):
                ev = states[row + r]
                if c.first_rollback[r] == 0 and test.rolls_back(ev):
                    c.first_rollback[r] = poll
                if c.rho is not None:
                    lower, upper = test.interval(ev)
                    c.below[r] |= lower is not None and lower >= c.rho
                    c.above[r] |= upper is not None and upper <= c.rho
            row += c.rollouts


def _wilson(k: int, n: int) -> str:
    """k/n with its 95 % Wilson interval, for assertion messages."""
    z, p = 1.96, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{k}/{n} = {p:.2%} (95 % CI {max(0.0, centre - half):.2%}-{centre + half:.2%})"


def test_healthy_canaries_are_rolled_back_at_most_alpha_of_the_time() -> None:
    test = SequentialTest(alpha=0.01)
    cases = [
        Case("Poisson 20 req/s", TrafficModel(rate_rps=20), 1),
        Case("Poisson 200 req/s", TrafficModel(rate_rps=200), 2),
        Case("Poisson 2000 req/s", TrafficModel(rate_rps=2000), 3),
        Case("split 1.3x the weight", TrafficModel(rate_rps=200, split_bias=1.3), 4),
        Case("shared +10 pt spike at 25 %", TrafficModel(rate_rps=200, incident_at_s=310), 5),
        Case("spike at 5 %, 2000 req/s", TrafficModel(rate_rps=2000, incident_at_s=110), 6),
        Case("slow requests", TrafficModel(rate_rps=200), 7, metric="slow"),
    ]
    _run(test, cases)
    report = {c.name: _wilson(int((c.first_rollback > 0).sum()), c.rollouts) for c in cases}
    for c in cases:
        assert (c.first_rollback > 0).mean() <= 0.01, report


def test_bursty_errors_roll_back_at_most_3_percent_of_healthy_canaries() -> None:
    test = SequentialTest(alpha=0.01)
    cases = [
        Case("clumps of 5, 20 req/s", TrafficModel(rate_rps=20, burst_size=5), 11),
        Case("clumps of 3, 60 req/s", TrafficModel(rate_rps=60, burst_size=3), 12),
        Case("clumps of 5, 200 req/s", TrafficModel(rate_rps=200, burst_size=5), 13),
        Case("clumps of 5, 2000 req/s", TrafficModel(rate_rps=2000, burst_size=5), 14),
        Case("clumps of 10, 200 req/s", TrafficModel(rate_rps=200, burst_size=10), 15),
    ]
    _run(test, cases)
    report = {c.name: _wilson(int((c.first_rollback > 0).sum()), c.rollouts) for c in cases}
    for c in cases:
        assert (c.first_rollback > 0).mean() <= 0.03, report


def test_harmful_canaries_are_caught_in_time() -> None:
    test = SequentialTest(alpha=0.01)
    two_x = Case("2x at 200 req/s", TrafficModel(rate_rps=200, error_multiplier=2), 21)
    five_x = Case("5x at 20 req/s", TrafficModel(rate_rps=20, error_multiplier=5), 22)
    ten_x = Case("10x at 2000 req/s", TrafficModel(rate_rps=2000, error_multiplier=10), 23)
    slow = Case("p99 x3", TrafficModel(rate_rps=200, latency_multiplier=3), 24, metric="slow")
    jump = Case(
        "4x from the 10 % step",
        TrafficModel(rate_rps=2000, error_multiplier=4, change_at_s=200),
        25,
    )
    cases = [two_x, five_x, ten_x, slow, jump]
    _run(test, cases)

    def caught(c: Case, by: int = POLLS, after: int = 0) -> float:
        return float(((c.first_rollback > after) & (c.first_rollback <= after + by)).mean())

    found = two_x.first_rollback[two_x.first_rollback > 0]
    message = f"2x: {_wilson(found.size, two_x.rollouts)}, median {np.median(found)} polls"
    assert caught(two_x) >= 0.98 and np.median(found) <= 32, message
    # The target is "every time"; 5x at 20 req/s rests on ~45 canary errors in the whole rollout
    # and the conditional test loses most of the information at the 50 % step: ~99 % is reached.
    assert caught(five_x) >= 0.98, f"5x: {_wilson(int((five_x.first_rollback > 0).sum()), 400)}"
    assert caught(ten_x, by=2) >= 0.99 and caught(ten_x, by=3) == 1.0, ten_x.first_rollback
    assert caught(slow, by=3) == 1.0, slow.first_rollback
    # A rollback before the jump is a false alarm (at most alpha); every other is caught in time.
    before = jump.first_rollback[(jump.first_rollback > 0) & (jump.first_rollback <= 20)]
    assert before.size <= 0.01 * jump.rollouts, before
    assert caught(jump, by=4, after=20) == 1.0 - before.size / jump.rollouts, jump.first_rollback


def test_each_end_of_the_interval_holds_at_every_poll() -> None:
    test = SequentialTest(alpha=0.01)
    cases = [
        Case(f"{rho}x at {rate} req/s", TrafficModel(rate, error_multiplier=rho), seed, rho=rho)
        for rho, rate, seed in ((1.0, 200, 31), (2.0, 200, 32), (1.7, 2000, 33), (5.0, 20, 34))
    ]
    for c in cases:
        c.rollouts = 100
    _run(test, cases)
    report = {c.name: (int(c.below.sum()), int(c.above.sum())) for c in cases}
    assert sum(int(c.below.sum()) for c in cases) <= 0.01 * 400, report
    assert sum(int(c.above.sum()) for c in cases) <= 0.01 * 400, report


def test_evidence_reads_as_a_sentence() -> None:
    test = SequentialTest(alpha=0.01)
    ev = test.start()
    assert evidence_sentence(test, ev) == (
        "5xx: no evidence yet (0 5xx in 0 canary requests, 0 in 0 baseline)"
    )
    for _ in range(10):
        ev = test.update(ev, baseline_total=1800, baseline_bad=9, canary_total=200, canary_bad=2)
    words = evidence_sentence(test, ev, what="5xx")
    assert words.startswith("5xx: evidence ") and "x of the 100x that rolls back" in words, words
    assert "canary 2x baseline (98 % CI " in words, words
    assert words.endswith("20 5xx in 2,000 canary requests, 90 in 18,000 baseline"), words
    for _ in range(30):
        ev = test.update(ev, baseline_total=1800, baseline_bad=9, canary_total=200, canary_bad=3)
    assert " reaches the 100x that rolls back" in evidence_sentence(test, ev)
    lower, _ = test.interval(ev)
    assert lower is not None and lower >= test.allowed_increase  # the interval agrees


def test_no_traffic_and_no_errors_are_no_evidence() -> None:
    test = SequentialTest()
    ev = test.start()
    for _ in range(50):
        ev = test.update(ev, baseline_total=0, baseline_bad=0, canary_total=0, canary_bad=0)
        ev = test.update(ev, baseline_total=5000, baseline_bad=0, canary_total=500, canary_bad=0)
    assert ev.polls == 0 and test.e_value(ev) == 1.0 and not test.rolls_back(ev)
    assert test.interval(ev) == (None, None) and test.estimate(ev) is None
    assert ev.canary_total == 25_000


@pytest.mark.parametrize(
    "poll",
    [
        {"baseline_total": 1000, "baseline_bad": 5, "canary_total": 0, "canary_bad": 3},
        {"baseline_total": 0, "baseline_bad": 2, "canary_total": 1000, "canary_bad": 50},
    ],
    ids=["canary has no requests", "baseline has no requests"],
)
def test_a_one_sided_poll_says_nothing_about_the_ratio(poll: dict[str, float]) -> None:
    test = SequentialTest()
    ev = test.start()
    for _ in range(30):
        ev = test.update(ev, **poll)
    assert ev.polls == 0 and test.e_value(ev) == 1.0 and test.interval(ev) == (None, None)
    assert ev.canary_bad == 30 * poll["canary_bad"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -1.0, 1e300])
def test_broken_counts_skip_the_poll(bad: float) -> None:
    test = SequentialTest()
    ev = test.update(
        test.start(), baseline_total=1000, baseline_bad=5, canary_total=100, canary_bad=1
    )
    assert test.update(ev, baseline_total=900, baseline_bad=5, canary_total=bad, canary_bad=1) is ev
    batch = test.update_many([ev, ev], [[900, 4, 100, bad], [900, 4, 100, 3]])
    assert batch[0] is ev and batch[1] is not ev and batch[1].polls == 2


def test_huge_counts_stay_finite() -> None:
    test = SequentialTest()
    ev = test.start()
    for _ in range(5):
        ev = test.update(
            ev, baseline_total=9e12, baseline_bad=9e10, canary_total=1e12, canary_bad=2e10
        )
    assert test.rolls_back(ev) and test.e_value(ev) == math.inf
    lower, upper = test.interval(ev)
    assert lower is not None and upper is not None and lower <= 2.0 <= upper
    assert test.estimate(ev) == pytest.approx(2.0, rel=0.01)
    window = ev.window
    sums = (window.total_requests, window.total_bad, window.squares, window.inverses)
    assert np.isfinite(ev.log_lik).all() and all(map(math.isfinite, (*ev.numbers, *sums)))


def test_baseline_history_keeps_a_burst_from_blaming_the_canary() -> None:
    test = SequentialTest()
    rng = np.random.default_rng(41)
    clumps = rng.poisson(2000 * 0.005 / 5, 30)  # a baseline whose errors come in clumps of ~5
    bursty = [(2000.0, float(5 * c)) for c in clumps]
    burst = {"baseline_total": 1980, "baseline_bad": 10, "canary_total": 20, "canary_bad": 5}
    assert test.rolls_back(test.update(test.start(), **burst))  # judged as Poisson errors
    seeded = test.update(test.start(bursty), **burst)
    assert not test.rolls_back(seeded) and seeded.dispersion > 3


def test_evidence_is_frozen_and_compares_by_value() -> None:
    test = SequentialTest()
    ev = test.update(
        test.start(), baseline_total=1000, baseline_bad=5, canary_total=100, canary_bad=1
    )
    with pytest.raises(ValueError):
        ev.log_lik[0] = 1.0
    same = test.update(
        test.start(), baseline_total=1000, baseline_bad=5, canary_total=100, canary_bad=1
    )
    assert ev == same and hash(ev) == hash(same) and ev != test.start()


def test_evidence_belongs_to_its_test() -> None:
    ev = SequentialTest(allowed_increase=1.5).start()
    with pytest.raises(ValueError, match="another grid"):
        SequentialTest().update(ev, baseline_total=1, baseline_bad=0, canary_total=1, canary_bad=0)
    with pytest.raises(ValueError, match="shape"):
        SequentialTest().update_many([SequentialTest().start()], [[1, 0, 1]])


def test_the_judge_loads_numpy_only_when_it_first_judges() -> None:
    code = (
        "import sys\n"
        "import monotui.judge.sequential, monotui.judge.words\n"
        "print('numpy' in sys.modules, any(m.split('.')[0] == 'textual' for m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.split() == ["False", "False"], out.stdout + out.stderr
