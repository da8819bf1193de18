"""A simulated fleet: hundreds of rollouts across clusters and namespaces, deterministic (seeded),
for `monotui demo --fleet N`, the fleet's snapshot and Pilot tests and the benchmarks.

Out of every hundred rollouts: three bad canaries (they FAIL), one shared incident (both
versions failing), two paused by someone, fourteen progressing healthy at steps between 5 and
50 %, and the rest idle (no canary, or promoted). Namespaces `team-0`... and clusters (names
with "prod" get a red badge) take turns.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from monotui import config
from monotui.audit import AuditLog
from monotui.events import EventBus
from monotui.model import Weights
from monotui.registry import BuildContext
from monotui.rollout import build_rollouts
from monotui.sim.demo import Demo
from monotui.sim.kinds import registry_for
from monotui.sim.scenarios import BAD_CANARY, HEALTHY, SHARED_INCIDENT, Scenario
from monotui.sim.world import EPOCH, World

CLUSTERS = ("prod-eu", "staging")
NAMESPACES = 6
WARMUP_S = 120
INTERVAL_S = 10.0


def _role(i: int) -> tuple[Scenario, int, bool]:
    """(scenario, canary %, paused) of rollout `i`."""
    k = i % 100
    if k < 3:
        return BAD_CANARY, 25, False
    if k == 3:  # a dependency failing both versions for the whole run
        return replace(SHARED_INCIDENT, shared_spike_s=3600.0), 25, False
    if k < 6:
        return HEALTHY, 10, True
    if k < 20:
        return HEALTHY, (5, 10, 25, 50)[k % 4], False
    return HEALTHY, 0 if k % 3 else 100, False


def build_fleet(
    n: int = 300,
    *,
    seed: int = 7,
    clusters: tuple[str, ...] = CLUSTERS,
    rps: float = 20.0,
    read_only: bool = False,
    interval_s: float = INTERVAL_S,
) -> Demo:
    """`n` simulated rollouts with `WARMUP_S` of traffic behind them, not yet started and not
    real-time (`Demo.tick` moves it)."""
    world = World(seed, start=EPOCH - WARMUP_S, ring_s=WARMUP_S + 600)
    tables: list[dict[str, Any]] = []
    for i in range(n):
        scenario, canary, paused = _role(i)
        name = f"svc-{i:03d}"
        namespace = f"team-{i % NAMESPACES}"
        world.add_rollout(
            name,
            namespace,
            replace(scenario, rps=rps, kill_switch=None),
            weights=Weights.canary_at(canary),
        )
        if paused:
            world.set_pause(name, "alice: looking at the graphs", None)
        cluster = clusters[i % len(clusters)] if clusters else None
        tables.append(_table(name, namespace, cluster, interval_s))
    world.advance_to(EPOCH)
    kinds = registry_for(world)
    data: dict[str, Any] = {"rollouts": tables}
    if clusters:
        data["clusters"] = [{"name": c} for c in clusters]
    cfg = config.parse(data, source="fleet demo", kinds=kinds)
    bus = EventBus()
    rollouts = build_rollouts(
        cfg,
        kinds,
        BuildContext(cfg, context="sim", read_only=read_only),
        audit=AuditLog(None),
        bus=bus,
        clock=world.now,
    )
    return Demo(world, rollouts, bus, "fleet", seed, 1.0, "manual", False, interval_s)


def _table(name: str, namespace: str, cluster: str | None, interval_s: float) -> dict[str, Any]:
    table: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "interval_s": interval_s,
        "hold_s": 300.0,
        "router": {"kind": "sim", "name": name},
        # One poll per metrics window: each sparkline column is one poll.
        "metrics": {
            "kind": "sim",
            "window": f"{max(10, round(interval_s))}s",
            "history_s": WARMUP_S,
        },
        "flags": {"kind": "none"},
    }
    if cluster is not None:
        table["cluster"] = cluster
    return table
