"""An observation between its reading and its judgement (monotui.rollout.observer): what lets
many rollouts' judgements be advanced in one batch (monotui.judge.judge_together)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from monotui.judge import Pending, judge_together
from monotui.model import Snapshot, Verdict

__all__ = [
    "NOT_JUDGED",
    "NOT_YET",
    "Concluding",
    "Reading",
    "conclude_together",
    "verdicts_together",
]

NOT_JUDGED = "not judged yet"
NOT_YET = Verdict.no_data(NOT_JUDGED)
"""A reading's verdict while its judgement is pending."""


@dataclass(frozen=True, slots=True)
class Reading:
    """An observation read and not yet judged (`Observer.read`): the verdict when it needs no
    judge (the metrics failed), else the judgement prepared."""

    at: float
    verdict: Verdict
    pending: Pending | None = None


class Concluding(Protocol):
    """What `conclude_together` needs of an observer (monotui.rollout.observer.Observer)."""

    def conclude(self, reading: Reading, verdict: Verdict | None = None) -> Snapshot: ...


def verdicts_together(readings: Sequence[Reading]) -> list[Verdict]:
    """Each reading's verdict, the pending judgements advanced in one batch
    (monotui.judge.judge_together)."""
    verdicts = iter(judge_together([r.pending for r in readings if r.pending is not None]))
    return [r.verdict if r.pending is None else next(verdicts) for r in readings]


def conclude_together(readings: Sequence[tuple[Concluding, Reading]]) -> list[Snapshot]:
    """`Observer.conclude` for many rollouts' readings (each rollout once), their judgements
    advanced in one batch: `monotui status` judges a whole fleet's histories this way."""
    verdicts = verdicts_together([r for _, r in readings])
    return [observer.conclude(r, v) for (observer, r), v in zip(readings, verdicts, strict=True)]
