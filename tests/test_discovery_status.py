"""`monotui status --json -A` with no config file at all: the rollouts the cluster describes (the
upstream examples in the fake API server), each once, with the router's weights, the owner's
phase, and metrics from a real Prometheus found behind the API server's service proxy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.discovery_world import Cluster, cluster, mesh, monotui  # noqa: F401
from tests.prometheus_server import PrometheusServer

# name -> (namespace, backend, weights, phase, steps)
EXPECTED: dict[str, tuple[str, str, dict[str, int], str, list[int]]] = {
    "reviews": ("bookinfo", "istio", {"stable": 80, "canary": 20}, "Progressing", [1, 5, 10, 25, 50, 100]),
    "rollouts-demo": ("default", "argo", {"stable": 95, "canary": 5}, "Paused", [5, 20, 50, 100]),
    "podinfo": ("test", "flagger", {"stable": 80, "canary": 20}, "Progressing", [10, 20, 30, 40, 50, 100]),
    "foo-route": ("web", "gateway-api", {"stable": 90, "canary": 10}, "Progressing", [1, 5, 10, 25, 50, 100]),
}  # fmt: skip
# name -> (baseline error rate, canary error rate, canary share of requests)
METRICS = {
    "reviews": (0.0, 0.1, 0.2),
    "rollouts-demo": (0.02, 0.0, 0.05),
    "podinfo": (0.0, 0.05, 0.2),
    "foo-route": (0.0, 0.2, 0.1),
}


def test_every_rollout_once_with_its_weights_phase_and_metrics(
    cluster: Cluster,  # noqa: F811
    mesh: PrometheusServer,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster.prometheus_behind_proxy(mesh)
    ran = monotui(capsys, "status", "--json", "-A")
    assert ran.code == 0, ran.err
    rollouts = ran.rollouts()
    assert list(rollouts) == ["reviews", "rollouts-demo", "podinfo", "foo-route"]
    for name, (namespace, backend, weights, phase, steps) in EXPECTED.items():
        got = rollouts[name]
        assert (got["namespace"], got["backend"]) == (namespace, backend), name
        assert got["weights"] == weights, name
        assert got["phase"] == phase, name
        assert got["steps"] == steps, name
        assert got["sources"]["metrics"]["state"] == "ok", (name, got["sources"])
        baseline, canary, share = METRICS[name]
        assert got["error_rate"]["baseline"] == pytest.approx(baseline, abs=1e-6), name
        assert got["error_rate"]["canary"] == pytest.approx(canary, abs=1e-6), name
        assert got["observed_split"]["canary"] == pytest.approx(100 * share, abs=0.1), name
    assert "prometheus: Prometheus" in ran.err
    assert "answered at istio-system/prometheus:9090 through the API server's proxy" in ran.err


def test_the_flagger_row_shows_the_canary_beside_its_virtual_service(
    cluster: Cluster,  # noqa: F811
    mesh: PrometheusServer,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster.prometheus_behind_proxy(mesh)
    podinfo = monotui(capsys, "status", "--json", "-A").rollouts()["podinfo"]
    message = podinfo["sources"]["router"]["message"]
    assert "Flagger: Progressing, canary weight 20, failed checks 1/5" in message
    assert "virtualservice podinfo: 80/20" in message


def test_how_each_value_was_inferred_is_shown(
    cluster: Cluster,  # noqa: F811
    mesh: PrometheusServer,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster.prometheus_behind_proxy(mesh)
    rollouts = monotui(capsys, "status", "--json", "-A").rollouts()
    reviews: dict[str, Any] = rollouts["reviews"]["source"]
    assert "destinationrule bookinfo/reviews" in reviews["metrics.version_label"]
    assert "'version' label" in reviews["metrics.baseline"]
    assert "featureflag bookinfo/reviews-featureflags" in reviews["flags.name"]
    assert [f["key"] for f in rollouts["reviews"]["flags"]] == [
        "star-ratings",
        "reviews-sort-order",
    ]
    demo: dict[str, Any] = rollouts["rollouts-demo"]["source"]
    assert (
        "stableService/canaryService of rollout default/rollouts-demo"
        in demo["router.traffic.stable"]
    )
    assert "destination_service_name" in demo["metrics.version_label"]
    podinfo: dict[str, Any] = rollouts["podinfo"]["source"]
    assert "destination_workload" in podinfo["metrics.version_label"]
    assert "Deployment podinfo-primary" in podinfo["metrics.baseline"]
    foo: dict[str, Any] = rollouts["foo-route"]["source"]
    assert "'foo-v1' is the older version" in foo["router.stable"]


def test_the_scope_is_the_contexts_namespace_or_the_one_named(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    here = monotui(capsys, "status", "--json")  # the kubeconfig context's namespace: default
    assert here.code == 0, here.err
    assert list(here.rollouts()) == ["rollouts-demo"]
    there = monotui(capsys, "status", "--json", "-n", "bookinfo")
    assert list(there.rollouts()) == ["reviews"]
    # A Role in one namespace is enough: the rollouts are listed there, never cluster-wide.
    assert cluster.fake.count_requests("list", path="^/apis/[^/]+/[^/]+/namespaces/") > 0
    assert cluster.fake.count_requests("list", path="^/apis/[^/]+/[^/]+/[a-z]+$") == 0


def test_a_forbidden_kind_is_one_line_and_the_rest_is_shown(
    cluster: Cluster,  # noqa: F811
    mesh: PrometheusServer,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster.prometheus_behind_proxy(mesh)
    cluster.fake.deny("list", "canaries")
    ran = monotui(capsys, "status", "--json", "-A")
    assert ran.code == 0, ran.err
    assert list(ran.rollouts()) == ["reviews", "rollouts-demo", "foo-route"]
    lines = [line for line in ran.err.splitlines() if "canaries" in line]
    assert len(lines) == 1, ran.err
    assert lines[0].startswith("monotui: skipped canaries.flagger.app: forbidden to list them")
    assert "needs 'list' on canaries.flagger.app" in lines[0]


def test_without_a_prometheus_it_says_so_and_shows_weights_and_flags(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran = monotui(capsys, "status", "--json", "-A")
    assert ran.code == 0, ran.err
    (line,) = [line for line in ran.err.splitlines() if "prometheus" in line]
    assert "prometheus: none found" in line and "metrics are off" in line
    assert "--prometheus URL" in line
    rollouts = ran.rollouts()
    assert rollouts["reviews"]["weights"] == {"stable": 80, "canary": 20}
    assert rollouts["reviews"]["flags"] and rollouts["reviews"]["verdict"]["result"] == "NODATA"
    assert "metrics" not in rollouts["reviews"]["sources"]


def test_a_prometheus_url_wins_over_the_proxy(
    cluster: Cluster,  # noqa: F811
    mesh: PrometheusServer,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster.prometheus_behind_proxy(mesh)
    ran = monotui(capsys, "status", "--json", "-A", "--prometheus", mesh.url)
    assert ran.code == 0, ran.err
    rollouts = ran.rollouts()
    # The canary's series (10 % 503), not another version's (0, 2, 5 or 20 %). Within 0.1 %:
    # once, under a full suite's load, a step's pooled history read 0.09995.
    assert rollouts["reviews"]["error_rate"]["canary"] == pytest.approx(0.1, rel=1e-3)
    assert cluster.fake.count_requests(path="/proxy") == 0
    assert "prometheus" not in ran.err
