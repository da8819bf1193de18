"""The judge of synthetic probes: per probe and canary track, its failures against the baseline
track's, through the same anytime-valid sequential test as the 5xx (monotui.judge.sequential):
probes are the requests, failed probes the bad ones, the baseline track the baseline.

- HIGH (the verdict FAILs): the evidence that the canary track fails more often than the
  baseline reached 1/alpha. One failure never does: a flaky probe needs to keep failing on the
  canary while it passes on the baseline (about ten failures in a row with alpha 0.01).
- both failing (an incident: the automation holds): the newest result failed on the baseline
  and on the canary track; the target is down, not the canary.
- PASS otherwise; NODATA before a canary track's first result.

Pure apart from its evidence, kept between calls and restarted when the canary's run restarts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from monotui.judge.evidence import CountEvidence
from monotui.judge.sequential import shared_test
from monotui.judge.words import ratio_words
from monotui.model import Evidence, MetricLabel, MetricVerdict, Verdict, VerdictResult
from monotui.model.synthetics import CANARY_TRACKS

ALLOWED_INCREASE = 1.0
"""A canary track may fail no more often than the baseline track."""


@dataclass(frozen=True, slots=True)
class ProbeTally:
    """One probe on one track in one poll: the probes that ran, the failed ones, the newest."""

    probe: str
    track: str
    probes: int = 0
    failures: int = 0
    newest_failed: bool | None = None
    """Whether the newest result failed (None: no result yet, or not fresh)."""
    unjudged: str = ""
    """Why this track's failures do not count now ("" : they do), e.g. the flag it forces is
    off for users: the path it tests is not served, so it is shown, not judged."""


@dataclass
class _Pair:
    """The evidence of one probe on one canary track, and counts waiting for both sides."""

    evidence: CountEvidence
    pending: tuple[int, int, int, int] = (0, 0, 0, 0)  # baseline n, bad; canary n, bad
    probes: tuple[int, int, int, int] = (0, 0, 0, 0)  # the same, since the run started
    newest: tuple[bool | None, bool | None] = (None, None)  # baseline, canary: failed?
    unjudged: str = ""


class ProbeJudge:
    """Judges every probe's canary tracks against its baseline track, incrementally."""

    def __init__(self, alpha: float) -> None:
        self.test = shared_test(ALLOWED_INCREASE, alpha)
        self._pairs: dict[tuple[str, str], _Pair] = {}
        self._run: float | None = None
        self.last: tuple[MetricVerdict, ...] = ()
        """The verdicts of the last call, one per probe and canary track."""

    def judge(
        self, tallies: Sequence[ProbeTally], *, run_since: float | None
    ) -> tuple[MetricVerdict, ...]:
        """Add this poll's tallies and judge every pair seen so far."""
        if run_since != self._run:
            self._run = run_since
            self._pairs.clear()  # another canary (or the same one again): evidence restarts
        by = {(t.probe, t.track): t for t in tallies}
        for (probe, track), tally in by.items():
            if track not in CANARY_TRACKS:
                continue
            pair = self._pairs.setdefault((probe, track), _Pair(self.test.start()))
            pair.unjudged = tally.unjudged
            base = by.get((probe, "baseline"), ProbeTally(probe, "baseline"))
            self._add(pair, base, tally)
        for (probe, track), pair in self._pairs.items():
            if (probe, track) in by:
                continue
            alone = by.get((probe, "baseline"))
            if alone is not None:  # only the baseline ran this poll: its counts wait
                self._add(pair, alone, ProbeTally(probe, track))
        self.last = tuple(self._verdict(p, t, pair) for (p, t), pair in self._pairs.items())
        return self.last

    def _add(self, pair: _Pair, base: ProbeTally, canary: ProbeTally) -> None:
        n_b, e_b, n_c, e_c = pair.pending
        n_b, e_b = n_b + base.probes, e_b + base.failures
        n_c, e_c = n_c + canary.probes, e_c + canary.failures
        if n_b > 0 and n_c > 0:  # the test needs both sides in one update
            pair.evidence = self.test.update(
                pair.evidence,
                baseline_total=n_b,
                baseline_bad=e_b,
                canary_total=n_c,
                canary_bad=e_c,
            )
            run = pair.probes
            pair.probes = (run[0] + n_b, run[1] + e_b, run[2] + n_c, run[3] + e_c)
            n_b = e_b = n_c = e_c = 0
        pair.pending = (n_b, e_b, n_c, e_c)
        pair.newest = (
            base.newest_failed if base.probes or base.newest_failed is not None else pair.newest[0],
            canary.newest_failed
            if canary.probes or canary.newest_failed is not None
            else pair.newest[1],
        )

    def _verdict(self, probe: str, track: str, pair: _Pair) -> MetricVerdict:
        test, ev = self.test, pair.evidence
        n_b, e_b, n_c, e_c = pair.probes
        low, high = test.interval(ev)
        evidence = Evidence(
            e_value=test.e_value(ev),
            limit=test.threshold,
            ci_low=low,
            ci_high=high,
            ratio=test.estimate(ev),
            canary_requests=n_c,
            canary_bad=e_c,
            baseline_requests=n_b,
            baseline_bad=e_b,
            run_canary_requests=n_c,
            run_canary_bad=e_c,
            excess_bad=max(0.0, e_c - n_c * (e_b / n_b if n_b else 0.0)),
            what="failed probes",
        )
        name = f"{probe} on {track}"
        verdict = MetricVerdict(
            name,
            MetricLabel.PASS,
            e_b / n_b if n_b else None,
            e_c / n_c if n_c else None,
            effect=evidence.ratio,
            n_baseline=n_b,
            n_canary=n_c,
            critical=True,
            evidence=evidence,
        )
        counts = f"{e_c} of {n_c} failed on {track}, {e_b} of {n_b} on baseline"
        if test.rolls_back(ev) and pair.unjudged:
            sentence = f"synthetic {probe} fails on {track} ({counts}); not judged: {pair.unjudged}"
            return replace(verdict, sentence=sentence)
        if test.rolls_back(ev):
            shown = ratio_words(evidence.e_value) if evidence.e_value < 1e6 else "over 1,000,000x"
            sentence = (
                f"synthetic {probe} fails on {track}, not on baseline ({counts}; evidence "
                f"{shown}, {ratio_words(evidence.limit)} rolls back)"
            )
            return replace(verdict, label=MetricLabel.HIGH, sentence=sentence)
        if pair.newest == (True, True) and not pair.unjudged:
            sentence = f"synthetic {probe} failing on baseline and {track}: not the canary"
            return replace(verdict, sentence=sentence, both_failing=True)
        if n_c == 0 and pair.newest[1] is None:
            return replace(verdict, label=MetricLabel.NODATA, sentence=f"{name}: no result yet")
        return replace(verdict, sentence=f"synthetic {name}: {counts}: PASS")


