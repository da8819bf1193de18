"""How bursty the baseline's bad requests are: the over-dispersion phi that tempers the evidence.

Pure numpy over many rollouts at once (rows). Each row keeps a window of the baseline's last
`window` polls (requests, bad requests; oldest first, 0 requests = an empty slot; 60 polls is 10
minutes at 10 s polls), `carry`, the dispersion in use when the window last restarted, and
`reference`, the baseline's bad rate before that restart.

phi is Pearson's X^2 of the window's bad counts against the window's pooled rate, per degree of
freedom. Under Poisson noise X^2 has mean dof and a variance of about 2 dof + sum 1/mu_k, so only
the excess beyond `noise_sd` such standard deviations counts as clumping, which keeps phi = 1 most
of the time for Poisson errors:

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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]
    Bools = npt.NDArray[np.bool_]

__all__ = ["DispersionEstimator"]

_SHIFT_SPANS = (1, 2, 3)
"""How many of the newest polls a level shift may span before it is noticed (low rates need 2-3)."""


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

    def estimate(
        self, tail_n: Floats, tail_e: Floats, carry: Floats, reference: Floats
    ) -> tuple[Floats, Floats]:
        """(dispersion, normal bad rate) per row, from its window (R, window) before this poll.

        carry: the dispersion in use when the window last restarted; reference: the baseline's bad
        rate before that restart (0 when none). The normal rate is the reference while the window
        is young (inside a shift), else the window's pooled rate; 0 without any baseline requests.
        """
        import numpy as np

        # np.add.reduce and np.zeros, not .sum and zeros_like: the same numbers with less of
        # numpy's per-call overhead, which is most of the cost for one row.
        add, rows = np.add.reduce, tail_n.shape[0]
        total_n, total_e = add(tail_n, axis=1), add(tail_e, axis=1)
        rate = np.divide(total_e, total_n, out=np.zeros(rows), where=total_n > 0)
        expected = rate[:, None] * tail_n
        positive = expected > 0
        pearson = add(
            np.divide(
                (tail_e - expected) ** 2, expected, out=np.zeros(tail_n.shape), where=positive
            ),
            axis=1,
        )
        # A denormal expected count (hypothesis finds them; Prometheus hardly does) overflows 1/x
        # to inf: the spread goes infinite and the poll's window shows no over-dispersion, the
        # stricter reading. Quietly: it is not a fault.
        with np.errstate(over="ignore"):
            inverse = add(
                np.divide(1.0, expected, out=np.zeros(tail_n.shape), where=positive), axis=1
            )
        polls = add(tail_n > 0, axis=1)
        dof = polls - 1.0
        spread = np.sqrt(2.0 * np.maximum(dof, 0.0) + inverse)
        excess = np.maximum(pearson - dof - self.noise_sd * spread, 0.0)
        phi = np.where(
            (dof >= 1) & (total_e > 0), 1.0 + self.margin * excess / np.maximum(dof, 1.0), 1.0
        )
        young = polls < self.window // 2  # too few polls since a restart to stand alone
        dispersion = np.where(young, np.maximum(phi, carry), phi)
        # +0.5: a window without bad requests has a small rate, not none
        pooled = (total_e + 0.5) / np.maximum(total_n, 1e-300)
        normal = np.where(young & (reference > 0), reference, pooled)
        return dispersion, np.where(total_n > 0, normal, 0.0)

    def shared_excess(
        self, normal: Floats, n_b: Floats, n_c: Floats, bad: Floats, worst: Floats
    ) -> Floats:
        """How many times a poll's bad total exceeds what a bad canary alone could explain (>= 1).

        The bound is the total expected with the baseline at its normal rate and the canary at
        `worst` times that (the upper end of rho's confidence interval so far), plus a 2-sigma
        Poisson allowance. A poll above it carries a shared excess (an incident) that says nothing
        about the release and would otherwise pull rho toward 1. It reads the poll's total, never
        its split, so it may temper the very poll it describes (see monotui.judge.sequential).
        """
        import numpy as np

        bound = normal * (n_b + worst * n_c)
        bound = bound + 2.0 * np.sqrt(bound) + 1.0
        return np.asarray(np.where(normal > 0, np.maximum(bad / bound, 1.0), 1.0), dtype=np.float64)

    def append(
        self,
        window: tuple[Floats, Floats, Floats, Floats],
        n_b: Floats,
        e_b: Floats,
        dispersion: Floats,
    ) -> tuple[Floats, Floats, Floats, Floats]:
        """(tail_n, tail_e, carry, reference) after this poll's baseline counts join (n_b > 0)."""
        import numpy as np

        tail_n, tail_e, carry, reference = window
        add, rows, size = np.add.reduce, n_b.shape[0], self.window
        joins = n_b > 0
        was_young = add(tail_n > 0, axis=1) < size // 2
        new_n, new_e = np.empty(tail_n.shape), np.empty(tail_e.shape)
        new_n[:, :-1], new_n[:, -1] = tail_n[:, 1:], n_b
        new_e[:, :-1], new_e[:, -1] = tail_e[:, 1:], e_b
        if not joins.all():
            new_n[~joins], new_e[~joins] = tail_n[~joins], tail_e[~joins]
        # The newest m polls against the rest of the window, for every span m at once (column
        # m - 1); the first span with the largest score above 0 wins.
        spans = len(_SHIFT_SPANS)
        recent_n, recent_e = np.empty((rows, spans)), np.empty((rows, spans))
        rest_n, rest_e = np.empty((rows, spans)), np.empty((rows, spans))
        whole = np.empty((rows, spans), dtype=bool)
        for k, m in enumerate(_SHIFT_SPANS):
            recent_n[:, k], recent_e[:, k] = add(new_n[:, -m:], axis=1), add(new_e[:, -m:], axis=1)
            rest_n[:, k], rest_e[:, k] = add(new_n[:, :-m], axis=1), add(new_e[:, :-m], axis=1)
            whole[:, k] = (new_n[:, -m:] > 0).all(axis=1)
        whole &= (rest_n > 0) & joins[:, None]
        score = _rate_deviance(recent_e, recent_n, rest_e, rest_n) / dispersion[:, None]
        candidates = np.where(whole & (score > 0.0), score, -np.inf)
        pick = np.argmax(candidates, axis=1)
        at = np.arange(rows), pick
        found = candidates[at] > 0.0
        best = np.where(found, candidates[at], 0.0)
        restart = best > self.shift_threshold
        new_carry = np.where(restart, dispersion, carry)
        if not restart.any():
            return new_n, new_e, new_carry, reference
        span = np.where(found, pick + 1, 0)
        # +0.5: a rate before the shift of 0 bad requests is small, not zero
        before = np.where(found, (rest_e[at] + 0.5) / np.maximum(rest_n[at], 1e-300), 0.0)
        keep = np.arange(size)[None, :] >= size - span[:, None]
        drop = restart[:, None] & ~keep
        # Inside a turbulent stretch (restarts in quick succession) the normal level is the
        # lowest one seen since it began.
        normal = np.where(was_young & (reference > 0), np.minimum(reference, before), before)
        return (
            np.where(drop, 0.0, new_n),
            np.where(drop, 0.0, new_e),
            new_carry,
            np.where(restart, normal, reference),
        )


def _rate_deviance(e1: Floats, n1: Floats, e2: Floats, n2: Floats) -> Floats:
    """Poisson deviance of "both groups share one rate" (~ chi^2 with 1 dof when they do)."""
    import numpy as np

    both = n1 + n2
    rate = np.divide(e1 + e2, both, out=np.zeros(e1.shape), where=both > 0)
    total = np.zeros(e1.shape)
    for e, n in ((e1, n1), (e2, n2)):
        mu = rate * n
        ratio = np.divide(e, mu, out=np.ones(e.shape), where=(mu > 0) & (e > 0))
        total += e * np.log(ratio) - (e - mu)
    return np.asarray(2.0 * total, dtype=np.float64)
