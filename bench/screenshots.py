"""Deterministic cockpit states (fixed seed, simulated clock) and SVG screenshots of them.

`python -m bench.screenshots DIR` writes one SVG per state into DIR; the snapshot tests render the
same states, so what the README shows is what the tests check.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monotui.app import MonotuiApp
from monotui.model import Action, ActionKind
from monotui.sim.demo import Demo, build_demo


@dataclass(frozen=True)
class State:
    """A named state: how to build the world, which keys to press, at which terminal size."""

    name: str
    scenario: str
    prepare: Callable[[Demo], None]
    keys: tuple[str, ...] = ("enter",)
    size: tuple[int, int] = (120, 40)
    read_only: bool = False


def _ticks(demo: Demo, n: int) -> None:
    for _ in range(n):
        demo.tick()


def _apply(demo: Demo, kind: ActionKind, weight: int | None = None) -> None:
    result = demo.rollout("checkout").apply(
        Action(kind, "checkout", origin="key", weight_pct=weight)
    )
    if not result.ok:
        raise RuntimeError(result.message)


def healthy_mid_rollout(demo: Demo) -> None:
    """Three steps up (25 %), then a while of traffic."""
    for _ in range(3):
        _apply(demo, ActionKind.ADVANCE)
        _ticks(demo, 6)


def bad_canary_failing(demo: Demo) -> None:
    """25 % of traffic on a bad canary until the judge says FAIL."""
    _apply(demo, ActionKind.SET_WEIGHT, 25)
    _ticks(demo, 10)


def rolled_back(demo: Demo) -> None:
    """The failing canary after `r`."""
    bad_canary_failing(demo)
    _apply(demo, ActionKind.ROLLBACK)
    _ticks(demo, 4)


def watching(demo: Demo) -> None:
    """A few polls of a read-only watch."""
    _ticks(demo, 6)


STATES: dict[str, State] = {
    s.name: s
    for s in (
        State("healthy", "healthy", healthy_mid_rollout),
        State("bad-canary", "bad-canary", bad_canary_failing),
        State("rolled-back", "bad-canary", rolled_back),
        State("read-only", "healthy", watching, read_only=True),
        State("fleet", "bad-canary", bad_canary_failing, keys=()),
        State("cockpit-80x24", "bad-canary", bad_canary_failing, size=(80, 24)),
        State("cockpit-200x60", "healthy", healthy_mid_rollout, size=(200, 60)),
    )
}


def fixed_clock() -> None:
    """Event times in UTC, whatever the machine's zone, so screenshots do not depend on it."""
    os.environ["TZ"] = "UTC"
    time.tzset()


def build(name: str, *, ascii: bool = False, colors16: bool = False) -> MonotuiApp:
    """The app in state `name`, polling only when asked (no timers), animations off; drawn in
    ASCII or with the 16-colour palette when asked."""
    fixed_clock()
    state = STATES[name]
    demo = build_demo(state.scenario, seed=7, realtime=False, read_only=state.read_only)
    demo.start()
    state.prepare(demo)
    app = MonotuiApp(
        demo.rollouts,
        title=f"monotui demo: {state.scenario}",
        poll=False,
        started=True,
        ascii=ascii,
        colors16=colors16,
    )
    app.animation_level = "none"
    return app


async def settle(app: MonotuiApp) -> None:
    """Until every poll worker finished and its message was handled."""
    for _ in range(20):
        await app.workers.wait_for_complete()
        await asyncio.sleep(0)  # let the posted messages run; not a timed wait
        if not any(w.is_running for w in app.workers):
            break


async def render(name: str) -> str:
    """The SVG of state `name`."""
    state = STATES[name]
    app = build(name)
    async with app.run_test(size=state.size) as pilot:
        await pilot.pause()
        await settle(app)
        await pilot.pause()
        for key in state.keys:
            await pilot.press(key)
            await pilot.pause()
            await settle(app)
        await pilot.pause()
        return portable(app.export_screenshot(title=f"monotui: {name}"))


LETTER_SPACING_PX = 0.16
"""Rich lays cells out 12.2 px apart (0.61 em at 20 px); DejaVu Sans Mono, what librsvg falls back
to without Fira Code, advances 12.04 px."""


def portable(svg: str) -> str:
    """The SVG as librsvg (rsvg-convert, many viewers) draws it like a browser does.

    librsvg ignores `textLength`, so a long run of box-drawing characters ends about a cell early (the
    limit line looked shorter than the chart), and it drops leading spaces without
    `xml:space="preserve"` ("checkout  shop@sim" read "checkoutshop@sim"). Browsers honour
    `textLength`, so the letter spacing added here changes nothing for them.
    """
    svg = svg.replace("<svg ", '<svg xml:space="preserve" ', 1)
    style = f"<style>\n    text {{ letter-spacing: {LETTER_SPACING_PX}px; }}\n    </style>\n"
    head, sep, rest = svg.partition("<style>")
    return head + style + sep + rest if sep else svg


def main(argv: list[str] | None = None) -> int:
    """Write every state's SVG into the directory given (default: screenshots/)."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    for name in STATES:
        svg = asyncio.run(render(name))
        (out / f"{name}.svg").write_text(svg, encoding="utf-8")
        print(out / f"{name}.svg")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
