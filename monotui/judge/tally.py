"""The count judge's running bookkeeping between polls: where the canary's run of traffic started
and what the current step counted, extended by the samples newer than the last call instead of
walking the whole window every poll. Pure Python; the judge owns one of each.

Both give exactly what a fresh pass over every sample seen gives (the same sums in the same order),
and a sample dropped from the front of the window changes neither, as it does not change the
run's evidence (monotui.judge.counts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from monotui.model import Sample, Side
from monotui.model.samples import Pooling

__all__ = ["RUN_BREAK_POLLS", "Pooling", "RunTracker", "StepTally", "newer_than", "run_start"]

RUN_BREAK_POLLS = 10
"""Consecutive polls in which the canary served nothing end a run (when its start is unknown)."""


def newer_than(samples: Sequence[Sample], newest: Sample | None) -> Sequence[Sample] | None:
    """The samples after `newest` (the newest sample seen last time), or None when `samples` do
    not continue it (a first call, a window refilled from history, a jump past the window).

    The match is by identity: an observer appends new Sample objects to the ones it held.
    """
    if newest is None:
        return None
    for k in range(len(samples) - 1, -1, -1):
        sample = samples[k]
        if sample is newest:
            return samples[k + 1 :]
        if sample.t < newest.t:
            return None
    return None


def run_start(samples: Sequence[Sample]) -> float:
    """When the canary's current run of traffic started, read from the samples: just before the
    newest stretch in which it served nothing for RUN_BREAK_POLLS polls while the baseline did
    (or where the first sample's span starts)."""
    quiet = 0
    for k in range(len(samples) - 1, -1, -1):
        s = samples[k]
        served = s.canary.requests is not None and s.canary.requests > 0
        baseline = s.baseline.requests is not None and s.baseline.requests > 0
        if served:
            quiet = 0
        elif baseline:
            quiet += 1
            if quiet >= RUN_BREAK_POLLS:
                return samples[k + quiet - 1].t
    first = samples[0]
    # Before the first sample's span: at epoch-scale times `t - 1e-9` is `t` itself (a float
    # has ~0.2 us there), which left the first poll's counts out of the run.
    return first.t - first.span_s if first.span_s > 0 else math.nextafter(first.t, -math.inf)


def _served(side: Side) -> bool:
    return side.requests is not None and side.requests > 0


class RunTracker:
    """The start of the canary's current run of traffic (monotui.judge.counts.run_start) over
    every sample fed so far, in time order.

    Walking back from the newest sample, the run starts at the first stretch in which the canary
    served nothing for `break_polls` polls while the baseline did. Only the samples after the
    canary last served can hold a newer break, so those are kept (at most from the break_polls-th
    newest quiet poll on) and the start before them is one number.
    """

    def __init__(self, start: float, trail: Sequence[Sample], break_polls: int) -> None:
        """start: the run's start as of the canary's last served poll; trail: the samples after
        it (served none of them)."""
        self.break_polls = break_polls
        self._start = start
        self._trail: list[
            tuple[float, bool]
        ] = []  # (t, quiet: the baseline served, the canary not)
        self._quiet = 0
        for sample in trail:
            self.feed(sample)

    @classmethod
    def after(cls, samples: Sequence[Sample], start: float, break_polls: int) -> RunTracker:
        """The tracker for a judge that found the run to start at `start` in `samples`."""
        k = len(samples)
        while k and not _served(samples[k - 1].canary):
            k -= 1
        return cls(start, samples[k:], break_polls)

    def feed(self, sample: Sample) -> None:
        """Take the next sample (newer than every sample fed before)."""
        if _served(sample.canary):
            self._start = self.start
            self._trail.clear()
            self._quiet = 0
            return
        quiet = _served(sample.baseline)
        if not quiet:
            if self._quiet:  # before the first quiet poll it shifts nothing: not kept
                self._trail.append((sample.t, False))
            return
        self._trail.append((sample.t, True))
        self._quiet += 1
        if self._quiet > self.break_polls:  # the oldest quiet poll cannot be the break any more
            del self._trail[0]
            self._quiet -= 1
            while not self._trail[0][1]:
                del self._trail[0]

    @property
    def start(self) -> float:
        """The current run's start."""
        if self._quiet < self.break_polls:
            return self._start
        # The oldest kept entry is the break_polls-th quiet poll back; run_start answers with the
        # sample break_polls - 1 places after it.
        return self._trail[self.break_polls - 1][0]


@dataclass(slots=True)
class MetricTally:
    """One metric's counts in the step: pooled rates and the polls counted on both sides."""

    baseline: Pooling
    canary: Pooling
    counts: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])
    """(baseline requests, baseline bad, canary requests, canary bad) over the polls in which
    both versions' counts are finite."""

    def add_all(self, samples: Sequence[Sample]) -> None:
        """Add each sample in turn (the counts' sums held in locals meanwhile)."""
        self.baseline.add_all([sample.baseline for sample in samples])
        self.canary.add_all([sample.canary for sample in samples])
        i = self.baseline.index
        counts = self.counts
        b_n_sum, b_e_sum, c_n_sum, c_e_sum = counts
        isfinite = math.isfinite
        for sample in samples:
            b, c = sample.baseline, sample.canary
            b_n, c_n, b_bad, c_bad = b.requests, c.requests, b.bad, c.bad
            b_e = b_bad[i] if i < len(b_bad) else None
            c_e = c_bad[i] if i < len(c_bad) else None
            if (
                b_n is not None
                and b_e is not None
                and c_n is not None
                and c_e is not None
                and isfinite(b_n)
                and isfinite(b_e)
                and isfinite(c_n)
                and isfinite(c_e)
            ):
                b_n_sum += b_n or 0.0
                b_e_sum += b_e or 0.0
                c_n_sum += c_n or 0.0
                c_e_sum += c_e or 0.0
        counts[:] = b_n_sum, b_e_sum, c_n_sum, c_e_sum


class StepTally:
    """What the samples after `since` (the step's start) counted, per metric, and the canary's
    requests over them, kept up to date one sample at a time."""

    def __init__(self, since: float, ratios: Sequence[bool], samples: Sequence[Sample]) -> None:
        """The tally of the `samples` after `since` (in time order)."""
        self.since = since
        # An int 0 as `sum` starts with: an empty step shows 0 in `status --json`, as before.
        self.canary_requests: float = 0
        self.metrics = [
            MetricTally(Pooling(i, ratio), Pooling(i, ratio)) for i, ratio in enumerate(ratios)
        ]
        k = len(samples)
        while k and samples[k - 1].t > since:
            k -= 1
        self.extend(samples[k:])

    def extend(self, samples: Sequence[Sample]) -> None:
        """Add the samples newer than every one added before (those up to `since` are not in
        the step)."""
        since = self.since
        fresh = [sample for sample in samples if sample.t > since]
        total = self.canary_requests
        for sample in fresh:
            total += sample.canary.requests or 0.0
        self.canary_requests = total
        for metric in self.metrics:
            metric.add_all(fresh)
