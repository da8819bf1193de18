"""Frozen data shared by the core and the widgets: no behaviour beyond validation and derivation.

Times are POSIX seconds (float) from the controller's clock, which is the simulated clock in the demo.
Error rates are fractions 0..1, weights and splits are percentages, latencies milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

JSONValue: TypeAlias = Any
"""A value decoded from JSON (flag variants, OFREP values)."""


class Phase(StrEnum):
    """Where a rollout is, in Argo Rollouts' words."""

    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    PROMOTED = "Promoted"
    ROLLED_BACK = "RolledBack"
    FAILED = "Failed"


class VerdictResult(StrEnum):
    """The judge's overall call."""

    PASS = "PASS"
    MARGINAL = "MARGINAL"
    FAIL = "FAIL"
    NODATA = "NODATA"


class MetricLabel(StrEnum):
    """The judge's call on one metric (Kayenta's classification)."""

    PASS = "PASS"
    HIGH = "HIGH"
    LOW = "LOW"
    NODATA = "NODATA"


class SourceState(StrEnum):
    """How fresh a source's answer is. Only OK data may count as healthy."""

    OK = "ok"
    STALE = "stale"
    ERROR = "error"


class ActionKind(StrEnum):
    """Everything a key, the palette, the CLI or the automation can ask for."""

    ADVANCE = "advance"
    PAUSE = "pause"
    RESUME = "resume"
    ROLLBACK = "rollback"
    PROMOTE = "promote"
    SET_WEIGHT = "set_weight"
    TOGGLE_FLAG = "toggle_flag"

    @property
    def writes(self) -> bool:
        """Whether the action changes the outside world (pause/resume only change automation)."""
        return self not in (ActionKind.PAUSE, ActionKind.RESUME)


class EventLevel(StrEnum):
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Weights:
    """Route weights as the router says: two integer percentages that always sum to 100."""

    stable: int
    canary: int

    def __post_init__(self) -> None:
        if not (0 <= self.stable <= 100 and 0 <= self.canary <= 100):
            raise ValueError(f"weights must be within 0..100, got {self.stable}/{self.canary}")
        if self.stable + self.canary != 100:
            raise ValueError(f"weights must sum to 100, got {self.stable}/{self.canary}")

    @classmethod
    def canary_at(cls, canary_pct: int) -> Weights:
        """Weights that send `canary_pct` percent to the canary."""
        return cls(stable=100 - canary_pct, canary=canary_pct)

    def __str__(self) -> str:
        return f"{self.stable}/{self.canary}"


@dataclass(frozen=True, slots=True)
class Pair:
    """One number for the baseline and one for the canary; None is NO DATA, never zero."""

    baseline: float | None = None
    canary: float | None = None


@dataclass(frozen=True, slots=True)
class Split:
    """The observed traffic split in percent, derived from request rates."""

    stable: float
    canary: float

    @classmethod
    def from_rates(cls, request_rate: Pair) -> Split | None:
        """The split of request rates, or None when either side is unknown or there is no traffic."""
        base, can = request_rate.baseline, request_rate.canary
        if base is None or can is None or base + can <= 0:
            return None
        total = base + can
        return cls(stable=100.0 * base / total, canary=100.0 * can / total)


@dataclass(frozen=True, slots=True)
class Sample:
    """One poll's metric values for both versions at time `t`."""

    t: float
    error_rate: Pair = field(default_factory=Pair)
    latency_p99_ms: Pair = field(default_factory=Pair)
    request_rate: Pair = field(default_factory=Pair)


Series: TypeAlias = tuple[Sample, ...]
"""Samples in time order, oldest first."""


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """The health of one source, for the panels and `status --json`."""

    name: str
    state: SourceState
    message: str = ""
    age_s: float | None = None
    exit_code: int = 0  # the CLI's exit code for this failure (errors.py), 0 when OK


@dataclass(frozen=True, slots=True)
class Flag:
    """A feature flag as a source reports it."""

    key: str
    state: str  # ENABLED | DISABLED
    default_variant: str | None
    value: JSONValue = None
    variants: tuple[tuple[str, JSONValue], ...] = ()
    targeting: str = "static"  # one line a human reads
    toggle: str | None = None  # what toggling does ("on -> off"), None when it cannot be toggled
    reason: str | None = None  # OFREP's evaluation reason
    error: str | None = None  # why this flag's definition is invalid


@dataclass(frozen=True, slots=True)
class MetricVerdict:
    """The judge's numbers for one metric."""

    name: str
    label: MetricLabel
    baseline: float | None = None  # median
    canary: float | None = None  # median
    p_value: float | None = None
    effect: float | None = None  # canary / baseline
    n_baseline: int = 0
    n_canary: int = 0
    critical: bool = False
    sentence: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judge's overall call with the numbers behind it."""

    result: VerdictResult
    score: float | None
    reason: str
    metrics: tuple[MetricVerdict, ...] = ()

    @classmethod
    def no_data(cls, reason: str) -> Verdict:
        return cls(VerdictResult.NODATA, None, reason)


@dataclass(frozen=True, slots=True)
class Plan:
    """The step plan and where the rollout stands on it."""

    steps: tuple[int, ...]
    canary_pct: int
    phase: Phase = Phase.PROGRESSING
    paused: bool = False

    @property
    def index(self) -> int:
        """Index of the highest step reached (-1 before the first one)."""
        reached = [i for i, step in enumerate(self.steps) if step <= self.canary_pct]
        return reached[-1] if reached else -1

    @property
    def next_step(self) -> int | None:
        """The canary percentage `advance` goes to, None at 100."""
        return next((s for s in self.steps if s > self.canary_pct), None)


@dataclass(frozen=True, slots=True)
class Action:
    """A request to change the rollout, from a key, the palette, the CLI or the automation."""

    kind: ActionKind
    rollout: str
    origin: str = "key"  # key | palette | cli | automation
    reason: str = ""
    weight_pct: int | None = None
    flag_key: str | None = None


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action did; `ok` False means nothing was applied."""

    action: Action
    ok: bool
    message: str
    before: Weights | None = None
    after: Weights | None = None
    patch: str | None = None  # the exact patch (shown in dry-run)
    exit_code: int = 0


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the events panel and of `demo --headless`."""

    t: float
    rollout: str
    text: str
    level: EventLevel = EventLevel.INFO
    kind: str = "info"  # action | automation | verdict | source | outside | info


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
