"""The synthetic probes' header routes (x-monotui-track) under the autopilot's Lease, with real
`monotui autopilot` processes on the fake API server: a standby never writes them (only the
holder steers the rollout), a holder that hands over on SIGTERM leaves them for its successor
instead of removing them after its Lease is released, a rollout it takes no Lease for gets none
from it; and a cockpit leaves them to a live autopilot (neither adds them nor removes its own)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from monotui import config
from monotui.audit import AuditLog
from monotui.autopilot.microtime import format_micro
from monotui.autopilot.window import LeaseWindows
from monotui.registry import PRODUCTION, BuildContext
from monotui.rollout import Rollout, build_rollouts
from monotui.sim.apps import VersionApp
from tests.autopilot_helpers import LEASE, NS, STARTUP_S, Autopilot, holder
from tests.fakekube import FakeKube
from tests.prometheus_server import wait_until
from tests.router_helpers import ISTIO, virtual_service

TRACKS = ["monotui-track-canary", "monotui-track-baseline"]


@pytest.fixture
def app() -> Iterator[VersionApp]:
    made = VersionApp("v1")  # a healthy target: the probes pass, nothing rolls back
    yield made
    made.close()


def probes(app: VersionApp) -> str:
    """An http probe that reaches both versions through the header routes (no per-track URL)."""
    return (
        '\n[[rollouts.synthetics]]\nname = "checkout"\nkind = "http"\n'
        f'url = "{app.url}/checkout"\nexpect_json = "$.status"\nexpect_json_equals = "ok"\n'
        "timeout_s = 2\n"
    )


def route_names(fake: FakeKube) -> list[str]:
    obj = fake.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    return [str(r.get("name", "")) for r in obj["spec"]["http"]]


def answers(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def lease_reads(fake: FakeKube, since: int) -> int:
    return fake.count_requests("get", path=f"/leases/{LEASE}$", since=since)


def header_writes(pilot: Autopilot) -> list[dict[str, Any]]:
    return [r for r in pilot.actions() if str(r.get("action", "")).endswith("_header_routes")]


def test_a_standby_never_writes_the_header_routes(
    fake_kube: FakeKube, tmp_path: Path, app: VersionApp
) -> None:
    fake_kube.put_object(virtual_service(5))
    live_lease(fake_kube, "pod-x")  # another autopilot holds the Lease, live for an hour
    pilot = Autopilot(fake_kube, tmp_path, "pod-b", extra=probes(app))
    try:
        wait_until(lambda: answers(f"{pilot.url}/readyz") == 200, STARTUP_S, "ready", 0.1)
        since = len(fake_kube.requests)  # its first cycle is over: let a few more go by
        wait_until(lambda: lease_reads(fake_kube, since) >= 6, 20, "lease reads", 0.1)
        assert holder(fake_kube) == "pod-x"
        assert header_writes(pilot) == []  # not even an intent: it does not steer
        assert not set(TRACKS) & set(route_names(fake_kube))
        told = pilot.wait_for(lambda e: "not added here" in e["text"], 5, "why not")
        assert "pod-b does not hold the lease" in told["text"] and "pod-x does" in told["text"]
        assert pilot.terminate() == 0
    finally:
        pilot.close()


def test_a_holder_stopped_mid_run_leaves_the_header_routes_to_its_successor(
    fake_kube: FakeKube, tmp_path: Path, app: VersionApp
) -> None:
    fake_kube.put_object(virtual_service(5))
    a = Autopilot(fake_kube, tmp_path, "pod-a", extra=probes(app))
    b: Autopilot | None = None
    try:
        a.wait_for(lambda e: e.get("leading") is True, STARTUP_S, "pod-a leads")
        wait_until(lambda: set(TRACKS) <= set(route_names(fake_kube)), 20, "the routes", 0.1)
        b = Autopilot(fake_kube, tmp_path, "pod-b", extra=probes(app))
        b.wait_for(lambda e: "started" in e["text"], STARTUP_S, "pod-b starts")
        assert a.terminate() == 0  # a rolling update: the Lease is released, b takes over
        b.wait_for(lambda e: e.get("leading") is True, 10, "pod-b leads")
        seen = len(app.requests)
        # The probes go only where a route reaches: without the header routes they stop.
        wait_until(lambda: len(app.requests) >= seen + 2, 20, "pod-b's probes", 0.1)
        assert set(TRACKS) <= set(route_names(fake_kube))
        removals = [r for r in header_writes(a) if r["action"] == "remove_header_routes"]
        assert removals == []  # nothing written after the Lease was released
        assert header_writes(b) == []  # and b had nothing to write back
        assert b.terminate() == 0
    finally:
        a.close()
        if b is not None:
            b.close()


def test_a_rollout_the_autopilot_does_not_steer_gets_no_header_routes_from_it(
    fake_kube: FakeKube, tmp_path: Path, app: VersionApp
) -> None:
    fake_kube.put_object(virtual_service(5))
    pilot = Autopilot(fake_kube, tmp_path, "pod-a", extra=probes(app), args=("--policy", "manual"))
    try:
        started = pilot.wait_for(lambda e: "started" in e["text"], STARTUP_S, "the start line")
        assert started["leases"] == {}
        wait_until(lambda: answers(f"{pilot.url}/readyz") == 200, STARTUP_S, "ready", 0.1)
        assert header_writes(pilot) == []  # its first cycle is over: it would have by now
        assert not set(TRACKS) & set(route_names(fake_kube))
        told = pilot.wait_for(lambda e: "not added here" in e["text"], 5, "why not")
        assert "the autopilot does not steer it" in told["text"]
        assert pilot.terminate() == 0
    finally:
        pilot.close()


def cockpit_rollout(
    fake_kubeconfig: Path, app: VersionApp, tmp_path: Path
) -> tuple[Rollout, LeaseWindows, BuildContext]:
    """The rollout with its probe as `monotui watch` builds it, with its windows on the Leases."""
    data = {
        "kubernetes": {"kubeconfig": str(fake_kubeconfig)},
        "rollouts": [
            {
                "name": "reviews",
                "namespace": NS,
                "router": {"kind": "istio", "route": "primary"},
                "metrics": {"kind": "none"},
                "synthetics": [
                    {
                        "name": "checkout",
                        "kind": "http",
                        "url": f"{app.url}/checkout",
                        "expect_json": "$.status",
                        "expect_json_equals": "ok",
                        "timeout_s": 2,
                    }
                ],
            }
        ],
    }
    cfg = config.parse(data, kinds=PRODUCTION)
    ctx = BuildContext(cfg)
    audit = AuditLog(tmp_path / "cockpit-audit.jsonl", user="oncall")
    (rollout,) = build_rollouts(cfg, PRODUCTION, ctx, audit=audit)
    return rollout, LeaseWindows([rollout], ctx.kube()).start(), ctx


def live_lease(fake: FakeKube, holder_name: str) -> None:
    now = format_micro(time.time())
    fake.put_object(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": LEASE, "namespace": NS},
            "spec": {
                "holderIdentity": holder_name,
                "leaseDurationSeconds": 3600,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        }
    )


def test_a_cockpit_leaves_the_header_routes_to_a_live_autopilot(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path, app: VersionApp
) -> None:
    fake_kube.put_object(virtual_service(5))
    live_lease(fake_kube, "pod-x")
    rollout, windows, ctx = cockpit_rollout(fake_kubeconfig, app, tmp_path)
    try:
        rollout.start()
        rollout.cycle()
        assert not set(TRACKS) & set(route_names(fake_kube))  # the autopilot's to add
        told = [e.text for e in rollout.events() if "not added here" in e.text]
        assert told == [
            "the probes' x-monotui-track header routes are not added here: autopilot pod-x "
            f"holds the lease {NS}/{LEASE}: the cockpit leaves the automation to it"
        ]  # once, not at every poll
    finally:
        windows.close()
        rollout.close()
        ctx.close()


def test_a_cockpit_that_added_them_leaves_them_when_an_autopilot_took_over(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path, app: VersionApp
) -> None:
    fake_kube.put_object(virtual_service(5))
    rollout, windows, ctx = cockpit_rollout(fake_kubeconfig, app, tmp_path)
    try:
        rollout.start()  # no autopilot: the cockpit adds them for its probes
        assert set(TRACKS) <= set(route_names(fake_kube))
        live_lease(fake_kube, "pod-x")  # an autopilot starts and steers the rollout
    finally:
        windows.close()
        rollout.close()  # q: the rollout goes on under the autopilot, its probes need them
        ctx.close()
    assert set(TRACKS) <= set(route_names(fake_kube))
