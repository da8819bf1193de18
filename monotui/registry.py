"""The production source kinds, registered once: each kind's settings model and its builder.

Adding a kind is its module (settings model + source class) and one `SourceKind(...)` line in
`PRODUCTION` below. The heavy clients (kubernetes ~200 ms, prometheus-api-client) are imported by
the sources when they first talk to their backend, never here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from monotui.config import Config, RolloutConfig
from monotui.kinds import FlagsSettings, MetricsSettings, Registry, SourceKind
from monotui.sources.flags_featureflag import FeatureFlagFlags, FeatureFlagSettings
from monotui.sources.flags_flagd import FlagdFileFlags, FlagdFileSettings
from monotui.sources.flags_ofrep import OfrepFlags, OfrepSettings
from monotui.sources.metrics_prometheus import PrometheusMetrics, PrometheusMetricsSettings
from monotui.sources.router_argo import ArgoRouter, ArgoSettings
from monotui.sources.router_flagger import FlaggerRouter, FlaggerSettings
from monotui.sources.router_gateway import GatewayRouter, GatewaySettings
from monotui.sources.router_istio import IstioRouter, IstioSettings
from monotui.sources.router_static import NoRouterSettings, StaticRouter

if TYPE_CHECKING:
    from monotui.config import PrometheusConfig
    from monotui.sources.kube import KubeConnection
    from monotui.sources.prometheus_proxy import PrometheusConnection
    from monotui.sources.synthetics.base import SyntheticSource

Clock = Callable[[], float]
SyntheticsBuilder = Callable[[Any, RolloutConfig], "SyntheticSource"]
"""(one `[[rollouts.synthetics]]` table's settings, the rollout) -> its probe."""


@dataclass
class BuildContext:
    """What builders share while the rollouts of one configuration are built: the config's
    top-level sections, one Kubernetes connection (made on first use), and the session's mode."""

    config: Config
    context: str | None = None
    """`--context`, which wins over `[kubernetes] context`."""
    read_only: bool = False
    """Routers built read-only cannot write at all (not just hidden)."""
    clock: Clock | None = None
    """Fixes the metrics' evaluation time (tests on backfilled history); None: the server's now."""
    synthetics: SyntheticsBuilder | None = None
    """Builds the probes instead of the production kinds (the demo's simulated world)."""
    _kube: KubeConnection | None = field(default=None, repr=False)
    _prometheus: PrometheusConnection | None = field(default=None, repr=False)

    def kube(self) -> KubeConnection:
        """The shared connection, made like kubectl makes it, on first use."""
        if self._kube is None:
            from monotui.sources.kube import connect

            self._kube = connect(self.config.kubernetes, context=self.context or None)
        return self._kube

    def prometheus_connection(self) -> PrometheusConnection | None:
        """How to reach Prometheus through the API server's service proxy when `[prometheus]
        kubernetes_service` is set and `url` is not (made once); None: use `url` directly."""
        prom = self.config.prometheus
        if not prom.kubernetes_service or "url" in prom.model_fields_set:
            return None
        if self._prometheus is None:
            from monotui.sources.prometheus_proxy import through_kubernetes

            self._prometheus = through_kubernetes(prom, self.kube())
        return self._prometheus

    def prometheus(self) -> PrometheusConfig:
        """The `[prometheus]` settings the Prometheus source gets: pointed at the service proxy
        (credentials as of now) when `prometheus_connection()` says so."""
        connection = self.prometheus_connection()
        prom = self.config.prometheus
        return connection.as_config(prom) if connection is not None else prom

    @property
    def kube_context(self) -> str:
        """The context actually used ("" while no Kubernetes source was built)."""
        return self._kube.context if self._kube is not None else ""

    @property
    def kube_user(self) -> str:
        return self._kube.user if self._kube is not None else ""

    def close(self) -> None:
        """Release the shared connection's pool."""
        if self._kube is not None:
            self._kube.close()
            self._kube = None


def _context(ctx: object) -> BuildContext:
    if not isinstance(ctx, BuildContext):
        raise TypeError(f"expected a BuildContext, got {type(ctx).__name__}")
    return ctx


def _istio(settings: IstioSettings, rollout: RolloutConfig, ctx: object) -> IstioRouter:
    c = _context(ctx)
    return IstioRouter(c.kube(), rollout, can_write=not c.read_only)


def _gateway(settings: GatewaySettings, rollout: RolloutConfig, ctx: object) -> GatewayRouter:
    c = _context(ctx)
    return GatewayRouter(c.kube(), rollout, can_write=not c.read_only)


def _argo(settings: ArgoSettings, rollout: RolloutConfig, ctx: object) -> ArgoRouter:
    c = _context(ctx)
    return ArgoRouter(c.kube(), rollout, can_write=not c.read_only)


def _flagger(settings: FlaggerSettings, rollout: RolloutConfig, ctx: object) -> FlaggerRouter:
    c = _context(ctx)
    return FlaggerRouter(c.kube(), rollout, can_write=not c.read_only)


def _static(settings: NoRouterSettings, rollout: RolloutConfig, ctx: object) -> StaticRouter:
    return StaticRouter()


def _prometheus(
    settings: PrometheusMetricsSettings, rollout: RolloutConfig, ctx: object
) -> PrometheusMetrics:
    c = _context(ctx)
    return PrometheusMetrics(
        c.prometheus(), rollout, clock=c.clock, connection=c.prometheus_connection()
    )


def _flagd(settings: FlagdFileSettings, rollout: RolloutConfig, ctx: object) -> FlagdFileFlags:
    return FlagdFileFlags(rollout)


def _featureflag(
    settings: FeatureFlagSettings, rollout: RolloutConfig, ctx: object
) -> FeatureFlagFlags:
    return FeatureFlagFlags(_context(ctx).kube(), rollout)


def _ofrep(settings: OfrepSettings, rollout: RolloutConfig, ctx: object) -> OfrepFlags:
    return OfrepFlags(rollout)


def _nothing(settings: object, rollout: RolloutConfig, ctx: object) -> None:
    return None


class NoMetricsSettings(MetricsSettings):
    """`[rollouts.metrics] kind = "none"`: no metrics; the judge says NO DATA."""

    kind: Literal["none"] = "none"


class NoFlagsSettings(FlagsSettings):
    """`[rollouts.flags] kind = "none"` (the default): no flag source."""

    kind: Literal["none"] = "none"


PRODUCTION = Registry(
    [
        SourceKind("router", "istio", IstioSettings, _istio),
        SourceKind("router", "gateway-api", GatewaySettings, _gateway),
        SourceKind("router", "argo", ArgoSettings, _argo),
        SourceKind("router", "flagger", FlaggerSettings, _flagger),
        SourceKind("router", "none", NoRouterSettings, _static),
        SourceKind("metrics", "prometheus", PrometheusMetricsSettings, _prometheus),
        SourceKind("metrics", "none", NoMetricsSettings, _nothing),
        SourceKind("flags", "flagd-file", FlagdFileSettings, _flagd),
        SourceKind("flags", "featureflag", FeatureFlagSettings, _featureflag),
        SourceKind("flags", "ofrep", OfrepSettings, _ofrep),
        SourceKind("flags", "none", NoFlagsSettings, _nothing),
    ]
)
"""Every kind monotui's production configuration accepts."""
