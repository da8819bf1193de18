"""What the canary cost, from the samples: its bad requests (5xx, slow) and how many of them the
baseline's rate, poll by poll, would not have predicted; and the canary's share of requests over
time, one row per stretch at a step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monotui.model import MetricSpec, Sample


@dataclass(frozen=True, slots=True)
class Cost:
    """One kind of bad request over a stretch of polls."""

    what: str
    canary_requests: float
    canary_bad: float
    expected_bad: float
    """What the canary would have served at the baseline's rate, poll by poll."""

    @property
    def excess(self) -> float:
        return max(0.0, self.canary_bad - self.expected_bad)


@dataclass(frozen=True, slots=True)
class Stretch:
    """Polls at one share of traffic."""

    start: float
    end: float
    step_pct: int
    share_pct: float
    """The canary's observed share of requests over the stretch."""
    costs: tuple[Cost, ...]


def cost(samples: Sequence[Sample], specs: Sequence[MetricSpec]) -> tuple[Cost, ...]:
    """The cost of each counted metric over `samples`."""
    out = []
    for i, spec in enumerate(specs):
        requests = bad = expected = 0.0
        counted = False
        pooled_rate = _pooled_baseline_rate(samples, i)
        for s in samples:
            n, b = s.canary.requests, s.canary.bad_of(i)
            if n is None or b is None:
                continue
            counted = True
            requests += n
            bad += b
            base_n, base_b = s.baseline.requests, s.baseline.bad_of(i)
            rate = base_b / base_n if base_n and base_b is not None else pooled_rate
            expected += n * rate
        if counted:
            out.append(Cost(spec.bad, requests, bad, expected))
    return tuple(out)


def share(sample: Sample) -> float | None:
    """The canary's share of the poll's requests, in percent."""
    b, c = sample.baseline.requests, sample.canary.requests
    if b is None or c is None or b + c <= 0:
        return None
    return 100.0 * c / (b + c)


def nearest_step(value: float | None, steps: Sequence[int]) -> int:
    """The configured step an observed share stands for (0 below half the first step)."""
    if value is None or value < steps[0] / 2:
        return 0
    return min(steps, key=lambda s: abs(s - value))


def stretches(
    samples: Sequence[Sample], specs: Sequence[MetricSpec], steps: Sequence[int]
) -> list[Stretch]:
    """Consecutive polls grouped by the step their share stands for (a lone poll of noise is
    folded into its neighbours)."""
    groups: list[list[Sample]] = []
    labels: list[int] = []
    for s in samples:
        value = share(s)
        if value is None:
            continue
        step = nearest_step(value, steps)
        if labels and labels[-1] == step:
            groups[-1].append(s)
        else:
            groups.append([s])
            labels.append(step)
    merged: list[tuple[int, list[Sample]]] = []
    for step, group in zip(labels, groups, strict=True):
        if merged and (len(group) == 1 or merged[-1][0] == step):
            merged[-1][1].extend(group)
        else:
            merged.append((step, group))
    out = []
    for step, group in merged:
        base = sum(s.baseline.requests or 0.0 for s in group)
        can = sum(s.canary.requests or 0.0 for s in group)
        pct = 100.0 * can / (base + can) if base + can > 0 else 0.0
        start = group[0].t - group[0].span_s
        out.append(Stretch(start, group[-1].t, step, pct, cost(group, specs)))
    return out


def _pooled_baseline_rate(samples: Sequence[Sample], i: int) -> float:
    n = sum(s.baseline.requests or 0.0 for s in samples if s.baseline.bad_of(i) is not None)
    b = sum(s.baseline.bad_of(i) or 0.0 for s in samples)
    return b / n if n > 0 else 0.0
