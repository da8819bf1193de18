"""Helpers of the Pilot and snapshot tests: a deterministic demo app and ways to wait and look."""

from __future__ import annotations

import html
import re
import time
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.worker import WorkerState

from monotui.app import MonotuiApp
from monotui.model import Weights
from monotui.sim.demo import Demo, build_demo


def demo_app(
    scenario: str = "healthy", *, read_only: bool = False, ticks: int = 0, **kwargs: Any
) -> tuple[Demo, MonotuiApp]:
    """A non-real-time demo (seed 7) moved `ticks` polls ahead, and an app that polls only at start
    and after actions, so every test sees the same world."""
    demo = build_demo(scenario, seed=7, realtime=False, read_only=read_only, **kwargs)
    demo.start()
    for _ in range(ticks):
        demo.tick()
    app = MonotuiApp(demo.rollouts, title=f"demo {scenario}", poll=False, started=True)
    app.animation_level = "none"
    return demo, app


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until no worker runs and no message that starts one is pending (never a sleep)."""
    app = pilot.app
    for _ in range(50):
        await pilot.pause()
        busy = [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
        if not busy:
            await pilot.pause()
            if not [
                w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)
            ]:
                return
        await app.workers.wait_for_complete()
    raise AssertionError("the app did not settle")


async def open_cockpit(pilot: Pilot[Any], row: int = 0) -> None:
    """From the fleet, open the cockpit of the `row`-th rollout."""
    await settle(pilot)
    for _ in range(row):
        await pilot.press("down")
    await pilot.press("enter")
    await settle(pilot)


def weights(demo: Demo, rollout: str = "checkout") -> Weights:
    """The simulated router's weights (the world's truth, not what the UI shows)."""
    return demo.world.route(rollout)[0]


def flag_state(demo: Demo, key: str, rollout: str = "checkout") -> tuple[str, str]:
    """(state, default variant) of a flag in the simulated world."""
    specs, _ = demo.world.flags(rollout)
    spec = next(s for s in specs if s.key == key)
    return spec.state, spec.default_variant


def screen_text(app: App[Any]) -> str:
    """What the terminal shows, as plain text lines (from the SVG screenshot)."""
    svg = app.export_screenshot()
    rows: dict[float, list[str]] = {}
    for y, body in re.findall(r'<text[^>]*\by="([0-9.]+)"[^>]*>(.*?)</text>', svg, flags=re.S):
        rows.setdefault(float(y), []).append(body)
    lines = ("".join(parts) for _, parts in sorted(rows.items()))
    return "\n".join(html.unescape(line).replace("\xa0", " ") for line in lines)


async def wait_for_text(pilot: Pilot[Any], text: str, timeout_s: float = 5.0) -> str:
    """Poll the screen until `text` shows (the palette fills its list from an async worker that
    may start after the key press was handled); returns the screen text, fails at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        await settle(pilot)
        shown = screen_text(pilot.app)
        if text in shown:
            return shown
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never showed; screen:\n{shown}")
        await pilot.pause()
