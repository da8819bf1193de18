"""Judge benchmarks: judging time per poll for both judges, and detection latency in the simulated
world.

Run with `python -m bench.judge_bench`. Prints ratios against a goal and a floor measured in the
same run, and Flagger's documented rollback time (`interval x threshold`) for the same settings:
- the sequential judge (the default): 300 rollouts, each with an hour of 10 s polls held, judged
  on one new poll each, one after the other (what a poll costs the observers today) and in one
  `judge_many` round (the arithmetic batched over the rollouts), against the issue's 20 ms and
  against the batched SequentialTest update of the same polls (the arithmetic that cannot be
  skipped). The harness's garbage is collected before each timed poll;
- the Mann-Whitney judge: 100 rollouts x 600 value samples per side within 50 ms, against bare
  scipy mannwhitneyu calls.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

import numpy as np

from monotui.audit import AuditLog
from monotui.config import JudgeConfig, RolloutConfig
from monotui.judge.counts import CountJudge, judge_many
from monotui.judge.mann_whitney import MannWhitneyJudge
from monotui.judge.sequential import shared_test
from monotui.metrics import metrics_for
from monotui.model import Sample, Side, Weights
from monotui.rollout import assemble
from monotui.sim.kinds import registry_for
from monotui.sim.scenarios import HEALTHY, Behaviour, checkout_flags
from monotui.sim.sources import SimFlags, SimMetrics, SimRouter
from monotui.sim.world import BASELINE, CANARY, EPOCH, World

MW_GOAL_MS = 50.0
"""100 rollouts judged by the U test within 50 ms per poll."""
SEQ_GOAL_MS = 20.0
"""300 rollouts judged on counts within 20 ms per poll (issue 10)."""
SAMPLES = 600
MW_ROLLOUTS = 100
SEQ_ROLLOUTS = 300
HELD = 360
"""Polls each sequential rollout holds: an hour at 10 s."""
POLL_S = 10.0
POLLS_TIMED = 7
"""New polls judged, one at a time; the best one's time is reported."""


def _best_ms(fn: Callable[[], object], repeat: int = 7, *, collect: bool = False) -> float:
    times = []
    for _ in range(repeat):
        if collect:
            gc.collect()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


# --- the Mann-Whitney judge on values --------------------------------------------------------


def _values(seed: int) -> list[Sample]:
    rng = np.random.default_rng(seed)
    base = rng.normal(0.01, 0.002, SAMPLES)
    can = rng.normal(0.0105, 0.002, SAMPLES)
    lat_b, lat_c = rng.normal(180, 20, SAMPLES), rng.normal(185, 20, SAMPLES)
    return [
        Sample(
            60.0 * i,
            60.0,
            Side(6000.0, (), (float(base[i]), float(lat_b[i]))),
            Side(300.0, (), (float(can[i]), float(lat_c[i]))),
        )
        for i in range(SAMPLES)
    ]


def mann_whitney_time() -> None:
    """Judge 1 and 100 rollouts (2 metrics, 600 independent samples per side)."""
    from scipy.stats import mannwhitneyu

    cfg = JudgeConfig(method="mann-whitney", lookback=SAMPLES)
    metrics = metrics_for(cfg)
    rollouts = [_values(seed) for seed in range(MW_ROLLOUTS)]
    judges = [MannWhitneyJudge(metrics, cfg, 60.0) for _ in rollouts]
    judges[0].judge(rollouts[0])  # warm up numpy/scipy imports
    one = _best_ms(lambda: judges[0].judge(rollouts[0]))
    hundred = _best_ms(lambda: [j.judge(s) for j, s in zip(judges, rollouts, strict=True)])
    x = [s.canary.value(0) for s in rollouts[0]]
    y = [s.baseline.value(0) for s in rollouts[0]]
    floor = _best_ms(lambda: [mannwhitneyu(x, y) for _ in range(MW_ROLLOUTS)])
    print(f"mann-whitney judge, 1 rollout x {SAMPLES} samples per side, 2 metrics: {one:.2f} ms")
    print(f"mann-whitney judge, {MW_ROLLOUTS} rollouts: {hundred:.1f} ms")
    print(
        f"  ratio to the goal ({MW_GOAL_MS:.0f} ms): {hundred / MW_GOAL_MS:.2f} (below 1 meets it)"
    )
    print(
        f"  ratio to the floor ({MW_ROLLOUTS} bare scipy mannwhitneyu calls, one metric, "
        f"{floor:.1f} ms): {hundred / floor:.2f}"
    )


