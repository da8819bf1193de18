"""`monotui discover` prints a config to start from that `check-config` accepts and that gives
the same status as discovery itself; a config file overrides what discovery finds."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from monotui.cli import main
from tests.discovery_world import Cluster, cluster, mesh, monotui  # noqa: F401
from tests.prometheus_server import PrometheusServer

SAME = ("namespace", "backend", "phase", "weights", "steps", "flags", "step", "policy")


def comparable(rollout: dict[str, Any]) -> dict[str, Any]:
    """What a user compares between two status outputs (not ages, not provenance)."""
    out = {key: rollout[key] for key in SAME}
    out["error_rate"] = {k: round(v, 6) for k, v in rollout["error_rate"].items()}
    out["sources"] = {name: s["state"] for name, s in rollout["sources"].items()}
    return out


def test_discover_prints_a_config_that_checks_and_gives_the_same_status(
    cluster: Cluster,  # noqa: F811
    mesh: PrometheusServer,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster.prometheus_behind_proxy(mesh)
    found = monotui(capsys, "discover", "-A", "-o", "toml")
    assert found.code == 0, found.err
    data = tomllib.loads(found.out)
    assert data["prometheus"] == {"kubernetes_service": "istio-system/prometheus:9090"}
    assert [r["name"] for r in data["rollouts"]] == [
        "reviews",
        "rollouts-demo",
        "podinfo",
        "foo-route",
    ]
    # Each inferred value says where it came from, right above it.
    lines = found.out.splitlines()
    baseline = lines.index('baseline = "rollouts-demo-stable"')
    assert lines[baseline - 1] == "# the stable Service of rollout default/rollouts-demo"
    file = cluster.home / "found.toml"
    file.write_text(found.out, encoding="utf-8")
    checked = monotui(capsys, "check-config", "-c", str(file))
    assert checked.code == 0, checked.out + checked.err
    assert "config: ok, 4 rollout(s)" in checked.out
    assert "FAILED" not in checked.out
    assert "podinfo: router flagger: ok" in checked.out
    from_file = monotui(capsys, "status", "--json", "-c", str(file)).rollouts()
    discovered = monotui(capsys, "status", "--json", "-A").rollouts()
    assert list(from_file) == list(discovered)
    for name in discovered:
        assert comparable(from_file[name]) == comparable(discovered[name]), name
        assert from_file[name]["source"] == {}  # from the file: nothing inferred
        assert discovered[name]["source"]


def test_discover_into_a_full_disk_says_so_and_exits_1(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `monotui discover > monotui.toml` with no room left: a half-written file must not look
    # like a finished one to a script.
    with open("/dev/full", "w", encoding="utf-8") as full:
        monkeypatch.setattr(sys, "stdout", full)
        code = main(["discover", "-A", "-o", "toml"])
    assert code == 1
    err = capsys.readouterr().err
    assert "monotui: cannot write the output: No space left on device" in err


def test_discover_as_json_carries_the_provenance(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran = monotui(capsys, "discover", "-A", "-o", "json")
    assert ran.code == 0, ran.err
    data = json.loads(ran.out)
    assert [r["name"] for r in data["rollouts"]] == [
        "reviews",
        "rollouts-demo",
        "podinfo",
        "foo-route",
    ]
    assert data["rollouts"][0]["metrics"] == {"kind": "none"}  # no Prometheus behind the proxy
    discovery = data["discovery"]
    assert discovery["scope"] == "all namespaces" and discovery["context"] == "fake"
    assert "version" in discovery["source"]["reviews"]["metrics.baseline"]
    assert discovery["prometheus"]["service"] is None
    passed = "\n".join(discovery["passed"])
    assert "virtualservice bookinfo/ratings: no http route sends to exactly two" in passed
    assert "virtualservice test/podinfo: steered by canary podinfo" in passed


def test_a_config_file_overrides_what_discovery_found(
    cluster: Cluster,  # noqa: F811
    mesh: PrometheusServer,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster.prometheus_behind_proxy(mesh)
    file = cluster.home / "monotui.toml"  # the default path: found without -c
    file.write_text(
        """
[[rollouts]]
name = "reviews"
namespace = "bookinfo"
steps = [10, 20, 100]
[rollouts.metrics]
baseline = "v1"
canary = "v3"            # a wrong guess fixed by hand (the mesh has no v3: no canary data)
[rollouts.flags]
kind = "none"
""",
        encoding="utf-8",
    )
    ran = monotui(capsys, "status", "--json", "--discover", "-A")
    assert ran.code == 0, ran.err
    rollouts = ran.rollouts()
    assert list(rollouts) == ["reviews", "rollouts-demo", "podinfo", "foo-route"]
    reviews = rollouts["reviews"]
    assert reviews["steps"] == [10, 20, 100]
    assert reviews["weights"] == {"stable": 80, "canary": 20}  # the router is still discovered
    assert reviews["error_rate"]["canary"] is None and reviews["flags"] == []
    source = reviews["source"]
    assert source["metrics.canary"] == "set in monotui.toml"
    assert "destinationrule" in source["metrics.version_label"]  # still inferred
    assert "flags.name" not in source
    # Without --discover, the file alone: its one rollout (the router is the default kind's).
    alone = monotui(capsys, "status", "--json")
    assert list(alone.rollouts()) == ["reviews"]


def test_without_config_or_cluster_it_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    ran = monotui(capsys, "status")
    assert ran.code == 2
    assert "no config file" in ran.err and "no cluster to discover" in ran.err
    assert "monotui demo" in ran.err and "Traceback" not in ran.err
