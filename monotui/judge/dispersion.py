"""How bursty the baseline's bad requests are: the over-dispersion phi that tempers the evidence.

Plain Python floats, one rollout at a time: each call is O(1) (running sums over the window), so
a poll costs a few microseconds whatever the window's length. The window keeps the baseline's last
`window` polls that had requests (requests, bad requests; oldest first; 60 polls is 10 minutes at
10 s polls), `carry`, the dispersion in use when the window last restarted, and `reference`, the
baseline's bad rate before that restart.

phi is Pearson's X^2 of the window's bad counts against the window's pooled rate r = E / N, per
degree of freedom. With the running sums N = sum n_k, E = sum e_k, Q = sum e_k^2 / n_k and
I = sum 1 / n_k that is X^2 = sum (e_k - r n_k)^2 / (r n_k) = Q / r - E. Under Poisson noise X^2
has mean dof and a variance of about 2 dof + sum 1/mu_k = 2 dof + I / r, so only the excess beyond
`noise_sd` such standard deviations counts as clumping, which keeps phi = 1 most of the time for
Poisson errors:

    phi = 1 + margin * max(0, X^2 - dof - noise_sd * sd) / dof

The margin covers what a variance ratio misses: clump sizes vary, and the clumps larger than phi are
the ones that move the e-value (docs-judge.md has the calibration runs).

The pooled rate assumes one baseline rate across the window. A shared incident breaks that (a +10
point 5xx spike is a 20x rate change), and a window that straddled it would read as wildly
over-dispersed for as long as the spike stays in it, leaving the judge blind for minutes after
every incident. So the window is piecewise: when the newest one to three polls differ from the rest
of the window by a rate deviance above `shift_threshold` (in units of phi; 25 is a 5-sigma shift),
the window restarts at them, and until it holds half its length again phi is at least the phi it
had before the shift. A burst that trips the test only shortens the window; it never lowers phi.

The shift's other half is `shared_excess`: a poll whose bad total is far above what the normal
rate and a bad canary could explain carries errors shared by both versions; tempering by that
excess keeps them from drowning the evidence of the normal polls (monotui.judge.sequential).

The running sums are worked out again exactly (math.fsum) whenever the window restarts and once
every `window` polls, so rounding never piles up over more than one window's worth of polls.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["DispersionEstimator", "Window"]

_SHIFT_SPANS = (1, 2, 3)
"""How many of the newest polls a level shift may span before it is noticed (low rates need 2-3)."""
_SAFETY = 0.999
"""The bound must stay below this share of the threshold to skip the exact scores (rounding)."""


class Window(NamedTuple):
    """The baseline's recent polls with requests (oldest first) and their running sums.

    A named tuple, not a frozen dataclass: one is made per poll and rollout, and a tuple is made
    several times faster. The polls are arrays of doubles, not tuples of floats: each poll copies
    them (a new window, the old one stays as it was), and an array's copy is one memcpy where a
    tuple's increments every float it holds, scattered in memory across a fleet's windows. Never
    changed once made (the arrays are not shared with anything that writes)."""

    requests: array[float]
    bad: array[float]
    total_requests: float = 0.0
    """N = sum of requests."""
    total_bad: float = 0.0
    """E = sum of bad requests."""
    squares: float = 0.0
    """Q = sum of bad^2 / requests."""
    inverses: float = 0.0
    """I = sum of 1 / requests."""
    carry: float = 1.0
    """The dispersion in use when the window last restarted at a level shift."""
    reference: float = 0.0
    """The baseline's bad rate before that shift (0: none yet)."""
    age: int = 0
    """Polls added since the sums were last worked out exactly."""

    @classmethod
    def of(
        cls,
        requests: Sequence[float],
        bad: Sequence[float],
        carry: float = 1.0,
        reference: float = 0.0,
    ) -> Window:
        """A window holding these polls (each with requests > 0), its sums exact."""
        ns, es = array("d", requests), array("d", bad)
        return cls(
            ns,
            es,
            math.fsum(ns),
            math.fsum(es),
            math.fsum(e * e / n for n, e in zip(ns, es, strict=True)),
            math.fsum(1.0 / n for n in ns),
            carry,
            reference,
        )

    def __hash__(self) -> int:
        return hash((self.requests.tobytes(), self.bad.tobytes(), *self[2:]))


