"""The Snapshot: everything the cockpit draws for one rollout at one moment."""

from __future__ import annotations

from dataclasses import dataclass

from monotui.model.autopilot import AutopilotStatus
from monotui.model.events import Event
from monotui.model.rollout import Flag, Phase, Plan, SourceStatus, Weights
from monotui.model.samples import MetricSpec, Pair, Sample, Series, Split, pooled, total_requests
from monotui.model.split_check import SplitDisagreement
from monotui.model.synthetics import Synthetics
from monotui.model.verdict import Verdict, VerdictResult


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the cockpit draws for one rollout at one moment. Immutable: safe to hand to the UI."""

    rollout: str
    namespace: str
    context: str
    backend: str
    t: float
    plan: Plan
    weights: Weights | None
    samples: Series
    verdict: Verdict
    flags: tuple[Flag, ...]
    events: tuple[Event, ...]
    sources: tuple[SourceStatus, ...]
    metrics: tuple[MetricSpec, ...] = ()
    """The rollout's metrics, in the order of its samples' `bad` and `values`."""
    window_s: float = 60.0
    """The span the current values are pooled over (`[rollouts.metrics] window`)."""
    policy: str = "manual"
    read_only: bool = False
    dry_run: bool = False
    hold_s: float = 0.0
    hold_elapsed_s: float = 0.0
    step_since: float | None = None
    """When the current weight was reached (None: not seen yet)."""
    run_since: float | None = None
    """When the canary started taking traffic in this rollout (None: before monotui looked)."""
    weight_changes: tuple[tuple[float, Weights], ...] = ()
    verdict_changes: tuple[tuple[float, VerdictResult], ...] = ()
    kill_switches: tuple[str, ...] = ()
    next_action: str = ""
    newest_data_t: float | None = None
    autopilot: AutopilotStatus | None = None  # None: no Lease is followed (no Kubernetes, manual)
    synthetics: Synthetics = Synthetics()
    """The probes beside the canary (`[[rollouts.synthetics]]`); empty without any."""
    judging: bool = False
    """Not judged yet: what a first look read (the route, one poll's counts) is in, the history
    and the verdict on it are still to come (a fleet's first frame; the verdict says so)."""
    split_disagreement: SplitDisagreement | None = None
    """The router's weight and the observed split disagree beyond noise (None: they agree, or
    there is too little traffic since the weight was reached to tell); monotui.model.split_check,
    worked out once when the snapshot is made."""

    def metric(self, name: str) -> tuple[int, MetricSpec] | None:
        """The index and spec of metric `name`, None when this rollout does not measure it."""
        for i, spec in enumerate(self.metrics):
            if spec.name == name:
                return i, spec
        return None

    @property
    def recent(self) -> tuple[Sample, ...]:
        """The samples of the last `window_s` (what the current values are pooled over)."""
        if not self.samples:
            return ()
        end = self.samples[-1].t
        start = len(self.samples)
        while start and self.samples[start - 1].t > end - self.window_s:
            start -= 1
        return self.samples[start:]

    def current(self, name: str) -> Pair:
        """Metric `name` for both versions over the last `window_s`: NO DATA (None) when the
        newest poll had no value for a version (a failed poll is a gap, never older data)."""
        found = self.metric(name)
        if found is None or not self.samples:
            return Pair()
        i, spec = found
        recent = self.recent
        newest = recent[-1]
        return Pair(
            pooled(recent, i, ratio=spec.ratio, canary=False)
            if newest.baseline.requests is not None or newest.baseline.value(i) is not None
            else None,
            pooled(recent, i, ratio=spec.ratio, canary=True)
            if newest.canary.requests is not None or newest.canary.value(i) is not None
            else None,
        )

    @property
    def request_rate(self) -> Pair:
        """Requests per second of each version over the last `window_s`."""
        recent = [s for s in self.recent if s.span_s > 0]
        span = sum(s.span_s for s in recent)
        if not recent or span <= 0 or not self.samples[-1].has_data:
            return Pair()
        base = total_requests(recent, canary=False)
        can = total_requests(recent, canary=True)
        return Pair(None if base is None else base / span, None if can is None else can / span)

    @property
    def observed_split(self) -> Split | None:
        """The split of requests over the last `window_s`."""
        rate = self.request_rate
        return Split.of(rate.baseline, rate.canary)

    @property
    def live_kill_switches(self) -> tuple[str, ...]:
        """The kill switches whose new code path is on now: enabled and serving a true value (a
        switch that is off, disabled, or not on/off, is not one to turn off)."""
        kill = set(self.kill_switches)
        return tuple(
            f.key
            for f in self.flags
            if f.key in kill and f.state.upper() == "ENABLED" and f.value is True
        )

    @property
    def latest(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    @property
    def phase(self) -> Phase:
        return self.plan.phase

    def source(self, name: str) -> SourceStatus | None:
        return next((s for s in self.sources if s.name == name), None)
