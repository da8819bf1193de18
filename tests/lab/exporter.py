"""The simulated world as a Prometheus exporter, with Istio's metric names and labels.

Each scrape advances the world to its clock (real time when `world.follow` is set) and publishes the
cumulative counters of every version of every rollout:

    istio_requests_total{reporter="destination", destination_service_name, destination_service_namespace,
                         destination_version, response_code}
    istio_request_duration_milliseconds_bucket/_sum/_count{same labels without response_code, le}

So `monotui watch` against a Prometheus that scrapes this exporter runs the production code path.
Needs prometheus_client (a test/dev extra), imported here only: the demo never loads this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from threading import Thread
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from monotui.sim.world import World

LABELS = (
    "reporter",
    "destination_service_name",
    "destination_service_namespace",
    "destination_version",
)


class WorldCollector(Collector):
    """Publishes the world's counters at every scrape (nothing is cached between scrapes)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def collect(self) -> Iterator[Metric]:
        self.world.now()  # catch the world up with its clock before reading the counters
        requests = CounterMetricFamily(
            "istio_requests",
            "Requests served, by destination version and response code (simulated).",
            labels=(*LABELS, "response_code"),
        )
        durations = HistogramMetricFamily(
            "istio_request_duration_milliseconds",
            "Request duration in milliseconds, by destination version (simulated).",
            labels=LABELS,
            unit="milliseconds",
        )
        for info in self.world.rollouts:
            for version, counters in self.world.counters(info.name).items():
                labels = ["destination", info.service, info.namespace, version]
                for code, count in sorted(counters.requests.items()):
                    requests.add_metric([*labels, str(code)], count)
                buckets = [(_le(le), float(n)) for le, n in counters.buckets]
                buckets.append(("+Inf", float(counters.count)))
                durations.add_metric(labels, buckets, counters.sum_ms)
        yield requests
        yield durations

    def describe(self) -> Iterator[Metric]:
        return iter(())  # nothing to check at registration; the families come from the world


class SimExporter:
    """An HTTP `/metrics` endpoint for `world` on `host:port` (port 0: a free one)."""

    def __init__(self, world: World, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(WorldCollector(world))
        self._server: WSGIServer
        self._thread: Thread
        self._server, self._thread = start_http_server(port, host, self.registry)
        self.host = host
        self.port: int = self._server.server_address[1]

    @property
    def target(self) -> str:
        """host:port, as a Prometheus scrape config names it."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.target}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _le(bound: float) -> str:
    """A bucket bound as Prometheus prints it ("25.0"), so le values match real Istio's."""
    return str(float(bound))
