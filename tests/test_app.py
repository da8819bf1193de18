"""Pilot tests: every key does to the simulated world what DESIGN.md says, and nothing more."""

from __future__ import annotations

from monotui.app import TOAST_CHARS
from monotui.screens.cockpit import CockpitScreen
from monotui.screens.dialogs import ConfirmScreen, WeightInputScreen
from monotui.screens.fleet import FleetScreen
from monotui.screens.help import HelpScreen
from tests.test_app_support import (
    demo_app,
    flag_state,
    open_cockpit,
    screen_text,
    settle,
    wait_for_text,
    weights,
)

SIZE = (120, 40)


async def test_fleet_first_enter_opens_cockpit_escape_goes_back() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FleetScreen)
        text = screen_text(app)
        assert "checkout" in text and "reviews" in text
        await open_cockpit(pilot, row=1)
        assert isinstance(app.screen, CockpitScreen) and app.screen.rollout == "reviews"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, FleetScreen)


async def test_advance_moves_one_step_and_logs_it() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        assert weights(demo).canary == 1
        await pilot.press("a")
        await settle(pilot)
        assert weights(demo).canary == 5
        assert any("advanced" in e.text for e in app.store.get("checkout").events)
        assert "advanced" in screen_text(app)
        assert weights(demo, "reviews").canary == 10  # the other rollout is untouched


async def test_rollback_is_immediate_and_reaches_zero() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        await pilot.press("a", "a")
        await settle(pilot)
        assert weights(demo).canary == 10
        await pilot.press("r")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)  # never asks
        assert weights(demo).canary == 0
        assert app.store.get("checkout").phase.value == "RolledBack"


async def test_pause_toggles_automation() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert app.store.get("checkout").plan.paused
        assert "Paused" in screen_text(app)
        await pilot.press("p")
        await settle(pilot)
        assert not app.store.get("checkout").plan.paused
        assert weights(demo).canary == 1  # pausing never moves traffic


async def test_promote_asks_and_cancel_changes_nothing() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        await pilot.press("P")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert weights(demo).canary == 1
        await pilot.press("P")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert weights(demo).canary == 100
        assert app.store.get("checkout").phase.value == "Promoted"


async def test_set_weight_validates_and_applies() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, WeightInputScreen)
        await pilot.press("1", "5", "0", "enter")
        await settle(pilot)
        assert isinstance(app.screen, WeightInputScreen)  # 150 is refused, the dialog stays
        assert "0 to 100" in screen_text(app)
        assert weights(demo).canary == 1
        await pilot.press("backspace", "backspace", "backspace", "2", "5", "enter")
        await settle(pilot)
        assert weights(demo).canary == 25
        await pilot.press("w", "escape")
        await settle(pilot)
        assert weights(demo).canary == 25


async def test_flag_toggle_needs_confirmation() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        before = flag_state(demo, "new-checkout")
        await pilot.press("f", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert flag_state(demo, "new-checkout") == before
        await pilot.press("f", "enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert flag_state(demo, "new-checkout") != before
        assert any("new-checkout" in e.text for e in app.store.get("checkout").events)


async def test_read_only_no_key_changes_anything() -> None:
    demo, app = demo_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        assert "READ-ONLY" in screen_text(app)
        flags = flag_state(demo, "new-checkout")
        for key in ("a", "r", "P", "y", "w", "5", "0", "enter", "p", "f", "enter", "y"):
            await pilot.press(key)
            await settle(pilot)
        assert weights(demo).canary == 1
        assert flag_state(demo, "new-checkout") == flags
        assert not app.store.get("checkout").plan.paused
        footer = screen_text(app).splitlines()[-1]
        assert "help" in footer
        assert "advance" not in footer and "promote" not in footer


async def test_help_lists_every_key() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for word in ("advance", "rollback", "promote", "weight", "flags", "quit", "NO DATA"):
            assert word in text
        await pilot.press("escape")
        assert isinstance(app.screen, CockpitScreen)


async def test_palette_offers_actions_of_every_rollout_and_runs_them() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        await pilot.press("colon")
        shown = await wait_for_text(pilot, "checkout: advance")
        # The rollouts' actions come first, before Textual's own commands (keys, theme...).
        assert shown.split("Search for commands…", 1)[1].lstrip().startswith("checkout:")
        # The list is longer than the palette: narrow it to the other rollout.
        await pilot.press(*"reviews")
        await wait_for_text(pilot, "reviews: advance")
        await pilot.press(*" roll")
        await wait_for_text(pilot, "reviews: roll back")
        await pilot.press("enter")
        await settle(pilot)
        assert weights(demo, "reviews").canary == 0
        assert weights(demo).canary == 1


async def test_palette_puts_the_kill_switch_first_when_failing() -> None:
    demo, app = demo_app("bad-canary")
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        await pilot.press("P", "y")
        await settle(pilot)
        for _ in range(8):
            demo.tick()
        app.show_latest("checkout")
        await settle(pilot)
        assert app.store.get("checkout").verdict.result.value == "FAIL"
        assert "turning off new-checkout may stop the errors" in screen_text(app)
        await pilot.press("colon")
        first = (await wait_for_text(pilot, "checkout:")).split("checkout:", 1)[1]
        assert first.lstrip().startswith("toggle flag new-checkout")


async def test_a_dry_run_toast_is_short_at_80x24_and_the_events_keep_the_patch() -> None:
    """The toast covers the plan's "next" line and the verdict: two lines, the patch elsewhere."""
    demo, app = demo_app(dry_run=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_cockpit(pilot)
        await pilot.press("a")
        await settle(pilot)
        toasts = [n.message for n in app._notifications]
        assert toasts and all(len(t) <= TOAST_CHARS for t in toasts), toasts
        assert toasts[-1].endswith("(all in the events)")
        events = [e.text for e in app.store.get("checkout").events]
        assert any("would send" in e and '"op": "test"' in e for e in events)
        assert weights(demo).canary == 1  # a dry run sends nothing