def with_probes(verdict: Verdict, probes: Sequence[MetricVerdict]) -> Verdict:
    """The count verdict with the probes' calls: a probe HIGH fails it (naming the probe and the
    track), a probe failing on both tracks makes a passing (or data-less) verdict an incident
    (the automation holds); otherwise it is unchanged."""
    high = [p for p in probes if p.label == MetricLabel.HIGH]
    if high:
        tracks: dict[str, list[str]] = {}
        for p in high:
            probe, _, track = p.name.rpartition(" on ")
            tracks.setdefault(probe, []).append(track)
        short = "; ".join(  # one short clause per probe: the verdict panel shows all of it
            f"synthetic {probe} fails on {', '.join(t)}, not on baseline"
            for probe, t in tracks.items()
        )
        reason = high[0].sentence if len(high) == 1 else short
        if verdict.result == VerdictResult.FAIL:  # the 5xx said it first; the probes agree
            also = ", ".join(f"{probe} on {', '.join(t)}" for probe, t in tracks.items())
            reason = f"{verdict.reason}; synthetics fail too: {also}"
        return replace(verdict, result=VerdictResult.FAIL, score=0.0, reason=reason, incident=False)
    if verdict.result not in (VerdictResult.PASS, VerdictResult.NODATA):
        return verdict
    both = next((p for p in probes if p.both_failing), None)
    if both is None:
        return verdict
    return replace(
        verdict, result=VerdictResult.MARGINAL, score=None, reason=both.sentence, incident=True
    )
