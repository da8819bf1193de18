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

**Tempering.** phi_k = max(dispersion, shared excess), both from monotui.judge.dispersion.
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
comes back): the caller decides what a missing canary means. A poll without requests on one side, or
without bad requests on both, carries no information for rho (it still feeds the dispersion window).

**Cost.** Per poll and rollout the arithmetic is one pass over the grid (numpy, batched over every
rollout updated together) and O(1) Python floats for the dispersion (monotui.judge.dispersion);
the e-value, the interval's ends and the estimate are worked out once, in the update, and read
back for free. A batch gives each row exactly the bits it gets alone: the grid's operations are
elementwise or reduce along the grid within one row, and everything else is done row by row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from monotui.judge.dispersion import DispersionEstimator, Window
from monotui.judge.evidence import CountEvidence, number_at
from monotui.judge.grid import Grid

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]

__all__ = ["COLUMNS", "MAX_COUNT", "CountEvidence", "SequentialTest", "shared_test"]

COLUMNS = ("baseline_total", "baseline_bad", "canary_total", "canary_bad")
"""The column order of the count matrix `SequentialTest.update_many` takes."""

MAX_COUNT = 1e15
"""More requests than this in one poll is a broken counter, not traffic: the poll is skipped."""

Poll = tuple[float, float, float, float]
"""One poll's counts in COLUMNS order."""

_POLLS, _LOW, _HIGH, _TOP, _ESTIMATE = (
    number_at(name) for name in ("polls", "low_index", "high_index", "top_index", "estimate")
)


