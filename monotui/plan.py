"""The step plan and its pure transitions. Every transition returns a new Plan; weights stay valid.

Invariants (tested with hypothesis): the canary percentage stays within 0..100, advance never lowers
it, rollback always ends at 0, promote always ends at 100.
"""

from __future__ import annotations

from dataclasses import replace

from monotui.model import Action, ActionKind, Phase, Plan, Weights


class PlanError(ValueError):
    """A transition that does not apply (advance at 100 %, a weight outside 0..100)."""


def validate_steps(steps: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Steps must be strictly increasing percentages in 1..100 ending at 100."""
    result = tuple(int(s) for s in steps)
    if not result:
        raise PlanError("steps must not be empty")
    if any(not 0 < s <= 100 for s in result):
        raise PlanError(f"every step must be within 1..100, got {list(result)}")
    if any(a >= b for a, b in zip(result, result[1:], strict=False)):
        raise PlanError(f"steps must be strictly increasing, got {list(result)}")
    if result[-1] != 100:
        result = (*result, 100)
    return result


def start(steps: tuple[int, ...], weights: Weights | None = None) -> Plan:
    """The plan for a rollout whose route currently has `weights` (canary 0 when unknown)."""
    canary = weights.canary if weights else 0
    return observe(Plan(steps=validate_steps(steps), canary_pct=0), canary)


def observe(plan: Plan, canary_pct: int) -> Plan:
    """The plan after the router reported `canary_pct` (ours or someone else's doing)."""
    phase = plan.phase
    if canary_pct == 100:
        phase = Phase.PROMOTED
    elif canary_pct > 0 and phase in (Phase.PROMOTED, Phase.ROLLED_BACK, Phase.FAILED):
        phase = Phase.PAUSED if plan.paused else Phase.PROGRESSING
    elif canary_pct == 0 and phase == Phase.PROMOTED:
        phase = Phase.ROLLED_BACK
    return replace(plan, canary_pct=canary_pct, phase=_paused_phase(phase, plan.paused))


def advance(plan: Plan) -> Plan:
    """One step up the plan."""
    nxt = plan.next_step
    if nxt is None:
        raise PlanError("already at 100 %: nothing to advance")
    return set_weight(plan, nxt)


def rollback(plan: Plan, *, failed: bool = False) -> Plan:
    """Canary to 0. `failed` marks an automatic rollback on FAIL verdicts."""
    return replace(
        plan, canary_pct=0, phase=Phase.FAILED if failed else Phase.ROLLED_BACK, paused=False
    )


def promote(plan: Plan) -> Plan:
    """Canary to 100 %."""
    return replace(plan, canary_pct=100, phase=Phase.PROMOTED, paused=False)


def set_weight(plan: Plan, canary_pct: int) -> Plan:
    """An exact canary percentage."""
    if not 0 <= canary_pct <= 100:
        raise PlanError(f"a weight must be within 0..100, got {canary_pct}")
    if canary_pct == 100:
        return promote(plan)
    if canary_pct == 0:
        return rollback(plan)
    return replace(plan, canary_pct=canary_pct, phase=_paused_phase(Phase.PROGRESSING, plan.paused))


def pause(plan: Plan) -> Plan:
    """Stop automation; weights stay."""
    return replace(plan, paused=True, phase=_paused_phase(plan.phase, True))


def resume(plan: Plan) -> Plan:
    """Let automation run again."""
    phase = Phase.PROGRESSING if plan.phase == Phase.PAUSED else plan.phase
    return replace(plan, paused=False, phase=phase)


def for_action(plan: Plan, action: Action) -> Plan:
    """The plan an action that moves weights asks for (advance, rollback, promote, set weight)."""
    if action.kind == ActionKind.ADVANCE:
        return advance(plan)
    if action.kind == ActionKind.ROLLBACK:
        return rollback(plan, failed=action.origin == "automation")
    if action.kind == ActionKind.PROMOTE:
        return promote(plan)
    if action.kind == ActionKind.SET_WEIGHT:
        if action.weight_pct is None:
            raise PlanError("set-weight needs a percentage")
        return set_weight(plan, action.weight_pct)
    raise PlanError(f"{action.kind.value} does not move weights")


def _paused_phase(phase: Phase, paused: bool) -> Phase:
    if paused and phase == Phase.PROGRESSING:
        return Phase.PAUSED
    if not paused and phase == Phase.PAUSED:
        return Phase.PROGRESSING
    return phase
