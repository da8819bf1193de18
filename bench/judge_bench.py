"""Judge benchmarks: judging time per poll, and detection latency in the simulated world.

Run with `python -m bench.judge_bench`. Prints ratios against a goal, a floor measured in the same
run, and Flagger's documented rollback time (`interval x threshold`) for the same settings.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from monotui.audit import AuditLog
from monotui.config import JudgeConfig
from monotui.judge import Judge
from monotui.model import Pair, Sample
from monotui.rollout import assemble
from monotui.sim.scenarios import HEALTHY, Behaviour, checkout_flags
from monotui.sim.sources import SimFlags, SimMetrics, SimRouter
from monotui.sim.world import BASELINE, CANARY, EPOCH, World
from tests.configs import rollout_config

GOAL_MS = 50.0
"""100 rollouts judged within 50 ms per poll."""
SAMPLES = 600
ROLLOUTS = 100


def _best_ms(fn: Callable[[], object], repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


def _series(seed: int) -> list[Sample]:
    import numpy as np

    rng = np.random.default_rng(seed)
    base = rng.normal(0.01, 0.002, SAMPLES)
    can = rng.normal(0.0105, 0.002, SAMPLES)
    lat_b, lat_c = rng.normal(180, 20, SAMPLES), rng.normal(185, 20, SAMPLES)
    return [
        Sample(
            60.0 * i,
            Pair(float(base[i]), float(can[i])),
            Pair(float(lat_b[i]), float(lat_c[i])),
            Pair(100.0, 5.0),
        )
        for i in range(SAMPLES)
    ]


def judge_time() -> None:
    """Judge 1 and 100 rollouts (2 metrics, 600 independent samples per side)."""
    from scipy.stats import mannwhitneyu

    cfg = JudgeConfig(lookback=SAMPLES)
    rollouts = [_series(seed) for seed in range(ROLLOUTS)]
    judges = [Judge(cfg, window_s=60.0) for _ in rollouts]
    judges[0].judge(rollouts[0])  # warm up numpy/scipy imports
    one = _best_ms(lambda: judges[0].judge(rollouts[0]))
    hundred = _best_ms(lambda: [j.judge(s) for j, s in zip(judges, rollouts, strict=True)])
    x = [s.error_rate.canary for s in rollouts[0]]
    y = [s.error_rate.baseline for s in rollouts[0]]
    floor = _best_ms(lambda: [mannwhitneyu(x, y) for _ in range(ROLLOUTS)])
    print(f"judge, 1 rollout x {SAMPLES} samples per side, 2 metrics: {one:.2f} ms")
    print(f"judge, {ROLLOUTS} rollouts: {hundred:.1f} ms")
    print(f"  ratio to the goal ({GOAL_MS:.0f} ms): {hundred / GOAL_MS:.2f} (below 1 meets it)")
    print(
        f"  ratio to the floor ({ROLLOUTS} bare scipy mannwhitneyu calls, one metric, "
        f"{floor:.1f} ms): {hundred / floor:.2f}"
    )


def _detection(canary_error_p: float, seed: int, cfg: JudgeConfig, weight: int) -> int | None:
    """Polls from the poll where the canary's error probability jumps to the rollback write."""
    interval_s = 10.0
    world = World(seed, start=EPOCH - 600)
    scenario = HEALTHY.__class__(
        "jump", "a canary that turns bad when its flag turns on", canary=Behaviour(canary_error_p)
    )
    from monotui.model import Weights

    world.add_rollout(
        "checkout", "shop", scenario, weights=Weights.canary_at(weight), flags=checkout_flags()
    )
    world.toggle_flag("checkout", "new-checkout")  # off: the canary runs the baseline's code
    world.advance_to(EPOCH)
    config = rollout_config(
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
        }
    )
    controller = assemble(
        config,
        router=SimRouter(world, "checkout"),
        metrics=SimMetrics(world, "checkout", window_s=10.0, step_s=interval_s),
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
        f"detection latency (10 s polls, 10 s window, failure_limit {cfg.failure_limit}, "
        f"lookback {cfg.lookback}); Flagger's documented interval x threshold = "
        f"{flagger_polls} polls"
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
    """Run both benchmarks and print their numbers."""
    judge_time()
    detection_latency()


if __name__ == "__main__":
    main()