class SequentialTest:
    """The mixture sequential ratio test of "canary bad rate <= allowed_increase x baseline's".

    allowed_increase: theta >= 1, the ratio still called healthy. alpha: the chance of ever rolling
    back a canary within it (the e-value threshold is 1/alpha). grid_points: about how many ratios
    between 1/max_ratio and max_ratio the likelihood is kept at. dispersion: how the tempering is
    estimated. One test serves many rollouts (`shared_test`); the evidence it starts can be updated
    by any test with the same parameters.
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
        d = self.dispersion
        self._key = (
            *(self.allowed_increase, self.alpha, float(grid_points), self.max_ratio),
            *(float(d.window), d.noise_sd, d.margin, d.shift_threshold),
        )
        self._grid = grid = Grid(self.allowed_increase, self.threshold, grid_points, max_ratio)
        size = grid.size
        zeros = np.zeros((1, size))
        zeros.flags.writeable = False
        self._blank = (zeros[0], *(n[0] for n in grid.summary(zeros)))
        # The interval's ends per grid index, worked out once: grid point i stands for
        # (rho_{i-1}, rho_i] against "rho <= rho_i", so the rejected points below low exclude
        # everything up to rho_{low-1}; the mirror for the upper end.
        self._lower_ends: list[float | None] = [None, *(grid.rho(i - 1) for i in range(1, size))]
        self._upper_ends: list[float | None] = [*(grid.rho(i + 1) for i in range(size - 1)), None]

    @property
    def grid(self) -> tuple[float, ...]:
        """The rho values the likelihood is kept at, ascending."""
        return tuple(self._grid.rho_at)

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
        kept = [
            (float(n), float(e))
            for n, e in baseline_history
            if math.isfinite(n) and math.isfinite(e) and n > 0 and e >= 0
        ][-self.dispersion.window :]
        window = Window.of([n for n, _ in kept], [e for _, e in kept])
        lik, log_e, log_mixture, low, high, top, estimate = self._blank
        numbers = (log_e, log_mixture, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, low, high, top, estimate)
        return CountEvidence(lik, window, numbers, self._key)

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
        poll = (float(baseline_total), float(baseline_bad), float(canary_total), float(canary_bad))
        return self.advance([ev], [poll])[0]

    def update_many(
        self, states: Sequence[CountEvidence], counts: npt.ArrayLike
    ) -> list[CountEvidence]:
        """Add one poll to many rollouts at once; counts has one row per state, in `COLUMNS` order."""
        import numpy as np

        table = np.asarray(counts, dtype=np.float64)
        if table.shape != (len(states), 4):
            raise ValueError(f"counts must have shape ({len(states)}, 4), not {table.shape}")
        return self.advance(states, table.tolist())

    def advance(
        self, states: Sequence[CountEvidence], polls: Sequence[Poll]
    ) -> list[CountEvidence]:
        """`update_many` on counts already in Python floats: each state with its poll."""
        key, worst_above = self._key, self._grid.worst_above
        estimate, shared_excess = self.dispersion.estimate, self.dispersion.shared_excess
        append = self.dispersion.append
        out = list(states)
        # Per usable row: its index, and what its new state takes that does not wait for the
        # likelihood, worked out while the old state is still in cache (the numpy work between
        # the two loops evicts a fleet's states). The informative rows' split in columns.
        rows: list[int] = []
        carried: list[tuple[float, float, float, float, float, float, bool, Window]] = []
        liks: list[Floats] = []
        logit_s: list[float] = []
        bad_b: list[float] = []
        bad_c: list[float] = []
        weights: list[float] = []
        for i, (ev, poll) in enumerate(zip(states, polls, strict=True)):
            log_lik, window, old, made_by = ev
            if made_by is not key and made_by != key:
                raise ValueError("this evidence was started by a test with another grid")
            n_b, e_b, n_c, e_c = poll
            if not (
                0.0 <= n_b <= MAX_COUNT
                and 0.0 <= e_b <= MAX_COUNT
                and 0.0 <= n_c <= MAX_COUNT
                and 0.0 <= e_c <= MAX_COUNT
            ):
                continue  # NaN fails every comparison: skipped too
            dispersion, normal = estimate(window)
            bad = e_b + e_c
            phi = shared_excess(normal, n_b, n_c, bad, worst_above[int(old[_TOP])])
            if dispersion > phi:
                phi = dispersion
            informative = n_b > 0 and n_c > 0 and bad > 0
            if informative:
                liks.append(log_lik)
                logit_s.append(math.log(n_c) - math.log(n_b))
                bad_b.append(e_b)
                bad_c.append(e_c)
                weights.append(1.0 / phi)
            rows.append(i)
            carried.append(
                (
                    old[2] + n_b,
                    old[3] + e_b,
                    old[4] + n_c,
                    old[5] + e_c,
                    old[_POLLS] + informative,
                    phi,
                    informative,
                    # The poll joins the dispersion window only after it was judged (phi
                    # stays predictable).
                    append(window, n_b, e_b, dispersion),
                )
            )
        if not rows:
            return out
        if liks:
            lik = self._grid.sharpen(liks, logit_s, bad_b, bad_c, weights)
            # Each state owns its row: one kept for long must not pin a whole batch's block.
            sharpened = [lik[0]] if len(liks) == 1 else [row.copy() for row in lik]
            for row in sharpened:
                row.flags.writeable = False
            log_es, log_mixtures, lows, highs, tops, estimates = self._grid.summary(lik)
        k = 0
        make = tuple.__new__  # CountEvidence's own __new__ is a Python function around it
        for i, (b_n, b_e, c_n, c_e, informed, phi, informative, window) in zip(
            rows, carried, strict=True
        ):
            if informative:
                lik_row, log_e, log_mixture = sharpened[k], log_es[k], log_mixtures[k]
                low, high, top, estimated = lows[k], highs[k], tops[k], estimates[k]
                k += 1
            else:  # the likelihood and everything read from it stay as they were
                lik_row, _, old, _ = out[i]
                log_e, log_mixture = old[0], old[1]
                low, high, top, estimated = old[_LOW], old[_HIGH], old[_TOP], old[_ESTIMATE]
            numbers = (
                log_e,
                log_mixture,
                b_n,
                b_e,
                c_n,
                c_e,
                informed,
                phi,
                low,
                high,
                top,
                estimated,
            )
            out[i] = make(CountEvidence, (lik_row, window, numbers, key))
        return out

    def e_value(self, ev: CountEvidence) -> float:
        """The evidence against "canary <= allowed_increase x baseline" (inf when it overflows)."""
        return math.exp(ev.log_e) if ev.log_e < 700 else math.inf

    def rolls_back(self, ev: CountEvidence) -> bool:
        """Whether the evidence reached 1/alpha: the canary is worse than allowed."""
        return ev.log_e >= self._grid.log_threshold

    def interval(self, ev: CountEvidence) -> tuple[float | None, float | None]:
        """Anytime-valid bounds for rho, each at 1 - alpha (together 1 - 2 alpha); None: unbounded.

        The lower end is above allowed_increase exactly when `rolls_back` says yes.
        """
        return self.interval_at(*self.interval_index(ev))

    def interval_index(self, ev: CountEvidence) -> tuple[int, int]:
        """The grid points the interval's ends come from (see `interval_at`)."""
        return int(ev.numbers[_LOW]), int(ev.numbers[_HIGH])

    def interval_at(self, low: int, high: int) -> tuple[float | None, float | None]:
        """The interval whose lower test first keeps grid point `low` and whose upper test last
        keeps `high`."""
        return self._lower_ends[low], self._upper_ends[high]

    def estimate(self, ev: CountEvidence) -> float | None:
        """The maximum-likelihood rho (clamped to the grid), or None before any information."""
        return None if ev.polls == 0 else ev.numbers[_ESTIMATE]


@lru_cache(maxsize=64)
def shared_test(allowed_increase: float = 1.0, alpha: float = 0.01) -> SequentialTest:
    """The one SequentialTest with these parameters (the default grid and dispersion): the judges
    that share it can have their polls updated in one batch."""
    return SequentialTest(allowed_increase=allowed_increase, alpha=alpha)
