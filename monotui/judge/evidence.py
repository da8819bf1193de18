"""CountEvidence: what the sequential test knows about one rollout's metric, frozen.

Three parts, each kept in the form its arithmetic is cheapest in:

- the tempered log-likelihood on the test's grid: one read-only float64 array, so that many
  rollouts stack into one matrix for a batched update (monotui.judge.sequential);
- the baseline's dispersion window (monotui.judge.dispersion.Window): a few dozen doubles in
  arrays with running sums, updated in O(1) arithmetic per poll;
- the numbers a verdict reads (the e-value, the counts, the interval's ends, the estimate): a
  tuple of Python floats, worked out once per poll in the update, so that reading them costs no
  numpy call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from monotui.judge.dispersion import Window

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]

__all__ = ["NUMBERS", "CountEvidence", "number_at"]

NUMBERS = (
    "log_e",  # log of the e-value against rho <= allowed_increase
    "log_mixture",  # log of the two-sided mixture that bounds the confidence sequence
    "baseline_total",  # requests and bad requests summed over the accepted polls
    "baseline_bad",
    "canary_total",
    "canary_bad",
    "polls",  # polls that carried information about rho
    "dispersion",  # the phi that tempered the newest accepted poll
    "low_index",  # the first grid point "rho <= rho_i" is not rejected at (the lower end)
    "high_index",  # the last grid point "rho >= rho_i" is not rejected at (the upper end)
    "top_index",  # the last grid point inside the two-sided confidence set
    "estimate",  # the maximum-likelihood rho on the grid (meaningless while polls == 0)
)
"""The numbers of `CountEvidence.numbers`, in order."""
_AT = {name: k for k, name in enumerate(NUMBERS)}


def number_at(name: str) -> int:
    """Where number `name` is in `CountEvidence.numbers`."""
    return _AT[name]


(
    _LOG_E,
    _LOG_MIXTURE,
    _BASELINE_TOTAL,
    _BASELINE_BAD,
    _CANARY_TOTAL,
    _CANARY_BAD,
    _POLLS,
    _DISPERSION,
    _LOW,
    _HIGH,
    _TOP,
    _ESTIMATE,
) = range(len(NUMBERS))


class CountEvidence(NamedTuple):
    """Everything the test knows about one rollout's metric; immutable, made by SequentialTest.

    Equal when every part is equal, hashable, cheap to keep (one ~0.7 KB array, a window of
    doubles). `test` names the test's parameters: only a test with the same ones may update it.
    A named tuple, not a frozen dataclass: one is made per poll, rollout and metric, and a tuple
    is made several times faster.
    """

    log_lik: Floats
    """The tempered log-likelihood on the test's grid, its maximum shifted to 0 (read-only)."""
    window: Window
    """The baseline's recent polls, for the dispersion estimate."""
    numbers: tuple[float, ...]
    """See NUMBERS."""
    test: tuple[float, ...]
    """The parameters of the test that made it (allowed_increase first)."""

    @property
    def grid_size(self) -> int:
        """How many grid points the likelihood is kept at."""
        return int(self.log_lik.size)

    @property
    def log_e(self) -> float:
        """The log of the e-value against rho <= allowed_increase."""
        return self.numbers[_LOG_E]

    @property
    def log_mixture(self) -> float:
        """The log of the two-sided mixture that bounds the confidence sequence."""
        return self.numbers[_LOG_MIXTURE]

    @property
    def baseline_total(self) -> float:
        """The baseline's requests over the accepted polls."""
        return self.numbers[_BASELINE_TOTAL]

    @property
    def baseline_bad(self) -> float:
        """The baseline's bad requests over the accepted polls."""
        return self.numbers[_BASELINE_BAD]

    @property
    def canary_total(self) -> float:
        """The canary's requests over the accepted polls."""
        return self.numbers[_CANARY_TOTAL]

    @property
    def canary_bad(self) -> float:
        """The canary's bad requests over the accepted polls."""
        return self.numbers[_CANARY_BAD]

    @property
    def polls(self) -> int:
        """The polls that carried information about rho."""
        return int(self.numbers[_POLLS])

    @property
    def dispersion(self) -> float:
        """The phi that tempered the newest accepted poll."""
        return self.numbers[_DISPERSION]

    @property
    def dispersion_carry(self) -> float:
        """The dispersion in use when the window last restarted at a level shift."""
        return self.window.carry

    @property
    def reference_rate(self) -> float:
        """The baseline's bad rate before that shift (0: none yet)."""
        return self.window.reference

    @property
    def allowed_increase(self) -> float:
        """The theta this evidence was built for."""
        return self.test[0]

    def __eq__(self, other: object) -> bool:
        import numpy as np

        if not isinstance(other, CountEvidence):
            return NotImplemented
        return (
            self.numbers == other.numbers
            and self.test == other.test
            and self.window == other.window
            and bool(np.array_equal(self.log_lik, other.log_lik))
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((self.numbers, self.test, self.window, self.log_lik.tobytes()))
