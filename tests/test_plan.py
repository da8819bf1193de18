"""Invariants of the step plan under any sequence of transitions (hypothesis)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monotui import plan as plans
from monotui.model import Phase, Plan, Weights

# No deadline: a busy CI machine must not turn a slow example into a failure.
quick = settings(deadline=None, max_examples=75)

steps_st = st.sets(st.integers(1, 100), min_size=1, max_size=8).map(
    lambda s: plans.validate_steps(sorted(s))
)

Op = tuple[str, int]
ops_st = st.lists(
    st.tuples(
        st.sampled_from(
            ["advance", "rollback", "fail", "promote", "set", "pause", "resume", "observe"]
        ),
        st.integers(-5, 105),
    ),
    max_size=30,
)


def apply(plan: Plan, op: Op) -> Plan:
    """One transition; a transition that does not apply raises PlanError and changes nothing."""
    name, n = op
    table: dict[str, Callable[[], Plan]] = {
        "advance": lambda: plans.advance(plan),
        "rollback": lambda: plans.rollback(plan),
        "fail": lambda: plans.rollback(plan, failed=True),
        "promote": lambda: plans.promote(plan),
        "set": lambda: plans.set_weight(plan, n),
        "pause": lambda: plans.pause(plan),
        "resume": lambda: plans.resume(plan),
        "observe": lambda: plans.observe(plan, min(100, max(0, n))),
    }
    try:
        return table[name]()
    except plans.PlanError:
        return plan


def reachable(steps: tuple[int, ...], ops: list[Op]) -> list[Plan]:
    plan = plans.start(steps)
    seen = [plan]
    for op in ops:
        plan = apply(plan, op)
        seen.append(plan)
    return seen


@quick
@given(steps_st, ops_st)
def test_weights_stay_in_range_and_sum_to_100(steps: tuple[int, ...], ops: list[Op]) -> None:
    for plan in reachable(steps, ops):
        assert 0 <= plan.canary_pct <= 100
        weights = Weights.canary_at(plan.canary_pct)  # raises if they would not sum to 100
        assert weights.stable + weights.canary == 100
        assert plan.steps == steps


@quick
@given(steps_st, ops_st, st.booleans())
def test_rollback_always_ends_at_canary_zero(
    steps: tuple[int, ...], ops: list[Op], failed: bool
) -> None:
    for plan in reachable(steps, ops):
        after = plans.rollback(plan, failed=failed)
        assert after.canary_pct == 0
        assert after.phase == (Phase.FAILED if failed else Phase.ROLLED_BACK)
        assert not after.paused


@quick
@given(steps_st, ops_st)
def test_advance_never_goes_down_and_lands_on_a_step(steps: tuple[int, ...], ops: list[Op]) -> None:
    for plan in reachable(steps, ops):
        if plan.canary_pct == 100:
            with pytest.raises(plans.PlanError):
                plans.advance(plan)
            continue
        after = plans.advance(plan)
        assert after.canary_pct > plan.canary_pct
        assert after.canary_pct in steps
        assert after.index == plan.index + 1 or plan.canary_pct not in steps


@quick
@given(steps_st, ops_st)
def test_promote_ends_at_100(steps: tuple[int, ...], ops: list[Op]) -> None:
    for plan in reachable(steps, ops):
        after = plans.promote(plan)
        assert after.canary_pct == 100 and after.phase == Phase.PROMOTED
        assert after.next_step is None


@quick
@given(steps_st, ops_st, st.integers(-1000, 1000))
def test_set_weight_refuses_out_of_range(steps: tuple[int, ...], ops: list[Op], pct: int) -> None:
    plan = reachable(steps, ops)[-1]
    if 0 <= pct <= 100:
        assert plans.set_weight(plan, pct).canary_pct == pct
    else:
        with pytest.raises(plans.PlanError):
            plans.set_weight(plan, pct)


@quick
@given(steps_st, ops_st)
def test_pause_and_resume_never_move_traffic(steps: tuple[int, ...], ops: list[Op]) -> None:
    for plan in reachable(steps, ops):
        paused = plans.pause(plan)
        assert paused.canary_pct == plan.canary_pct and paused.paused
        assert paused.phase != Phase.PROGRESSING
        resumed = plans.resume(paused)
        assert resumed.canary_pct == plan.canary_pct and not resumed.paused
        assert resumed.phase != Phase.PAUSED


@quick
@given(steps_st, ops_st)
def test_observing_100_is_promoted(steps: tuple[int, ...], ops: list[Op]) -> None:
    for plan in reachable(steps, ops):
        assert plans.observe(plan, 100).phase == Phase.PROMOTED
        if plan.phase == Phase.PROMOTED:
            assert plans.observe(plan, 0).phase == Phase.ROLLED_BACK


@quick
@given(st.lists(st.integers(-10, 200), max_size=8))
def test_validate_steps_accepts_only_increasing_percentages(raw: list[int]) -> None:
    ok = bool(raw) and all(0 < s <= 100 for s in raw) and raw == sorted(set(raw))
    if ok:
        steps = plans.validate_steps(raw)
        assert steps[-1] == 100 and list(steps[: len(raw)]) == raw
    else:
        with pytest.raises(plans.PlanError):
            plans.validate_steps(raw)
