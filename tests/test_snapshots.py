"""Snapshot tests of the main states (fixed seed, simulated clock, UTC, no animation).

The states are the ones `make screenshots` renders (bench/screenshots.py), so the README's images
and these baselines show the same thing. Update with `pytest --snapshot-update` and look at them.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from bench.screenshots import STATES, build
from tests.test_app_support import settle


@pytest.mark.parametrize(
    "name",
    ["healthy", "bad-canary", "rolled-back", "read-only", "fleet", "cockpit-80x24"],
)
def test_cockpit_states(name: str, snap_compare: Any) -> None:
    state = STATES[name]

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in state.keys:
            await pilot.press(key)
            await settle(pilot)

    assert snap_compare(build(name), terminal_size=state.size, run_before=run_before)


@pytest.mark.parametrize("look", ["16-colours", "ascii"])
def test_cockpit_on_a_plain_terminal(look: str, snap_compare: Any) -> None:
    # The failing canary at 80x24 as a 16-colour terminal (TERM=xterm) and a console without the
    # glyphs (TERM=linux) draw it: canary and baseline apart and neither red; ASCII only.
    state = STATES["cockpit-80x24"]
    app = build(state.name, ascii=look == "ascii", colors16=look == "16-colours")

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in state.keys:
            await pilot.press(key)
            await settle(pilot)

    assert snap_compare(app, terminal_size=state.size, run_before=run_before)
