"""Snapshot tests of the fleet with 300 simulated rollouts in two clusters (seeded world,
simulated clock, UTC, no animation), at 80x24 and 200x60, as it opens (worst first) and grouped
by namespace. Update with `pytest --snapshot-update` and look at them."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from bench.screenshots import fixed_clock
from monotui.app import MonotuiApp
from monotui.sim.fleet import build_fleet
from tests.test_app_support import settle


def fleet_app() -> MonotuiApp:
    fixed_clock()
    demo = build_fleet(300)
    demo.start()
    app = MonotuiApp(demo.rollouts, title="fleet demo", poll=False, started=True)
    app.animation_level = "none"
    return app


@pytest.mark.parametrize(
    ("size", "keys"),
    [((80, 24), ()), ((200, 60), ()), ((200, 60), ("g",))],
    ids=["80x24", "200x60", "200x60-by-namespace"],
)
def test_fleet_of_300(size: tuple[int, int], keys: tuple[str, ...], snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    assert snap_compare(fleet_app(), terminal_size=size, run_before=run_before)
