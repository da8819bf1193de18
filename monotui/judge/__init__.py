"""The judge of one rollout: the sequential judge on counts (the default, monotui.judge.counts)
or the Mann-Whitney judge on sampled values (`method = "mann-whitney"`, and any metric whose
query gives values but no counts, monotui.judge.mann_whitney). Pure, with an incremental cache.
"""

from __future__ import annotations

from collections.abc import Sequence

from monotui.config import JudgeConfig
from monotui.judge.counts import CountJudge, combine
from monotui.judge.mann_whitney import MannWhitneyJudge
from monotui.judge.probes import ProbeJudge, ProbeTally, with_probes
from monotui.metrics import Metric
from monotui.model import Sample, Verdict, VerdictResult

__all__ = ["Judge"]


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
        canary_expected: bool,
        probes: Sequence[ProbeTally] = (),
    ) -> Verdict:
        """The verdict on `samples` and this poll's synthetic probes (monotui.judge.probes: a
        probe failing on a canary track and not on the baseline fails it); see
        monotui.judge.counts for what each result means."""
        verdict = self._metrics(
            samples, run_since=run_since, step_since=step_since, canary_expected=canary_expected
        )
        return with_probes(verdict, self.probes.judge(probes, run_since=run_since))

    def _metrics(
        self,
        samples: Sequence[Sample],
        *,
        run_since: float | None,
        step_since: float | None,
        canary_expected: bool,
    ) -> Verdict:
        if self.config.method == "mann-whitney":
            since = None if step_since is None else step_since + self.window_s
            return self.values.judge(samples, since=since)
        verdict = self.counts.judge(
            samples, run_since=run_since, step_since=step_since, canary_expected=canary_expected
        )
        uncounted = [i for i in range(len(self.metrics)) if not _counted(samples, i)]
        if not uncounted or verdict.result == VerdictResult.NODATA:
            return verdict
        # A metric read as a value only (a rate query override): judged by its U test.
        since = None if step_since is None else step_since + self.window_s
        by_values = self.values.judge(samples, since=since).metrics
        merged = tuple(
            by_values[i] if i in uncounted and i < len(by_values) else m
            for i, m in enumerate(verdict.metrics)
        )
        return combine(merged, verdict.canary_requests)


def _counted(samples: Sequence[Sample], i: int) -> bool:
    """Whether metric `i`'s bad requests are counted (some sample has them)."""
    return any(s.baseline.bad_of(i) is not None for s in samples)
