"""Reaching one version on purpose: the x-monotui-track header routes that a rollout with http
probes adds ahead of its weighted route on the fake API server (compare-and-set, audited intent
then outcome), removed on rollback, promote and quit, never in read-only mode; a mesh that
routes by the stored VirtualService sends the probes where the routes say."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monotui.audit import AuditLog
from monotui.model import Action, ActionKind, ProbeState, VerdictResult
from monotui.rollout import Rollout, assemble
from monotui.sim.apps import VersionApp
from monotui.sources.kube import KubeConnection
from monotui.sources.router_gateway import GatewayRouter
from monotui.sources.router_istio import IstioRouter
from monotui.sources.synthetics.http_probe import HttpProbe
from tests.configs import rollout_config
from tests.fakekube import FakeKube
from tests.router_helpers import GATEWAY, ISTIO, NS, conn_fixture, dest, http_route
from tests.synthetic_mesh import Mesh

conn = conn_fixture()


class Clock:
    """The rollout's clock, moved by hand: each poll is a probe interval later."""

    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def apps() -> Iterator[dict[str, VersionApp]]:
    made = {
        "v1": VersionApp("v1"),
        "v2": VersionApp("v2", failing=lambda headers: True),  # a canary whose checkout breaks
    }
    yield made
    for app in made.values():
        app.close()


def weighted_vs() -> dict[str, Any]:
    return {
        "apiVersion": f"{ISTIO}/v1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": NS},
        "spec": {
            "hosts": ["reviews"],
            "http": [
                {
                    "name": "primary",
                    "route": [dest("v1", 90), dest("v2", 10)],
                    "timeout": "10s",
                }
            ],
        },
    }


def probe_config(url: str, kind: str = "istio", **router: Any) -> Any:
    return rollout_config(
        {
            "name": "reviews",
            "namespace": NS,
            "interval_s": 5,
            "router": {"kind": kind, "name": "reviews", **router},
            "metrics": {"kind": "none"},
            "synthetics": [
                {
                    "name": "checkout",
                    "kind": "http",
                    "url": f"{url}/checkout",
                    "method": "POST",
                    "body": "{}",
                    "expect_json": "$.status",
                    "expect_json_equals": "ok",
                    "timeout_s": 5,
                }
            ],
        }
    )


def build(
    conn: KubeConnection, cfg: Any, clock: Clock, audit: AuditLog, *, read_only: bool = False
) -> Rollout:
    router_type = GatewayRouter if cfg.router.kind == "gateway-api" else IstioRouter
    return assemble(
        cfg,
        router=router_type(conn, cfg, can_write=not read_only),
        synthetics=[HttpProbe(cfg.synthetics[0], interval_s=cfg.interval_s)],
        audit=audit,
        clock=clock,
        read_only=read_only,
        context=conn.context,
        kube_user=conn.user,
    )


def http_routes(fake: FakeKube) -> list[dict[str, Any]]:
    obj = fake.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    routes: list[dict[str, Any]] = obj["spec"]["http"]
    return routes


def patches(fake: FakeKube) -> list[Any]:
    return [r.body for r in fake.requests if r.method == "PATCH"]


