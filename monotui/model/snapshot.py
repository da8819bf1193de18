"""The Snapshot: everything the cockpit draws for one rollout at one moment."""

from __future__ import annotations

from dataclasses import dataclass

from monotui.model.autopilot import AutopilotStatus
from monotui.model.events import Event
from monotui.model.rollout import Flag, Phase, Plan, SourceStatus, Weights
from monotui.model.samples import Sample, Series, Split
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
    policy: str = "manual"
    read_only: bool = False
    dry_run: bool = False
    hold_s: float = 0.0
    hold_elapsed_s: float = 0.0
    error_threshold: float | None = None
    weight_changes: tuple[tuple[float, Weights], ...] = ()
    verdict_changes: tuple[tuple[float, VerdictResult], ...] = ()
    kill_switches: tuple[str, ...] = ()
    next_action: str = ""
    newest_data_t: float | None = None
    autopilot: AutopilotStatus | None = None  # None: no Lease is followed (no Kubernetes, manual)

    @property
    def observed_split(self) -> Split | None:
        latest = self.latest
        return Split.from_rates(latest.request_rate) if latest else None

    @property
    def latest(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    @property
    def phase(self) -> Phase:
        return self.plan.phase

    def source(self, name: str) -> SourceStatus | None:
        return next((s for s in self.sources if s.name == name), None)
