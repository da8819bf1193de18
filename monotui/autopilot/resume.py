"""What a new leader needs to continue a rollout's automation instead of starting over, stored in
the Lease (the STATE_KEY annotation, written with every renewal: only the holder can write it, and
it is compare-and-set with the renewal itself).

Times are stored as ages ("the step began 42 s before this renewal"), not as instants: a reader
turns them back into instants on its own clock from the moment it first saw that version of the
Lease, which is at or after it was written, so a resumed hold can only start later than the true
one, never earlier, whatever the two clocks say. The hold is resumed only for the step it was
counted at: the route must still be at the stored weight, and must not have moved since the
reader saw the record.

The evidence is not stored: the judge recomputes it over the current step from the metrics'
history (the new leader's observer starts with the history, and judges from the resumed step).
The automation pause lives on the routed resource (monotui.sources.kube_router), not here.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from monotui import policy
from monotui.config import RolloutConfig
from monotui.model import Phase, Plan, Verdict, VerdictResult
from monotui.policy import PolicyState
from monotui.rollout import Rollout
from monotui.rollout.state import Known

STATE_MAX = 4096
"""The stored state is a few hundred bytes; anything longer was not written by us."""
FORMAT = 2


@dataclass(frozen=True, slots=True)
class StoredState:
    """The automation of one rollout at one renewal, as ages in seconds before it."""

    canary_pct: int
    step_age_s: float
    fail_counted_age_s: float | None = None
    consecutive_fail: int = 0
    consecutive_nodata: int = 0
    consecutive_marginal: int = 0
    hold_elapsed_s: float = 0.0
    next_move: str = ""

    def dumps(self) -> str:
        """One line of ASCII JSON, with the format's version."""
        data = {"format": FORMAT, **asdict(self)}
        return json.dumps(data, ensure_ascii=True, separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> StoredState | None:
        """The state in `text`; None when it is missing, too long or not ours."""
        if not text or len(text) > STATE_MAX:
            return None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                return None
            return cls(
                canary_pct=_int(data["canary_pct"], 0, 100),
                step_age_s=_age(data["step_age_s"]) or 0.0,
                fail_counted_age_s=_age(data.get("fail_counted_age_s")),
                consecutive_fail=_int(data.get("consecutive_fail", 0)),
                consecutive_nodata=_int(data.get("consecutive_nodata", 0)),
                consecutive_marginal=_int(data.get("consecutive_marginal", 0)),
                hold_elapsed_s=_age(data.get("hold_elapsed_s")) or 0.0,
                next_move=str(data.get("next_move", ""))[:200],
            )
        except (ValueError, KeyError, TypeError):
            return None


def capture(rollout: Rollout, now: float) -> StoredState | None:
    """The automation of `rollout` now, to store; None before the route was first read."""
    known = rollout.actuator.state.known()
    if known.route is None:
        return None
    state = rollout.automation.policy_state
    verdict = rollout.observer.verdict
    step_since = known.step_since if known.step_since is not None else now
    hold = policy.hold_elapsed(step_since, now)
    return StoredState(
        canary_pct=known.route.weights.canary,
        step_age_s=_since(now, step_since) or 0.0,
        fail_counted_age_s=_since(now, state.fail_counted_at),
        consecutive_fail=state.consecutive_fail,
        consecutive_nodata=state.consecutive_nodata,
        consecutive_marginal=state.consecutive_marginal,
        hold_elapsed_s=hold,
        next_move=next_move(rollout.config, known.plan, verdict, state, hold),
    )


def restore(
    stored: StoredState, seen_at: float, known: Known
) -> tuple[PolicyState, float, int | None]:
    """The policy state to continue from `stored`, first seen at `seen_at` (our clock), when its
    step began, and the weight whose hold it continues (None: another step now, only the
    counters carry over)."""

    def back(age: float | None) -> float | None:
        return None if age is None else seen_at - age

    moves = known.weight_changes[1:]  # the first one is our first read, not a move
    moved_since = bool(moves) and moves[-1][0] > seen_at
    same_step = (
        known.route is not None
        and known.route.weights.canary == stored.canary_pct
        and not moved_since
    )
    state = PolicyState(
        consecutive_fail=stored.consecutive_fail,
        consecutive_nodata=stored.consecutive_nodata,
        consecutive_marginal=stored.consecutive_marginal,
        fail_counted_at=back(stored.fail_counted_age_s),
    )
    return state, seen_at - stored.step_age_s, stored.canary_pct if same_step else None


def next_move(
    config: RolloutConfig, plan: Plan, verdict: Verdict, state: PolicyState, held_s: float
) -> str:
    """What the automation does next, in words a cockpit shows."""
    limits = config.judge
    if plan.phase == Phase.PROMOTED:
        return "promoted: nothing left to do"
    if plan.phase in (Phase.ROLLED_BACK, Phase.FAILED):
        return "rolled back: waits for a person to advance"
    if plan.paused:
        return "paused: waits for a person to resume (p)"
    result = verdict.result
    if result == VerdictResult.FAIL:
        if limits.method == "sequential":
            return "rolls back now: verdict FAIL"
        return (
            f"rolls back after {limits.failure_limit} FAIL verdicts "
            f"({state.consecutive_fail} so far)"
        )
    if verdict.incident:
        return "holds: both versions failing, not the canary"
    if result == VerdictResult.MARGINAL:
        return "pauses: verdict MARGINAL, a person decides"
    if result == VerdictResult.NODATA:
        return (
            f"pauses after {limits.nodata_limit} polls without fresh canary data "
            f"({state.consecutive_nodata} so far)"
        )
    if plan.next_step is None:
        return "at 100 %: nothing left to do"
    wait = max(0.0, config.hold_s - held_s)
    if result == VerdictResult.PASS and wait <= 0:
        return f"advances to {plan.next_step} % now"
    return f"advances to {plan.next_step} % in {wait:.0f}s with no evidence of harm"


def _since(now: float, t: float | None) -> float | None:
    return None if t is None else max(0.0, now - t)


def _age(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("an age must be a number")
    if not math.isfinite(value) or value < 0:
        raise ValueError("an age must be finite and not negative")
    return float(value)


def _int(value: Any, low: int = 0, high: int = 1_000_000) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"expected a whole number within {low}..{high}")
    return value