def audit_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_header_routes_go_ahead_of_the_weighted_one_and_the_probes_reach_each_version(
    fake_kube: FakeKube, conn: KubeConnection, apps: dict[str, VersionApp], tmp_path: Path
) -> None:
    fake_kube.put_object(weighted_vs())
    mesh = Mesh(fake_kube, NS, "reviews", apps)
    clock, log = Clock(), tmp_path / "audit.jsonl"
    rollout = build(conn, probe_config(mesh.url), clock, AuditLog(log, user="oncall"))
    try:
        rollout.start(history=False)
        routes = http_routes(fake_kube)
        assert [r.get("name") for r in routes] == [
            "monotui-track-canary",
            "monotui-track-baseline",
            "primary",
        ]
        canary, baseline, primary = routes
        assert canary["match"] == [{"headers": {"x-monotui-track": {"exact": "canary"}}}]
        assert canary["route"] == [{"destination": dest("v2")["destination"]}]
        assert baseline["route"] == [{"destination": dest("v1")["destination"]}]
        assert canary["timeout"] == "10s"  # served like a user's request
        assert [e["weight"] for e in primary["route"]] == [90, 10]  # the weights are untouched
        (patch,) = patches(fake_kube)
        assert patch[0] == {
            "op": "test",
            "path": "/spec/http/0/route",
            "value": weighted_vs()["spec"]["http"][0]["route"],
        }
        intent, outcome = audit_lines(log)
        assert (intent["phase"], intent["action"], intent["origin"]) == (
            "intent",
            "add_header_routes",
            "synthetics",
        )
        assert (outcome["phase"], outcome["result"], outcome["id"]) == (
            "outcome",
            "ok",
            intent["id"],
        )
        assert json.loads(outcome["patch"]) == patch

        for _ in range(12):
            clock.t += 5
            snap = rollout.cycle()
        cells = {c.track: c for c in snap.synthetics.cells}
        assert cells["baseline"].state == ProbeState.PASS
        assert cells["canary"].state == ProbeState.FAIL
        assert cells["canary"].reason == "status 500 (expected 200)"
        # Every probe went where its header says, and only there.
        assert {h["x-monotui-track"] for _, _, h in apps["v1"].requests} == {"baseline"}
        assert {h["x-monotui-track"] for _, _, h in apps["v2"].requests} == {"canary"}
        assert snap.verdict.result == VerdictResult.FAIL
        assert "synthetic checkout fails on canary, not on baseline" in snap.verdict.reason

        result = rollout.apply(Action(ActionKind.ROLLBACK, "reviews", origin="key"))
        assert result.ok
        assert [r.get("name") for r in http_routes(fake_kube)] == ["primary"]
        removal = patches(fake_kube)[-1]
        assert [op["op"] for op in removal] == ["test", "remove", "test", "remove"]
        assert removal[1]["path"] == "/spec/http/1" and removal[3]["path"] == "/spec/http/0"
        records = audit_lines(log)
        (removal_intent,) = [r for r in records if r.get("action") == "remove_header_routes"]
        (removal_outcome,) = [r for r in records if r["id"] == removal_intent["id"]][1:]
        assert removal_intent["origin"] == "key" and removal_intent["reason"] == "after rollback"
        assert removal_outcome["phase"] == "outcome" and removal_outcome["result"] == "ok"
        # After the rollback nothing is added again, even at the next polls.
        clock.t += 5
        rollout.cycle()
        assert [r.get("name") for r in http_routes(fake_kube)] == ["primary"]
    finally:
        rollout.close()
        mesh.close()


def test_quit_removes_what_this_process_added_and_a_concurrent_change_is_retried_not_lost(
    fake_kube: FakeKube, conn: KubeConnection, apps: dict[str, VersionApp], tmp_path: Path
) -> None:
    fake_kube.put_object(weighted_vs())
    clock, log = Clock(), tmp_path / "audit.jsonl"
    rollout = build(conn, probe_config("http://127.0.0.1:9"), clock, AuditLog(log))
    rollout.start(history=False)
    assert len(http_routes(fake_kube)) == 3
    # Someone edits the weights meanwhile: the removal's tests fail once, it re-reads, retries.
    obj = fake_kube.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    obj["spec"]["http"][2]["route"][1]["weight"] = 20
    obj["spec"]["http"][2]["route"][0]["weight"] = 80
    fake_kube.put_object(obj)
    fake_kube.fail_next(1, 422, method="PATCH")  # as if the watch had not told us yet
    rollout.close()
    routes = http_routes(fake_kube)
    assert [r.get("name") for r in routes] == ["primary"]
    assert [e["weight"] for e in routes[0]["route"]] == [80, 20]  # the other change survives
    records = audit_lines(log)
    quits = [r for r in records if r.get("origin") == "quit"]
    outcomes = {r["id"]: r["result"] for r in records if r["phase"] == "outcome"}
    # The first try met the changed route (422): failed; the second, after a re-read: ok.
    assert [outcomes[r["id"]] for r in quits] == ["failed", "ok"]


