"""CountEvidence: what the sequential test knows about one rollout's metric, in one frozen row.

The state is one read-only float64 array, so that many rollouts stack into one matrix for a batched
update and split back into rows without converting through Python lists:

    [ log-likelihood (grid) | baseline window requests (window) | window bad (window) | scalars ]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]

__all__ = ["SCALARS", "CountEvidence"]

SCALARS = (
    "log_e",  # log of the e-value against rho <= allowed_increase
    "log_mixture",  # log of the two-sided mixture that bounds the confidence sequence
    "baseline_total",  # requests and bad requests summed over the accepted polls
    "baseline_bad",
    "canary_total",
    "canary_bad",
    "polls",  # polls that carried information about rho
    "dispersion",  # the phi that tempered the newest accepted poll
    "dispersion_carry",  # the dispersion in use when the window last restarted at a level shift
    "reference_rate",  # the baseline's bad rate before that shift (0: none yet)
    "allowed_increase",  # the theta this evidence was built for
)
"""The scalars at the end of the row, in order."""
_OFFSET = {name: k for k, name in enumerate(SCALARS)}


@dataclass(frozen=True, slots=True, eq=False)
class CountEvidence:
    """Everything the test knows about one rollout's metric; immutable, made by SequentialTest.

    Equal when the rows are equal, hashable, cheap to keep (one ~1 KB array; no shared buffers).
    """

    values: Floats
    grid_size: int
    window: int

    @staticmethod
    def width(grid_size: int, window: int) -> int:
        """The length of a row for this grid and window."""
        return grid_size + 2 * window + len(SCALARS)

    @staticmethod
    def column(name: str, grid_size: int, window: int) -> int:
        """The column of one scalar in a row (or in a stacked matrix of rows)."""
        return grid_size + 2 * window + _OFFSET[name]

    @property
    def log_lik(self) -> Floats:
        """The tempered log-likelihood on the test's grid, its maximum shifted to 0 (read-only)."""
        return self.values[: self.grid_size]

    @property
    def tail_total(self) -> Floats:
        """The baseline's requests in its last polls, oldest first (0 = an empty slot)."""
        return self.values[self.grid_size : self.grid_size + self.window]

    @property
    def tail_bad(self) -> Floats:
        """The baseline's bad requests in the same polls."""
        start = self.grid_size + self.window
        return self.values[start : start + self.window]

    def _scalar(self, name: str) -> float:
        return float(self.values[self.grid_size + 2 * self.window + _OFFSET[name]])

    @property
    def log_e(self) -> float:
        """The log of the e-value against rho <= allowed_increase."""
        return self._scalar("log_e")

    @property
    def log_mixture(self) -> float:
        """The log of the two-sided mixture that bounds the confidence sequence."""
        return self._scalar("log_mixture")

    @property
    def baseline_total(self) -> float:
        """The baseline's requests over the accepted polls."""
        return self._scalar("baseline_total")

    @property
    def baseline_bad(self) -> float:
        """The baseline's bad requests over the accepted polls."""
        return self._scalar("baseline_bad")

    @property
    def canary_total(self) -> float:
        """The canary's requests over the accepted polls."""
        return self._scalar("canary_total")

    @property
    def canary_bad(self) -> float:
        """The canary's bad requests over the accepted polls."""
        return self._scalar("canary_bad")

    @property
    def polls(self) -> int:
        """The polls that carried information about rho."""
        return int(self._scalar("polls"))

    @property
    def dispersion(self) -> float:
        """The phi that tempered the newest accepted poll."""
        return self._scalar("dispersion")

    @property
    def dispersion_carry(self) -> float:
        """The dispersion in use when the window last restarted at a level shift."""
        return self._scalar("dispersion_carry")

    @property
    def reference_rate(self) -> float:
        """The baseline's bad rate before that shift (0: none yet)."""
        return self._scalar("reference_rate")

    @property
    def allowed_increase(self) -> float:
        """The theta this evidence was built for."""
        return self._scalar("allowed_increase")

    def __eq__(self, other: object) -> bool:
        import numpy as np

        if not isinstance(other, CountEvidence):
            return NotImplemented
        return (self.grid_size, self.window) == (other.grid_size, other.window) and bool(
            np.array_equal(self.values, other.values)
        )

    def __hash__(self) -> int:
        return hash((self.grid_size, self.window, self.values.tobytes()))


def frozen_rows(block: Floats, grid_size: int, window: int) -> list[CountEvidence]:
    """One CountEvidence per row of a (R, width) matrix; each owns a read-only copy of its row."""
    rows = []
    for row in block:
        own = row.copy()
        own.flags.writeable = False
        rows.append(CountEvidence(own, grid_size, window))
    return rows
