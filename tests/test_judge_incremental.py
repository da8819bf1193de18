"""The count judge's bookkeeping extended poll by poll (monotui.judge.tally) against judging from
scratch: a judge kept across the polls, as each observer keeps one, says exactly what a fresh
judge says on every sample seen (verdict, reason, labels, sentences, every evidence number), also
when the observer's window drops its oldest samples, and its parts agree with the functions they
replace (run_start, pooled)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monotui.config import JudgeConfig
from monotui.judge.counts import RUN_BREAK_POLLS, CountJudge, run_start
from monotui.judge.tally import Pooling, RunTracker
from monotui.metrics import metrics_for
from monotui.model import Sample, Side, Verdict, pooled

T = 1_800_000_000.0
SPAN = 10.0
CFG = JudgeConfig()  # two metrics: 5xx (a ratio) and slow requests (shown as a p99 value)

# One poll: what kind it is, and the numbers drawn for it.
KINDS = ("served", "served", "served", "quiet", "gap", "no canary", "nan canary")
polls_ = st.tuples(
    st.sampled_from(KINDS),
    st.integers(1, 3000),  # baseline requests
    st.integers(1, 300),  # canary requests
    st.floats(0.0, 0.05),  # baseline bad share
    st.floats(0.0, 0.2),  # canary bad share
    st.booleans(),  # fractional increases (Prometheus extrapolates)
)


def _sample(k: int, poll: tuple[str, int, int, float, float, bool]) -> Sample:
    kind, n_b, n_c, p_b, p_c, fraction = poll
    t = T + SPAN * k
    if kind == "gap":
        return Sample(t)
    extra = 0.37 if fraction else 0.0
    base_n = n_b + extra
    base = Side(base_n, (round(base_n * p_b), base_n * p_b / 2), (p_b, 180.0 + 40 * p_b))
    if kind == "no canary":
        return Sample(t, SPAN, base, Side())
    can_n = 0.0 if kind == "quiet" else n_c + extra
    bad = math.nan if kind == "nan canary" else float(round(can_n * p_c))
    value = p_c if can_n else None
    return Sample(t, SPAN, base, Side(can_n, (bad, can_n * p_c / 2), (value, 190.0 + 40 * p_c)))


def _samples(polls: Sequence[tuple[str, int, int, float, float, bool]]) -> list[Sample]:
    return [_sample(k, p) for k, p in enumerate(polls, start=1)]


def _same(a: Verdict, b: Verdict) -> bool:
    """Equal to the last bit (repr: NaN rates compare unequal to themselves)."""
    return repr(a) == repr(b)


def _judge(
    j: CountJudge, samples: Sequence[Sample], step: float | None, run: float | None
) -> Verdict:
    return j.judge(samples, run_since=run, step_since=step, canary_expected=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    polls=st.lists(polls_, min_size=1, max_size=40),
    step_at=st.integers(0, 40),
    known_start=st.booleans(),
)
def test_a_judge_kept_across_polls_says_what_a_fresh_judge_says(
    polls: list[tuple[str, int, int, float, float, bool]], step_at: int, known_start: bool
) -> None:
    """Poll by poll, with gaps, quiet canary stretches (the run restarts), missing and NaN canary
    data and a step change: the kept judge and a fresh judge on the same samples agree."""
    samples = _samples(polls)
    run = T - 5.0 if known_start else None
    kept = CountJudge(metrics_for(CFG), CFG)
    for n in range(1, len(samples) + 1):
        step = samples[step_at - 1].t if 0 < step_at <= n else None
        live = _judge(kept, samples[:n], step, run)
        fresh = _judge(CountJudge(metrics_for(CFG), CFG), samples[:n], step, run)
        assert _same(live, fresh), n


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    blocks=st.lists(
        st.tuples(polls_, st.integers(1, 14), st.integers(0, 3)), min_size=1, max_size=25
    ),
    window=st.integers(100, 140),
    step_every=st.integers(20, 200),
    known_start=st.booleans(),
)
def test_dropping_the_oldest_samples_changes_neither_the_run_nor_the_step(
    blocks: list[tuple[tuple[str, int, int, float, float, bool], int, int]],
    window: int,
    step_every: int,
    known_start: bool,
) -> None:
    """The observer holds its newest samples only: a judge fed that sliding window says what a
    judge fed every sample says, step totals included (a step longer than the window counts all
    of it). Gaps come one in four polls at most, so that a run restarting late still finds its
    60 baseline polls in the window."""
    polls: list[tuple[str, int, int, float, float, bool]] = []
    for poll, repeat, gaps in blocks:
        body = ("served", *poll[1:]) if poll[0] == "gap" else poll
        polls += [body] * max(repeat, 3 * gaps)
        polls += [("gap", *poll[1:])] * gaps
    samples = _samples(polls)
    run = T - 5.0 if known_start else None
    sliding, whole = CountJudge(metrics_for(CFG), CFG), CountJudge(metrics_for(CFG), CFG)
    step: float | None = None
    for n in range(1, len(samples) + 1):
        if n % step_every == 0:
            step = samples[n - 1].t
        held = samples[max(0, n - window) : n]
        a, b = _judge(sliding, held, step, run), _judge(whole, samples[:n], step, run)
        assert _same(a, b), n
    fresh = _judge(CountJudge(metrics_for(CFG), CFG), samples, step, run)
    assert _same(b, fresh)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(("served", "quiet", "gap", "no canary")), max_size=60))
def test_the_run_start_followed_poll_by_poll_is_run_start(kinds: list[str]) -> None:
    """Breaks of exactly RUN_BREAK_POLLS quiet polls, gaps inside them, breaks that go on."""
    samples = _samples([(kind, 100, 10, 0.01, 0.01, False) for kind in kinds])
    if not samples:
        return
    tracker = RunTracker.after(samples[:1], run_start(samples[:1]), RUN_BREAK_POLLS)
    assert tracker.start == run_start(samples[:1])
    for n in range(2, len(samples) + 1):
        tracker.feed(samples[n - 1])
        assert tracker.start == run_start(samples[:n]), n
        resumed = RunTracker.after(samples[:n], run_start(samples[:n]), RUN_BREAK_POLLS)
        assert resumed.start == tracker.start


sides = st.builds(
    Side,
    st.one_of(st.none(), st.floats(0, 1e4), st.just(math.nan)),
    st.tuples(st.one_of(st.none(), st.floats(0, 1e3), st.just(math.inf))),
    st.tuples(st.one_of(st.none(), st.floats(0, 1e3))),
)


@settings(max_examples=300)
@given(st.lists(sides, max_size=12), st.booleans())
def test_pooling_one_side_at_a_time_is_pooled(values: list[Side], ratio: bool) -> None:
    pool = Pooling(0, ratio)
    for side in values:
        pool.add(side)
    whole = pooled([Sample(0.0, 0.0, side, side) for side in values], 0, ratio=ratio, canary=True)
    assert repr(pool.value) == repr(whole)
