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
    e_value: float | None = None,
    reached: bool | None = None,
) -> str:
    """One line: the evidence against the canary, its ratio with the interval, what it rests on.

    e.g. "5xx: evidence 37x of the 100x that rolls back; canary 1.9x baseline (98 % CI 0.8x-3.1x);
    9 5xx in 412 canary requests, 41 in 8,800 baseline". The interval's ends are each 1 - alpha
    bounds, so it is a 1 - 2 alpha interval; its lower end passes allowed_increase exactly when
    the evidence reaches 1/alpha. `bounds`, `rho`, `e_value` and `reached`: `test.interval(ev)`,
    `test.estimate(ev)`, `test.e_value(ev)` and `test.rolls_back(ev)` when the caller has them
    already (else they are read from `ev`).
    """
    counts = (
        f"{ev.canary_bad:,.0f} {what} in {ev.canary_total:,.0f} canary requests, "
        f"{ev.baseline_bad:,.0f} in {ev.baseline_total:,.0f} baseline"
    )
    if ev.polls == 0:
        return f"{what}: no evidence yet ({counts})"
    e = test.e_value(ev) if e_value is None else e_value
    judged = "reaches" if (test.rolls_back(ev) if reached is None else reached) else "of"
    shown = ratio_words(e) if e < 1e6 else "over 1,000,000x"
    if bounds is None:
        interval = _interval_text(test, *test.interval_index(ev))
    else:
        lower, upper = bounds
        interval = _between(
            None if lower is None else ratio_words(lower),
            None if upper is None else ratio_words(upper),
        )
    rho = (test.estimate(ev) if rho is None else rho) or 0.0
    limit, level = _constants(test)
    return (
        f"{what}: evidence {shown} {judged} {limit}; canary {ratio_words(rho)} baseline "
        f"({level} CI {interval}); {counts}"
    )


def _between(lower_words: str | None, upper_words: str | None) -> str:
    """The interval in words from its ends' words (None: unbounded)."""
    if lower_words is None and upper_words is None:
        return "any ratio"
    if lower_words is None:
        return f"below {upper_words}"
    if upper_words is None:
        return f"above {lower_words}"
    return f"{lower_words}-{upper_words}"


@lru_cache(maxsize=64)
def _constants(test: SequentialTest) -> tuple[str, str]:
    """What a test's sentences always say: the evidence that rolls back, the interval's level."""
    level = f"{100 * (1 - 2 * test.alpha):.3g} %"  # each end holds at 1 - alpha
    return f"the {test.threshold:,.0f}x that rolls back", level


def _interval_text(test: SequentialTest, low: int, high: int) -> str:
    """The interval between grid indexes `low` and `high` in words (each pair worked out once
    per test: a verdict is made every poll)."""
    texts = _interval_texts(test)
    text = texts.get((low, high))
    if text is None:
        words = _grid_words(test)
        text = texts[low, high] = _between(words[low][0], words[high][1])
    return text


@lru_cache(maxsize=64)
def _interval_texts(test: SequentialTest) -> dict[tuple[int, int], str]:
    """The interval texts of a test seen so far, by their grid indexes (at most grid size^2)."""
    return {}


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
