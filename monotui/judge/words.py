"""The sequential judge's evidence in plain words, for the verdict panel and `status`. Pure."""

from __future__ import annotations

from functools import lru_cache

from monotui.judge.evidence import CountEvidence
from monotui.judge.sequential import SequentialTest

__all__ = ["evidence_sentence", "ratio_words"]


def ratio_words(value: float) -> str:
    """A ratio as people read it: 0.52x, 1.9x, 12x, 1,200x."""
    return f"{value:.2g}x" if value < 10 else f"{value:,.0f}x"


def evidence_sentence(
    test: SequentialTest,
    ev: CountEvidence,
    what: str = "5xx",
    *,
    bounds: tuple[float | None, float | None] | None = None,
    rho: float | None = None,
) -> str:
    """One line: the evidence against the canary, its ratio with the interval, what it rests on.

    e.g. "5xx: evidence 37x of the 100x that rolls back; canary 1.9x baseline (98 % CI 0.8x-3.1x);
    9 5xx in 412 canary requests, 41 in 8,800 baseline". The interval's ends are each 1 - alpha
    bounds, so it is a 1 - 2 alpha interval; its lower end passes allowed_increase exactly when
    the evidence reaches 1/alpha. `bounds` and `rho`: `test.interval(ev)` and
    `test.estimate(ev)` when the caller has them already (else they are read from `ev`).
    """
    canary = f"{ev.canary_bad:,.0f} {what} in {ev.canary_total:,.0f} canary requests"
    baseline = f"{ev.baseline_bad:,.0f} in {ev.baseline_total:,.0f} baseline"
    if ev.polls == 0:
        return f"{what}: no evidence yet ({canary}, {baseline})"
    e = test.e_value(ev)
    judged = "reaches" if test.rolls_back(ev) else "of"
    shown = ratio_words(e) if e < 1e6 else "over 1,000,000x"
    if bounds is None:
        lower_words, upper_words = _interval_words(test, ev)
    else:
        lower, upper = bounds
        lower_words = None if lower is None else ratio_words(lower)
        upper_words = None if upper is None else ratio_words(upper)
    if lower_words is None and upper_words is None:
        interval = "any ratio"
    elif lower_words is None:
        interval = f"below {upper_words}"
    elif upper_words is None:
        interval = f"above {lower_words}"
    else:
        interval = f"{lower_words}-{upper_words}"
    rho = (test.estimate(ev) if rho is None else rho) or 0.0
    limit, level = _constants(test)
    return (
        f"{what}: evidence {shown} {judged} {limit}; canary {ratio_words(rho)} baseline "
        f"({level} CI {interval}); {canary}, {baseline}"
    )


@lru_cache(maxsize=64)
def _constants(test: SequentialTest) -> tuple[str, str]:
    """What a test's sentences always say: the evidence that rolls back, the interval's level."""
    level = f"{100 * (1 - 2 * test.alpha):.3g} %"  # each end holds at 1 - alpha
    return f"the {test.threshold:,.0f}x that rolls back", level


def _interval_words(test: SequentialTest, ev: CountEvidence) -> tuple[str | None, str | None]:
    """`ratio_words` of the interval's ends (None: unbounded), from the per-grid-point words."""
    words = _grid_words(test)
    low, high = test.interval_index(ev)
    return words[low][0], words[high][1]


@lru_cache(maxsize=64)
def _grid_words(test: SequentialTest) -> list[tuple[str | None, str | None]]:
    """Per grid index: the words of the lower end it stands for, and of the upper end."""
    out = []
    for index in range(len(test.grid)):
        lower, upper = test.interval_at(index, index)
        out.append(
            (
                None if lower is None else ratio_words(lower),
                None if upper is None else ratio_words(upper),
            )
        )
    return out
