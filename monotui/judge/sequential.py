"""Anytime-valid sequential judgement of one bad-event count (5xx, slow requests). Pure.

Each poll brings, per version, the increase of requests and of bad requests over the poll. Given the
poll's bad total e_k = e_b,k + e_c,k, the canary's share of it is modelled as

    e_c,k ~ Binomial(e_k, p_k(rho)),  p_k(rho) = rho s_k / (rho s_k + 1 - s_k),

with s_k = n_c,k / (n_c,k + n_b,k) the split *observed* in that poll and rho the canary's bad rate
over the baseline's. This is the counting-process view of Lindon & Malek ("Anytime-Valid Inference
for Multinomial Count Data", NeurIPS 2022) and Lindon, Sanden & Shirikian ("Rapid Regression
Detection in Software Deployments through Sequential Testing", KDD 2022; Netflix's "Sequential A/B
Testing Keeps the World Streaming", part 2): two Poisson processes with a common, arbitrary,
time-varying baseline intensity; conditioning on the total removes that intensity, so an incident
that multiplies both versions' rates leaves rho and the evidence alone. Unlike their fixed
allocation, s_k is read per poll, so a split that differs from the configured weight costs nothing.

The tempered log-likelihood is kept on a fixed log-spaced grid rho_j (allowed_increase = theta is
a grid point): l_j += (e_c,k log p_k(rho_j) + e_b,k log(1 - p_k(rho_j))) / phi_k.

**Test.** H0: rho <= theta. E_k = sum_{rho_j > theta} w_j exp(l_j - l_theta), sum w_j = 1. For
one poll and rho_j > theta, L_j / L_theta = exp(t e_c - e A), t = logit p_k(rho_j) - logit
p_k(theta) > 0: increasing in e_c. Under any rho <= theta, p_k(rho) <= p_k(theta) and e_c is
stochastically smaller than under theta, so its conditional mean is <= its mean under theta, which
is 1. Raising it to 1/phi_k, with phi_k >= 1 fixed by what is known before the poll's split is
seen (earlier polls, this poll's requests and its bad total e_k), keeps the mean <= 1 by Jensen
(x -> x^(1/phi) is concave). A fixed mixture of such products is therefore a nonnegative
supermartingale with E_0 = 1 under every rho <= theta, and Ville's inequality gives
P(sup_k E_k >= 1/alpha) <= alpha: rolling back at E >= 1/alpha wrongly blames a healthy canary
with probability at most alpha, however often and for however long we look.

**Interval.** The same test against every grid point rho_i as theta (and its mirror, against
rho >= rho_i with the alternatives below) is an e-process for each; the rho_i neither rejects at
1/alpha form an anytime-valid confidence sequence: each end is a 1 - alpha bound at every poll at
once, the interval a 1 - 2 alpha one (test inversion: Howard et al., Annals of Statistics 2021;
Ramdas et al., "Game-theoretic statistics and safe anytime-valid inference", 2023). Being the rollback
test's own inversion, it agrees with it: the canary is rolled back exactly when the lower end is
above theta. (A two-sided mixture M = sum_j v_j exp(l_j) over the grid gives the cheaper set
{rho : l(rho) > log M - log(1/alpha)}; it is used only inside the update, as the upper end in the
shared-excess bound below, because its lower end can sit below theta while the test rolls back.)
None stands for an end beyond the grid (below 1/max_ratio or above max_ratio).

**Tempering.** phi_k = max(dispersion, shared excess), both from `sequential_dispersion`.
Errors that arrive in clumps of m make e_c | e over-dispersed and the plain ratio no
supermartingale; counting clumps instead of errors restores the model, and (L_j/L_theta)^(1/m) is
exactly the clump-count ratio, so tempering by phi >= m is valid by the Jensen step. The dispersion
comes from the baseline alone (a canary whose own failures come in bursts must not excuse itself)
and from earlier polls only; seed it with the baseline's history (`start`), or the first polls are
judged as if errors were Poisson. The shared excess is how far the poll's bad total e_k exceeds what
a canary at the upper end of rho's interval could explain: an additive incident on both versions
(+10 points of 5xx) would otherwise swamp the likelihood with evidence for rho = 1.

The binomial given the total is exact for Poisson bad counts; for bad counts that are Binomial in
the requests it is the rare-event limit (at rho = 1 the exact law is hypergeometric, smaller in the
convex order, so the e-value stays a supermartingale; Hoeffding 1963).

Inputs: a non-finite, negative or absurd (> 1e15 in one poll) count skips the poll (the same state
comes back): the caller decides what a missing canary means. A poll without requests on one side, or without bad requests
on both, carries no information for rho (it still feeds the dispersion window).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from monotui.judge.dispersion import DispersionEstimator
from monotui.judge.evidence import SCALARS, CountEvidence, frozen_rows

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]
    Bools = npt.NDArray[np.bool_]

__all__ = ["COLUMNS", "MAX_COUNT", "CountEvidence", "SequentialTest"]

COLUMNS = ("baseline_total", "baseline_bad", "canary_total", "canary_bad")
"""The column order of the count matrix `SequentialTest.update_many` takes."""

MAX_COUNT = 1e15
"""More requests than this in one poll is a broken counter, not traffic: the poll is skipped."""


class SequentialTest:
    """The mixture sequential ratio test of "canary bad rate <= allowed_increase x baseline's".

    allowed_increase: theta >= 1, the ratio still called healthy. alpha: the chance of ever rolling
    back a canary within it (the e-value threshold is 1/alpha). grid_points: about how many ratios
    between 1/max_ratio and max_ratio the likelihood is kept at. dispersion: how the tempering is
    estimated. One test serves many rollouts; the evidence it starts belongs to it.
    """

    def __init__(
        self,
        *,
        allowed_increase: float = 1.0,
        alpha: float = 0.01,
        grid_points: int = 80,
        max_ratio: float = 100.0,
        dispersion: DispersionEstimator | None = None,
    ) -> None:
        import numpy as np

        if not (math.isfinite(allowed_increase) and allowed_increase >= 1.0):
            raise ValueError(f"allowed_increase must be a number >= 1, not {allowed_increase}")
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
        if not (math.isfinite(max_ratio) and max_ratio >= 2.0 * allowed_increase):
            raise ValueError(f"max_ratio must be at least 2 x allowed_increase, not {max_ratio}")
        if grid_points < 8:
            raise ValueError(f"grid_points must be at least 8, not {grid_points}")
        self.allowed_increase = float(allowed_increase)
        self.alpha = float(alpha)
        self.max_ratio = float(max_ratio)
        self.dispersion = dispersion or DispersionEstimator()
        # The grid's spacing is fixed by grid_points over [1/max, max]; it is shifted so that
        # theta is a grid point, which makes l_theta exact.
        log_theta, log_max = math.log(self.allowed_increase), math.log(self.max_ratio)
        step = 2.0 * log_max / (grid_points - 1)
        first = math.floor((-log_max - log_theta) / step + 1e-9)  # the grid covers [1/max, max]
        last = math.ceil((log_max - log_theta) / step - 1e-9)
        self._step = step
        self._log_grid: Floats = log_theta + step * np.arange(first, last + 1, dtype=np.float64)
        self._theta_index = -first
        # The prior over the alternatives d grid steps above the null: half-normal in log(rho /
        # theta) with scale log 4. Small harms need the help (a large one piles up evidence
        # anyway), so it leans toward the null, yet keeps 5 % of its mass beyond x15
        # (docs-judge.md has the power runs). Normalised over the points the grid has room for.
        self._weights = np.exp(-0.5 * (step * np.arange(1, self._log_grid.size) / math.log(4)) ** 2)
        above = self._weights[: self._log_grid.size - 1 - self._theta_index]
        self._log_w_test = np.log(above / above.sum())
        self._log_v = np.full(self._log_grid.size, -math.log(self._log_grid.size))
        self._columns = {
            name: CountEvidence.column(name, self._log_grid.size, self.dispersion.window)
            for name in SCALARS
        }
        # The weights' sums over the alternatives each grid point has room for (see _rejected).
        self._room = np.concatenate([np.cumsum(self._weights)[::-1], [0.0]])

    @property
    def grid(self) -> tuple[float, ...]:
        """The rho values the likelihood is kept at, ascending."""
        import numpy as np

        return tuple(np.exp(self._log_grid).tolist())

    @property
    def threshold(self) -> float:
        """The e-value at which `rolls_back` says yes: 1/alpha."""
        return 1.0 / self.alpha

    def start(self, baseline_history: Sequence[tuple[float, float]] = ()) -> CountEvidence:
        """The evidence before any poll: no information, e-value 1.

        baseline_history: the baseline's (requests, bad requests) per poll interval before the
        rollout, oldest first; its last `dispersion.window` polls seed the dispersion estimate.
        Entries that are not finite, negative or without requests are left out.
        """
        import numpy as np

        window = self.dispersion.window
        kept = [
            (float(n), float(e))
            for n, e in baseline_history
            if math.isfinite(n) and math.isfinite(e) and n > 0 and e >= 0
        ][-window:]
        row = np.zeros(CountEvidence.width(self._log_grid.size, window))
        tail = self._log_grid.size + window - len(kept)
        row[tail : tail + len(kept)] = [n for n, _ in kept]
        row[tail + window : tail + window + len(kept)] = [e for _, e in kept]
        row[self._column("dispersion")] = row[self._column("dispersion_carry")] = 1.0
        row[self._column("allowed_increase")] = self.allowed_increase
        return frozen_rows(row[None, :], self._log_grid.size, window)[0]

    def update(
        self,
        ev: CountEvidence,
        *,
        baseline_total: float,
        baseline_bad: float,
        canary_total: float,
        canary_bad: float,
    ) -> CountEvidence:
        """Add one poll's increases; the same object comes back when the poll is skipped."""
        row = [[baseline_total, baseline_bad, canary_total, canary_bad]]
        return self.update_many([ev], row)[0]

    def update_many(
        self, states: Sequence[CountEvidence], counts: npt.ArrayLike
    ) -> list[CountEvidence]:
        """Add one poll to many rollouts at once; counts has one row per state, in `COLUMNS` order."""
        import numpy as np

        table = np.asarray(counts, dtype=np.float64)
        if table.shape != (len(states), 4):
            raise ValueError(f"counts must have shape ({len(states)}, 4), not {table.shape}")
        grid, window, col = self._log_grid.size, self.dispersion.window, self._columns
        for ev in states:
            same = (ev.grid_size, ev.window) == (grid, window)
            if not same or ev.values[col["allowed_increase"]] != self.allowed_increase:
                raise ValueError("this evidence was started by a test with another grid")
        with np.errstate(invalid="ignore"):
            accepted = (np.isfinite(table) & (table >= 0) & (table <= MAX_COUNT)).all(axis=1)
        rows = np.flatnonzero(accepted).tolist()
        out = list(states)
        if not rows:
            return out
        # A copy: the states stay frozen (np.stack costs more than the copy for one row).
        if len(rows) == 1:
            block = states[rows[0]].values[None, :].copy()
        else:
            block = np.stack([states[i].values for i in rows])
        n_b, e_b, n_c, e_c = table[rows].T
        log_lik = block[:, :grid]
        tails = block[:, grid : grid + window], block[:, grid + window : grid + 2 * window]
        carry, reference = block[:, col["dispersion_carry"]], block[:, col["reference_rate"]]

        dispersion, normal = self.dispersion.estimate(*tails, carry, reference)
        worst = np.maximum(
            self._upper_ends(log_lik, block[:, col["log_mixture"]]), self.allowed_increase
        )
        phi = np.maximum(
            dispersion, self.dispersion.shared_excess(normal, n_b, n_c, e_b + e_c, worst)
        )
        informative = (n_b > 0) & (n_c > 0) & (e_b + e_c > 0)
        if informative.any():
            log_lik += self._poll_log_lik(n_b, e_b, n_c, e_c, phi, informative)
            log_lik -= log_lik.max(axis=1, keepdims=True)  # keeps l bounded; ratios are unchanged
        # The poll joins the dispersion window only after it was judged (phi stays predictable).
        new_n, new_e, new_carry, new_reference = self.dispersion.append(
            (*tails, carry, reference), n_b, e_b, dispersion
        )
        block[:, grid : grid + window], block[:, grid + window : grid + 2 * window] = new_n, new_e
        block[:, col["log_e"]] = self._log_e(log_lik)
        block[:, col["log_mixture"]] = _log_sum_exp(log_lik + self._log_v)
        block[:, col["dispersion"]] = phi
        block[:, col["dispersion_carry"]] = new_carry
        block[:, col["reference_rate"]] = new_reference
        for name, value in (
            ("baseline_total", n_b),
            ("baseline_bad", e_b),
            ("canary_total", n_c),
            ("canary_bad", e_c),
            ("polls", informative),
        ):
            block[:, col[name]] += value
        if len(rows) == 1:  # the block is this call's own copy: no second one
            block.flags.writeable = False
            out[rows[0]] = CountEvidence(block[0], grid, window)
            return out
        for i, ev in zip(rows, frozen_rows(block, grid, window), strict=True):
            out[i] = ev
        return out

    def e_value(self, ev: CountEvidence) -> float:
        """The evidence against "canary <= allowed_increase x baseline" (inf when it overflows)."""
        return math.exp(ev.log_e) if ev.log_e < 700 else math.inf

    def rolls_back(self, ev: CountEvidence) -> bool:
        """Whether the evidence reached 1/alpha: the canary is worse than allowed."""
        return ev.log_e >= math.log(self.threshold)

    def interval(self, ev: CountEvidence) -> tuple[float | None, float | None]:
        """Anytime-valid bounds for rho, each at 1 - alpha (together 1 - 2 alpha); None: unbounded.

        The lower end is above allowed_increase exactly when `rolls_back` says yes.
        """
        import numpy as np

        lik = ev.log_lik
        low = self._rejected(lik)  # "rho <= rho_i" rejected
        high = self._rejected(lik[::-1])[::-1]  # "rho >= rho_i" rejected: the mirror image
        kept_low, kept_high = np.flatnonzero(~low), np.flatnonzero(~high)
        if kept_low.size == 0 or kept_high.size == 0:  # cannot happen: the top (bottom) is kept
            return None, None  # pragma: no cover
        lo, hi, last = int(kept_low[0]), int(kept_high[-1]), lik.size - 1
        # Grid point i stands for (rho_{i-1}, rho_i] against "rho <= rho_i", so the rejected
        # points below lo exclude everything up to rho_{lo-1}; the mirror for the upper end.
        lower = None if lo == 0 else self._rho(lo - 1)
        upper = None if hi == last else self._rho(hi + 1)
        return lower, upper

    def estimate(self, ev: CountEvidence) -> float | None:
        """The maximum-likelihood rho (clamped to the grid), or None before any information."""
        if ev.polls == 0:
            return None
        import numpy as np

        lik = ev.log_lik
        m = int(np.argmax(lik))  # the first maximum
        offset = 0.0
        if 0 < m < lik.size - 1:  # a parabola through the peak and its neighbours
            before, peak, after = lik[m - 1 : m + 2].tolist()
            curvature = before - 2.0 * peak + after
            if curvature < 0:
                offset = 0.5 * (before - after) / curvature
        return self._rho(m + offset)

    def _rho(self, index: float) -> float:
        return math.exp(float(self._log_grid[0]) + index * self._step)

    def _rejected(self, lik: Floats) -> Bools:
        """Whether the test against each grid point as theta, with the alternatives above, rejects.

        E_i = sum_d w_d L_{i+d} / (Z_i L_i): one correlation with the half-normal weights w_d, Z_i
        their sum over the d the grid has room for. l <= 0 (its maximum is 0), so where L
        underflows the point is far from the estimate, and a 0/0 counts as "not rejected".
        """
        import numpy as np

        big = np.exp(lik)
        weights = self._weights
        total = np.correlate(big[1:], weights, mode="full")[weights.size - 1 :]
        total = np.concatenate([total, [0.0]])  # the top point has no alternative above
        room = self._room
        return np.asarray((total > 0) & (room > 0) & (total >= room * big * self.threshold))

    def _column(self, name: str) -> int:
        return CountEvidence.column(name, self._log_grid.size, self.dispersion.window)

    def _upper_ends(self, log_lik: Floats, log_mixture: Floats) -> Floats:
        """The grid point just above each row's confidence set (the grid's top when unbounded)."""
        import numpy as np

        inside = log_lik > (log_mixture - math.log(self.threshold))[:, None]
        last = log_lik.shape[1] - 1
        top = last - np.argmax(inside[:, ::-1], axis=1)
        return np.asarray(np.exp(self._log_grid[np.minimum(top + 1, last)]), dtype=np.float64)

    def _poll_log_lik(
        self, n_b: Floats, e_b: Floats, n_c: Floats, e_c: Floats, phi: Floats, use: Bools
    ) -> Floats:
        import numpy as np

        with np.errstate(divide="ignore", invalid="ignore"):
            logit_s = np.where(use, np.log(n_c) - np.log(n_b), 0.0)
        logit_p = self._log_grid[None, :] + logit_s[:, None]
        log_q = -np.logaddexp(0.0, logit_p)  # log(1 - p), stable at both ends
        log_p = logit_p + log_q
        weight = np.where(use, 1.0 / phi, 0.0)
        return (e_c[:, None] * log_p + e_b[:, None] * log_q) * weight[:, None]

    def _log_e(self, log_lik: Floats) -> Floats:
        alt = log_lik[:, self._theta_index + 1 :] + self._log_w_test
        return _log_sum_exp(alt) - log_lik[:, self._theta_index]


def _log_sum_exp(values: Floats) -> Floats:
    """log sum exp over the last axis, row by row, without overflow (-inf for an empty row)."""
    import numpy as np

    top = values.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        total = np.log(np.exp(values - top).sum(axis=-1))
    return np.asarray(total + top[..., 0], dtype=np.float64)
