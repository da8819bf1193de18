"""Building one rollout's probes from `[[rollouts.synthetics]]`: blackbox probes read the
rollout's Prometheus (its cluster's, else `[prometheus]`; its URL or the API server's service
proxy, like the metrics), http
probes run from here. A BuildContext may bring its own builder (the demo's world)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monotui.sources.synthetics.base import SyntheticSource
from monotui.sources.synthetics.settings import BlackboxSettings, HttpProbeSettings

if TYPE_CHECKING:
    from monotui.config import RolloutConfig
    from monotui.registry import BuildContext


def build_synthetics(rollout: RolloutConfig, ctx: BuildContext) -> list[SyntheticSource]:
    """The rollout's probes, in configuration order."""
    if ctx.synthetics is not None:
        return [ctx.synthetics(settings, rollout) for settings in rollout.synthetics]
    sources: list[SyntheticSource] = []
    for settings in rollout.synthetics:
        if isinstance(settings, BlackboxSettings):
            from monotui.sources.prometheus_api import PrometheusApi
            from monotui.sources.synthetics.blackbox import BlackboxProbe

            # The rollout's cluster's Prometheus, as its metrics read it, not `[prometheus]`.
            prom = ctx.prometheus_config(rollout)
            api = PrometheusApi(
                ctx.prometheus(prom, rollout.cluster),
                connection=ctx.prometheus_connection(prom, rollout.cluster),
            )
            sources.append(
                BlackboxProbe(settings, api, interval_s=rollout.interval_s, owns_api=True)
            )
        elif isinstance(settings, HttpProbeSettings):
            from monotui.sources.synthetics.http_probe import HttpProbe

            sources.append(HttpProbe(settings, interval_s=rollout.interval_s))
    return sources
