"""The sequential judge of one rollout: anytime-valid evidence per count metric, accumulated over
the polls since the canary started taking traffic, the absolute guards relative to the baseline,
and the verdict in words. Pure apart from its incremental cache (same inputs, same verdict).

- FAIL: the evidence that the canary's bad rate exceeds `allowed_increase` x the baseline's
  reached 1/alpha (monotui.judge.sequential), or the canary is above an absolute limit in this
  step while the baseline is not and the canary is significantly worse than the baseline.
- MARGINAL, `incident`: both versions are above a limit: an incident, not the canary.
- NO DATA: the route sends the canary traffic (or its weights are unknown) but the newest poll
  has no canary data (no series, NaN, +Inf), or nothing has been read yet. A FAIL found before
  the canary vanished stands. Too little traffic is not NO DATA: it is PASS with little
  evidence, and the verdict says how much canary traffic it rests on.
- PASS: no evidence of harm.

A judgement comes in three parts, so that the rollouts judged at the same time can share the
arithmetic: `prepare` (the bookkeeping, and the polls each metric's evidence must take),
`advance` (the evidence of many prepared judgements in one SequentialTest batch per poll) and
`finish` (the verdict). `judge` is the three for one rollout; `judge_many` for many. Each
rollout's verdict is the same to the last bit either way (monotui.judge.sequential).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from monotui.config import JudgeConfig
from monotui.judge.evidence import CountEvidence
from monotui.judge.rounds import Prepared, advance, judge_many
from monotui.judge.sequential import Poll, shared_test
from monotui.judge.tally import RUN_BREAK_POLLS, RunTracker, StepTally, newer_than, run_start
from monotui.judge.words import evidence_sentence, ratio_words
from monotui.metrics import Metric
from monotui.model import (
    Evidence,
    MetricLabel,
    MetricVerdict,
    Sample,
    Verdict,
    VerdictResult,
    pooled,
    since,
)

__all__ = [
    "RUN_BREAK_POLLS",
    "CountJudge",
    "Prepared",
    "advance",
    "canary_missing",
    "combine",
    "judge_many",
    "nothing_of_canary",
    "run_start",
]

SEED_POLLS = 60
"""Baseline polls before the run that seed the over-dispersion estimate."""


class CountJudge:
    """Judges one rollout's metrics on counts. Keeps the evidence between calls (incremental)."""

    def __init__(self, metrics: Sequence[Metric], cfg: JudgeConfig, window_s: float = 60.0) -> None:
        self.metrics = tuple(metrics)
        self.config = cfg
        self.window_s = window_s
        """The limits are checked on the newest window_s of the step (what the charts show)."""
        # One test per set of parameters for every judge: the judges that share one can have
        # their polls updated in one batch.
        self.tests = tuple(shared_test(m.allowed(cfg), cfg.alpha) for m in self.metrics)
        self._limits = tuple(m.limit(cfg) for m in self.metrics)
        self._critical = tuple(m.critical(cfg) for m in self.metrics)
        # The run's evidence per metric, cached between calls: when its run started, the newest
        # sample it counted, the evidence (None: not started).
        self._run_start = [0.0] * len(self.metrics)
        self._run_last = [0.0] * len(self.metrics)
        self._run_evidence: list[CountEvidence | None] = [None] * len(self.metrics)
        self._ready: Prepared | None = None
        # The bookkeeping extended poll by poll (monotui.judge.tally), valid while the samples
        # continue the newest one seen.
        self._newest: Sample | None = None
        self._tracker: RunTracker | None = None
        self._step: StepTally | None = None

    def judge(
        self,
        samples: Sequence[Sample],
        *,
        run_since: float | None,
        step_since: float | None,
        canary_expected: bool | None,
    ) -> Verdict:
        """The verdict on `samples` (oldest first). `run_since`: when the canary started taking
        traffic (None: find it in the samples); `step_since`: when the current weight was reached;
        `canary_expected`: the route sends the canary traffic, so missing canary data is NO DATA
        (None: the route's weights are unknown, and missing canary data is NO DATA too)."""
        ready = self.prepare(
            samples, run_since=run_since, step_since=step_since, canary_expected=canary_expected
        )
        if isinstance(ready, Verdict):
            return ready
        advance([ready])
        return self.finish(ready)

    def prepare(
        self,
        samples: Sequence[Sample],
        *,
        run_since: float | None,
        step_since: float | None,
        canary_expected: bool | None,
    ) -> Prepared | Verdict:
        """The bookkeeping of `judge` and the polls its evidence must take; a Verdict when
        there is nothing to judge. Call `finish` on it after `advance` (nothing else in between
        on this judge)."""
        if not any(s.has_data for s in reversed(samples)):  # newest first
            return Verdict.no_data("no metrics read yet")
        start, step = self._bookkeeping(samples, run_since, step_since)
        ready = self._ready
        if ready is None:
            starts = [self.tests[i].start() for i in range(len(self.metrics))]
            polls: list[list[Poll]] = [[] for _ in self.metrics]
            ready = Prepared(self, samples, start, step, canary_expected, starts, polls, [])
            ready.last_t = [start] * len(self.metrics)
            self._ready = ready
        else:
            ready.samples, ready.start, ready.step = samples, start, step
            ready.canary_expected = canary_expected
        for i in range(len(self.metrics)):
            self._pending(ready, i)
        return ready

    def finish(self, ready: Prepared) -> Verdict:
        """The verdict of a prepared judgement whose evidence has been advanced."""
        samples, step = ready.samples, ready.step
        # Not kept past the poll: the caller's window of samples is the caller's to drop (the
        # bookkeeping keeps only the newest sample).
        ready.samples = ()
        for i, ev in enumerate(ready.evidence):
            self._run_start[i], self._run_last[i] = ready.start, ready.last_t[i]
            self._run_evidence[i] = ev
        # The limits look at the newest window of the step: a spike that is over is over.
        recent = since(samples, max(step.since, samples[-1].t - self.window_s))
        judged = tuple(
            self._metric(i, recent, step, ev, counted(samples, i))
            for i, ev in enumerate(ready.evidence)
        )
        newest = samples[-1]
        step_canary = step.canary_requests
        expected = ready.canary_expected
        if expected is not True and step_canary <= 0:
            why = (
                "the canary takes no traffic (weight 0)"
                if expected is False
                else "the canary took no traffic in this step, and the route's weights are "
                "unknown (not read yet)"
            )
            return Verdict(VerdictResult.NODATA, None, why, judged)
        verdict = combine(judged, step_canary)
        why = canary_missing(newest, expected, counted=True)
        if why and verdict.result != VerdictResult.FAIL:  # a harm found stays found
            return nothing_of_canary(why, judged, self.metrics, step_canary)
        unknown = next((m for m in judged if m.label == MetricLabel.NODATA), None)
        if unknown is not None and verdict.result == VerdictResult.PASS:
            # No evidence of harm on the others is not a PASS of this one.
            return Verdict(VerdictResult.NODATA, None, unknown.sentence, judged, False, step_canary)
        return verdict

    def _bookkeeping(
        self, samples: Sequence[Sample], run_since: float | None, step_since: float | None
    ) -> tuple[float, StepTally]:
        """The run's start and the step's tally, extended by the samples new since the last call
        (from scratch when `samples` do not continue the ones seen then)."""
        new = newer_than(samples, self._newest)
        tracker, step = self._tracker, self._step
        if new is None or tracker is None:
            tracker = RunTracker.after(samples, self._inferred_start(samples), RUN_BREAK_POLLS)
        else:
            for sample in new:
                tracker.feed(sample)
        start = run_since if run_since is not None else tracker.start
        step_start = max(start, step_since or start)
        if new is None or step is None or step.since != step_start:
            ratios = [m.spec.ratio for m in self.metrics]
            step = StepTally(step_start, ratios, samples)
        else:
            step.extend(new)
        self._newest, self._tracker, self._step = samples[-1], tracker, step
        return start, step

    def _inferred_start(self, samples: Sequence[Sample]) -> float:
        """The run's start read from the samples; once found it is kept while the run goes on
        (the oldest samples are dropped as new ones come: that must not restart the evidence)."""
        found = run_start(samples)
        runs = zip(self._run_start, self._run_evidence, strict=True)
        started = [t for t, ev in runs if ev is not None]
        cached = started[0] if started else None
        if cached is not None and found <= samples[0].t and cached <= samples[0].t:
            return cached  # no break in the samples held: still the run that started earlier
        return found

    def _pending(self, ready: Prepared, i: int) -> None:
        """Metric i's evidence so far and the polls since it: the cached evidence when the
        samples continue it, else the run's evidence started afresh from the samples."""
        samples, start = ready.samples, ready.start
        ev, last = self._run_evidence[i], self._run_last[i]
        if ev is None or self._run_start[i] != start or not _continues(samples, last):
            seed = [
                (s.baseline.requests or 0.0, s.baseline.bad_of(i) or 0.0)
                for s in samples
                if s.t <= start and _counted(s, i, canary=False)
            ][-SEED_POLLS:]
            # Nothing before the run: the window fills with the run's own baseline polls as
            # each is judged. Seeding it with them ahead of time would judge a poll by polls
            # after it, which the live judge never sees: the verdict would depend on the cache.
            ev, last = self.tests[i].start(seed), start
        new = since(samples, last)
        polls = ready.polls[i]
        polls[:] = _counts(new, i)  # a gap's poll is left out: the next poll's increase covers it
        ready.evidence[i], ready.last_t[i] = ev, new[-1].t if new else last

    # --- one metric ----------------------------------------------------------------------------

    def _metric(
        self, i: int, recent: Sequence[Sample], step: StepTally, ev: CountEvidence, counted: bool
    ) -> MetricVerdict:
        """Metric i's verdict; `recent`: the samples of the step's newest window; `counted`:
        whether the samples count it at all (a metric read as a value only is the U test's)."""
        metric, test = self.metrics[i], self.tests[i]
        spec = metric.spec
        tally = step.metrics[i]
        counts = tally.counts
        low, high = test.interval(ev)
        ratio = test.estimate(ev)
        e_value, reached = test.e_value(ev), test.rolls_back(ev)
        run_rate = ev.baseline_bad / ev.baseline_total if ev.baseline_total > 0 else 0.0
        evidence = Evidence(
            e_value,
            test.threshold,
            low,
            high,
            ratio,
            counts[2],
            counts[3],
            counts[0],
            counts[1],
            ev.canary_total,
            ev.canary_bad,
            max(0.0, ev.canary_bad - ev.canary_total * run_rate),
            ev.dispersion,
            spec.bad,
        )
        label, both, sentence = MetricLabel.PASS, False, ""
        limit = self._limits[i]
        if reached:
            label = MetricLabel.HIGH
        elif counts[2] <= 0 < step.canary_requests and counted:
            # The canary served requests in this step, but no poll of it counted this metric
            # on both versions (a histogram without its +Inf bucket, a NaN series): that is not
            # "too little traffic" and never a PASS.
            label = MetricLabel.NODATA
            sentence = (
                f"{metric.words}: no {spec.bad} counted of both versions in this step's "
                f"{step.canary_requests:,.0f} canary requests (no series, NaN or +Inf): NO DATA"
            )
        elif limit is not None:
            recent_can = pooled(recent, i, ratio=spec.ratio, canary=True)
            if recent_can is not None and recent_can > limit:
                recent_base = pooled(recent, i, ratio=spec.ratio, canary=False)
                shown = (
                    f"{metric.words} {spec.format(recent_can)} now, above the "
                    f"{spec.format(limit)} limit"
                )
                if recent_base is None and counts[0] <= 0:
                    # No baseline traffic to compare with (promoted, or a canary-only route):
                    # the limit alone decides.
                    label = MetricLabel.HIGH
                    sentence = f"{shown}, and no baseline traffic to compare with: HIGH"
                elif recent_base is not None and recent_base > limit:
                    both = True
                    sentence = (
                        f"both versions failing: not the canary ({shown}, baseline "
                        f"{spec.format(recent_base)} too)"
                    )
                elif low is not None and low > 1.0:
                    label = MetricLabel.HIGH
                    sentence = (
                        f"{shown} and worse than the baseline ({spec.format(recent_base)}; "
                        f"canary/baseline at least {ratio_words(low)}): HIGH"
                    )
        if not sentence:
            words = evidence_sentence(
                test, ev, what=spec.bad, rho=ratio, e_value=e_value, reached=reached
            )
            sentence = f"{words}: {label.value}"
        polls = ev.polls
        return MetricVerdict(
            spec.name,
            label,
            tally.baseline.value,
            tally.canary.value,
            None,
            ratio,
            polls,
            polls,
            self._critical[i],
            sentence,
            evidence,
            both,
        )


