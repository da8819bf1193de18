"""`blackbox` probes end to end: Debian's real blackbox_exporter probes a baseline and a canary
app on loopback, a real Prometheus scrapes it through `/probe?target=` relabeling, monotui reads
probe_success & co. per track and judges. A canary that fails where the baseline passes is
rolled back with the probe and track named; both failing is an incident: the automation holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monotui.audit import AuditLog
from monotui.config import PrometheusConfig
from monotui.model import ActionEvent, ProbeState, Snapshot, VerdictResult
from monotui.rollout import Rollout, assemble
from monotui.sim.apps import VersionApp
from monotui.sources.kube import KubeConnection
from monotui.sources.metrics_prometheus import PrometheusMetrics
from monotui.sources.prometheus_api import PrometheusApi
from monotui.sources.router_istio import IstioRouter
from monotui.sources.synthetics.blackbox import BlackboxProbe
from monotui.status import snapshot_to_dict
from tests.blackbox_server import BlackboxExporter, blackbox, scrape_probes  # noqa: F401
from tests.configs import rollout_config
from tests.fakekube import FakeKube
from tests.istio_exporter import MeshExporter, Version
from tests.prometheus_server import PrometheusServer, wait_until
from tests.router_helpers import ISTIO, NS, conn_fixture, dest

conn = conn_fixture()


def world(
    fake: FakeKube,
    conn: KubeConnection,
    prometheus: PrometheusServer,
    exporter: BlackboxExporter,
    apps: dict[str, VersionApp],
    mesh: MeshExporter,
) -> Rollout:
    targets = {v: f"{app.url}/checkout" for v, app in apps.items()}
    scrape_probes(prometheus, exporter, list(targets.values()), mesh=mesh.target)
    prometheus.start()
    wait_until(
        lambda: (
            len(prometheus.query("probe_success")) == 2
            and len(prometheus.query("istio_requests_total")) >= 4
        ),
        30,
        "both probes and the mesh's requests in Prometheus",
    )
    fake.put_object(
        {
            "apiVersion": f"{ISTIO}/v1",
            "kind": "VirtualService",
            "metadata": {"name": "reviews", "namespace": NS},
            "spec": {"http": [{"route": [dest("v1", 90), dest("v2", 10)]}]},
        }
    )
    cfg = rollout_config(
        {
            "name": "reviews",
            "namespace": NS,
            "policy": "auto",
            "interval_s": 1,
            "router": {"kind": "istio", "name": "reviews"},
            "metrics": {"kind": "prometheus", "window": "5s"},
            "synthetics": [
                {
                    "name": "checkout",
                    "kind": "blackbox",
                    "match": {
                        "baseline": f'job="blackbox", instance="{targets["v1"]}"',
                        "canary": f'job="blackbox", instance="{targets["v2"]}"',
                    },
                }
            ],
        }
    )
    prom = PrometheusConfig(url=prometheus.url, scrape_interval_s=1)  # scraped every second
    probe = BlackboxProbe(cfg.synthetics[0], PrometheusApi(prom), interval_s=1, owns_api=True)
    return assemble(
        cfg,
        router=IstioRouter(conn, cfg),
        metrics=PrometheusMetrics(prom, cfg),
        synthetics=[probe],
        audit=AuditLog(None),
    )


@pytest.fixture
def mesh() -> Iterator[MeshExporter]:
    """The rollout's real traffic: no 5xx on either version (the 5xx judge says PASS)."""
    exporter = MeshExporter(
        (
            Version("reviews", NS, "v1", "reviews-v1", 90.0, 0.0),
            Version("reviews", NS, "v2", "reviews-v2", 10.0, 0.0),
        )
    )
    yield exporter
    exporter.close()


@pytest.fixture
def apps() -> Iterator[dict[str, VersionApp]]:
    made: dict[str, VersionApp] = {}
    yield made
    for app in made.values():
        app.close()


def canary_weight(fake: FakeKube) -> int:
    vs = fake.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    weight: int = vs["spec"]["http"][0]["route"][1]["weight"]
    return weight


def poll_until(rollout: Rollout, done: Any, what: str, timeout_s: float = 60) -> Snapshot:
    seen: list[Snapshot] = []

    def polled() -> bool:
        seen.append(rollout.cycle())
        return bool(done(seen[-1]))

    wait_until(polled, timeout_s, what, interval_s=0.5)
    return seen[-1]


