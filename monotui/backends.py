"""Builds each rollout's sources from the configuration, importing a backend only when it is used.

The kubernetes client (~200 ms) and prometheus-api-client are imported here lazily, so the demo and
the first frame never pay for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from monotui.config import Config, RolloutConfig
from monotui.errors import ConfigError
from monotui.sources.base import FlagSource, MetricsSource, Router

if TYPE_CHECKING:
    from monotui.sources.kube import KubeConnection


@dataclass
class Backends:
    """The sources of one rollout."""

    router: Router
    metrics: MetricsSource | None
    flags: FlagSource | None
    context: str = ""
    kube_user: str = ""


class BackendFactory:
    """Makes sources for the rollouts of one config; shares one Kubernetes connection."""

    def __init__(
        self, config: Config, *, context: str | None = None, read_only: bool = False
    ) -> None:
        self.config = config
        self.context = context or config.kubernetes.context
        self.read_only = read_only  # routers built read-only cannot write at all
        self._kube: KubeConnection | None = None

    def kube(self) -> KubeConnection:
        if self._kube is None:
            from monotui.sources.kube import connect

            self._kube = connect(self.config.kubernetes, context=self.context)
        return self._kube

    def build(self, rollout: RolloutConfig) -> Backends:
        router = self.router(rollout)
        context = self._kube.context if self._kube is not None else ""
        user = self._kube.user if self._kube is not None else ""
        return Backends(router, self.metrics(rollout), self.flags(rollout), context, user)

    def router(self, rollout: RolloutConfig) -> Router:
        kind = rollout.router.kind
        if kind == "istio":
            from monotui.sources.router_istio import IstioRouter

            return IstioRouter(self.kube(), rollout, can_write=not self.read_only)
        if kind == "gateway-api":
            from monotui.sources.router_gateway import GatewayRouter

            return GatewayRouter(self.kube(), rollout, can_write=not self.read_only)
        if kind == "argo":
            from monotui.sources.router_argo import ArgoRouter

            return ArgoRouter(self.kube(), rollout, can_write=not self.read_only)
        if kind == "none":
            from monotui.sources.router_static import StaticRouter

            return StaticRouter()
        raise ConfigError(f"rollout {rollout.name}: router kind '{kind}' needs 'monotui demo'")

    def metrics(self, rollout: RolloutConfig) -> MetricsSource | None:
        kind = rollout.metrics.kind
        if kind == "prometheus":
            from monotui.sources.metrics_prometheus import PrometheusMetrics

            return PrometheusMetrics(self.config.prometheus, rollout)
        if kind == "none":
            return None
        raise ConfigError(f"rollout {rollout.name}: metrics kind '{kind}' needs 'monotui demo'")

    def flags(self, rollout: RolloutConfig) -> FlagSource | None:
        kind = rollout.flags.kind
        if kind == "flagd-file":
            from monotui.sources.flags_flagd import FlagdFileFlags

            return FlagdFileFlags(rollout)
        if kind == "featureflag":
            from monotui.sources.flags_featureflag import FeatureFlagFlags

            return FeatureFlagFlags(self.kube(), rollout)
        if kind == "ofrep":
            from monotui.sources.flags_ofrep import OfrepFlags

            return OfrepFlags(rollout)
        if kind == "none":
            return None
        raise ConfigError(f"rollout {rollout.name}: flags kind '{kind}' needs 'monotui demo'")
