"""Discovery sets `[prometheus] scrape_interval_s` from what the Prometheus it found holds: one
that scrapes Istio's counters every 30 s (kube-prometheus-stack's default) would give polls
tuned for 15 s a single scrape to count, and NO DATA on most of them."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import pytest

from tests.discovery_world import Cluster, cluster, monotui  # noqa: F401
from tests.prometheus_server import backfilled


def _scraped_every(every_s: int, minutes: int = 15) -> str:
    """Istio's requests counter of one destination, one sample each `every_s`, up to now."""
    end = int(time.time())
    lines = ["# TYPE istio_requests counter"]
    labels = (
        'reporter="destination",destination_service_namespace="default",'
        'destination_service_name="rollouts-demo",destination_version="v1",response_code="200"'
    )
    for k, t in enumerate(range(end - minutes * 60, end + 1, every_s)):
        lines.append(f"istio_requests_total{{{labels}}} {100 * k} {t}")
    return "\n".join(lines) + "\n# EOF\n"


@pytest.mark.parametrize(("every_s", "expected"), [(30, 30), (15, None)])
def test_discovery_counts_two_of_the_scrapes_it_finds(
    cluster: Cluster,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    every_s: int,
    expected: int | None,
) -> None:
    with backfilled(tmp_path / "prometheus", _scraped_every(every_s)) as prometheus:
        cluster.prometheus_behind_proxy(prometheus)
        found = monotui(capsys, "discover", "-A", "-o", "toml")
    assert found.code == 0, found.err
    settings = tomllib.loads(found.out)["prometheus"]
    assert settings.get("scrape_interval_s") == expected, found.out + found.err
    said = "scraped every 30s there: scrape_interval_s = 30"
    assert (said in found.out + found.err) == (expected is not None)
