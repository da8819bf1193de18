"""Two clusters on two fake API servers, both up, through the real `kubernetes` client: a write
to one cluster's rollout reaches that cluster's API server only; a change someone makes in one
cluster shows on that cluster's row only; a cluster that comes back is read again without a
restart; and the fleet view shows both clusters' rows with each one's badge."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from monotui.app import MonotuiApp
from monotui.autopilot.lease import lease_spec
from monotui.autopilot.names import MANAGED_BY, lease_name
from monotui.clusters import badges
from monotui.commands.common import Session, session, with_defaults
from monotui.commands.watch import lease_windows
from monotui.model import Action, ActionKind, SourceState, Weights
from monotui.rollout import Rollout
from monotui.screens.fleet import FleetScreen
from tests.fakekube import FakeKube, KubeContext
from tests.fleet_helpers import ISTIO, fleet, virtual_service
from tests.test_app_support import screen_text, settle
from widgets import FleetTable

ROOT = Path(__file__).resolve().parent.parent
N = 4


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    eu, us = FakeKube().start(), FakeKube().start()
    for fake, canary in ((eu, 10), (us, 30)):
        for name, ns in fleet(N, namespaces=2):
            fake.put_object(virtual_service(name, ns, canary))
    kubeconfig = eu.write_kubeconfig(
        tmp_path / "kubeconfig",
        context="prod-eu",
        extra_contexts=[KubeContext("staging", server=us.url)],
    )
    lines = [
        "[audit]",
        f'path = "{tmp_path / "audit.jsonl"}"',
        "[kubernetes]",
        f'kubeconfig = "{kubeconfig}"',
    ]
    for name, ns in fleet(N, namespaces=2):
        lines += ["[[rollouts]]", f'name = "{name}"', f'namespace = "{ns}"']
        lines += ["[rollouts.router]", 'kind = "istio"', 'route = "primary"']
        lines += ["[rollouts.metrics]", 'kind = "none"']
    config = tmp_path / "monotui.toml"
    config.write_text("\n".join(lines) + "\n")
    try:
        yield {"eu": eu, "us": us, "config": config}
    finally:
        eu.stop()
        us.stop()


@pytest.fixture
def built(world: dict[str, Any]) -> Iterator[Session]:
    args = argparse.Namespace(config=world["config"], context="prod-eu,staging")
    made = session(with_defaults(args), shared_reads=True)
    try:
        yield made
    finally:
        made.close()


def by_name(built: Session) -> dict[str, Rollout]:
    return {r.name: r for r in built.rollouts}


def canary_weight(fake: FakeKube, name: str, namespace: str) -> int:
    vs = fake.get_object(ISTIO, "v1", "virtualservices", namespace, name)
    route = vs["spec"]["http"][0]["route"]
    return int(next(d["weight"] for d in route if d["destination"]["subset"] == "v2"))


def eventually(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_write_reaches_only_its_own_cluster(world: dict[str, Any], built: Session) -> None:
    rollouts = by_name(built)
    eu_one, us_one = rollouts["svc-000@prod-eu"], rollouts["svc-000@staging"]
    assert eu_one.start(history=False).weights == Weights(90, 10)
    assert us_one.start(history=False).weights == Weights(70, 30)
    patches_before = world["eu"].count_requests(method="PATCH")

    result = us_one.apply(
        Action(ActionKind.SET_WEIGHT, us_one.name, origin="cli", reason="test", weight_pct=50)
    )

    assert result.ok, result.message
    assert canary_weight(world["us"], "svc-000", "team-0") == 50
    assert canary_weight(world["eu"], "svc-000", "team-0") == 10
    assert world["eu"].count_requests(method="PATCH") == patches_before
    assert eu_one.cycle().weights == Weights(90, 10)
    eventually(lambda: us_one.cycle().weights == Weights(50, 50), "staging's new weight")


def test_a_change_in_one_cluster_shows_on_its_rows_only(
    world: dict[str, Any], built: Session
) -> None:
    rollouts = by_name(built)
    eu_one, us_one = rollouts["svc-001@prod-eu"], rollouts["svc-001@staging"]
    eu_one.start(history=False)
    us_one.start(history=False)
    lists_before = world["eu"].count_requests("list", path="virtualservices")

    world["eu"].put_object(virtual_service("svc-001", "team-1", 40))  # someone else, in eu

    eventually(lambda: eu_one.cycle().weights == Weights(60, 40), "eu's outside change")
    assert us_one.cycle().weights == Weights(70, 30)
    # The informer's watch brought it: no new list, no GET.
    assert world["eu"].count_requests("list", path="virtualservices") == lists_before
    assert world["eu"].count_requests("get", path="virtualservices") == 0


def test_each_clusters_autopilot_leases_are_read_from_that_cluster(
    world: dict[str, Any], built: Session
) -> None:
    rollouts = by_name(built)
    for rollout in rollouts.values():
        rollout.start(history=False)  # as watch does before the windows: the routes are built
    for fake, holder in ((world["eu"], "pod-eu"), (world["us"], "pod-us")):
        now = time.time()
        fake.put_object(
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {
                    "name": lease_name(rollouts["svc-000@prod-eu"].config),
                    "namespace": "team-0",
                    "labels": dict(MANAGED_BY),
                },
                "spec": lease_spec(holder, 30, now, now, 0),
            }
        )
    windows = lease_windows(built)
    try:
        shown = {name: w for ws in windows for name, w in ws.windows.items()}
        assert set(shown) == set(rollouts)

        def holders() -> tuple[str, str]:
            return (
                shown["svc-000@prod-eu"].status().holder,
                shown["svc-000@staging"].status().holder,
            )

        eventually(lambda: holders() == ("pod-eu", "pod-us"), "each cluster's own holder")
        assert shown["svc-001@staging"].status().holder == ""
    finally:
        for w in windows:
            w.close()


def test_a_cluster_that_comes_back_is_read_again(world: dict[str, Any]) -> None:
    # Down before the session starts: a session built while it was up lists its routes at once
    # (in the background), and a fresh cache is rightly OK whichever way that race goes.
    world["us"].down()
    args = argparse.Namespace(config=world["config"], context="prod-eu,staging")
    built = session(with_defaults(args), shared_reads=True)
    try:
        us_one = by_name(built)["svc-002@staging"]
        down = us_one.start(history=False).source("router")
        assert down is not None and down.state == SourceState.ERROR
        assert "unreachable" in down.message

        world["us"].up()

        def healthy() -> bool:
            snap = us_one.cycle()
            router = snap.source("router")
            return (
                router is not None
                and router.state == SourceState.OK
                and snap.weights == Weights(70, 30)
            )

        eventually(healthy, "staging read again after it came back")
    finally:
        built.close()


async def test_the_fleet_shows_both_clusters_with_their_badges(built: Session) -> None:
    app = MonotuiApp(built.rollouts, title="fleet", poll=False)
    app.fleet.badges = {b.name: b.color for b in badges(built.config)}
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        screen.flush()
        await settle(pilot)
        lines = screen.query_one(FleetTable).lines
        rows = [x.row for x in lines if x.kind == "row" and x.row is not None]
        assert not [x for x in lines if x.kind == "down"]
        assert {(r.cluster, r.canary_pct) for r in rows} == {("prod-eu", 10), ("staging", 30)}
        assert len(rows) == 2 * N
        text = screen_text(app)
        assert " prod-eu " in text and " staging " in text
        assert app.fleet.badges == {"prod-eu": "red", "staging": "cyan"}
    app.shutdown()


def test_check_config_checks_every_rollout_in_each_cluster(world: dict[str, Any]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "monotui", "check-config", "-c", str(world["config"])]
        + ["--context", "prod-eu,staging"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for cluster in ("prod-eu", "staging"):
        assert f"svc-000@{cluster}: router istio: ok" in done.stdout
    # Each cluster was asked about its own objects.
    for fake in (world["eu"], world["us"]):
        assert fake.count_requests("get", path="virtualservices/svc-000") >= 1