@dataclass(frozen=True, slots=True)
class DispersionEstimator:
    """phi from the baseline's recent polls; see the module docstring for the formulas.

    window: polls kept (seed them with the baseline's history). noise_sd: the Poisson noise in X^2
    ignored, in standard deviations. margin: the factor on the excess dispersion. shift_threshold:
    the rate deviance, in units of phi, that restarts the window at a level shift.
    """

    window: int = 60
    noise_sd: float = 1.0
    margin: float = 1.5
    shift_threshold: float = 25.0

    def estimate(self, w: Window) -> tuple[float, float]:
        """(dispersion, normal bad rate) from the window before this poll.

        The normal rate is the reference while the window is young (inside a shift), else the
        window's pooled rate; 0 without any baseline requests.
        """
        total_n, total_e = w.total_requests, w.total_bad
        polls = len(w.requests)
        dof = polls - 1.0
        phi = 1.0
        if dof >= 1 and total_e > 0 and total_n > 0:
            # X^2 = Q / r - E and sum 1/mu = I / r with r = E / N. Overflow (denormal counts,
            # which hypothesis finds and Prometheus hardly does) gives inf or NaN: the
            # comparison below then reads no over-dispersion, the stricter reading.
            scale = total_n / total_e
            pearson = w.squares * scale - total_e
            spread = math.sqrt(2.0 * dof + w.inverses * scale)
            excess = pearson - dof - self.noise_sd * spread
            if excess > 0:
                phi = 1.0 + self.margin * excess / dof
        young = polls < self.window // 2  # too few polls since a restart to stand alone
        dispersion = max(phi, w.carry) if young else phi
        if total_n <= 0:
            return dispersion, 0.0
        if young and w.reference > 0:
            return dispersion, w.reference
        # +0.5: a window without bad requests has a small rate, not none
        return dispersion, (total_e + 0.5) / total_n

    @staticmethod
    def shared_excess(normal: float, n_b: float, n_c: float, bad: float, worst: float) -> float:
        """How many times a poll's bad total exceeds what a bad canary alone could explain (>= 1).

        The bound is the total expected with the baseline at its normal rate and the canary at
        `worst` times that (the upper end of rho's confidence interval so far), plus a 2-sigma
        Poisson allowance. A poll above it carries a shared excess (an incident) that says nothing
        about the release and would otherwise pull rho toward 1. It reads the poll's total, never
        its split, so it may temper the very poll it describes (see monotui.judge.sequential).
        """
        if normal <= 0:
            return 1.0
        bound = normal * (n_b + worst * n_c)
        bound = bound + 2.0 * math.sqrt(bound) + 1.0
        return max(bad / bound, 1.0)

    def append(self, w: Window, n_b: float, e_b: float, dispersion: float) -> Window:
        """The window after this poll's baseline counts join (when it had requests)."""
        if not n_b > 0:
            return w
        size = self.window
        was_young = len(w.requests) < size // 2
        total_n, total_e = w.total_requests + n_b, w.total_bad + e_b
        squares, inverses = w.squares + e_b * e_b / n_b, w.inverses + 1.0 / n_b
        ns, es = w.requests[:], w.bad[:]  # copies: the old window stays as it was
        ns.append(n_b)
        es.append(e_b)
        if len(ns) > size:
            old_n, old_e = ns[0], es[0]
            del ns[0], es[0]
            total_n, total_e = total_n - old_n, total_e - old_e
            squares, inverses = squares - old_e * old_e / old_n, inverses - 1.0 / old_n
        # The newest m polls against the rest of the window; the first span with the largest
        # score above 0 wins. Most polls are nowhere near a shift: when no span's deviance can
        # reach the threshold (it is at most twice Pearson's X^2, no logarithm needed), the
        # scores are not worked out.
        reach = self.shift_threshold * dispersion * _SAFETY
        best, span, before = 0.0, 0, 0.0
        if _reachable(ns, es, total_n, total_e, reach):
            for m, (recent_e, recent_n, rest_e, rest_n) in enumerate(
                _spans(ns, es, total_n, total_e), start=1
            ):
                score = _rate_deviance(recent_e, recent_n, rest_e, rest_n) / dispersion
                if score > best:
                    # +0.5: a rate before the shift of 0 bad requests is small, not zero
                    best, span, before = score, m, (rest_e + 0.5) / rest_n
        if best > self.shift_threshold:
            # Inside a turbulent stretch (restarts in quick succession) the normal level is
            # the lowest one seen since it began.
            normal = min(w.reference, before) if was_young and w.reference > 0 else before
            return Window.of(ns[-span:], es[-span:], dispersion, normal)
        age = w.age + 1
        if age >= size:
            return Window.of(ns, es, w.carry, w.reference)
        # tuple.__new__: Window's own __new__ is a Python function around it (one per poll)
        return tuple.__new__(
            Window, (ns, es, total_n, total_e, squares, inverses, w.carry, w.reference, age)
        )