def test_promote_removes_the_routes_with_the_weights_at_the_canary(
    fake_kube: FakeKube, conn: KubeConnection, tmp_path: Path
) -> None:
    fake_kube.put_object(weighted_vs())
    log = tmp_path / "audit.jsonl"
    rollout = build(conn, probe_config("http://127.0.0.1:9"), Clock(), AuditLog(log))
    try:
        rollout.start(history=False)
        assert len(http_routes(fake_kube)) == 3
        assert rollout.apply(Action(ActionKind.PROMOTE, "reviews", origin="key")).ok
        routes = http_routes(fake_kube)
        assert [r.get("name") for r in routes] == ["primary"]  # probes stop with the rollout
        assert [e["weight"] for e in routes[0]["route"]] == [0, 100]
        (removal,) = [r for r in audit_lines(log) if r.get("action") == "remove_header_routes"]
        assert removal["reason"] == "after promote"
    finally:
        rollout.close()


def test_status_and_another_process_do_not_remove_routes_they_did_not_add(
    fake_kube: FakeKube, conn: KubeConnection, tmp_path: Path
) -> None:
    fake_kube.put_object(weighted_vs())
    clock = Clock()
    first = build(conn, probe_config("http://127.0.0.1:9"), clock, AuditLog(None))
    first.start(history=False)
    second = build(conn, probe_config("http://127.0.0.1:9"), clock, AuditLog(None))
    second.start(history=False)  # already there: nothing to add
    second.close()
    assert len(http_routes(fake_kube)) == 3
    first.close()
    assert len(http_routes(fake_kube)) == 1


def test_read_only_never_adds_the_routes_and_hides_what_it_cannot_reach(
    fake_kube: FakeKube, conn: KubeConnection, tmp_path: Path
) -> None:
    fake_kube.put_object(weighted_vs())
    clock = Clock()
    rollout = build(conn, probe_config("http://127.0.0.1:9"), clock, AuditLog(None), read_only=True)
    try:
        rollout.start(history=False)
        clock.t += 5
        snap = rollout.cycle()
    finally:
        rollout.close()
    assert patches(fake_kube) == []
    assert snap.synthetics.cells == ()
    assert snap.synthetics.note.startswith("read-only: http probes through the header route")


def test_gateway_api_rules_are_appended_with_the_header_and_removed(
    fake_kube: FakeKube, conn: KubeConnection, tmp_path: Path
) -> None:
    fake_kube.put_object(http_route(90, 10))
    clock, log = Clock(), tmp_path / "audit.jsonl"
    cfg = probe_config("http://127.0.0.1:9", kind="gateway-api", stable="reviews-v1")
    cfg = cfg.model_copy(
        update={"router": cfg.router.model_copy(update={"canary": "reviews-v2", "route": 0})}
    )
    rollout = build(conn, cfg, clock, AuditLog(log))
    rollout.start(history=False)
    rules = fake_kube.get_object(GATEWAY, "v1", "httproutes", NS, "reviews")["spec"]["rules"]
    assert len(rules) == 3
    weighted, canary, baseline = rules
    assert [r["weight"] for r in weighted["backendRefs"]] == [90, 10]
    assert canary["backendRefs"] == [{"name": "reviews-v2", "port": 9080, "weight": 1}]
    assert baseline["backendRefs"][0]["name"] == "reviews-v1"
    header = {"type": "Exact", "name": "x-monotui-track", "value": "canary"}
    assert canary["matches"] == [
        {**m, "headers": [header]} for m in weighted["matches"]
    ]  # the weighted rule's own matches, plus the header
    assert canary["filters"] == weighted["filters"]
    assert rollout.snapshot().weights is not None and rollout.snapshot().weights.canary == 10
    rollout.apply(Action(ActionKind.PROMOTE, "reviews", origin="cli"))
    rules = fake_kube.get_object(GATEWAY, "v1", "httproutes", NS, "reviews")["spec"]["rules"]
    assert len(rules) == 1 and [r["weight"] for r in rules[0]["backendRefs"]] == [0, 100]
    records = audit_lines(log)
    (removal,) = [r for r in records if r.get("action") == "remove_header_routes"]
    assert [r["result"] for r in records if r["id"] == removal["id"] and "result" in r] == ["ok"]
    rollout.close()
