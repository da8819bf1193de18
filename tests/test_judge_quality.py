"""The judge as a user meets it, on generated traffic with the policy loop (bench/judge_quality):
a healthy canary is rarely rolled back and never paused, a bad one is caught, on fixed seeds.
The full table, with every case and the peers, is `python -m bench judge_quality`."""

from __future__ import annotations

import pytest

from bench.judge_quality import CASES, run_case, wilson

BY_NAME = {c.name: c for c in CASES}


@pytest.mark.parametrize("name", ["healthy 200 rps", "healthy 200 rps, shared spike"])
def test_a_healthy_canary_is_rarely_rolled_back_never_paused_and_reaches_100(name: str) -> None:
    outcomes = run_case(BY_NAME[name], "sequential", 400, seed=5)
    rolled = sum(o.rolled_back_at is not None for o in outcomes)
    low, high = wilson(rolled, len(outcomes))
    assert rolled <= 4, (
        f"{rolled} of 400 healthy canaries rolled back (95 % CI {low:.1%}-{high:.1%})"
    )
    assert not any(o.paused for o in outcomes)
    promoted = [o.promoted_at for o in outcomes if o.promoted_at is not None]
    assert len(promoted) >= 396
    # Within the sum of the holds plus one poll: five holds of 100 s, polls of 10 s.
    assert max(promoted) <= 51


def test_a_2x_canary_at_200_rps_is_caught_before_it_takes_half_the_traffic() -> None:
    outcomes = run_case(BY_NAME["2x at 200 rps"], "sequential", 200, seed=6)
    caught = [o for o in outcomes if o.rolled_back_at is not None]
    assert len(caught) >= 190, f"{len(caught)} of 200"
    polls = sorted(o.rolled_back_at or 0 for o in caught)
    assert polls[len(polls) // 2] <= 32  # the median


def test_the_threshold_peer_cries_wolf_where_the_sequential_judge_does_not() -> None:
    # The point of the comparison: the same bursty traffic, a Flagger-style threshold rule.
    case = BY_NAME["healthy 200 rps, bursty"]
    ours = run_case(case, "sequential", 200, seed=7)
    theirs = run_case(case, "threshold", 200, seed=7)
    assert sum(o.rolled_back_at is not None for o in ours) <= 6
    assert sum(o.rolled_back_at is not None for o in theirs) > sum(
        o.rolled_back_at is not None for o in ours
    )
