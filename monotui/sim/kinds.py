"""The simulated world's source kinds (router, metrics and flags `kind = "sim"`), registered only
where the demo and the lab use them: `registry_for(world)` is the production registry plus these,
so `kind = "sim"` is unknown to the production schema."""

from __future__ import annotations

from typing import Literal

from monotui.config import RolloutConfig
from monotui.kinds import FlagsSettings, MetricsSettings, Registry, RouterSettings, SourceKind
from monotui.metrics import metrics_for
from monotui.registry import PRODUCTION, BuildContext
from monotui.sim.sources import SimFlags, SimMetrics, SimRouter
from monotui.sim.world import World


class SimRouterSettings(RouterSettings):
    """`[rollouts.router] kind = "sim"`: the simulated world's route (demo and lab only)."""

    kind: Literal["sim"] = "sim"


class SimMetricsSettings(MetricsSettings):
    """`[rollouts.metrics] kind = "sim"`: Istio-style metrics of the simulated traffic."""

    kind: Literal["sim"] = "sim"


class SimFlagsSettings(FlagsSettings):
    """`[rollouts.flags] kind = "sim"`: the simulated world's flags."""

    kind: Literal["sim"] = "sim"


def sim_kinds(world: World) -> tuple[SourceKind, ...]:
    """The sim kinds, built on `world`."""

    def router(settings: SimRouterSettings, rollout: RolloutConfig, ctx: object) -> SimRouter:
        read_only = isinstance(ctx, BuildContext) and ctx.read_only
        return SimRouter(world, rollout.name, can_write=not read_only)

    def metrics(settings: SimMetricsSettings, rollout: RolloutConfig, ctx: object) -> SimMetrics:
        return SimMetrics(
            world,
            rollout.name,
            metrics=metrics_for(rollout.judge),
            slow_ms=rollout.judge.slow_ms,
            step_s=rollout.interval_s,
        )

    def flags(settings: SimFlagsSettings, rollout: RolloutConfig, ctx: object) -> SimFlags:
        return SimFlags(world, rollout.name)

    return (
        SourceKind("router", "sim", SimRouterSettings, router),
        SourceKind("metrics", "sim", SimMetricsSettings, metrics),
        SourceKind("flags", "sim", SimFlagsSettings, flags),
    )


def registry_for(world: World) -> Registry:
    """The production kinds and the sim kinds on `world`."""
    return PRODUCTION.with_kinds(*sim_kinds(world))
