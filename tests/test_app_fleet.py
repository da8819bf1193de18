"""Pilot tests of the fleet's keys: a, p, r, P and w steer the highlighted rollout, k9s style,
with the cockpit's confirmations; in read-only mode they are hidden and change nothing."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from monotui.screens.dialogs import ConfirmScreen, WeightInputScreen
from monotui.screens.fleet import FleetScreen
from tests.test_app_support import demo_app, screen_text, settle, weights

SIZE = (120, 40)


async def highlight(pilot: Pilot[Any], row: int) -> None:
    """Move the fleet's cursor to `row` (0: checkout, 1: reviews)."""
    await settle(pilot)
    assert isinstance(pilot.app.screen, FleetScreen)
    await pilot.press("up", "up", *(["down"] * row))
    await settle(pilot)


async def test_advance_and_rollback_act_on_the_highlighted_rollout() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await highlight(pilot, 1)
        await pilot.press("a")
        await settle(pilot)
        assert weights(demo, "reviews").canary == 25
        assert weights(demo).canary == 1  # the other row is untouched
        assert isinstance(app.screen, FleetScreen)  # the fleet stays; the row shows the change
        assert "25 % canary" in screen_text(app)
        await pilot.press("r")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)  # rollback never asks
        assert weights(demo, "reviews").canary == 0
        await highlight(pilot, 0)
        await pilot.press("a")
        await settle(pilot)
        assert weights(demo).canary == 5
        assert weights(demo, "reviews").canary == 0


async def test_pause_toggles_the_highlighted_rollout() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await highlight(pilot, 1)
        await pilot.press("p")
        await settle(pilot)
        assert app.store.get("reviews").plan.paused
        assert not app.store.get("checkout").plan.paused
        assert "Paused" in screen_text(app)
        await pilot.press("p")
        await settle(pilot)
        assert not app.store.get("reviews").plan.paused


async def test_promote_asks_first_and_cancel_changes_nothing() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await highlight(pilot, 1)
        await pilot.press("P")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "reviews" in screen_text(app)  # the question names the rollout it will move
        await pilot.press("n")
        await settle(pilot)
        assert weights(demo, "reviews").canary == 10
        await pilot.press("P")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert weights(demo, "reviews").canary == 100
        assert weights(demo).canary == 1


async def test_set_weight_asks_for_the_number() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await highlight(pilot, 0)
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, WeightInputScreen)
        await pilot.press("3", "0", "enter")
        await settle(pilot)
        assert weights(demo).canary == 30
        await pilot.press("w", "escape")
        await settle(pilot)
        assert weights(demo).canary == 30
        assert weights(demo, "reviews").canary == 10


async def test_read_only_fleet_hides_the_keys_and_changes_nothing() -> None:
    demo, app = demo_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await highlight(pilot, 1)
        footer = screen_text(app).splitlines()[-1]
        assert "open" in footer and "help" in footer
        assert "advance" not in footer and "rollback" not in footer and "promote" not in footer
        for key in ("a", "r", "P", "y", "w", "5", "0", "enter", "escape", "p"):
            await pilot.press(key)
            await settle(pilot)
        assert weights(demo, "reviews").canary == 10 and weights(demo).canary == 1
        assert not app.store.get("reviews").plan.paused


async def test_footer_follows_the_highlighted_rollout() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await highlight(pilot, 1)
        await pilot.press("P", "y")  # reviews at 100 %: nothing left to advance or promote
        await settle(pilot)
        assert weights(demo, "reviews").canary == 100
        assert app.screen.check_action("advance", ()) is None  # dimmed
        assert app.screen.check_action("rollback", ()) is True
        await highlight(pilot, 0)
        assert app.screen.check_action("advance", ()) is True
