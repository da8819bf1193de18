"""The simulated world: deterministic for a seed, scenarios that do what they say, bounded memory."""

from __future__ import annotations

import math

import pytest

from monotui.errors import NotFoundError
from monotui.metrics import quantile
from monotui.model import Weights
from monotui.sim.scenarios import ISTIO_BUCKETS_MS, SCENARIOS, checkout_flags
from monotui.sim.world import BASELINE, CANARY, EPOCH, World


def world_with(scenario: str, canary_pct: int, *, seed: int = 7, ring_s: int = 1920) -> World:
    world = World(seed, ring_s=ring_s)
    world.add_rollout(
        "checkout",
        "shop",
        SCENARIOS[scenario],
        weights=Weights.canary_at(canary_pct),
        flags=checkout_flags(),
    )
    return world


def error_rates(world: World, seconds: int = 600) -> tuple[float, float]:
    """Baseline and canary error rate over the last `seconds`, after simulating them."""
    world.advance(seconds + 1)
    counts = world.counts("checkout", world.t - seconds, world.t)
    assert counts is not None
    base, can = counts[BASELINE], counts[CANARY]
    return base.errors / base.requests, can.errors / can.requests


def test_same_seed_same_counters_other_seed_other_counters() -> None:
    runs = []
    for seed in (7, 7, 8):
        world = world_with("bad-canary", 10, seed=seed)
        world.advance(900)
        runs.append(world.counters("checkout"))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_bad_canary_errors_climb_with_weight() -> None:
    base_1, can_1 = error_rates(world_with("bad-canary", 1))
    base_25, can_25 = error_rates(world_with("bad-canary", 25))
    assert 0.002 < base_1 < 0.01 and 0.002 < base_25 < 0.01
    assert can_1 < 0.02  # invisible at 1 %
    assert can_25 > 0.04 and can_25 > 5 * base_25  # glaring at 25 %


def test_turning_new_checkout_off_brings_the_canary_back_to_baseline() -> None:
    world = world_with("bad-canary", 25)
    _, before = error_rates(world)
    _, version = world.flags("checkout")
    world.toggle_flag("checkout", "new-checkout", version)
    base, after = error_rates(world)
    assert before > 0.04
    assert after < 0.012
    assert world.error_probability("checkout", CANARY) == world.error_probability(
        "checkout", BASELINE
    )


def test_healthy_canary_matches_baseline() -> None:
    base, can = error_rates(world_with("healthy", 50))
    assert abs(base - can) < 0.003


def test_latency_regression_multiplies_the_canary_p99() -> None:
    world = world_with("latency-regression", 25)
    world.advance(301)
    counts = world.counts("checkout", world.t - 300, world.t)
    assert counts is not None
    base = quantile(0.99, ISTIO_BUCKETS_MS, counts[BASELINE].buckets)
    can = quantile(0.99, ISTIO_BUCKETS_MS, counts[CANARY].buckets)
    assert base is not None and can is not None
    assert can > 3.5 * base


def test_counters_are_istio_shaped_and_cumulative() -> None:
    world = world_with("healthy", 10)
    world.advance(120)
    first = world.counters("checkout")
    world.advance(60)
    later = world.counters("checkout")
    for version in (BASELINE, CANARY):
        c = later[version]
        assert set(c.requests) == {200, 500, 503}
        assert sum(c.requests.values()) == c.count
        assert [le for le, _ in c.buckets] == list(ISTIO_BUCKETS_MS)
        counts = [n for _, n in c.buckets]
        assert counts == sorted(counts) and counts[-1] <= c.count
        assert c.count > first[version].count
        assert all(c.requests[k] >= first[version].requests[k] for k in c.requests)
        assert 20 < c.sum_ms / c.count < 80  # a lognormal with a 40 ms median
    rps = (later[BASELINE].count + later[CANARY].count) / 180
    assert 170 < rps < 230
    assert 0.07 < later[CANARY].count / (later[BASELINE].count + later[CANARY].count) < 0.13


def test_error_spike_hits_both_versions_then_ends() -> None:
    world = world_with("healthy", 50)
    world.inject("error-spike", 120, rollout="checkout")
    base, can = error_rates(world, 100)
    assert base > 0.06 and can > 0.06
    world.advance(100)  # the spike is over
    base, can = error_rates(world, 100)
    assert base < 0.02 and can < 0.02


def test_unknown_fault_and_rollout_are_refused() -> None:
    world = world_with("healthy", 10)
    with pytest.raises(NotFoundError, match="unknown fault 'meteor'"):
        world.inject("meteor", 10)
    with pytest.raises(NotFoundError, match="no simulated rollout named 'nope'"):
        world.counters("nope")


def test_ring_stays_bounded_over_hours_of_simulated_time() -> None:
    world = world_with("bad-canary", 10, ring_s=600)
    world.advance(3 * 3600)
    assert world.ring_points() == 600
    assert world.counters("checkout")[BASELINE].count > 3 * 3600 * 150  # every second simulated
    # Older than the ring: no data, never zeros.
    assert world.counts("checkout", world.t - 960, world.t - 900) is None


def test_real_time_mode_follows_the_clock_but_skips_a_long_suspension() -> None:
    world = world_with("healthy", 10, ring_s=300)
    fake = [EPOCH + 5.5]
    world.follow = lambda: fake[0]
    assert world.now() == EPOCH + 5.5
    fake[0] = EPOCH + 10 * 3600  # the laptop slept for ten hours
    assert world.now() == EPOCH + 10 * 3600
    recent = world.counts("checkout", world.now() - 60, world.now())
    assert recent is not None and recent[BASELINE].requests / 60 > 100
    assert world.counters("checkout")[BASELINE].count < 400 * 300  # ten hours were not simulated


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    # 100 requests all in (50, 100]: the 99th lies 99 % of the way through that bucket.
    buckets = [0.0] * 5 + [0.0] + [100.0] * 13 + [100.0]
    assert quantile(0.99, ISTIO_BUCKETS_MS, buckets) == pytest.approx(99.5)
    # Everything beyond the last finite bound: Prometheus answers that bound.
    assert quantile(0.99, ISTIO_BUCKETS_MS, [0.0] * 19 + [10.0]) == ISTIO_BUCKETS_MS[-1]
    assert quantile(0.99, ISTIO_BUCKETS_MS, [0.0] * 20) is None
    assert not math.isnan(quantile(0.5, ISTIO_BUCKETS_MS, [1.0] * 20) or 0.0)
