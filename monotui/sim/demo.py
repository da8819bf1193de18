"""`monotui demo`: the simulated world with two rollouts, and a headless runner.

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

from monotui import config
from monotui.audit import AuditLog
from monotui.errors import ConfigError
from monotui.events import EventBus
from monotui.model import Event, Snapshot, Weights
from monotui.outside_text import literal
from monotui.registry import BuildContext
from monotui.rollout import Rollout, build_rollouts
from monotui.sim.kinds import registry_for
from monotui.sim.probes import DemoShop, demo_synthetics, sim_synthetics
from monotui.sim.scenarios import HEALTHY, SCENARIOS, checkout_flags, reviews_flags
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
    """The demo world and its rollouts. `tick()` moves a non-real-time demo one poll ahead."""

    world: World
    rollouts: list[Rollout]
    bus: EventBus
    scenario: str
    seed: int
    speed: float
    policy: str
    realtime: bool
    interval_s: float
    """Simulated seconds between polls."""
    started: bool = field(default=False)

    def now(self) -> float:
        """The simulated time (the rollouts' clock)."""
        return self.world.now()

    def rollout(self, name: str) -> Rollout:
        for r in self.rollouts:
            if r.name == name:
                return r
        raise ConfigError(f"no demo rollout named '{name}'")

    def start(self) -> list[Snapshot]:
        """Fill every rollout's history and cycle it once."""
        self.started = True
        return [r.start() for r in self.rollouts]

    def tick(self) -> list[Snapshot]:
        """Advance one poll interval (only when not real-time), then cycle every rollout."""
        if not self.started:
            self.start()
        if not self.realtime:
            self.world.advance(self.interval_s)
        return [r.cycle() for r in self.rollouts]

    def follow(self, speed: float) -> None:
        """From now on the world follows the wall clock at `speed` (real-time mode)."""
        self.world.follow = _follower(speed, self.world.now())
        self.realtime = True
        self.speed = speed

    def inject(self, kind: str, duration_s: float | None = None, rollout: str | None = None) -> str:
        """Inject one of FAULTS for `duration_s` simulated seconds (default: six polls) on one
        rollout (default: every rollout); returns a sentence saying what it did."""
        span = duration_s if duration_s is not None else 6 * self.interval_s
        fault = self.world.inject(kind, span, rollout=rollout)
        return f"fault {fault.kind} on {fault.rollout or 'every rollout'} for {span:.0f}s"

    def close(self) -> None:
        for r in self.rollouts:
            r.close()


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
    bus: EventBus | None = None,
    traffic: float = 200.0,
) -> Demo:
    """The demo world with its two rollouts, built from a configuration of sim kinds by the same
    function as every configuration; `traffic` is checkout's request rate (req/s). Raises
    ConfigError on an unknown scenario, speed or traffic."""
    if scenario not in SCENARIOS:
        raise ConfigError(f"unknown scenario '{scenario}' (known: {', '.join(SCENARIOS)})")
    if not speed > 0:
        raise ConfigError(f"--speed must be a positive number, got {speed}")
    if not 0 < traffic <= 100_000:
        raise ConfigError(f"--traffic must be within 0..100000 req/s, got {traffic}")
    world = World(seed, start=EPOCH - WARMUP_S)
    add_demo_rollouts(world, scenario, checkout_rps=traffic)
    world.advance_to(EPOCH)
    if realtime:
        world.follow = _follower(speed)
    interval_s = speed * REAL_INTERVAL_S
    kinds = registry_for(world)
    shops = {"checkout": DemoShop(world, "checkout")}  # its probes close it
    data = {
        "rollouts": [
            _rollout(info.name, info.namespace, policy, interval_s, kill_switches(world, info.name))
            | ({"synthetics": demo_synthetics(shops[info.name])} if info.name in shops else {})
            for info in world.rollouts
        ]
    }
    try:
        cfg = config.parse(data, source="demo", kinds=kinds)
        bus = bus or EventBus()
        ctx = BuildContext(
            cfg, context="sim", read_only=read_only, synthetics=sim_synthetics(world, shops)
        )
        rollouts = build_rollouts(
            cfg,
            kinds,
            ctx,
            audit=audit or AuditLog(None),
            bus=bus,
            clock=world.now,
            dry_run=dry_run,
            policy=policy,
        )
    finally:
        for shop in shops.values():  # not taken by a probe: nobody else would stop it
            shop.close()
    return Demo(world, rollouts, bus, scenario, seed, speed, policy, realtime, interval_s)


def add_demo_rollouts(
    world: World, scenario: str, *, checkout_pct: int = STEPS[0], checkout_rps: float = 200.0
) -> None:
    """The demo's two rollouts (the demo and `make lab` share them): checkout follows `scenario`
    at `checkout_rps` requests a second with kill switch new-checkout; reviews is always
    healthy, kill switch reviews-stars."""
    world.add_rollout(
        "checkout",
        "shop",
        replace(SCENARIOS[scenario], rps=checkout_rps),
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


def _follower(speed: float, start: float = EPOCH) -> Callable[[], float]:
    origin = time.monotonic()
    return lambda: start + (time.monotonic() - origin) * speed


def _rollout(
    name: str, namespace: str, policy: str, interval_s: float, kill_switches: list[str]
) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "steps": STEPS,
        "hold_s": HOLD_S,
        "policy": policy,
        "interval_s": interval_s,
        "router": {"kind": "sim", "name": name},
        "metrics": {"kind": "sim", "window": WINDOW, "history_s": WARMUP_S},
        "flags": {"kind": "sim", "kill_switches": kill_switches},
        # A canary p99 from a few requests a second is noisy: tolerate +25 % before calling it HIGH,
        # as a real configuration would, so a healthy canary is not rolled back on noise.
        "judge": {"allowed_increase": ALLOWED_INCREASE},
    }


def run_headless(demo: Demo, duration_s: float, out: TextIO) -> int:
    """Run the demo without a UI and without waiting: `duration_s` real seconds at the demo's speed,
    computed as fast as possible. Prints one line per event as it happens (a subscriber of the
    event stream), then one final line per rollout. Returns the exit code (0)."""
    demo.world.follow = None  # simulated time only moves with the ticks below
    demo.realtime = False
    by_name = {r.name: r for r in demo.rollouts}
    closed: list[BrokenPipeError] = []  # the reader went away (| head): stop quietly

    def printed(event: Event) -> None:
        rollout = by_name.get(event.rollout)
        if rollout is not None and not closed:
            try:
                _line(out, event.t, rollout, event.text)
            except BrokenPipeError as exc:
                closed.append(exc)

    unsubscribe = demo.bus.subscribe(printed)
    try:
        if not demo.started:
            demo.start()
        for _ in range(max(0, round(duration_s / REAL_INTERVAL_S))):
            if closed:
                raise closed[0]
            demo.tick()
    finally:
        unsubscribe()
    for rollout in demo.rollouts:
        snap = rollout.snapshot()
        _line(out, snap.t, rollout, f"finished: phase {snap.phase.value}")
    out.flush()
    return 0


def _line(out: TextIO, t: float, rollout: Rollout, text: str) -> None:
    snap = rollout.snapshot()
    weights = str(snap.weights) if snap.weights is not None else "-"
    # Event text is outside text (flag keys, error messages): one literal line, never an escape.
    print(
        f"{iso(t)} {literal(rollout.name)} {literal(text, max_len=1000)} weights={weights} "
        f"verdict={snap.verdict.result.value}",
        file=out,
        flush=True,
    )
