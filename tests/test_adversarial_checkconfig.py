"""Adversarial: `check-config` for a user who may not do what the tool needs, and URLs that
cannot work. Every missing verb is a line of its own and the exit code is 4 (as `kubectl auth
can-i` would say); read-only needs no writing verbs; a scheme mistake says what to write."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.argo_helpers import rollout_obj
from tests.fakekube import FakeKube
from tests.router_helpers import virtual_service

ROOT = Path(__file__).resolve().parent.parent

ISTIO = """
[audit]
path = "{audit}"

[[rollouts]]
name = "reviews"
namespace = "bookinfo"
[rollouts.router]
kind = "{kind}"
name = "reviews"
{names}
[rollouts.metrics]
kind = "none"
{flags}
"""


def check(kubeconfig: Path, tmp_path: Path, *extra: str, **fmt: str) -> Any:
    values = {"kind": "istio", "names": 'stable = "v1"\ncanary = "v2"', "flags": "", **fmt}
    cfg = tmp_path / "monotui.toml"
    cfg.write_text(ISTIO.format(audit=tmp_path / "audit.jsonl", **values))
    return subprocess.run(
        [sys.executable, "-m", "monotui", "check-config", "-c", str(cfg), *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        timeout=60,
    )


def rbac_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if ": rbac: " in line]


def test_every_missing_verb_is_its_own_line_and_exit_4(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    fake_kube.deny("patch", "virtualservices")
    fake_kube.deny("watch", "virtualservices")
    fake_kube.deny("create", "events")
    out = check(fake_kubeconfig, tmp_path)
    assert out.returncode == 4, out.stdout + out.stderr
    assert "reviews: router istio: ok" in out.stdout  # reading works: that is not enough
    lines = rbac_lines(out.stdout)
    assert len(lines) == 3
    assert any("cannot patch virtualservices.networking.istio.io" in x for x in lines)
    assert any("cannot watch virtualservices.networking.istio.io" in x for x in lines)
    assert any("cannot create events" in x for x in lines)
    assert all("alice" in x and "namespace bookinfo" in x for x in lines)


def test_a_user_who_may_do_everything_is_told_so(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    out = check(fake_kubeconfig, tmp_path)
    assert out.returncode == 0, out.stdout
    (line,) = rbac_lines(out.stdout)
    assert "rbac: ok" in line and "patch virtualservices" in line


def test_read_only_needs_no_writing_verb(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    fake_kube.deny("patch", "virtualservices")
    fake_kube.deny("create", "events")
    out = check(fake_kubeconfig, tmp_path, "--read-only")
    assert out.returncode == 0, out.stdout
    (line,) = rbac_lines(out.stdout)
    assert "rbac: ok" in line and "patch" not in line


def test_argo_needs_the_status_subresource(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(rollout_obj())
    fake_kube.deny("patch", "rollouts/status")
    out = check(fake_kubeconfig, tmp_path, kind="argo", names="")
    assert out.returncode == 4, out.stdout + out.stderr
    (line,) = rbac_lines(out.stdout)
    assert "cannot patch rollouts.argoproj.io/status" in line


def test_argo_needs_to_read_its_traffic_route(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(rollout_obj())
    fake_kube.put_object(virtual_service(10))
    fake_kube.deny("get", "virtualservices")
    traffic = '[rollouts.router.traffic]\nkind = "istio"\nname = "reviews"\n'
    out = check(fake_kubeconfig, tmp_path, kind="argo", names=traffic)
    assert out.returncode == 4, out.stdout + out.stderr
    (line,) = rbac_lines(out.stdout)
    assert "cannot get virtualservices.networking.istio.io in namespace bookinfo" in line
    assert "the route the Rollout's traffic router steers" in line
    fake_kube.allow_all()
    out = check(fake_kubeconfig, tmp_path, kind="argo", names=traffic)
    (line,) = rbac_lines(out.stdout)
    assert "rbac: ok" in line and "get virtualservices.networking.istio.io" in line


def empty_feature_flag(name: str, namespace: str) -> dict[str, Any]:
    """An OpenFeature FeatureFlag with no flags: enough for check-config's access review."""
    return {
        "apiVersion": "core.openfeature.dev/v1beta1",
        "kind": "FeatureFlag",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"flagSpec": {"flags": {}}},
    }


def test_a_featureflag_the_user_cannot_patch(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    fake_kube.put_object(empty_feature_flag("flags", "bookinfo"))
    fake_kube.deny("patch", "featureflags")
    flags = '[rollouts.flags]\nkind = "featureflag"\nname = "flags"\n'
    out = check(fake_kubeconfig, tmp_path, flags=flags)
    assert out.returncode == 4, out.stdout + out.stderr
    (line,) = rbac_lines(out.stdout)
    assert "cannot patch featureflags.core.openfeature.dev" in line


def test_a_featureflag_of_another_namespace_is_checked_there(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    fake_kube.put_object(empty_feature_flag("shared", "flags"))
    fake_kube.deny("get", "featureflags", "flags")  # allowed in bookinfo, not where it lives
    flags = '[rollouts.flags]\nkind = "featureflag"\nname = "shared"\nnamespace = "flags"\n'
    out = check(fake_kubeconfig, tmp_path, flags=flags)
    assert out.returncode == 4, out.stdout + out.stderr
    (line,) = rbac_lines(out.stdout)
    assert "cannot get featureflags.core.openfeature.dev in namespace flags" in line


def test_https_to_a_plain_http_server_says_so(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    # A plain HTTP server answers a TLS hello with an HTTP 400 page: not TLS.
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}"
        flags = f'[rollouts.flags]\nkind = "ofrep"\nurl = "{url}"\n'
        out = check(fake_kubeconfig, tmp_path, flags=flags)
    finally:
        server.shutdown()
        server.server_close()
    assert out.returncode == 2, out.stdout + out.stderr
    (line,) = [x for x in out.stdout.splitlines() if "flags ofrep" in x]
    assert "does not speak TLS: use http://" in line and "1006" not in line


def test_a_url_without_a_scheme_says_what_to_add(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    flags = '[rollouts.flags]\nkind = "ofrep"\nurl = "flags.internal:8016"\n'
    out = check(fake_kubeconfig, tmp_path, flags=flags)
    assert out.returncode == 2
    assert "add http:// or https://" in out.stderr and out.stderr.count("\n") == 1
