"""The sentences the controller says: event texts, the next-action hint. Pure, no I/O."""

from __future__ import annotations

from monotui.model import Action, ActionKind, Flag, Phase, Plan, Verdict, VerdictResult, Weights


def verb(action: Action) -> str:
    """What an action did, in the past tense."""
    if action.kind == ActionKind.SET_WEIGHT:
        return f"set weight {action.weight_pct} %"
    past = {"rollback": "rolled back", "promote": "promoted", "advance": "advanced"}
    return past.get(action.kind.value, action.kind.value)


def because(action: Action) -> str:
    """' (why)' when the action carries a reason."""
    return f" ({action.reason})" if action.reason else ""


def now_at(weights: Weights | None) -> str:
    return f" (now {weights})" if weights else ""


def changed_flags(before: tuple[Flag, ...], after: tuple[Flag, ...]) -> str:
    """'new-checkout enabled off, ...' for the flags whose state or default changed."""
    old = {f.key: (f.state, f.default_variant) for f in before}
    return ", ".join(
        f"{f.key} {f.state.lower()} {f.default_variant}"
        for f in after
        if old.get(f.key) != (f.state, f.default_variant)
    )


def next_action(plan: Plan, verdict: Verdict, policy_name: str, read_only: bool) -> str:
    """What the next key press (or the automation) will do, for the plan panel."""
    if read_only:
        return "read-only: watching"
    if plan.phase == Phase.PROMOTED:
        return "promoted: nothing left to do"
    if plan.phase in (Phase.ROLLED_BACK, Phase.FAILED):
        return f"rolled back: a advances to {plan.next_step} %"
    if verdict.result == VerdictResult.FAIL:
        return "r rolls back now (verdict FAIL)"
    auto = policy_name == "auto" and not plan.paused
    prefix = "auto advances" if auto else "a advances"
    return f"{prefix} to {plan.next_step} %"
