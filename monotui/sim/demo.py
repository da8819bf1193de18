"""`monotui demo`: the simulated world with two rollouts and their controllers, and a headless runner.

Two rollouts: "checkout" in namespace "shop" follows the chosen scenario (kill switch
`new-checkout`), "reviews" in "bookinfo" is always healthy, so the fleet view has two rows.
Every duration in the rollouts' configuration is in simulated seconds; at `speed` 10 one poll per
real second covers 10 simulated seconds and a healthy automatic rollout takes about a minute.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from pydantic import ValidationError

from monotui.audit import AuditLog
from monotui.config import RolloutConfig, duration_s
from monotui.controller import Controller
from monotui.errors import ConfigError
from monotui.model import Snapshot, Weights
from monotui.sim.scenarios import HEALTHY, SCENARIOS, checkout_flags, reviews_flags
from monotui.sim.sources import SimFlags, SimMetrics, SimRouter
from monotui.sim.world import EPOCH, FAULTS, World
from monotui.status import iso

__all__ = ["FAULTS", "SCENARIOS", "Demo", "build_demo", "run_headless"]

STEPS = (1, 5, 10, 25, 50, 100)
REAL_INTERVAL_S = 1.0
"""Real seconds between polls; the simulated interval is this times the speed."""
HOLD_S = 100.0
"""Simulated seconds a step must hold a PASS verdict before the automation advances."""
WINDOW = "10s"
"""The metrics rate window: one poll interval at the default speed 10, so the judge's samples are independent
and a 100 s hold gives it ten of them (a 1m window would give it fewer than two per step)."""
ALLOWED_INCREASE = 1.25
WARMUP_S = 600
"""Simulated traffic before the demo starts, so the charts open filled."""


@dataclass
class Demo:
    """The demo world and its controllers. `tick()` moves a non-real-time demo one poll ahead."""

    world: World
    controllers: list[Controller]
    scenario: str
    seed: int
    speed: float
    policy: str
    realtime: bool
    interval_s: float
    """Simulated seconds between polls."""
    started: bool = field(default=False)

    def now(self) -> float:
        """The simulated time (the controllers' clock)."""
        return self.world.now()

    @property
    def description(self) -> str:
        """One line about the scenario, for a title or the help screen."""
        return SCENARIOS[self.scenario].description

    def controller(self, name: str) -> Controller:
        for c in self.controllers:
            if c.name == name:
                return c
        raise ConfigError(f"no demo rollout named '{name}'")

    def start(self) -> list[Snapshot]:
        """Fill every controller's history and poll it once."""
        self.started = True
        return [c.start() for c in self.controllers]

    def tick(self) -> list[Snapshot]:
        """Advance one poll interval (only when not real-time), then poll every controller."""
        if not self.started:
            self.start()
        if not self.realtime:
            self.world.advance(self.interval_s)
        return [c.poll() for c in self.controllers]

    def inject(self, kind: str, duration_s: float | None = None, rollout: str | None = None) -> str:
        """Inject one of FAULTS for `duration_s` simulated seconds (default: six polls) on one
        rollout (default: every rollout); returns a sentence saying what it did."""
        span = duration_s if duration_s is not None else 6 * self.interval_s
        fault = self.world.inject(kind, span, rollout=rollout)
        return f"fault {fault.kind} on {fault.rollout or 'every rollout'} for {span:.0f}s"

    def close(self) -> None:
        for c in self.controllers:
            c.close()


def build_demo(
    scenario: str = "bad-canary",
    *,
    seed: int = 7,
    speed: float = 10.0,
    policy: str = "manual",
    read_only: bool = False,
    dry_run: bool = False,
    realtime: bool = True,
    audit: AuditLog | None = None,
) -> Demo:
    """The demo world with its two rollouts. Raises ConfigError on an unknown scenario or policy."""
    if scenario not in SCENARIOS:
        raise ConfigError(f"unknown scenario '{scenario}' (known: {', '.join(SCENARIOS)})")
    if not speed > 0:
        raise ConfigError(f"--speed must be a positive number, got {speed}")
    world = World(seed, start=EPOCH - WARMUP_S)
    add_demo_rollouts(world, scenario)
    world.advance_to(EPOCH)
    if realtime:
        world.follow = _follower(speed)
    interval_s = speed * REAL_INTERVAL_S
    controllers = [
        _controller(
            world,
            _config(info.name, info.namespace, policy, interval_s, kill_switches(world, info.name)),
            interval_s,
            audit=audit,
            read_only=read_only,
            dry_run=dry_run,
        )
        for info in world.rollouts
    ]
    return Demo(world, controllers, scenario, seed, speed, policy, realtime, interval_s)


def add_demo_rollouts(world: World, scenario: str, *, checkout_pct: int = STEPS[0]) -> None:
    """The demo's two rollouts (the demo and `make lab` share them): checkout follows `scenario`
    with kill switch new-checkout; reviews is always healthy, kill switch reviews-stars."""
    world.add_rollout(
        "checkout",
        "shop",
        SCENARIOS[scenario],
        weights=Weights.canary_at(checkout_pct),
        flags=checkout_flags(),
    )
    reviews = replace(HEALTHY, rps=120.0, kill_switch="reviews-stars")
    world.add_rollout(
        "reviews", "bookinfo", reviews, weights=Weights.canary_at(10), flags=reviews_flags()
    )


def kill_switches(world: World, rollout: str) -> list[str]:
    """The flag that switches a rollout's new code path off, as the world's scenario says."""
    switch = world.scenario(rollout).kill_switch
    return [switch] if switch else []


def _follower(speed: float) -> Callable[[], float]:
    origin = time.monotonic()
    return lambda: EPOCH + (time.monotonic() - origin) * speed


def _config(
    name: str, namespace: str, policy: str, interval_s: float, kill_switches: list[str]
) -> RolloutConfig:
    data: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "steps": STEPS,
        "hold_s": HOLD_S,
        "policy": policy,
        "interval_s": interval_s,
        "router": {"kind": "sim", "name": name},
        "metrics": {"kind": "sim", "service": name, "window": WINDOW, "history_s": WARMUP_S},
        "flags": {"kind": "sim", "kill_switches": kill_switches},
        # A canary p99 from a few requests a second is noisy: tolerate +25 % before calling it HIGH,
        # as a real configuration would, so a healthy canary is not rolled back on noise.
        "judge": {"allowed_increase": ALLOWED_INCREASE},
    }
    try:
        return RolloutConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"demo: {problems}") from None


