"""`monotui status/advance/...` end to end: a subprocess, KUBECONFIG at the fake API server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from monotui.audit import read_audit
from tests.fakekube import FakeKube
from tests.router_helpers import GATEWAY, ISTIO, NS, http_route, virtual_service, wait_for

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """
[audit]
path = "{audit}"

[[rollouts]]
name = "reviews"
namespace = "bookinfo"
steps = [1, 5, 10, 25, 50, 100]
[rollouts.router]
kind = "{kind}"
name = "{name}"
{names}
[rollouts.metrics]
kind = "none"
"""


@pytest.fixture
def world(fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path) -> dict[str, Any]:
    fake_kube.put_object(virtual_service(10))
    return {"fake": fake_kube, "kubeconfig": fake_kubeconfig, "tmp": tmp_path}


def config(world: dict[str, Any], kind: str = "istio", name: str = "reviews", **kw: str) -> Path:
    path: Path = world["tmp"] / f"monotui-{kind}-{name}.toml"
    stable, canary = ("reviews-v1", "reviews-v2") if kind == "gateway-api" else ("v1", "v2")
    audit = world["tmp"] / "audit.jsonl"
    names = f'stable = "{stable}"\ncanary = "{canary}"' if kind in ("istio", "gateway-api") else ""
    text = CONFIG.format(audit=audit, kind=kind, name=name, names=names, **kw)
    path.write_text(text)
    return path


def monotui(world: dict[str, Any], *args: str, cfg: Path | None = None) -> Any:
    env = {**os.environ, "KUBECONFIG": str(world["kubeconfig"])}
    return subprocess.run(
        [sys.executable, "-m", "monotui", *args, "-c", str(cfg or config(world))],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def canary(world: dict[str, Any]) -> int:
    obj = world["fake"].get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    weight: int = obj["spec"]["http"][0]["route"][1]["weight"]
    return weight


def one_clean_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1, stderr
    return stderr


def test_status_json_shows_the_weights(world: dict[str, Any]) -> None:
    out = monotui(world, "status", "--json")
    assert out.returncode == 0, out.stderr
    (rollout,) = json.loads(out.stdout)["rollouts"]
    assert rollout["weights"] == {"stable": 90, "canary": 10}


def test_every_verb_moves_the_weights(world: dict[str, Any]) -> None:
    steps = [
        (["advance", "--rollout", "reviews"], 25, "reviews: advanced: 90/10 -> 75/25"),
        (["pause", "--rollout", "reviews"], 25, "reviews: automation paused"),
        (["resume", "--rollout", "reviews"], 25, "reviews: automation resumed"),  # it lasted
        (["set-weight", "--rollout", "reviews", "33"], 33, "set weight 33 %: 75/25 -> 67/33"),
        (["promote", "--rollout", "reviews", "--yes"], 100, "promoted: 67/33 -> 0/100"),
        (["rollback", "--rollout", "reviews"], 0, "rolled back: 0/100 -> 100/0"),
    ]
    for args, expected, message in steps:
        out = monotui(world, *args)
        assert out.returncode == 0, out.stderr
        assert message in out.stdout
        assert canary(world) == expected
    records = list(read_audit(world["tmp"] / "audit.jsonl"))
    assert [r["action"] for r in records] == [
        "advance",
        "pause",
        "resume",
        "set_weight",
        "promote",
        "rollback",
    ]
    assert {(r["context"], r["kube_user"]) for r in records} == {("fake", "alice")}
    assert records[0]["resource"] == "virtualservice bookinfo/reviews"


def test_an_httproute_is_steered_too(world: dict[str, Any]) -> None:
    world["fake"].put_object(http_route(3, 1))  # proportional: 75/25
    out = monotui(world, "advance", "--rollout", "reviews", cfg=config(world, "gateway-api"))
    assert out.returncode == 0, out.stderr
    assert "advanced: 75/25 -> 50/50" in out.stdout
    obj = world["fake"].get_object(GATEWAY, "v1", "httproutes", NS, "reviews")
    assert [r["weight"] for r in obj["spec"]["rules"][0]["backendRefs"]] == [50, 50]


def test_dry_run_prints_the_patch_and_sends_nothing(world: dict[str, Any]) -> None:
    out = monotui(world, "advance", "--rollout", "reviews", "--dry-run")
    assert out.returncode == 0, out.stderr
    patch = json.loads(out.stdout.splitlines()[0])
    assert patch[-1] == {"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 25}
    assert canary(world) == 10
    assert not [r for r in world["fake"].requests if r.method == "PATCH"]


def test_read_only_refuses_with_exit_4(world: dict[str, Any]) -> None:
    out = monotui(world, "rollback", "--rollout", "reviews", "--read-only")
    assert out.returncode == 4
    assert "read-only" in one_clean_line(out.stderr)
    assert canary(world) == 10


def test_a_foreign_write_between_read_and_patch_is_exit_3(world: dict[str, Any]) -> None:
    fake: FakeKube = world["fake"]
    fake.latency_s = 0.2  # every request waits: room to land a write after our PATCH left

    def other_writer() -> None:
        wait_for(lambda: any(r.method == "PATCH" for r in list(fake.requests)), timeout_s=30)
        fake.put_object(virtual_service(40))

    writer = threading.Thread(target=other_writer)
    writer.start()
    out = monotui(world, "advance", "--rollout", "reviews")
    writer.join()
    assert out.returncode == 3
    line = one_clean_line(out.stderr)
    assert "conflict: the route changed since it was read (now 60/40); nothing applied" in line
    assert canary(world) == 40


def test_rbac_denial_is_exit_4_and_names_what_is_missing(world: dict[str, Any]) -> None:
    world["fake"].deny("patch", "virtualservices", NS)
    out = monotui(world, "advance", "--rollout", "reviews")
    assert out.returncode == 4
    line = one_clean_line(out.stderr)
    assert "cannot patch virtualservice reviews in namespace bookinfo" in line
    assert "'patch' on virtualservices.networking.istio.io" in line


def test_a_missing_resource_is_exit_2_and_named(world: dict[str, Any]) -> None:
    out = monotui(world, "advance", "--rollout", "reviews", cfg=config(world, name="ratings"))
    assert out.returncode == 2
    assert "virtualservice ratings not found in namespace bookinfo" in one_clean_line(out.stderr)


def test_api_down_is_exit_5(world: dict[str, Any]) -> None:
    world["fake"].down()
    out = monotui(world, "advance", "--rollout", "reviews")
    assert out.returncode == 5
    line = one_clean_line(out.stderr)
    assert "kubernetes API at http://127.0.0.1" in line and "unreachable" in line


def test_an_unknown_context_is_exit_2(world: dict[str, Any]) -> None:
    out = monotui(world, "status", "--context", "prod")
    assert out.returncode == 2
    assert "no context 'prod' (known: fake)" in one_clean_line(out.stderr)


def test_namespace_option_points_at_another_namespace(world: dict[str, Any]) -> None:
    moved = virtual_service(30)
    moved["metadata"]["namespace"] = "staging"
    world["fake"].put_object(moved)
    out = monotui(world, "status", "--json", "--namespace", "staging")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["rollouts"][0]["weights"] == {"stable": 70, "canary": 30}
