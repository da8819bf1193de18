"""The judge of one rollout: the sequential judge on counts (the default, monotui.judge.counts)
or the Mann-Whitney judge on sampled values (`method = "mann-whitney"`, and any metric whose
query gives values but no counts, monotui.judge.mann_whitney). Pure, with an incremental cache.

A judgement is `prepare` (the bookkeeping, the polls the count evidence must take), then
`advance` of many prepared judgements at once (their arithmetic batched, monotui.judge.rounds),
then `finish` (the verdict); `judge` is the three for one rollout. Each verdict is the same to
the last bit whether its rollout was judged alone or with others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monotui.config import JudgeConfig
from monotui.judge.counts import CountJudge, canary_missing, combine, counted, nothing_of_canary
from monotui.judge.mann_whitney import MannWhitneyJudge
from monotui.judge.probes import ProbeJudge, ProbeTally, with_probes
from monotui.judge.rounds import Prepared
from monotui.judge.rounds import advance as advance_counts
from monotui.metrics import Metric
from monotui.model import MetricVerdict, Sample, Verdict, VerdictResult

__all__ = ["Judge", "Pending", "advance", "judge_alone", "judge_together"]


@dataclass(slots=True, eq=False)
class Pending:
    """One rollout's judgement between `Judge.prepare` and `Judge.finish`: the verdict on the
    metrics when it is already known, else the count evidence still to advance (`counts`)."""

    judge: Judge
    samples: Sequence[Sample]
    step_since: float | None
    probes: tuple[MetricVerdict, ...]
    counts: Prepared | Verdict

    @property
    def waiting(self) -> Prepared | None:
        """The count evidence `advance` must take, None when there is none."""
        return self.counts if isinstance(self.counts, Prepared) else None


def advance(pending: Sequence[Pending]) -> None:
    """Advance the count evidence of every pending judgement, one SequentialTest batch per test
    and poll (monotui.judge.rounds.advance)."""
    advance_counts([ready for p in pending if (ready := p.waiting) is not None])


def judge_alone(pending: Pending) -> Verdict:
    """The verdict of one prepared judgement, advanced on its own."""
    advance([pending])
    return pending.judge.finish(pending)


def judge_together(pending: Sequence[Pending]) -> list[Verdict]:
    """The verdicts of many prepared judgements (at most one per judge), their evidence
    advanced together: the same verdicts as judging each alone, for a fraction of the work."""
    advance(pending)
    return [p.judge.finish(p) for p in pending]


class Judge:
    """Judges one rollout's samples with its metrics and `[rollouts.judge]` settings."""

    def __init__(self, metrics: Sequence[Metric], config: JudgeConfig, window_s: float) -> None:
        self.metrics = tuple(metrics)
        self.config = config
        self.window_s = window_s
        self.counts = CountJudge(self.metrics, config, window_s)
        self.values = MannWhitneyJudge(self.metrics, config, window_s)
        self.probes = ProbeJudge(config.alpha)

    def judge(
        self,
        samples: Sequence[Sample],
        *,
        run_since: float | None,
        step_since: float | None,
        canary_expected: bool | None,
        probes: Sequence[ProbeTally] = (),
    ) -> Verdict:
        """The verdict on `samples` and this poll's synthetic probes (monotui.judge.probes: a
        probe failing on a canary track and not on the baseline fails it); see
        monotui.judge.counts for what each result means."""
        pending = self.prepare(
            samples,
            run_since=run_since,
            step_since=step_since,
            canary_expected=canary_expected,
            probes=probes,
        )
        return judge_alone(pending)

    def prepare(
        self,
        samples: Sequence[Sample],
        *,
        run_since: float | None,
        step_since: float | None,
        canary_expected: bool | None,
        probes: Sequence[ProbeTally] = (),
    ) -> Pending:
        """The first part of `judge`: `advance` it (with others), then `finish` it, with no
        other judgement of this judge in between."""
        judged_probes = self.probes.judge(probes, run_since=run_since)
        counts: Prepared | Verdict
        if self.config.method == "mann-whitney":
            since = None if step_since is None else step_since + self.window_s
            counts = self.values.judge(samples, since=since)
            why = canary_missing(samples[-1], canary_expected, counted=False) if samples else ""
            if why and counts.result not in (VerdictResult.FAIL, VerdictResult.NODATA):
                # Old samples in the lookback are no word on a canary that is gone now.
                counts = nothing_of_canary(why, counts.metrics, self.metrics, 0.0)
        else:
            counts = self.counts.prepare(
                samples,
                run_since=run_since,
                step_since=step_since,
                canary_expected=canary_expected,
            )
        return Pending(self, samples, step_since, judged_probes, counts)

    def finish(self, pending: Pending) -> Verdict:
        """The verdict of a prepared judgement whose evidence was advanced."""
        ready = pending.waiting
        if ready is None:  # the Mann-Whitney verdict, or the count judge's NO DATA: final
            verdict = pending.counts
            assert isinstance(verdict, Verdict)
        else:
            verdict = self._with_values(self.counts.finish(ready), pending)
        return with_probes(verdict, pending.probes)

    def _with_values(self, verdict: Verdict, pending: Pending) -> Verdict:
        """A metric read as a value only (a rate query override) is judged by its U test."""
        samples, step_since = pending.samples, pending.step_since
        uncounted = [i for i in range(len(self.metrics)) if not counted(samples, i)]
        if not uncounted or verdict.result == VerdictResult.NODATA:
            return verdict
        since = None if step_since is None else step_since + self.window_s
        by_values = self.values.judge(samples, since=since).metrics
        merged = tuple(
            by_values[i] if i in uncounted and i < len(by_values) else m
            for i, m in enumerate(verdict.metrics)
        )
        return combine(merged, verdict.canary_requests)
