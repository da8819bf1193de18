"""Building rollouts: the one function that turns a configuration into rollouts (used by the CLI,
the lab and the demo), and `assemble`, which puts one rollout's parts together from its sources."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from monotui.audit import AuditLog
from monotui.config import Config, RolloutConfig, duration_s
from monotui.errors import ConfigError
from monotui.events import EventBus
from monotui.judge import Judge
from monotui.kinds import Registry
from monotui.registry import BuildContext
from monotui.rollout.actuator import Actuator
from monotui.rollout.automation import Automation
from monotui.rollout.health import SourceHealth
from monotui.rollout.observer import Observer, history_points
from monotui.rollout.readers import Display, FlagReader, RouteReader
from monotui.rollout.rollout import Rollout
from monotui.rollout.state import RolloutState
from monotui.rollout.synthetics import SyntheticsReader
from monotui.rollout.told import Told
from monotui.sources.base import FlagSource, HistoryAhead, MetricsSource, Router, TrackRouter
from monotui.sources.synthetics.base import SyntheticSource
from monotui.sources.synthetics.build import build_synthetics


def build_rollouts(
    config: Config,
    kinds: Registry,
    ctx: BuildContext,
    *,
    audit: AuditLog,
    bus: EventBus | None = None,
    clock: Callable[[], float] = time.time,
    dry_run: bool = False,
    policy: str | None = None,
    only: str | None = None,
    history_ahead: float | None = None,
) -> list[Rollout]:
    """Every configured rollout (or `only` that one), its sources built by their kinds (the
    metrics first: they need no cluster).

    `policy` overrides each rollout's own (`monotui status` observes only: "manual").
    `history_ahead`: read the metrics histories over this span (0: each rollout's `history_s`)
    in the background while the routers connect to their clusters; a `start` over the same span
    then takes them (`monotui status` reads every history at once).
    """
    chosen = [config.rollout(only)] if only else config.rollouts
    bus = bus or EventBus()
    sources = [
        _metrics(kinds.get("metrics", r.metrics.kind).build(r.metrics, r, ctx), r) for r in chosen
    ]
    if history_ahead is not None:
        _read_histories(zip(chosen, sources, strict=True), history_ahead)
    built = []
    for rollout, metrics in zip(chosen, sources, strict=True):
        router = kinds.get("router", rollout.router.kind).build(rollout.router, rollout, ctx)
        flags = kinds.get("flags", rollout.flags.kind).build(rollout.flags, rollout, ctx)
        synthetics = build_synthetics(rollout, ctx)
        built.append(
            assemble(
                rollout,
                router=_router(router, rollout),
                metrics=metrics,
                flags=_flags(flags, rollout),
                synthetics=synthetics,
                audit=audit,
                bus=bus,
                clock=clock,
                read_only=ctx.read_only,
                dry_run=dry_run,
                context=ctx.display_context(rollout),
                kube_user=ctx.kube_user,
                policy_name=policy,
            )
        )
    return built


def assemble(
    config: RolloutConfig,
    *,
    router: Router,
    metrics: MetricsSource | None = None,
    flags: FlagSource | None = None,
    synthetics: list[SyntheticSource] | None = None,
    audit: AuditLog | None = None,
    bus: EventBus | None = None,
    clock: Callable[[], float] = time.time,
    judge: Judge | None = None,
    read_only: bool = False,
    dry_run: bool = False,
    context: str = "",
    policy_name: str | None = None,
    kube_user: str = "",
) -> Rollout:
    """One rollout from its sources: observer, actuator and automation sharing what they know."""
    policy = policy_name or config.policy
    reader = _synthetics(synthetics or [], router, config, read_only=read_only)
    state = RolloutState(config.steps, tuple(config.flags.kill_switches))
    told = Told(config.name, clock, bus)
    health = SourceHealth(config.interval_s, clock, told)
    observer = Observer(
        config,
        state=state,
        router=RouteReader(router),
        metrics=metrics,
        flags=FlagReader(flags) if flags is not None else None,
        judge=judge,
        clock=clock,
        told=told,
        health=health,
        display=Display(context=context, policy=policy, read_only=read_only, dry_run=dry_run),
        synthetics=reader,
    )
    actuator = Actuator(
        config,
        state=state,
        router=router,
        flags=flags,
        audit=audit or AuditLog(None),
        clock=clock,
        told=told,
        route_seen=observer.route_seen,
        read_only=read_only,
        dry_run=dry_run,
        context=context,
        kube_user=kube_user,
    )
    automation = Automation(
        config,
        actuator=actuator,
        clock=clock,
        enabled=policy == "auto" and not read_only,
        window_s=duration_s(config.metrics.window),
    )
    return Rollout(observer, actuator, automation)


def _synthetics(
    sources: list[SyntheticSource], router: Router, rollout: RolloutConfig, *, read_only: bool
) -> SyntheticsReader | None:
    """The probes' reader; a probe that needs the header route on a router that cannot add one
    is a configuration error that says what to do instead."""
    if not sources:
        return None
    for source in sources:
        tracks = source.header_tracks()
        if tracks and not isinstance(router, TrackRouter):
            raise ConfigError(
                f"rollout {rollout.name}: synthetics {source.name} reaches {', '.join(tracks)} "
                f"through a header route (x-monotui-track), which the {router.kind} router cannot "
                'add: give that probe urls = { canary = "http://..." } (each track\'s own '
                "Service), or use an istio or gateway-api router"
            )
    return SyntheticsReader(sources, read_only=read_only)


def _router(source: object, rollout: RolloutConfig) -> Router:
    if not isinstance(source, Router):
        raise TypeError(f"rollout {rollout.name}: router kind built {type(source).__name__}")
    return source


def _read_histories(
    pairs: Iterable[tuple[RolloutConfig, MetricsSource | None]], span_s: float
) -> None:
    """Ask for each source's history over `span_s` (0: its rollout's history_s) in one
    background thread: a fleet's batched history is one query per count, which Prometheus
    evaluates while this process connects and imports (a failure is kept for `history` to raise,
    as its own query's would be)."""
    ahead: list[tuple[HistoryAhead, float, int]] = []
    for rollout, source in pairs:
        if isinstance(source, HistoryAhead):
            span = span_s or rollout.metrics.history_s
            ahead.append((source, span, history_points(span, rollout.interval_s)))

    def read() -> None:
        for source, span, points in ahead:
            source.prefetch_history(span, points)

    if ahead:
        threading.Thread(target=read, name="history-ahead", daemon=True).start()


def _metrics(source: object, rollout: RolloutConfig) -> MetricsSource | None:
    if source is not None and not isinstance(source, MetricsSource):
        raise TypeError(f"rollout {rollout.name}: metrics kind built {type(source).__name__}")
    return source


def _flags(source: object, rollout: RolloutConfig) -> FlagSource | None:
    if source is not None and not isinstance(source, FlagSource):
        raise TypeError(f"rollout {rollout.name}: flags kind built {type(source).__name__}")
    return source