def combine(judged: Sequence[MetricVerdict], canary_requests: float) -> Verdict:
    """The overall call: a HIGH fails, both versions failing is an incident, else PASS; the
    score is how far the strongest evidence still is from rolling back (100: none, 0: FAIL)."""
    metrics = tuple(judged)
    incident: MetricVerdict | None = None
    strongest: MetricVerdict | None = None
    for m in metrics:
        if m.label == MetricLabel.HIGH:
            return Verdict(VerdictResult.FAIL, 0.0, m.sentence, metrics, False, canary_requests)
        if m.both_failing and incident is None:
            incident = m
        if m.evidence is not None and (
            strongest is None
            or strongest.evidence is None
            or m.evidence.e_value > strongest.evidence.e_value
        ):
            strongest = m
    if incident is not None:
        return Verdict(
            VerdictResult.MARGINAL, None, incident.sentence, metrics, True, canary_requests
        )
    rests = f"rests on {canary_requests:,.0f} canary requests in this step"
    ev = strongest.evidence if strongest is not None else None
    if strongest is None or ev is None:
        return Verdict(
            VerdictResult.PASS,
            100.0,
            f"no evidence of harm; {rests}",
            metrics,
            False,
            canary_requests,
        )
    e, limit = ev.e_value, ev.limit
    score = max(0.0, 100.0 * (1.0 - math.log(e) / math.log(limit))) if e > 1 else 100.0
    shown = ratio_words(e) if e < 1e6 else "over 1,000,000x"
    reason = (
        f"no evidence of harm ({ev.what or strongest.name} evidence {shown} of the "
        f"{ratio_words(limit)} that rolls back); {rests}"
    )
    return Verdict(VerdictResult.PASS, score, reason, metrics, False, canary_requests)


