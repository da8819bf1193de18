"""Fast, deterministic draws for the simulated world: exact for small counts, the normal
approximation for large ones (hundreds of requests per second cost a handful of draws)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

_NORMAL_ABOVE = 30.0
"""Mean above which a Poisson count, and variance above which a binomial, are drawn as normals."""


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson(lam) count."""
    if lam <= 0:
        return 0
    if lam >= _NORMAL_ABOVE:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    # Knuth's product of uniforms: exact, about lam draws.
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def binomial(rng: random.Random, n: int, p: float) -> int:
    """A Binomial(n, p) count."""
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    if p > 0.5:
        return n - binomial(rng, n, 1 - p)
    mean = n * p
    if mean * (1 - p) >= 9:
        return min(n, max(0, round(rng.gauss(mean, math.sqrt(mean * (1 - p))))))
    if n <= 40:
        return sum(1 for _ in range(n) if rng.random() < p)
    return min(n, poisson(rng, mean))  # rare events in many trials


def multinomial(rng: random.Random, n: int, probs: Sequence[float]) -> list[int]:
    """Counts of `n` trials over outcomes with `probs` (summing to 1), by conditional binomials;
    outcomes with a negligible probability get no draw."""
    counts = [0] * len(probs)
    support = [i for i, p in enumerate(probs) if p > 1e-9]
    remaining, rest = n, 1.0
    for j, i in enumerate(support):
        if remaining <= 0:
            break
        if j == len(support) - 1 or rest <= 0:
            counts[i] = remaining
            break
        k = binomial(rng, remaining, min(1.0, probs[i] / rest))
        counts[i] = k
        remaining -= k
        rest -= probs[i]
    return counts
