"""Rollout state as frozen data: phases, weights, the plan, actions, sources, flags."""

from __future__ import annotations

from dataclasses import dataclass
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

    @property
    def is_on(self) -> bool:
        """Whether the flag serves `true` now: ENABLED with the value true. Its state alone says
        nothing (an ENABLED kill switch whose default variant is `off` is off)."""
        return self.state.upper() == "ENABLED" and self.value is True


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
    """What an action did; `ok` False means nothing was applied, unless `uncertain`: the write
    went out and its answer was lost, so it MAY have been applied (check the route)."""

    action: Action
    ok: bool
    message: str
    before: Weights | None = None
    after: Weights | None = None
    patch: str | None = None  # the exact patch (shown in dry-run)
    exit_code: int = 0
    changed: bool = True  # False: nothing to do ("already at ..."), or a dry-run
    uncertain: bool = False  # sent, no answer: may have been applied
