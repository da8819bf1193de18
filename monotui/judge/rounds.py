"""Many rollouts judged at once: their count judges' evidence advanced together, one
SequentialTest batch per test and poll, between each judge's `prepare` and `finish`
(monotui.judge.counts). Each verdict is the one the rollout gets judged alone, to the last bit:
the batch's rows are independent (monotui.judge.sequential)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from monotui.judge.evidence import CountEvidence
from monotui.judge.sequential import Poll, SequentialTest
from monotui.judge.tally import StepTally
from monotui.model import Sample, Verdict

__all__ = ["Judging", "Prepared", "advance", "judge_many"]


class Judging(Protocol):
    """What a round needs of a judge (monotui.judge.counts.CountJudge)."""

    @property
    def tests(self) -> tuple[SequentialTest, ...]: ...

    def prepare(
        self,
        samples: Sequence[Sample],
        *,
        run_since: float | None,
        step_since: float | None,
        canary_expected: bool | None,
    ) -> Prepared | Verdict: ...

    def finish(self, ready: Prepared) -> Verdict: ...


@dataclass(slots=True, eq=False)
class Prepared:
    """One rollout's judgement between `CountJudge.prepare` and `CountJudge.finish`: per metric
    the evidence so far and the polls it still has to take (`advance` adds them). Each judge
    has one and fills it again at every `prepare` (fewer objects a poll for the collector)."""

    judge: Judging
    samples: Sequence[Sample]
    start: float
    step: StepTally
    canary_expected: bool | None
    evidence: list[CountEvidence]
    polls: list[list[Poll]]
    last_t: list[float]


def advance(prepared: Sequence[Prepared]) -> None:
    """Add every prepared judgement's polls to its evidence, one SequentialTest batch per test
    and poll: the k-th pending poll of every metric that shares a test goes in one update."""
    groups: dict[SequentialTest, list[tuple[Prepared, int]]] = {}  # by identity
    for ready in prepared:
        tests = ready.judge.tests
        for i, polls in enumerate(ready.polls):
            if polls:
                group = groups.get(tests[i])
                if group is None:
                    group = groups[tests[i]] = []
                group.append((ready, i))
    for test, members in groups.items():
        k = 0
        while members:
            states = test.advance(
                [ready.evidence[i] for ready, i in members],
                [ready.polls[i][k] for ready, i in members],
            )
            for (ready, i), ev in zip(members, states, strict=True):
                ready.evidence[i] = ev
            k += 1
            members = [(ready, i) for ready, i in members if len(ready.polls[i]) > k]
    for ready in prepared:
        for polls in ready.polls:
            polls.clear()


def judge_many(
    calls: Sequence[tuple[Judging, Sequence[Sample], float | None, float | None, bool | None]],
) -> list[Verdict]:
    """`CountJudge.judge` for many rollouts at once, each (judge, samples, run_since, step_since,
    canary_expected), their evidence advanced together: the same verdicts as judging each alone,
    for a fraction of the numpy calls. A judge may appear once."""
    ready = [
        judge.prepare(samples, run_since=run, step_since=step, canary_expected=expected)
        for judge, samples, run, step, expected in calls
    ]
    advance([r for r in ready if isinstance(r, Prepared)])
    return [r if isinstance(r, Verdict) else r.judge.finish(r) for r in ready]
