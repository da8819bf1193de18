"""The router and the traffic disagree: said when they do beyond noise, never for the lag after a
weight change, never for a binomial wobble, never on a handful of requests."""

from __future__ import annotations

import numpy as np

from monotui.model import Sample, Weights
from monotui.model.samples import Side
from monotui.model.split_check import split_disagreement

POLL_S = 10.0


def polls(shares: list[float], *, rps: float = 200.0, start: float = 1000.0) -> list[Sample]:
    """Polls whose canary takes `share` of `rps` requests, exactly."""
    n = rps * POLL_S
    return [
        Sample(start + POLL_S * (k + 1), POLL_S, Side(n * (1 - share)), Side(n * share))
        for k, share in enumerate(shares)
    ]


def test_a_route_at_zero_with_a_quarter_of_the_traffic_on_the_canary_is_said() -> None:
    found = split_disagreement(
        Weights.canary_at(0), polls([0.254] * 12), step_since=900.0, window_s=60.0
    )
    assert found is not None and found.configured == 0 and round(found.observed, 1) == 25.4
    assert "router says canary 0 %" in found.text and "25.4 %" in found.text


def test_the_old_split_right_after_a_rollback_is_not_a_disagreement() -> None:
    # For two polls after the rollback the metrics still count the 25 % of before (Envoy's flush,
    # the scrape): inside SETTLE_S, so never said; then the traffic follows.
    samples = polls([0.25] * 6 + [0.25] * 2 + [0.0] * 6)
    rolled_back_at = samples[5].t
    for n in range(6, len(samples) + 1):
        found = split_disagreement(
            Weights.canary_at(0), samples[:n], step_since=rolled_back_at, window_s=60.0
        )
        assert found is None, n


def test_a_route_that_is_not_followed_after_a_weight_change_is_said_once_settled() -> None:
    samples = polls([0.25] * 12)  # the route went to 0 at poll 6; the traffic did not move
    found = split_disagreement(
        Weights.canary_at(0), samples, step_since=samples[5].t, window_s=60.0
    )
    assert found is not None


def test_binomial_noise_at_the_configured_weight_is_never_a_disagreement() -> None:
    rng = np.random.default_rng(3)
    for weight, rps in ((1, 20.0), (5, 20.0), (10, 200.0), (50, 2000.0), (25, 5.0)):
        for _ in range(200):
            n = rng.poisson(rps * POLL_S, size=6)
            can = rng.binomial(n, weight / 100)
            samples = [
                Sample(1000.0 + POLL_S * (k + 1), POLL_S, Side(float(a - b)), Side(float(b)))
                for k, (a, b) in enumerate(zip(n, can, strict=True))
            ]
            assert (
                split_disagreement(
                    Weights.canary_at(weight), samples, step_since=0.0, window_s=60.0
                )
                is None
            ), (weight, rps)


def test_a_handful_of_requests_says_nothing() -> None:
    samples = polls([0.5] * 6, rps=0.5)  # 30 requests in the window
    assert split_disagreement(Weights.canary_at(0), samples, step_since=0.0, window_s=60) is None


def test_a_canary_short_of_its_weight_is_a_disagreement_too() -> None:
    found = split_disagreement(
        Weights.canary_at(50), polls([0.2] * 6), step_since=0.0, window_s=60.0
    )
    assert found is not None and found.configured == 50 and round(found.observed) == 20


def test_unknown_weights_or_no_counts_say_nothing() -> None:
    assert split_disagreement(None, polls([0.3] * 6), step_since=0.0, window_s=60) is None
    blind = [Sample(1010.0, POLL_S, Side(None), Side(None))]
    assert split_disagreement(Weights.canary_at(0), blind, step_since=0.0, window_s=60) is None
