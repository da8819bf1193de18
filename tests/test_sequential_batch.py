"""The sequential test's batched update (one poll for many rollouts) against one rollout at a time:
the fleet's batch and each observer's single update must give the same evidence to the last bit,
through level shifts that restart the dispersion window, incidents, polls without information and
broken counts that skip the poll."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monotui.judge.evidence import CountEvidence
from monotui.judge.sequential import SequentialTest


def _polls(seed: int, rollouts: int, polls: int) -> np.ndarray:
    """(polls, rollouts, 4) counts: Poisson traffic with level shifts and shared spikes, some
    polls without canary traffic or bad requests and some broken counters."""
    rng = np.random.default_rng(seed)
    n_b = rng.poisson(rng.uniform(300, 3000, rollouts), (polls, rollouts)).astype(float)
    n_c = rng.poisson(rng.uniform(0, 300, rollouts), (polls, rollouts)).astype(float)
    spikes = np.where(rng.random((polls, rollouts)) < 0.1, 12.0, 1.0)
    shifted = np.arange(polls)[:, None] >= rng.integers(polls // 3, polls, rollouts)
    level = spikes * np.where(shifted, 20.0, 1.0)  # a shift that stays
    rate_b = rng.uniform(0.002, 0.02, rollouts) * level
    rate_c = rate_b * rng.uniform(0.5, 4.0, rollouts)
    e_b = rng.binomial(n_b.astype(int), np.minimum(rate_b, 1.0)).astype(float)
    e_c = rng.binomial(n_c.astype(int), np.minimum(rate_c, 1.0)).astype(float)
    counts = np.stack([n_b, e_b, n_c, e_c], axis=-1)
    counts += rng.random(counts.shape) * (rng.random(counts.shape) < 0.3)  # extrapolated
    broken = rng.random((polls, rollouts)) < 0.03
    counts[broken, rng.integers(0, 4, int(broken.sum()))] = np.nan
    return counts


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rollouts=st.integers(1, 12),
    allowed=st.sampled_from([1.0, 1.25, 2.0]),
)
def test_the_batched_update_is_the_single_update_bit_for_bit(
    seed: int, rollouts: int, allowed: float
) -> None:
    test = SequentialTest(allowed_increase=allowed)
    rng = np.random.default_rng(seed)
    history = [(1000.0, float(e)) for e in rng.poisson(5.0, 60)]
    batch: list[CountEvidence] = [test.start(history)] * rollouts
    single = list(batch)
    restarted = 0
    for table in _polls(seed, rollouts, 150):
        before = batch
        batch = test.update_many(batch, table)
        for r, row in enumerate(table):
            n_b, e_b, n_c, e_c = (float(x) for x in row)
            single[r] = test.update(
                single[r], baseline_total=n_b, baseline_bad=e_b, canary_total=n_c, canary_bad=e_c
            )
            assert np.array_equal(batch[r].log_lik, single[r].log_lik)
            assert batch[r].numbers == single[r].numbers and batch[r] == single[r]
            restarted += batch[r].reference_rate != before[r].reference_rate
    assert not any(ev.log_lik.flags.writeable for ev in batch + single)
    assert restarted  # the level shifts restarted some dispersion window