# --- the sequential judge on counts ----------------------------------------------------------


def _counts(rng: np.random.Generator, polls: int, first: int = 0) -> list[Sample]:
    """Polls of a healthy rollout: 200 req/s, 10 % on the canary, 0.5 % 5xx, 1 % slow."""
    out = []
    for k in range(first, first + polls):
        sides = []
        for rate in (180.0 * POLL_S, 20.0 * POLL_S):
            n = float(rng.poisson(rate))
            bad, slow = float(rng.binomial(int(n), 0.005)), float(rng.binomial(int(n), 0.01))
            sides.append(Side(n, (bad, slow), (bad / n if n else None, 250.0)))
        out.append(Sample(EPOCH + POLL_S * k, POLL_S, sides[0], sides[1]))
    return out


def _held(seed: int = 1) -> tuple[list[list[Sample]], list[list[Sample]]]:
    """SEQ_ROLLOUTS rollouts' held windows of HELD polls, and their next polls."""
    rng = np.random.default_rng(seed)
    held = [_counts(rng, HELD) for _ in range(SEQ_ROLLOUTS)]
    new = [_counts(rng, POLLS_TIMED, first=HELD) for _ in range(SEQ_ROLLOUTS)]
    return held, new


def _judge_polls(step_polls: int | None, together: bool) -> tuple[float, list[list[Sample]]]:
    """The best time of judging SEQ_ROLLOUTS rollouts on one new poll each (ms), and the windows
    judged last. `step_polls`: the current step's length in polls (None: the whole window);
    `together`: in one `judge_many` round (else one rollout after the other, as each observer
    judges its own)."""
    cfg = JudgeConfig()
    metrics = metrics_for(cfg)
    held, new = _held()
    judges = [CountJudge(metrics, cfg) for _ in held]
    # The step started `step_polls` polls before the timed ones and lasts while they come in (a
    # step's start stays put; moving it every poll would judge a new step each time).
    steps = [None if step_polls is None else h[-step_polls].t for h in held]

    def judge_all() -> None:
        if together:
            calls = zip(judges, held, steps, strict=True)
            judge_many([(j, samples, None, step, True) for j, samples, step in calls])
            return
        for j, samples, step in zip(judges, held, steps, strict=True):
            j.judge(samples, run_since=None, step_since=step, canary_expected=True)

    judge_all()  # the run so far, as the observer had it
    times = []
    for k in range(POLLS_TIMED):
        for i in range(SEQ_ROLLOUTS):
            held[i] = [*held[i][1:], new[i][k]]  # a window of HELD samples, as the observer's
        # The windows just rebuilt are the harness's garbage, not the judge's: collected before
        # the clock starts, so the collector's passes inside count what the judge allocates.
        gc.collect()
        start = time.perf_counter()
        judge_all()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), held


def _floor(held: list[list[Sample]]) -> tuple[float, float]:
    """The batched SequentialTest update of the newest polls (ms; what cannot be skipped), and the
    same updates one row at a time."""
    cfg = JudgeConfig()
    metrics = metrics_for(cfg)
    tests = [shared_test(m.allowed(cfg), cfg.alpha) for m in metrics]
    counts = [
        np.array(
            [
                [s.baseline.requests, s.baseline.bad[i], s.canary.requests, s.canary.bad[i]]
                for s in (h[-1] for h in held)
            ],
            dtype=float,
        )
        for i in range(len(metrics))
    ]
    states = [[test.start() for _ in held] for test in tests]
    for _ in range(30):  # a filled dispersion window and a likelihood with some shape
        for test, state, table in zip(tests, states, counts, strict=True):
            state[:] = test.update_many(state, table)

    def batched() -> None:
        for t, s, c in zip(tests, states, counts, strict=True):
            t.update_many(s, c)

    rows = [(t, s, c.tolist()) for t, s, c in zip(tests, states, counts, strict=True)]

    def one_by_one() -> None:
        for t, s, table in rows:
            for ev, (a, b, c, d) in zip(s, table, strict=True):
                t.update(ev, baseline_total=a, baseline_bad=b, canary_total=c, canary_bad=d)

    return _best_ms(batched, collect=True), _best_ms(one_by_one, collect=True)