def canary_missing(newest: Sample, expected: bool | None, *, counted: bool) -> str:
    """Why the newest poll says nothing of a canary the route sends traffic, or may (`expected`
    None: its weights are unknown); "" when it says something, or the route sends it none. With
    `counted`, a poll without the canary's request count says nothing (the count judge's
    evidence needs it); else a metric value of the canary's is enough (the U test's)."""
    if expected is False:
        return ""
    side = newest.canary
    if side.requests is not None or (not counted and any(v is not None for v in side.values)):
        return ""
    if not newest.has_data:
        return "the newest poll returned no metric values"
    if expected:
        return (
            "no canary data in the newest poll (no series, NaN or +Inf) while the route sends "
            "it traffic"
        )
    return (
        "no canary data in the newest poll (no series, NaN or +Inf), and the route's weights "
        "are unknown (not read yet)"
    )


def nothing_of_canary(
    why: str, judged: Sequence[MetricVerdict], metrics: Sequence[Metric], canary_requests: float
) -> Verdict:
    """NO DATA for a canary the newest poll says nothing of (`canary_missing`), each metric
    NO DATA with the reason, its numbers kept for the panel."""
    quiet = tuple(
        MetricVerdict(
            m.name,
            MetricLabel.NODATA,
            m.baseline,
            m.canary,
            critical=m.critical,
            sentence=f"{metric.words}: {why}: NO DATA",
            evidence=m.evidence,
        )
        for m, metric in zip(judged, metrics, strict=True)
    )
    return Verdict(VerdictResult.NODATA, None, why, quiet, canary_requests=canary_requests)


