"""The controller steering a VirtualService on the fake API server: conflicts, foreign changes,
the watch's events and the audit trail; and a property: no action sequence loses a foreign write."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monotui.audit import AuditLog, read_audit
from monotui.model import Action, ActionKind, Weights
from monotui.rollout import Rollout, assemble
from monotui.sources.kube import KubeConnection
from monotui.sources.router_gateway import GatewayRouter
from monotui.sources.router_istio import IstioRouter
from tests.fakekube import FakeKube
from tests.router_helpers import (
    GATEWAY,
    ISTIO,
    NS,
    conn_fixture,
    http_route,
    kube,
    no_metrics,
    rollout,
    virtual_service,
    wait_for,
)

conn = conn_fixture()


def controller(conn: KubeConnection, audit: AuditLog | None = None, **kw: Any) -> Rollout:
    cfg = rollout()
    cfg = no_metrics(cfg)
    return assemble(
        cfg,
        router=IstioRouter(conn, cfg),
        audit=audit or AuditLog(None),
        context=conn.context,
        kube_user=conn.user,
        **kw,
    )


def canary_of(fake: FakeKube) -> int:
    obj = fake.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    route = obj["spec"]["http"][0]["route"]
    assert route[0]["weight"] + route[1]["weight"] == 100
    weight: int = route[1]["weight"]
    return weight


def act(ctl: Rollout, kind: ActionKind, pct: int | None = None) -> Any:
    return ctl.apply(Action(kind, "reviews", origin="key", weight_pct=pct))


def test_advance_moves_the_weights_and_audits_who(
    fake_kube: FakeKube, conn: KubeConnection, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    audit = AuditLog(tmp_path / "audit.jsonl", user="oncall")
    ctl = controller(conn, audit)
    ctl.cycle()
    result = act(ctl, ActionKind.ADVANCE)
    assert result.ok and result.message == "advanced: 90/10 -> 75/25"
    assert canary_of(fake_kube) == 25
    (record,) = read_audit(tmp_path / "audit.jsonl")
    assert record["user"] == "oncall" and record["context"] == "fake"
    assert record["kube_user"] == "alice"
    assert record["resource"] == "virtualservice bookinfo/reviews"
    assert (record["before"], record["after"], record["result"]) == ("90/10", "75/25", "ok")
    assert json.loads(record["patch"])[-1]["value"] == 25


def test_a_conflict_shows_the_new_weights_and_applies_nothing(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(virtual_service(10))
    ctl = controller(conn)
    ctl.cycle()
    fake_kube.put_object(virtual_service(40))  # another writer, between our read and our write
    result = act(ctl, ActionKind.ADVANCE)
    assert not result.ok and result.exit_code == 3
    assert result.message == (
        "conflict: the route changed since it was read (now 60/40); nothing applied"
    )
    assert canary_of(fake_kube) == 40
    assert ctl.snapshot().weights == Weights(60, 40)  # the cockpit shows them now
    assert act(ctl, ActionKind.ADVANCE).ok and canary_of(fake_kube) == 50  # from what it saw


def test_a_rollback_is_compare_and_set_too(fake_kube: FakeKube, conn: KubeConnection) -> None:
    fake_kube.put_object(virtual_service(25))
    ctl = controller(conn)
    ctl.cycle()
    fake_kube.put_object(virtual_service(30))
    assert act(ctl, ActionKind.ROLLBACK).exit_code == 3
    assert canary_of(fake_kube) == 30
    assert act(ctl, ActionKind.ROLLBACK).ok and canary_of(fake_kube) == 0


def test_the_watch_reports_a_change_made_elsewhere_within_a_second(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(virtual_service(20))
    ctl = controller(conn)
    ctl.start(history=False)
    try:
        assert act(ctl, ActionKind.ADVANCE).message == "advanced: 80/20 -> 75/25"
        fake_kube.put_object(virtual_service(10))
        text = "weights changed outside monotui: 75/25 -> 90/10"
        wait_for(lambda: any(e.text == text for e in ctl.events()), timeout_s=1.0)
        # Our own write, seen by the watch too, is not reported as an outside change.
        assert [e.text for e in ctl.events() if e.kind == "outside"] == [text]
        assert ctl.snapshot().weights == Weights(90, 10)
    finally:
        ctl.close()


def test_dry_run_shows_the_patch_and_sends_nothing(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(virtual_service(10))
    ctl = controller(conn, dry_run=True)
    result = act(ctl, ActionKind.PROMOTE)
    assert result.ok and result.patch is not None
    assert f"would send {result.patch}" in ctl.events()[-1].text
    assert canary_of(fake_kube) == 10
    assert not [r for r in fake_kube.requests if r.method == "PATCH"]


def test_the_controller_steers_an_httproute(fake_kube: FakeKube, conn: KubeConnection) -> None:
    fake_kube.put_object(http_route(99, 1))
    cfg = rollout("gateway-api", stable="reviews-v1", canary="reviews-v2")
    cfg = no_metrics(cfg)
    ctl = assemble(cfg, router=GatewayRouter(conn, cfg))
    ctl.cycle()
    assert act(ctl, ActionKind.ADVANCE).message == "advanced: 99/1 -> 95/5"
    refs = fake_kube.get_object(GATEWAY, "v1", "httproutes", NS, "reviews")["spec"]["rules"][0]
    assert [r["weight"] for r in refs["backendRefs"]] == [95, 5]


# --- the property ------------------------------------------------------------------------------

STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("foreign"), st.integers(0, 100)),
        st.tuples(st.sampled_from(["advance", "rollback", "promote", "poll"]), st.none()),
        st.tuples(st.just("set_weight"), st.integers(0, 100)),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STEPS)
def test_no_sequence_of_actions_and_foreign_writes_loses_a_write(
    steps: list[tuple[str, int | None]],
) -> None:
    with FakeKube() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.put_object(virtual_service(10))
        conn = kube(fake.write_kubeconfig(Path(tmp) / "kubeconfig"))
        ctl = controller(conn)
        ctl.cycle()
        known = 10  # the canary weight the controller last saw
        for verb, arg in steps:
            if verb == "foreign":
                assert arg is not None
                fake.put_object(virtual_service(arg))
                continue
            stored = canary_of(fake)
            if verb == "poll":
                ctl.cycle()
                known = stored
                continue
            kind = ActionKind(verb)
            result = act(ctl, kind, arg)
            now = canary_of(fake)  # weights always valid: canary_of checks the sum
            if stored != known:  # someone else moved the weights since we looked
                assert now == stored, "a foreign write was overwritten"
                wrote = result.ok and "already at" not in result.message
                assert not wrote, result.message
                if result.exit_code == 3:
                    assert f"(now {100 - now}/{now})" in result.message
                    known = now  # the conflict re-read the route
            elif result.ok and result.after is not None:
                assert now == result.after.canary
                known = now
            else:
                assert now == stored
        conn.close()
