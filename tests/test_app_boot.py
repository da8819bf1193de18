"""Pilot tests of the start: the first frame comes before the world exists and says so honestly."""

from __future__ import annotations

import threading
from typing import Any

from monotui.app import Fleet, MonotuiApp
from monotui.screens.cockpit import CockpitScreen
from monotui.screens.fleet import FleetScreen
from monotui.sim.demo import build_demo
from tests.test_app_support import screen_text, settle

SIZE = (120, 40)


def gated_boot(
    gate: threading.Event, only: str | None = None, built: list[Any] | None = None
) -> Any:
    """A boot that builds the demo only once `gate` is set, like a slow start; the demo goes
    into `built`."""

    def boot() -> Fleet:
        gate.wait(timeout=10)
        demo = build_demo("bad-canary", seed=7, realtime=False)
        if built is not None:
            built.append(demo)
        return Fleet([r for r in demo.rollouts if only is None or r.name == only])

    return boot


async def test_first_frame_says_starting_then_shows_the_rollouts() -> None:
    gate = threading.Event()
    built: list[Any] = []
    app = MonotuiApp(title="demo", poll=False, boot=gated_boot(gate, built=built))
    app.animation_level = "none"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert isinstance(app.screen, FleetScreen)
        assert "starting" in text
        assert "checkout" not in text and "%" not in text  # no rows, no made-up numbers
        await pilot.press("a", "r", "enter")  # nothing to steer yet: nothing happens, no crash
        gate.set()
        await settle(pilot)
        text = screen_text(app)
        assert "starting" not in text
        assert "checkout" in text and "reviews" in text and "1 % canary" in text
        assert built and built[0].world.route("checkout")[0].canary == 1


async def test_one_rollout_opens_its_cockpit_after_the_start() -> None:
    gate = threading.Event()
    gate.set()
    app = MonotuiApp(title="demo", poll=False, boot=gated_boot(gate, "checkout"))
    app.animation_level = "none"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, CockpitScreen) and app.screen.rollout == "checkout"
        assert len(app.screen_stack) == 2  # the starting fleet was replaced, escape cannot reach it
        assert "error rate" in screen_text(app)


async def test_a_failed_start_says_why_and_the_app_stays_up() -> None:
    def boot() -> Fleet:
        raise RuntimeError("no world [bold]today[/bold]")

    app = MonotuiApp(title="demo", poll=False, boot=boot)
    app.animation_level = "none"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "could not start" in text
        assert "no world [bold]today[/bold]" in text  # the message is shown literally
        assert app.is_running