def _counted(sample: Sample, i: int, *, canary: bool) -> bool:
    side = sample.canary if canary else sample.baseline
    n, e = side.requests, side.bad_of(i)
    return n is not None and e is not None and math.isfinite(n) and math.isfinite(e)


def _counts(samples: Iterable[Sample], i: int) -> list[Poll]:
    """Each poll's counts of metric i for both versions, of the polls where all four are
    finite (in one loop: a fleet's history is hundreds of thousands of polls)."""
    out = []
    isfinite = math.isfinite
    for sample in samples:
        b, c = sample.baseline, sample.canary
        n_b, n_c, all_b, all_c = b.requests, c.requests, b.bad, c.bad
        if n_b is None or n_c is None:
            continue
        e_b = all_b[i] if i < len(all_b) else None
        e_c = all_c[i] if i < len(all_c) else None
        if e_b is None or e_c is None:
            continue
        if isfinite(n_b) and isfinite(e_b) and isfinite(n_c) and isfinite(e_c):
            out.append((n_b or 0.0, e_b or 0.0, n_c or 0.0, e_c or 0.0))
    return out


def counted(samples: Sequence[Sample], i: int) -> bool:
    """Whether metric i's bad requests are counted (some sample has the baseline's; newest
    first: a count metric's newest sample has them). A metric that is not is read as a value
    only, and judged by its U test (monotui.judge.Judge)."""
    return any(s.baseline.bad_of(i) is not None for s in reversed(samples))


def _continues(samples: Sequence[Sample], last_t: float) -> bool:
    """Whether the samples still hold the one the cached evidence ended at (or start after it)."""
    return not samples or samples[0].t <= last_t <= samples[-1].t or samples[0].t > last_t