def test_a_canary_failing_where_the_baseline_passes_is_rolled_back_with_the_probe_named(
    fake_kube: FakeKube,
    conn: KubeConnection,
    prometheus: PrometheusServer,
    blackbox: BlackboxExporter,  # noqa: F811
    apps: dict[str, VersionApp],
    mesh: MeshExporter,
) -> None:
    apps["v1"] = VersionApp("v1")
    apps["v2"] = VersionApp("v2", failing=lambda headers: True)
    rollout = world(fake_kube, conn, prometheus, blackbox, apps, mesh)
    try:
        rollout.start(history=False)
        snap = poll_until(
            rollout, lambda s: s.verdict.result == VerdictResult.FAIL, "the verdict FAIL"
        )
        cells = {c.track: c for c in snap.synthetics.cells}
        assert cells["baseline"].state == ProbeState.PASS
        assert cells["canary"].state == ProbeState.FAIL
        assert cells["canary"].reason == "status 500"
        assert cells["canary"].latency_ms is not None and cells["canary"].latency_ms > 0
        assert snap.verdict.reason.startswith(
            "synthetic checkout fails on canary, not on baseline ("
        )
        assert snap.verdict.metrics[0].label.value != "HIGH"  # the 5xx are fine: only the probe
        # Counted, not one failure: several probes failed before it was judged.
        (judged,) = snap.synthetics.verdicts
        assert judged.evidence is not None and judged.evidence.canary_bad >= 3
        rollout.cycle()  # the automation acted on the FAIL
        assert canary_weight(fake_kube) == 0
        rolled = [e for e in rollout.events() if isinstance(e, ActionEvent)]
        assert rolled and "synthetic checkout fails on canary" in (
            rolled[-1].result.action.reason if rolled[-1].result else ""
        )
        shown = snapshot_to_dict(snap)["synthetics"]
        assert {
            k: v
            for k, v in next(x for x in shown if x["track"] == "canary").items()
            if k != "latency_ms"
        } == {"name": "checkout", "track": "canary", "state": "FAIL", "reason": "status 500"}
    finally:
        rollout.close()


def test_failing_on_both_tracks_is_an_incident_and_the_automation_holds(
    fake_kube: FakeKube,
    conn: KubeConnection,
    prometheus: PrometheusServer,
    blackbox: BlackboxExporter,  # noqa: F811
    apps: dict[str, VersionApp],
    mesh: MeshExporter,
) -> None:
    apps["v1"] = VersionApp("v1", failing=lambda headers: True)
    apps["v2"] = VersionApp("v2", failing=lambda headers: True)
    rollout = world(fake_kube, conn, prometheus, blackbox, apps, mesh)
    try:
        rollout.start(history=False)

        def many_failures(s: Snapshot) -> bool:
            judged = s.synthetics.verdicts
            ev = judged[0].evidence if judged else None
            return ev is not None and ev.canary_bad >= 12 and s.verdict.incident

        snap = poll_until(rollout, many_failures, "a dozen failed probes on both tracks")
        assert snap.verdict.result == VerdictResult.MARGINAL and snap.verdict.incident
        assert snap.verdict.reason == (
            "synthetic checkout failing on baseline and canary: not the canary"
        )
        assert {c.state for c in snap.synthetics.cells} == {ProbeState.FAIL}
        assert canary_weight(fake_kube) == 10  # held: neither rolled back nor advanced
        assert not [e for e in rollout.events() if isinstance(e, ActionEvent)]
    finally:
        rollout.close()


def test_matchers_that_select_nothing_are_an_error_that_says_so(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    prometheus.start()
    cfg = rollout_config(
        {
            "name": "r",
            "synthetics": [
                {
                    "name": "p",
                    "kind": "blackbox",
                    "match": {"baseline": 'job="x"', "canary": 'job="y"'},
                }
            ],
        }
    )
    api = PrometheusApi(PrometheusConfig(url=prometheus.url))
    probe = BlackboxProbe(cfg.synthetics[0], api, interval_s=5, owns_api=True)
    try:
        readings = probe.read(__import__("time").time(), frozenset())
    finally:
        probe.close()
    assert [r.error for r in readings] == [
        'no probe_success series for {job="x"}: is blackbox_exporter scraped with these labels?',
        'no probe_success series for {job="y"}: is blackbox_exporter scraped with these labels?',
    ]


def test_a_clusters_own_prometheus_is_where_its_blackbox_probes_are_read() -> None:
    # The cluster's Prometheus scrapes its blackbox_exporter; `[prometheus]` is somewhere else
    # (here: nothing listens), as the rollout's metrics already knew.
    from monotui.registry import BuildContext
    from monotui.sources.synthetics.build import build_synthetics
    from tests.configs import parse
    from tests.fakeprom import FakePrometheus
    from tests.prometheus_server import free_port

    with FakePrometheus() as theirs:
        for what, value in (("probes", 4.0), ("passes", 3.0), ("at", 1000.0)):
            theirs.answer("count_over_time", {"q": what}, value)
        cfg = parse(
            {
                "prometheus": {"url": f"http://127.0.0.1:{free_port()}"},
                "clusters": [{"name": "prod", "prometheus": {"url": theirs.url}}],
                "rollouts": [
                    {
                        "name": "checkout",
                        "cluster": "prod",
                        "router": {"kind": "none"},
                        "metrics": {"kind": "none"},
                        "synthetics": [
                            {
                                "name": "submit",
                                "kind": "blackbox",
                                "match": {"baseline": 'job="b"', "canary": 'job="c"'},
                            }
                        ],
                    }
                ],
            }
        )
        ctx = BuildContext(cfg)
        try:
            (probe,) = build_synthetics(cfg.rollouts[0], ctx)
            baseline, _ = probe.read(1010.0, frozenset())
        finally:
            probe.close()
            ctx.close()
    assert baseline.error is None, baseline.error
    assert (baseline.passes, baseline.failures) == (3, 1)
