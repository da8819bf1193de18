"""What happened, as typed frozen events: the one way out of a rollout.

Every event has a time, the rollout it is about, a sentence a human reads (`text`, which may hold
outside text: show it literally) and a level. The subclasses carry the typed facts behind the
sentence, so a subscriber (the events panel, the headless runner, a notifier) can act on them
without parsing words. `kind` names the family for filters and the events panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from monotui.model.rollout import ActionKind, ActionResult, SourceStatus
from monotui.model.verdict import Verdict, VerdictResult


class EventLevel(StrEnum):
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the events panel and of `demo --headless`."""

    t: float
    rollout: str
    text: str
    level: EventLevel = EventLevel.INFO

    @property
    def kind(self) -> str:
        """The family: action | automation | verdict | outside | source | info."""
        return "info"


@dataclass(frozen=True, slots=True)
class ActionEvent(Event):
    """An action was applied, refused (nothing changed: read-only, conflict, RBAC) or failed.

    `result.action.origin` says who asked: key, palette, cli or automation.
    """

    result: ActionResult | None = None

    @property
    def kind(self) -> str:
        return "automation" if self.automatic else "action"

    @property
    def automatic(self) -> bool:
        return self.result is not None and self.result.action.origin == "automation"

    @property
    def outcome(self) -> str:
        """applied | refused | failed."""
        if self.result is None or self.result.ok:
            return "applied"
        return "refused" if self.result.exit_code else "failed"


@dataclass(frozen=True, slots=True)
class VerdictChanged(Event):
    """The judge's overall call changed (PASS -> FAIL, ...)."""

    before: VerdictResult = VerdictResult.NODATA
    verdict: Verdict | None = None

    @property
    def kind(self) -> str:
        return "verdict"


@dataclass(frozen=True, slots=True)
class OutsideChange(Event):
    """Someone else changed what we watch: the weights, the flags or the automation pause."""

    what: str = (
        "weights"  # weights | flags | pause | traffic (it stopped or resumed following the route)
    )

    @property
    def kind(self) -> str:
        return "outside"


@dataclass(frozen=True, slots=True)
class SourceFailed(Event):
    """A source (router, metrics, flags) could not be read, or answered something unusable."""

    source: SourceStatus | None = None

    @property
    def kind(self) -> str:
        return "source"


@dataclass(frozen=True, slots=True)
class SourceRecovered(Event):
    """A source answered again after failing."""

    source: str = ""

    @property
    def kind(self) -> str:
        return "source"


@dataclass(frozen=True, slots=True)
class AutomationPaused(Event):
    """The automation stopped acting on this rollout (or started again: `paused` False)."""

    paused: bool = True
    by: str = ""  # who and why, as stored (outside text)
    action: ActionKind | None = None  # the action that paused it, None when seen elsewhere

    @property
    def kind(self) -> str:
        return "automation"
