"""The sequential judge's evidence in plain words, for the verdict panel and `status`. Pure."""

from __future__ import annotations

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
    `test.estimate(ev)` when the caller has them already.
    """
    canary = f"{ev.canary_bad:,.0f} {what} in {ev.canary_total:,.0f} canary requests"
    baseline = f"{ev.baseline_bad:,.0f} in {ev.baseline_total:,.0f} baseline"
    if ev.polls == 0:
        return f"{what}: no evidence yet ({canary}, {baseline})"
    e, limit = test.e_value(ev), test.threshold
    judged = "reaches" if test.rolls_back(ev) else "of"
    shown = ratio_words(e) if e < 1e6 else "over 1,000,000x"
    lower, upper = test.interval(ev) if bounds is None else bounds
    if lower is None and upper is None:
        interval = "any ratio"
    elif lower is None:
        interval = f"below {ratio_words(upper or 0.0)}"
    elif upper is None:
        interval = f"above {ratio_words(lower)}"
    else:
        interval = f"{ratio_words(lower)}-{ratio_words(upper)}"
    level = f"{100 * (1 - 2 * test.alpha):.3g} %"  # each end holds at 1 - alpha
    rho = (test.estimate(ev) if rho is None else rho) or 0.0
    return (
        f"{what}: evidence {shown} {judged} the {limit:,.0f}x that rolls back; "
        f"canary {ratio_words(rho)} baseline ({level} CI {interval}); {canary}, {baseline}"
    )
