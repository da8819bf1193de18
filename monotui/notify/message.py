"""A notification as platform-neutral data: what happened, to which rollout, with the numbers of
the snapshot it belongs to and the exact command to act. The payload modules (slack, teams,
discord, webhook) each turn it into their platform's shape; the spool stores it as JSON.

`text` and `reason` may hold outside text (flag keys, error messages, who paused and why): the
payload modules escape them for their markup; here they are only made one literal line.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from monotui.model import MetricLabel, Snapshot
from monotui.model.impact import impact_of
from monotui.outside_text import literal

SCHEMA_VERSION = 1
"""The `version` of the generic webhook's JSON (and of the spool's lines)."""


@dataclass(frozen=True, slots=True)
class Numbers:
    """The judge's numbers behind a message (None: NO DATA, never 0)."""

    verdict: str = "NODATA"
    error_rate_baseline: float | None = None
    """Fractions 0..1 over the metrics window."""
    error_rate_canary: float | None = None
    p99_ms_baseline: float | None = None
    p99_ms_canary: float | None = None
    e_value: float | None = None
    """The evidence that failed the canary (a metric's or a probe's), else the error rate's,
    else the worst metric's."""
    rolls_back_at: float | None = None
    """The evidence that rolls back (1/alpha, e.g. 100)."""
    ratio: float | None = None
    """Canary / baseline bad rate, estimated, with its anytime-valid interval."""
    ci_low: float | None = None
    ci_high: float | None = None
    canary_weight_pct: int | None = None
    """What the route sends the canary."""
    canary_share_pct: float | None = None
    """The canary's share of requests over the metrics window (observed)."""
    bad_served: float | None = None
    """Bad canary requests (5xx) since the canary started taking traffic."""
    excess_bad: float | None = None
    """Of those, beyond what the baseline's rate predicts."""


@dataclass(frozen=True, slots=True)
class Message:
    """One notification."""

    key: str
    """What it is about, for deduplication: rollout, event, state and generation."""
    rollout: str
    namespace: str
    context: str
    event: str
    """action | automation | verdict | paused | source | finished (the `[[notify]] events`)."""
    title: str
    """One short line of ours: "checkout rolled back by the automation"."""
    text: str
    """What happened, in words (may hold outside text)."""
    reason: str
    """The judge's one-line reason."""
    level: str
    """info | warn | error."""
    time: float
    """When it happened (the rollout's clock), POSIX seconds."""
    numbers: Numbers = field(default_factory=Numbers)
    command: str = ""
    """The exact command to act: "monotui rollback --rollout checkout --context prod"."""
    who: str = ""
    """Who did it and from where ("alice (key)", "automation"); "" when nobody acted."""
    topics: tuple[str, ...] = ()
    """Every `[[notify]] events` name this message answers to (its `event` among them): an
    automatic rollback is "finished" and "automation"; a pause by a key is "action" and "paused"."""
    clears: tuple[str, ...] = ()
    """Keys of earlier messages this one ends (a recovery ends its failure): a new failure after
    it is told again."""

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready data (the spool's line)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """Back from `to_dict` (unknown fields ignored, so an older spool still reads)."""
        numbers = Numbers(**{k: v for k, v in (data.get("numbers") or {}).items() if k in _NUM})
        fields = {k: v for k, v in data.items() if k in _MSG and k != "numbers"}
        for name in ("topics", "clears"):
            fields[name] = tuple(fields.get(name) or ())
        return cls(numbers=numbers, **fields)

    def answers(self, events: Sequence[str]) -> bool:
        """Whether a sink taking `events` takes this message."""
        return any(t in events for t in (self.topics or (self.event,)))


_NUM = set(Numbers.__dataclass_fields__)
_MSG = set(Message.__dataclass_fields__)


def numbers_of(snap: Snapshot | None) -> Numbers:
    """The numbers of the snapshot an event belongs to."""
    if snap is None:
        return Numbers()
    errors = snap.current("error_rate")
    p99 = snap.current("latency_p99_ms")
    split = snap.observed_split
    evidence = _evidence(snap)
    harm = next((h for h in impact_of(snap).harms if h.metric == "error_rate"), None)
    return Numbers(
        verdict=snap.verdict.result.value,
        error_rate_baseline=_num(errors.baseline),
        error_rate_canary=_num(errors.canary),
        p99_ms_baseline=_num(p99.baseline),
        p99_ms_canary=_num(p99.canary),
        e_value=_num(evidence.e_value) if evidence else None,
        rolls_back_at=_num(evidence.limit) if evidence else None,
        ratio=_num(evidence.ratio) if evidence else None,
        ci_low=_num(evidence.ci_low) if evidence else None,
        ci_high=_num(evidence.ci_high) if evidence else None,
        canary_weight_pct=snap.weights.canary if snap.weights else None,
        canary_share_pct=round(split.canary, 2) if split else None,
        bad_served=harm.served if harm else None,
        excess_bad=harm.excess if harm else None,
    )


def _evidence(snap: Snapshot) -> Any:
    """The evidence that decided (a metric or a probe judged HIGH), else the error rate's, else
    the metric with the most: a rollback's message must carry the numbers behind it."""
    judged = (*snap.verdict.metrics, *snap.synthetics.verdicts)
    high = [m.evidence for m in judged if m.label == MetricLabel.HIGH and m.evidence is not None]
    if high:
        return max(high, key=lambda e: e.e_value)
    found = [m.evidence for m in snap.verdict.metrics if m.evidence is not None]
    errors = [m.evidence for m in snap.verdict.metrics if m.name == "error_rate" and m.evidence]
    if errors:
        return errors[0]
    return max(found, key=lambda e: e.e_value, default=None)


def _num(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return value


def one_line(text: object, max_len: int = 500) -> str:
    """Outside text as one literal line (controls spelled out, breaks folded)."""
    return literal(text, max_len=max_len)


def act_command(rollout: str, context: str, verb: str = "rollback") -> str:
    """The exact command a person runs to act on the rollout."""
    where = f" --context {shlex.quote(context)}" if context else ""
    return f"monotui {verb} --rollout {shlex.quote(rollout)}{where}"
