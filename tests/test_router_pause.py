"""The automation pause is stored with the route and shared: `monotui pause` from a shell stops a
cockpit's automation elsewhere (fake API server, real kubernetes client); the demo world shares it
between two controllers the same way; a router that cannot store it refuses the one-shot verbs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from monotui.audit import read_audit
from monotui.model import Action, ActionKind
from monotui.rollout import Rollout, assemble
from monotui.sim.demo import build_demo
from monotui.sim.sources import SimMetrics, SimRouter
from monotui.sim.world import World
from monotui.sources.kube import KubeConnection
from monotui.sources.kube_router import BY_KEY, PAUSED_KEY
from monotui.sources.router_gateway import GatewayRouter
from monotui.sources.router_istio import IstioRouter
from tests.fakekube import FakeKube
from tests.router_helpers import (
    GATEWAY,
    ISTIO,
    NS,
    conn_fixture,
    http_route,
    judged_healthy,
    no_metrics,
    rollout,
    virtual_service,
)
from tests.test_router_cli import config, monotui, one_clean_line, world

__all__ = ["world"]  # the fixture, used by name below

conn = conn_fixture()


def vs(fake: FakeKube) -> dict[str, Any]:
    obj: dict[str, Any] = fake.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    return obj


def notes_of(obj: dict[str, Any]) -> dict[str, str]:
    notes: dict[str, str] = obj["metadata"].get("annotations") or {}
    return notes


def patches(fake: FakeKube) -> list[Any]:
    return [r.body for r in fake.requests if r.method == "PATCH"]


def auto_controller(conn: KubeConnection) -> tuple[Rollout, World]:
    """policy auto, no hold, metrics of a healthy simulated canary: it advances at every poll."""
    return judged_healthy(rollout(), lambda cfg: IstioRouter(conn, cfg), kube_user=conn.user)


def canary(fake: FakeKube) -> int:
    weight: int = vs(fake)["spec"]["http"][0]["route"][1]["weight"]
    return weight


def test_cli_pause_sets_the_annotation_and_changes_nothing_else(world: dict[str, Any]) -> None:
    fake: FakeKube = world["fake"]
    before = copy.deepcopy(vs(fake))
    out = monotui(world, "pause", "--rollout", "reviews")
    assert out.returncode == 0, out.stderr
    assert "automation paused" in out.stdout and "virtualservice bookinfo/reviews" in out.stdout
    after = vs(fake)
    notes = notes_of(after)
    assert notes[PAUSED_KEY] == "true"
    assert notes[BY_KEY] == "alice: monotui pause (CLI)"
    (patch,) = patches(fake)  # one JSON patch, pinned on nothing but what it adds
    assert [op["op"] for op in patch] == ["add", "add"]
    assert patch[0]["path"] == "/metadata/annotations/monotui.dev~1automation-paused"
    for obj in (before, after):  # every other byte as it was
        obj["metadata"].pop("resourceVersion")
        obj["metadata"].pop("generation", None)
    del after["metadata"]["annotations"][PAUSED_KEY], after["metadata"]["annotations"][BY_KEY]
    assert after == before

    out = monotui(world, "resume", "--rollout", "reviews")
    assert out.returncode == 0, out.stderr
    assert "automation resumed" in out.stdout
    assert notes_of(vs(fake)) == before["metadata"]["annotations"]
    records = list(read_audit(world["tmp"] / "audit.jsonl"))
    assert [(r["action"], r["result"]) for r in records] == [("pause", "ok"), ("resume", "ok")]
    assert PAUSED_KEY.replace("/", "~1") in records[0]["patch"]


def test_a_pause_from_the_cli_stops_another_cockpits_automation(
    world: dict[str, Any], conn: KubeConnection
) -> None:
    fake: FakeKube = world["fake"]
    ctl, sim = auto_controller(conn)
    ctl.cycle()  # hold 0: this first PASS may advance already
    before = canary(fake)
    assert monotui(world, "pause", "--rollout", "reviews").returncode == 0
    sim.advance(10)
    snap = ctl.cycle()  # one poll is enough to see it
    assert snap.plan.paused
    texts = [e.text for e in snap.events]
    assert "automation paused elsewhere: alice: monotui pause (CLI)" in texts
    for _ in range(8):  # PASS verdicts that would advance at every poll
        sim.advance(10)
        snap = ctl.cycle()
    assert snap.verdict.result.value == "PASS", snap.verdict.reason
    assert canary(fake) == before

    assert monotui(world, "resume", "--rollout", "reviews").returncode == 0
    sim.advance(10)
    snap = ctl.cycle()
    assert not snap.plan.paused
    assert "automation resumed elsewhere" in [e.text for e in snap.events]
    for _ in range(3):
        sim.advance(10)
        ctl.cycle()
    assert canary(fake) > before  # and the automation advances again


def test_the_watch_tells_a_cockpit_at_once(fake_kube: FakeKube, conn: KubeConnection) -> None:
    from tests.router_helpers import wait_for

    fake_kube.put_object(virtual_service(10))
    cfg = no_metrics(rollout())
    mine = assemble(cfg, router=IstioRouter(conn, cfg), kube_user="alice")
    other = assemble(cfg, router=IstioRouter(conn, cfg), kube_user="bob")
    mine.start(history=False)
    try:
        other.cycle()
        result = other.apply(Action(ActionKind.PAUSE, "reviews", origin="key"))
        assert result.ok, result.message
        wait_for(lambda: mine.snapshot().plan.paused)
        texts = [e.text for e in mine.events()]
        assert "automation paused elsewhere: bob: p in the cockpit" in texts
    finally:
        mine.close()


def test_weights_moved_by_someone_else_never_fail_a_pause(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(virtual_service(10))
    cfg = no_metrics(rollout())
    ctl = assemble(cfg, router=IstioRouter(conn, cfg), kube_user="alice")
    ctl.cycle()  # reads 90/10
    fake_kube.put_object(virtual_service(40))  # kubectl edit: new weights, new resourceVersion
    result = ctl.apply(Action(ActionKind.PAUSE, "reviews", origin="key", reason="bad graphs"))
    assert result.ok, result.message
    assert notes_of(vs(fake_kube))[BY_KEY] == "alice: bad graphs"
    assert canary(fake_kube) == 40
    assert ctl.snapshot().plan.paused


def test_a_route_without_annotations_gets_them_even_if_someone_adds_one_first(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(http_route(90, 10))  # no metadata.annotations at all
    cfg = no_metrics(rollout("gateway-api", stable="reviews-v1", canary="reviews-v2"))
    ctl = assemble(cfg, router=GatewayRouter(conn, cfg), kube_user="alice")
    ctl.cycle()
    added = http_route(90, 10)
    added["metadata"]["annotations"] = {"owner": "ops"}
    fake_kube.put_object(added)  # between our read and our pause
    result = ctl.apply(Action(ActionKind.PAUSE, "reviews", origin="key"))
    assert result.ok, result.message
    obj = fake_kube.get_object(GATEWAY, "v1", "httproutes", NS, "reviews")
    assert notes_of(obj) == {
        "owner": "ops",
        PAUSED_KEY: "true",
        BY_KEY: "alice: p in the cockpit",
    }
    result = ctl.apply(Action(ActionKind.RESUME, "reviews", origin="key"))
    assert result.ok, result.message
    obj = fake_kube.get_object(GATEWAY, "v1", "httproutes", NS, "reviews")
    assert notes_of(obj) == {"owner": "ops"}


def test_read_only_refuses_and_dry_run_prints_the_patch(world: dict[str, Any]) -> None:
    fake: FakeKube = world["fake"]
    out = monotui(world, "pause", "--rollout", "reviews", "--read-only")
    assert out.returncode == 4
    assert "read-only" in one_clean_line(out.stderr)
    out = monotui(world, "pause", "--rollout", "reviews", "--dry-run")
    assert out.returncode == 0, out.stderr
    patch = json.loads(out.stdout.splitlines()[0])
    assert patch[0] == {
        "op": "add",
        "path": "/metadata/annotations/monotui.dev~1automation-paused",
        "value": "true",
    }
    assert PAUSED_KEY not in notes_of(vs(fake))
    assert patches(fake) == []


def test_a_router_that_cannot_store_a_pause_refuses_the_cli(world: dict[str, Any]) -> None:
    path: Path = config(world)
    text = path.read_text().replace('kind = "istio"', 'kind = "none"')
    text = text.replace('stable = "v1"\n', "").replace('canary = "v2"\n', "")
    path.write_text(text)
    for verb in ("pause", "resume"):
        out = monotui(world, verb, "--rollout", "reviews", cfg=path)
        assert out.returncode == 2
        assert "cannot store a pause" in one_clean_line(out.stderr)


def test_demo_p_in_one_cockpit_stops_another_on_the_same_world() -> None:
    demo = build_demo("healthy", policy="auto", realtime=False)
    demo.start()
    first = demo.rollout("checkout")
    second = assemble(
        first.config,
        router=SimRouter(demo.world, "checkout"),
        metrics=SimMetrics(demo.world, "checkout"),
        clock=demo.world.now,
        policy_name="auto",
    )
    second.cycle()
    result = first.apply(Action(ActionKind.PAUSE, "checkout", origin="key"))
    assert result.ok and "stored on sim route shop/checkout" in result.message
    snap = second.cycle()
    assert snap.plan.paused
    assert any(e.text.startswith("automation paused elsewhere: ") for e in snap.events)
    weights = snap.weights
    for _ in range(30):
        demo.tick()
        snap = second.cycle()
    assert snap.weights == weights and first.snapshot().weights == weights

    result = second.apply(Action(ActionKind.RESUME, "checkout", origin="key"))
    assert result.ok, result.message
    demo.tick()
    assert not first.snapshot().plan.paused
    assert "automation resumed elsewhere" in [e.text for e in first.events()]
