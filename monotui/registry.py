"""The production source kinds, registered once: each kind's settings model and its builder.

Adding a kind is its module (settings model + source class) and one `SourceKind(...)` line in
`PRODUCTION` below. The heavy clients (kubernetes ~200 ms, httpx) are imported by
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
    from monotui.sources.kube_informers import InformerPool
    from monotui.sources.prometheus_proxy import PrometheusConnection
    from monotui.sources.prometheus_shared import SharedPrometheus
    from monotui.sources.synthetics.base import SyntheticSource

Clock = Callable[[], float]
SyntheticsBuilder = Callable[[Any, RolloutConfig], "SyntheticSource"]
"""(one `[[rollouts.synthetics]]` table's settings, the rollout) -> its probe."""


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
    follow_reads: bool = True
    """The informers watch after their lists (False: they list once, for `status`)."""
    synthetics: SyntheticsBuilder | None = None
    """Builds the probes instead of the production kinds (the demo's simulated world)."""
    _kube: KubeConnection | None = field(default=None, repr=False)
    _clusters: dict[str, KubeConnection] = field(default_factory=dict, repr=False)
    _informers: dict[str, InformerPool] = field(default_factory=dict, repr=False)
    _prometheus: dict[str, SharedPrometheus] = field(default_factory=dict, repr=False)
    _proxies: dict[str, PrometheusConnection] = field(default_factory=dict, repr=False)
    _keys: dict[int, tuple[PrometheusConfig, str]] = field(default_factory=dict, repr=False)

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
            pool = self._informers[key] = InformerPool(self.kube(cluster), follow=self.follow_reads)
        return pool

    def start_reads(self) -> None:
        """Start the informers' lists of every object registered so far (with `shared_reads`)."""
        for pool in list(self._informers.values()):
            pool.start()

    def display_context(self, rollout: RolloutConfig) -> str:
        """What a rollout's snapshot names as its context: its cluster, or the context used."""
        return rollout.cluster or self.kube_context or self.context or ""

    def prometheus_connection(
        self, prom: PrometheusConfig | None = None, cluster: str | None = None
    ) -> PrometheusConnection | None:
        """How to reach `prom` (default `[prometheus]`) through the service proxy of `cluster`'s
        API server (None: the one kubeconfig context) when its `kubernetes_service` is set and
        its `url` is not (made once per cluster); None: use `url` directly."""
        prom = prom or self.config.prometheus
        if not prom.kubernetes_service or "url" in prom.model_fields_set:
            return None
        key = f"{cluster or ''}\n{prom.kubernetes_service}"
        connection = self._proxies.get(key)
        if connection is None:
            from monotui.sources.prometheus_proxy import through_kubernetes

            connection = self._proxies[key] = through_kubernetes(prom, self.kube(cluster))
        return connection

    def prometheus(
        self, prom: PrometheusConfig | None = None, cluster: str | None = None
    ) -> PrometheusConfig:
        """The settings the Prometheus source gets for `prom` (default `[prometheus]`): pointed
        at the service proxy (credentials as of now) when `prometheus_connection()` says so."""
        prom = prom or self.config.prometheus
        connection = self.prometheus_connection(prom, cluster)
        return connection.as_config(prom) if connection is not None else prom

    @property
    def kube_context(self) -> str:
        """The context actually used ("" while no Kubernetes source was built)."""
        return self._kube.context if self._kube is not None else ""

    @property
    def kube_user(self) -> str:
        return self._kube.user if self._kube is not None else ""

    def shared_prometheus(
        self, prom: PrometheusConfig | None = None, cluster: str | None = None
    ) -> SharedPrometheus:
        """The session's one client of `prom` (default `[prometheus]`) as `cluster` reaches it:
        every rollout on it shares its connections, its query slots and its batcher."""
        from monotui.sources.prometheus_shared import SharedPrometheus

        prom = prom or self.config.prometheus
        connection = self.prometheus_connection(prom, cluster)
        # Through a service proxy the same settings are a different server in each cluster.
        key = self._settings_key(prom) + (f"\n{cluster or ''}" if connection is not None else "")
        shared = self._prometheus.get(key)
        if shared is None:
            shared = self._prometheus[key] = SharedPrometheus(prom, connection)
        return shared

    def _settings_key(self, prom: PrometheusConfig) -> str:
        """`prom`'s settings as a key, worked out once per settings object (a fleet's rollouts
        share one, and dumping it for each of them cost more than building their sources)."""
        known = self._keys.get(id(prom))
        if known is None or known[0] is not prom:
            known = self._keys[id(prom)] = (prom, prom.model_dump_json())
        return known[1]

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


def _flagger(settings: FlaggerSettings, rollout: RolloutConfig, ctx: object) -> FlaggerRouter:
    c = _context(ctx)
    return FlaggerRouter(c.kube(rollout.cluster), rollout, can_write=not c.read_only)


def _static(settings: NoRouterSettings, rollout: RolloutConfig, ctx: object) -> StaticRouter:
    return StaticRouter()


def _prometheus(
    settings: PrometheusMetricsSettings, rollout: RolloutConfig, ctx: object
) -> PrometheusMetrics:
    c = _context(ctx)
    prom = c.prometheus_config(rollout)
    return PrometheusMetrics(
        c.prometheus(prom, rollout.cluster),
        rollout,
        clock=c.clock,
        shared=c.shared_prometheus(prom, rollout.cluster),
    )


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
