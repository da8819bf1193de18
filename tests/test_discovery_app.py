"""`monotui -A` with no config file: the fleet opens with every discovered rollout, and `a`/`r`
move the Istio, Gateway API and Argo rows in the (fake) cluster, while the Flagger row refuses
them with the reason and sends nothing. Pilot tests on the app `monotui -A` builds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from textual.pilot import Pilot

from monotui.app import MonotuiApp
from monotui.cli import build_parser
from monotui.commands.common import Session, session, with_defaults
from monotui.model import ActionEvent
from monotui.screens.fleet import FleetScreen
from tests.discovery_world import Cluster, cluster  # noqa: F401
from tests.test_app_support import screen_text, settle
from widgets import FleetTable

SIZE = (120, 40)
ROWS = ["reviews", "rollouts-demo", "podinfo", "foo-route"]
ISTIO, GATEWAY = "networking.istio.io", "gateway.networking.k8s.io"


@pytest.fixture
async def fleet(cluster: Cluster) -> AsyncIterator[tuple[Session, MonotuiApp]]:  # noqa: F811
    built = session(with_defaults(build_parser().parse_args(["-A"])))
    app = MonotuiApp(built.rollouts, title="monotui", poll=False)
    app.animation_level = "none"
    app.fleet.notes, app.fleet.inferred = built.loaded.notes, built.loaded.sources  # as watch does
    try:
        yield built, app
    finally:
        built.close()


async def highlight(pilot: Pilot[Any], name: str) -> None:
    """Move the cursor down from the top to `name`'s row (the fleet sorts by severity, so its
    place is not the config's)."""
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, FleetScreen)
    table = screen.query_one(FleetTable)
    await pilot.press("home")
    for _ in range(len(table.lines)):
        await settle(pilot)
        if table.current_rollout() == name:
            return
        await pilot.press("down")
    raise AssertionError(f"no row of {name} in the fleet")


def weights_of(route: dict[str, Any], key: str) -> list[int]:
    return [entry.get("weight") for entry in route[key]]


async def test_the_fleet_has_every_discovered_rollout(
    cluster: Cluster,  # noqa: F811
    fleet: tuple[Session, MonotuiApp],
) -> None:
    _, app = fleet
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FleetScreen)
        text = screen_text(app)
        for name in ROWS:
            assert name in text
        for name, share in (("reviews", 20), ("rollouts-demo", 5), ("podinfo", 20)):
            snapshot = app.store.get(name)
            assert snapshot is not None and snapshot.weights is not None, name
            assert snapshot.weights.canary == share, name


async def test_a_and_r_move_the_istio_gateway_and_argo_rows(
    cluster: Cluster,  # noqa: F811
    fleet: tuple[Session, MonotuiApp],
) -> None:
    _, app = fleet
    async with app.run_test(size=SIZE) as pilot:
        await highlight(pilot, "reviews")
        await pilot.press("a")
        await settle(pilot)
        vs = cluster.object(ISTIO, "v1", "virtualservices", "bookinfo", "reviews")
        assert weights_of(vs["spec"]["http"][0], "route") == [75, 25]  # 20 -> the next step, 25
        await pilot.press("r")
        await settle(pilot)
        vs = cluster.object(ISTIO, "v1", "virtualservices", "bookinfo", "reviews")
        assert weights_of(vs["spec"]["http"][0], "route") == [100, 0]

        await highlight(pilot, "foo-route")
        await pilot.press("a")
        await settle(pilot)
        route = cluster.object(GATEWAY, "v1", "httproutes", "web", "foo-route")
        assert weights_of(route["spec"]["rules"][0], "backendRefs") == [75, 25]
        await pilot.press("r")
        await settle(pilot)
        route = cluster.object(GATEWAY, "v1", "httproutes", "web", "foo-route")
        assert weights_of(route["spec"]["rules"][0], "backendRefs") == [100, 0]

        await highlight(pilot, "rollouts-demo")
        await pilot.press("a")  # Argo's promote: the pause at step 2 is over
        await settle(pilot)
        rollout = cluster.object("argoproj.io", "v1alpha1", "rollouts", "default", "rollouts-demo")
        assert "pauseConditions" not in rollout["status"]
        await pilot.press("r")  # Argo's abort
        await settle(pilot)
        rollout = cluster.object("argoproj.io", "v1alpha1", "rollouts", "default", "rollouts-demo")
        assert rollout["status"]["abort"] is True
        # Argo owns its VirtualService's weights: monotui never wrote them.
        assert cluster.fake.count_requests(method="PATCH", path="rollouts-demo-vsvc") == 0


async def test_the_flagger_row_refuses_a_and_r_with_the_reason(
    cluster: Cluster,  # noqa: F811
    fleet: tuple[Session, MonotuiApp],
) -> None:
    _, app = fleet
    async with app.run_test(size=SIZE) as pilot:
        await highlight(pilot, "podinfo")
        writes = cluster.fake.count_requests(method="PATCH")
        for key in ("a", "r"):
            await pilot.press(key)
            await settle(pilot)
            snapshot = app.store.get("podinfo")
            assert snapshot is not None
            refused = [e for e in snapshot.events if isinstance(e, ActionEvent)][-1]
            assert refused.outcome == "refused", refused.text
            assert "Flagger overwrites direct edits of its VirtualService podinfo" in refused.text
        assert cluster.fake.count_requests(method="PATCH") == writes
        vs = cluster.object(ISTIO, "v1", "virtualservices", "test", "podinfo")
        assert weights_of(vs["spec"]["http"][0], "route") == [80, 20]
        await pilot.press("enter")  # its cockpit: the events panel says why
        await settle(pilot)
        assert "Flagger overwrites direct" in screen_text(app)


async def test_help_shows_how_each_value_was_found(
    cluster: Cluster,  # noqa: F811
    fleet: tuple[Session, MonotuiApp],
) -> None:
    _, app = fleet
    async with app.run_test(size=(120, 60)) as pilot:
        await highlight(pilot, "reviews")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        text = screen_text(app)
        assert "How discovery found them" in text
        assert "metrics.version_label" in text and "destinationrule bookinfo/reviews" in text
        assert "rollouts-demo" not in text  # the cockpit's help: this rollout only
