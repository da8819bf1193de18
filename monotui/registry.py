"""The production source kinds, registered once: each kind's settings model and its builder.

Adding a kind is its module (settings model + source class) and one `SourceKind(...)` line in
`PRODUCTION` below. The heavy clients (kubernetes ~200 ms, prometheus-api-client) are imported by
the sources when they first talk to their backend, never here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from monotui.config import Config, RolloutConfig
from monotui.kinds import FlagsSettings, MetricsSettings, Registry, SourceKind
from monotui.sources.flags_featureflag import FeatureFlagFlags, FeatureFlagSettings
from monotui.sources.flags_flagd import FlagdFileFlags, FlagdFileSettings
from monotui.sources.flags_ofrep import OfrepFlags, OfrepSettings
from monotui.sources.metrics_prometheus import PrometheusMetrics, PrometheusMetricsSettings
from monotui.sources.router_argo import ArgoRouter, ArgoSettings
from monotui.sources.router_gateway import GatewayRouter, GatewaySettings
from monotui.sources.router_istio import IstioRouter, IstioSettings
from monotui.sources.router_static import NoRouterSettings, StaticRouter

if TYPE_CHECKING:
    from monotui.config import PrometheusConfig
    from monotui.sources.kube import KubeConnection
    from monotui.sources.kube_informers import InformerPool
    from monotui.sources.prometheus_shared import SharedPrometheus

Clock = Callable[[], float]


@dataclass
class BuildContext:
    """What builders share while the rollouts of one configuration are built: the config's
    top-level sections, one Kubernetes connection per cluster (made on first use), one client
    per Prometheus, the informers (with `shared_reads`), and the session's mode."""

    config: Config
    context: str | None = None
    """`--context`, which wins over `[kubernetes] context` (one context: several are clusters,
    see monotui.clusters)."""
    read_only: bool = False
    """Routers built read-only cannot write at all (not just hidden)."""
    clock: Clock | None = None
    """Fixes the metrics' evaluation time (tests on backfilled history); None: the server's now."""
    shared_reads: bool = False
    """Routers read their objects from one list+watch per kind and namespace (informers), not
    a GET per poll and a watch per object: what `watch` and `status` do for a fleet."""
    _kube: KubeConnection | None = field(default=None, repr=False)
    _clusters: dict[str, KubeConnection] = field(default_factory=dict, repr=False)
    _informers: dict[str, InformerPool] = field(default_factory=dict, repr=False)
    _prometheus: dict[str, SharedPrometheus] = field(default_factory=dict, repr=False)

    def kube(self, cluster: str | None = None) -> KubeConnection:
        """The connection to `cluster` (None: the one kubeconfig context), made like kubectl
        makes it, on first use."""
        from monotui.sources.kube import connect

        if cluster is None:
            if self._kube is None:
                self._kube = connect(self.config.kubernetes, context=self.context or None)
            return self._kube
        conn = self._clusters.get(cluster)
        if conn is None:
            cfg = self.config.cluster(cluster)
            context = cfg.context if cfg is not None and cfg.context else cluster
            conn = self._clusters[cluster] = connect(self.config.kubernetes, context=context)
        return conn

    def informers(self, cluster: str | None = None) -> InformerPool | None:
        """The informers of `cluster` with `shared_reads`, else None (a GET per read)."""
        if not self.shared_reads:
            return None
        from monotui.sources.kube_informers import InformerPool

        key = cluster or ""
        pool = self._informers.get(key)
        if pool is None:
            pool = self._informers[key] = InformerPool(self.kube(cluster))
        return pool

    def display_context(self, rollout: RolloutConfig) -> str:
        """What a rollout's snapshot names as its context: its cluster, or the context used."""
        return rollout.cluster or self.kube_context or self.context or ""

    @property
    def kube_context(self) -> str:
        """The context actually used ("" while no Kubernetes source was built)."""
        return self._kube.context if self._kube is not None else ""

    @property
    def kube_user(self) -> str:
        return self._kube.user if self._kube is not None else ""

    def prometheus(self, prom: PrometheusConfig | None = None) -> SharedPrometheus:
        """The session's one client of `prom` (default `[prometheus]`): every rollout on it
        shares its connections, its query slots and its batcher."""
        from monotui.sources.prometheus_shared import SharedPrometheus

        prom = prom or self.config.prometheus
        key = prom.model_dump_json()
        shared = self._prometheus.get(key)
        if shared is None:
            shared = self._prometheus[key] = SharedPrometheus(prom)
        return shared

    def prometheus_config(self, rollout: RolloutConfig) -> PrometheusConfig:
        """The Prometheus of the rollout's cluster (default `[prometheus]`)."""
        cluster = self.config.cluster(rollout.cluster)
        if cluster is not None and cluster.prometheus is not None:
            return cluster.prometheus
        return self.config.prometheus

    def close(self) -> None:
        """Release the informers and the shared connections' pools."""
        for pool in self._informers.values():
            pool.close()
        self._informers.clear()
        if self._kube is not None:
            self._kube.close()
            self._kube = None
        for conn in self._clusters.values():
            conn.close()
        self._clusters.clear()
        for shared in self._prometheus.values():
            shared.close()
        self._prometheus.clear()


def _context(ctx: object) -> BuildContext:
    if not isinstance(ctx, BuildContext):
        raise TypeError(f"expected a BuildContext, got {type(ctx).__name__}")
    return ctx


def _istio(settings: IstioSettings, rollout: RolloutConfig, ctx: object) -> IstioRouter:
    c = _context(ctx)
    return IstioRouter(
        c.kube(rollout.cluster),
        rollout,
        can_write=not c.read_only,
        informers=c.informers(rollout.cluster),
    )


def _gateway(settings: GatewaySettings, rollout: RolloutConfig, ctx: object) -> GatewayRouter:
    c = _context(ctx)
    return GatewayRouter(
        c.kube(rollout.cluster),
        rollout,
        can_write=not c.read_only,
        informers=c.informers(rollout.cluster),
    )


def _argo(settings: ArgoSettings, rollout: RolloutConfig, ctx: object) -> ArgoRouter:
    c = _context(ctx)
    return ArgoRouter(
        c.kube(rollout.cluster),
        rollout,
        can_write=not c.read_only,
        informers=c.informers(rollout.cluster),
    )


def _static(settings: NoRouterSettings, rollout: RolloutConfig, ctx: object) -> StaticRouter:
    return StaticRouter()


def _prometheus(
    settings: PrometheusMetricsSettings, rollout: RolloutConfig, ctx: object
) -> PrometheusMetrics:
    c = _context(ctx)
    prom = c.prometheus_config(rollout)
    return PrometheusMetrics(prom, rollout, clock=c.clock, shared=c.prometheus(prom))


def _flagd(settings: FlagdFileSettings, rollout: RolloutConfig, ctx: object) -> FlagdFileFlags:
    return FlagdFileFlags(rollout)


def _featureflag(
    settings: FeatureFlagSettings, rollout: RolloutConfig, ctx: object
) -> FeatureFlagFlags:
    return FeatureFlagFlags(_context(ctx).kube(rollout.cluster), rollout)


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
