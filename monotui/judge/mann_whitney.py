"""Canary judgement, Kayenta-style: samples in, a Verdict with its numbers and a sentence out. Pure.

Each metric compares the last `lookback` samples of canary and baseline with a two-sided Mann-Whitney
U test, gated by an effect size, after absolute guards that need no statistics (the newest canary
error rate above `max_error_rate`, too few requests). The score is the share of metrics with data
that pass; a critical HIGH fails the whole verdict. See JudgeConfig for every knob.

numpy and scipy are imported inside the functions that use them: the first frame must not pay for
them. The U test runs in numpy (the same formulas as scipy's asymptotic method, ~20x cheaper than a
`scipy.stats.mannwhitneyu` call) and falls back to scipy's exact method where scipy would use it.

Speed (bench/judge_bench.py: 100 rollouts x 600 samples per side within 50 ms): judge_samples reads
the samples once into numpy columns that every metric shares, and tests/test_judge_equivalence.py
holds the per-sample judge this replaced, which must give the same verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from monotui.config import JudgeConfig
from monotui.judge.mw_samples import has_data, independent, independent_columns, rate_row, row_of
from monotui.metrics import Metric
from monotui.model import MetricLabel, MetricVerdict, Sample, Verdict, VerdictResult

__all__ = ["MannWhitney", "MannWhitneyJudge", "independent", "mann_whitney", "score"]

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _Metric:
    """How one metric is read from the columns and written in a sentence."""

    name: str
    words: str  # "canary 5xx" reads better than "canary error_rate"
    row: int  # its baseline row in judge_samples' columns; the canary is the next row
    show: Callable[[float], str]
    critical: bool
    limit: float | None  # the absolute guard on the newest canary value
    allowed_increase: float  # the effect-size gate


@dataclass(frozen=True, slots=True)
class MannWhitney:
    """A two-sided Mann-Whitney U test: U of the canary sample and the p-value."""

    u_canary: float
    p_value: float
    n_canary: int
    n_baseline: int

    @property
    def canary_higher(self) -> bool:
        """Whether canary values tend to rank above baseline values (U above its mean)."""
        return self.u_canary > self.n_canary * self.n_baseline / 2


class MannWhitneyJudge:
    """Judges the latest `lookback` samples of one rollout's metric values (`method =
    "mann-whitney"`, or a metric that is not counted). `window_s`: the samples' rate window."""

    def __init__(
        self, metrics: Sequence[Metric], config: JudgeConfig, window_s: float = 60.0
    ) -> None:
        self.config = config
        self.window_s = window_s
        self.n_metrics = len(metrics)
        self._metrics = tuple(
            _Metric(
                m.name,
                m.words,
                row_of(i),
                m.spec.format,
                m.critical(config),
                m.limit(config),
                m.allowed(config),
            )
            for i, m in enumerate(metrics)
        )

    def judge(self, samples: Sequence[Sample], *, since: float | None = None) -> Verdict:
        """The verdict on the newest samples; never raises on gaps, ties or constant series.

        `since`: when the current weight was reached (plus one window). Samples from an earlier
        step measured another traffic split; once enough samples of this step exist for the test
        to be able to fail (`conclusive_n`), only they are judged, so a canary that got worse with
        more traffic is not hidden behind its quieter past.
        """
        cfg = self.config
        if samples and not has_data(samples[-1]):
            # A gap is one NO DATA poll; judging the older samples again would count them twice.
            return Verdict.no_data("the newest poll returned no metric values")
        _, columns, picked = independent_columns(
            samples, self.window_s, cfg.lookback, self.n_metrics
        )
        recent = columns.take(picked, axis=1)
        if since is not None:
            this_step = recent[:, recent[0] >= since]
            if this_step.shape[1] >= max(cfg.min_samples, conclusive_n(cfg.confidence)):
                recent = this_step
        judged = tuple(self._judge_metric(m, recent) for m in self._metrics)
        requests = self._canary_requests(recent)
        if cfg.min_requests > 0 and (requests is None or requests < cfg.min_requests):
            # Too little traffic: every error rate is noise. Keep the numbers, label them NO DATA.
            why = (
                "no canary request rate"
                if requests is None
                else f"canary served {requests:.0f} requests in the judged windows, "
                f"{cfg.min_requests:.0f} needed"
            )
            words = {m.name: m.words for m in self._metrics}
            quiet = tuple(
                replace(m, label=MetricLabel.NODATA, sentence=f"{words[m.name]}: {why}: NODATA")
                for m in judged
            )
            return Verdict(VerdictResult.NODATA, None, why, quiet)
        return score(judged, cfg)

    def _canary_requests(self, recent: Floats) -> float | None:
        rates = recent[rate_row(self.n_metrics)]
        rates = rates[rates == rates]  # x == x is False only for NaN
        if not len(rates):
            return None
        # The builtin sum, not numpy's pairwise one: the same float as summing the samples in order.
        total: float = sum(rates.tolist())
        return total * self.window_s

    def _newest(self, metric: _Metric, recent: Floats) -> float | None:
        """The canary's value over its newest samples covering `min_requests` requests, weighted by
        requests: exact pooling for an error rate, a weighted mean for p99. One error in 19 requests
        is 5.3 %; pooled with its neighbours up to 100 requests it is the 1 % it really is."""
        values, rates = recent[metric.row + 1], recent[rate_row(self.n_metrics)]
        total = weighted = 0.0
        for i in range(len(values) - 1, -1, -1):  # usually stops after a sample or two
            value: float = values.item(i)
            if math.isnan(value):
                continue
            rate: float = rates.item(i)
            requests = 0.0 if math.isnan(rate) else rate * self.window_s
            if total == 0 and requests == 0:
                return value  # no request counts (min_requests 0): the newest value alone
            total += requests
            weighted += value * requests
            if total >= self.config.min_requests:
                break
        return weighted / total if total > 0 else None

    def _judge_metric(self, metric: _Metric, recent: Floats) -> MetricVerdict:
        cfg = self.config
        base, can = _sorted_data(recent[metric.row : metric.row + 2])
        b = _median_of_sorted(base)
        c = _median_of_sorted(can)
        effect = _effect(c, b) if c is not None and b is not None else None
        numbers = MetricVerdict(
            metric.name,
            MetricLabel.NODATA,
            b,
            c,
            None,
            effect,
            len(base),
            len(can),
            metric.critical,
        )
        newest = self._newest(metric, recent) if metric.limit is not None else None
        if metric.limit is not None and newest is not None and newest > metric.limit:
            sentence = (
                f"{metric.words} {metric.show(newest)} now, above the {metric.show(metric.limit)} "
                f"limit (baseline {metric.show(b) if b is not None else 'no data'}): HIGH"
            )
            return replace(numbers, label=MetricLabel.HIGH, sentence=sentence)
        if b is None or c is None or min(len(base), len(can)) < cfg.min_samples:
            sentence = (
                f"{metric.words}: {min(len(base), len(can))} samples per side, "
                f"{cfg.min_samples} needed: NODATA"
            )
            return replace(numbers, label=MetricLabel.NODATA, sentence=sentence)
        assert effect is not None  # both medians exist here
        test = mann_whitney(can, base)  # the test ranks, so sorted input gives the same U and p
        label = MetricLabel.PASS
        gate = ""
        if test.p_value < 1 - cfg.confidence:
            if not test.canary_higher:
                label = MetricLabel.LOW
            elif metric.allowed_increase > 1.0 and effect <= metric.allowed_increase:
                gate = f" within {metric.allowed_increase:g}x allowed"
            else:
                label = MetricLabel.HIGH
        sentence = (
            f"{metric.words} {metric.show(c)} vs baseline {metric.show(b)}, "
            f"{_p(test.p_value)}, {_times(effect)}{gate}: {label.value}"
        )
        return replace(numbers, label=label, p_value=test.p_value, sentence=sentence)


def score(metrics: Sequence[MetricVerdict], cfg: JudgeConfig) -> Verdict:
    """Kayenta's score: PASS / (PASS + HIGH + LOW) x 100 over the metrics with data, then thresholds.

    A critical HIGH scores 0 and fails. When half or more of the metrics have no data the score is 0
    but the verdict is NO DATA, not FAIL: a gap in Prometheus is no evidence against the canary, so it
    must stop the automation (NO DATA never advances and pauses after `nodata_limit`), not roll back.
    """
    metrics = tuple(metrics)
    with_data = [m for m in metrics if m.label != MetricLabel.NODATA]
    if not with_data:
        why = "; ".join(m.sentence for m in metrics) or "no metrics to judge"
        return Verdict(VerdictResult.NODATA, None, why, metrics)
    critical = next((m for m in with_data if m.critical and m.label == MetricLabel.HIGH), None)
    if critical is not None:
        return Verdict(VerdictResult.FAIL, 0.0, f"{critical.sentence} (critical)", metrics)
    missing = len(metrics) - len(with_data)
    if 2 * missing >= len(metrics):
        gaps = "; ".join(m.sentence for m in metrics if m.label == MetricLabel.NODATA)
        return Verdict(
            VerdictResult.NODATA, 0.0, f"{missing} of {len(metrics)} metrics: {gaps}", metrics
        )
    good = {MetricLabel.PASS} | ({MetricLabel.LOW} if cfg.direction == "increase" else set())
    value = 100.0 * sum(m.label in good for m in with_data) / len(with_data)
    if value >= cfg.pass_score:
        result = VerdictResult.PASS
    elif value >= cfg.marginal_score:
        result = VerdictResult.MARGINAL
    else:
        result = VerdictResult.FAIL
    # The reason a human reads first: the worst metric (HIGH, then LOW, then the first one).
    order = {MetricLabel.HIGH: 0, MetricLabel.LOW: 1, MetricLabel.PASS: 2}
    worst = min(with_data, key=lambda m: order.get(m.label, 3))
    return Verdict(result, value, f"score {value:.0f}: {worst.sentence}", metrics)


def conclusive_n(confidence: float) -> int:
    """The fewest samples per side with which the two-sided U test can reach `confidence`: with n
    each, the smallest p it can give is 2 / C(2n, n) (0.1 at 3, 0.029 at 4, 0.008 at 5)."""
    n = 1
    while 2 / math.comb(2 * n, n) >= 1 - confidence:
        n += 1
    return n


def mann_whitney(
    canary: Sequence[float] | Floats, baseline: Sequence[float] | Floats
) -> MannWhitney:
    """Two-sided Mann-Whitney U test; agrees with `scipy.stats.mannwhitneyu(canary, baseline)`.

    Tie-corrected normal approximation with continuity correction (scipy's asymptotic method), and
    scipy's exact distribution when it would choose it (a side of 8 or fewer and no ties). Identical
    or constant series give p = 1 instead of scipy's division by zero.
    """
    import numpy as np

    x = np.asarray(canary, dtype=float)
    y = np.asarray(baseline, dtype=float)
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("the Mann-Whitney test needs at least one value per side")
    both = np.concatenate((x, y))
    order = np.argsort(both, kind="mergesort")
    ordered = both[order]
    new = np.empty(len(both), dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    bounds = np.append(starts, len(both))  # a tie group spans ranks bounds[i]+1 .. bounds[i+1]
    average_rank = (bounds[:-1] + bounds[1:] + 1) / 2.0
    # The canary's rank sum, group by group: its values in each tie group times the group's rank.
    # Ranks are half-integers, so this sum is exact and equals summing a rank per canary value.
    in_group = np.add.reduceat(order < n1, starts, dtype=np.intp)
    u1 = float(average_rank @ in_group) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    ties = np.diff(bounds)
    if (n1 <= 8 or n2 <= 8) and not bool((ties > 1).any()):
        from scipy.stats import mannwhitneyu

        p = float(mannwhitneyu(x, y, alternative="two-sided", method="exact").pvalue)
        return MannWhitney(u1, p, n1, n2)
    n = n1 + n2
    tie_term = float((ties**3 - ties).sum())
    variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:  # every value equal: no evidence of any difference
        return MannWhitney(u1, 1.0, n1, n2)
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(variance)
    p = min(1.0, max(0.0, math.erfc(z / math.sqrt(2))))  # 2 x the normal survival function
    return MannWhitney(u1, p, n1, n2)


def _sorted_data(rows: Floats) -> list[Floats]:
    """Each row's values that are data (NaN, None read as NaN, is NO DATA, never zero), sorted."""
    import numpy as np

    ordered = np.sort(rows, axis=1)  # NaN sorts last: the data is each row's prefix
    counts = (ordered == ordered).sum(axis=1).tolist()  # x == x is False only for NaN
    return [row[:n] for row, n in zip(ordered, counts, strict=True)]


def _median_of_sorted(values: Floats) -> float | None:
    """np.median of sorted values without its partition and dispatch (four calls per judgement).

    np.median averages the middle value(s) with a sum that starts at 0.0, which turns -0.0 into 0.0;
    the `0.0 +` keeps the result numpy's to the bit.
    """
    n = len(values)
    if n == 0:
        return None
    mid = n // 2
    if n % 2:
        return 0.0 + values.item(mid)
    return (0.0 + values.item(mid - 1) + values.item(mid)) / 2


def _effect(canary: float, baseline: float) -> float:
    """canary / baseline; two zeros are no change, a canary above a zero baseline is infinite."""
    if baseline > 0:
        return canary / baseline
    return math.inf if canary > 0 else 1.0


def _p(p_value: float) -> str:
    return "p<0.001" if p_value < 0.001 else f"p={p_value:.3f}"


def _times(effect: float) -> str:
    return "∞x" if math.isinf(effect) else f"{effect:.1f}x"