def sequential_time() -> None:
    """Judge 300 rollouts holding an hour of polls each, one new poll each time: each on its own
    (as the observers do) at a 300 s step (30 polls) and at a step as long as the window (manual,
    paused, or a long hold), and all of them in one judge_many round."""
    alone, held = _judge_polls(30, together=False)
    whole, _ = _judge_polls(None, together=False)
    together, _ = _judge_polls(30, together=True)
    floor, singles = _floor(held)
    print(
        f"sequential judge, {SEQ_ROLLOUTS} rollouts x 2 metrics, {HELD} polls held, one new "
        f"poll each; the floor: the batched SequentialTest update of the same polls, "
        f"{floor:.2f} ms (one row at a time: {singles:.1f} ms)"
    )
    for what, ms in (
        ("each alone, a 30-poll step", alone),
        (f"each alone, a {HELD}-poll step", whole),
        ("in one judge_many round, a 30-poll step", together),
    ):
        print(
            f"  {what}: {ms:.1f} ms per poll; ratio to the goal ({SEQ_GOAL_MS:.0f} ms) "
            f"{ms / SEQ_GOAL_MS:.2f} (below 1 meets it); ratio to the floor {ms / floor:.1f}"
        )


# --- detection in the simulated world --------------------------------------------------------


def _detection(canary_error_p: float, seed: int, cfg: JudgeConfig, weight: int) -> int | None:
    """Polls from the poll where the canary's error probability jumps to the rollback write."""
    interval_s = 10.0
    world = World(seed, start=EPOCH - 600)
    scenario = HEALTHY.__class__(
        "jump", "a canary that turns bad when its flag turns on", canary=Behaviour(canary_error_p)
    )
    world.add_rollout(
        "checkout", "shop", scenario, weights=Weights.canary_at(weight), flags=checkout_flags()
    )
    world.toggle_flag("checkout", "new-checkout")  # off: the canary runs the baseline's code
    world.advance_to(EPOCH)
    config = RolloutConfig.model_validate(
        {
            "name": "checkout",
            "namespace": "shop",
            "hold_s": 10_000,  # stay at this step: we measure detection, not promotion
            "policy": "auto",
            "interval_s": interval_s,
            "router": {"kind": "sim"},
            "metrics": {"kind": "sim", "window": "10s"},
            "flags": {"kind": "sim"},
            "judge": cfg.model_dump(),
        },
        context={"kinds": registry_for(world)},
    )
    controller = assemble(
        config,
        router=SimRouter(world, "checkout"),
        metrics=SimMetrics(
            world, "checkout", metrics=metrics_for(cfg), slow_ms=cfg.slow_ms, step_s=interval_s
        ),
        flags=SimFlags(world, "checkout"),
        audit=AuditLog(None),
        clock=world.now,
        policy_name="auto",
    )
    controller.start()
    for _ in range(20):  # settle on PASS
        world.advance(interval_s)
        controller.cycle()
    world.toggle_flag("checkout", "new-checkout")  # on: the error probability jumps now
    assert world.error_probability("checkout", CANARY) > world.error_probability(
        "checkout", BASELINE
    )
    for polls in range(1, 200):
        world.advance(interval_s)
        controller.cycle()
        if controller.snapshot().weights == Weights.canary_at(0):
            return polls
    return None


def detection_latency() -> None:
    """Polls to the rollback write after a step change in the canary's error probability."""
    cfg = JudgeConfig()
    flagger_polls = cfg.failure_limit  # Flagger: rollback after interval x threshold
    print(
        f"detection latency of the sequential judge (10 s polls, alpha {cfg.alpha:g}); "
        f"Flagger's documented interval x threshold = {flagger_polls} polls "
        "(threshold = failure_limit)"
    )
    for weight in (5, 25):
        for error_p in (0.02, 0.08):
            runs = [_detection(error_p, seed, cfg, weight) for seed in range(1, 6)]
            found = [r for r in runs if r is not None]
            if not found:
                print(
                    f"  canary {weight} %, error 0.5 % -> {error_p:.0%}: no rollback in 200 polls"
                )
                continue
            med = statistics.median(found)
            print(
                f"  canary {weight:>2} %, error 0.5 % -> {error_p:.0%}: median {med:.0f} polls "
                f"(runs {runs}), ratio to Flagger {med / flagger_polls:.1f}"
            )


def main() -> None:
    """Run every judge benchmark and print its numbers."""
    sequential_time()
    mann_whitney_time()
    detection_latency()


if __name__ == "__main__":
    main()
