"""The probes' judge counts: one failed probe on the canary never rolls back, a probe that keeps
failing on the canary while it passes on the baseline does (naming the probe and the track), and
a probe as flaky on the baseline as on the canary never does."""

from __future__ import annotations

from monotui.judge.probes import ProbeJudge, ProbeTally
from monotui.model import MetricLabel, MetricVerdict

ALPHA = 0.01


def _poll(judge: ProbeJudge, canary_failed: bool, baseline_failed: bool = False) -> MetricVerdict:
    (verdict,) = judge.judge(
        [
            ProbeTally("checkout", "baseline", 1, int(baseline_failed), baseline_failed),
            ProbeTally("checkout", "canary", 1, int(canary_failed), canary_failed),
        ],
        run_since=0.0,
    )
    return verdict


def test_one_failure_on_the_canary_does_not_roll_back() -> None:
    judge = ProbeJudge(ALPHA)
    labels = [_poll(judge, canary_failed=i == 3).label for i in range(40)]
    assert MetricLabel.HIGH not in labels


def test_a_probe_that_keeps_failing_on_the_canary_only_rolls_back_naming_it() -> None:
    judge = ProbeJudge(ALPHA)
    verdicts = [_poll(judge, canary_failed=True) for _ in range(20)]
    first_high = next(i for i, v in enumerate(verdicts) if v.label == MetricLabel.HIGH)
    assert 5 <= first_high < 15  # counted (about ten in a row at alpha 0.01), not the first
    assert verdicts[first_high].sentence.startswith(
        "synthetic checkout fails on canary, not on baseline"
    )


def test_a_probe_as_flaky_on_both_tracks_does_not_roll_back() -> None:
    judge = ProbeJudge(ALPHA)
    labels = [_poll(judge, i % 4 == 0, baseline_failed=i % 4 == 2).label for i in range(200)]
    assert MetricLabel.HIGH not in labels