def _controller(
    world: World,
    config: RolloutConfig,
    interval_s: float,
    *,
    audit: AuditLog | None,
    read_only: bool,
    dry_run: bool,
) -> Controller:
    return Controller(
        config,
        router=SimRouter(world, config.name),
        metrics=SimMetrics(world, config.name, window_s=duration_s(WINDOW), step_s=interval_s),
        flags=SimFlags(world, config.name),
        audit=audit,
        clock=world.now,
        read_only=read_only,
        dry_run=dry_run,
        context="sim",
        policy_name=config.policy,
    )


def run_headless(demo: Demo, duration_s: float, out: TextIO) -> int:
    """Run the demo without a UI and without waiting: `duration_s` real seconds at the demo's speed,
    computed as fast as possible. Prints one line per event as it happens, then one final line per
    rollout. Returns the exit code (0)."""
    demo.world.follow = None  # simulated time only moves with the ticks below
    demo.realtime = False

    def printer(controller: Controller) -> Callable[[], None]:
        printed: list[object] = [None]

        def on_event() -> None:
            events = controller.events()
            if not events or events[-1] is printed[0]:
                return
            printed[0] = events[-1]
            _line(out, events[-1].t, controller, events[-1].text)

        return on_event

    for controller in demo.controllers:
        controller.listeners.append(printer(controller))
    if not demo.started:
        demo.start()
    for _ in range(max(0, round(duration_s / REAL_INTERVAL_S))):
        demo.tick()
    for controller in demo.controllers:
        snap = controller.snapshot()
        _line(out, snap.t, controller, f"finished: phase {snap.phase.value}")
    out.flush()
    return 0


def _line(out: TextIO, t: float, controller: Controller, text: str) -> None:
    snap = controller.snapshot()
    weights = str(snap.weights) if snap.weights is not None else "-"
    # Event text is outside text (flag keys, error messages): printed exactly as it is.
    print(
        f"{iso(t)} {controller.name} {text} weights={weights} verdict={snap.verdict.result.value}",
        file=out,
        flush=True,
    )