def _spans(
    ns: array[float], es: array[float], total_n: float, total_e: float
) -> list[tuple[float, float, float, float]]:
    """(bad, requests) of the newest m polls and of the rest, for each span m in _SHIFT_SPANS
    that leaves older polls with requests behind."""
    spans = []
    recent_n = recent_e = 0.0
    for m in _SHIFT_SPANS:
        if len(ns) <= m:
            break
        recent_n, recent_e = recent_n + ns[-m], recent_e + es[-m]
        rest_n = total_n - recent_n
        if not rest_n > 0:
            break
        spans.append((recent_e, recent_n, total_e - recent_e, rest_n))
    return spans


def _reachable(
    ns: array[float], es: array[float], total_n: float, total_e: float, reach: float
) -> bool:
    """Whether an upper bound of `_rate_deviance` of some span of `_spans` is above `reach`: 2 x
    Pearson's X^2 (x log(x / mu) <= x (x / mu - 1)), over the same sums, worked out in line
    (this runs every poll, the deviances hardly ever)."""
    recent_n = recent_e = 0.0
    count = len(ns)
    for m in _SHIFT_SPANS:
        if count <= m:
            return False
        recent_n, recent_e = recent_n + ns[-m], recent_e + es[-m]
        rest_n = total_n - recent_n
        if not rest_n > 0:
            return False
        both = recent_e + (total_e - recent_e)
        if not both > 0:
            continue  # no bad requests: the deviance is 0
        rate = both / (recent_n + rest_n)
        mu1, mu2 = rate * recent_n, rate * rest_n
        if not (mu1 > 0 and mu2 > 0):
            return math.inf > reach  # the bound is infinite
        gap = recent_e - mu1
        if 2.0 * gap * gap * (1.0 / mu1 + 1.0 / mu2) > reach:
            return True
    return False


def _rate_deviance(e1: float, n1: float, e2: float, n2: float) -> float:
    """Poisson deviance of "both groups share one rate" (~ chi^2 with 1 dof when they do);
    n1 and n2 > 0."""
    rate = (e1 + e2) / (n1 + n2)
    mu1, mu2 = rate * n1, rate * n2
    total = e1 * math.log(e1 / mu1) - (e1 - mu1) if mu1 > 0 and e1 > 0 else mu1 - e1
    total += e2 * math.log(e2 / mu2) - (e2 - mu2) if mu2 > 0 and e2 > 0 else mu2 - e2
    return 2.0 * total
