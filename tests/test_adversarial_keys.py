"""Adversarial: a tired on-call engineer at the keys. Every key acts or says why; moving traffic
towards a failing canary asks first and says what the judge says; the weight dialog takes whole
percentages only; the kill-switch advice follows the flag's real value; the three ways to start
the cockpit behave the same."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from bench.terminal import start
from monotui.app import MonotuiApp
from monotui.model import Sample
from monotui.rollout import assemble
from monotui.screens.dialogs import ConfirmScreen, WeightInputScreen
from monotui.sim.demo import Demo, build_demo
from monotui.sim.sources import SimRouter
from tests.test_app_support import (
    demo_app,
    flag_state,
    open_cockpit,
    screen_text,
    settle,
    wait_for_text,
    weights,
)

ROOT = Path(__file__).resolve().parent.parent
SIZE = (120, 40)


def notes(app: MonotuiApp) -> list[str]:
    """Every notification the app shows from now on (a toast wraps its text on screen)."""
    said: list[str] = []
    original = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        said.append(str(message))
        original(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return said


def question(app: MonotuiApp) -> str:
    assert isinstance(app.screen, ConfirmScreen)
    return app.screen.question.plain


async def failing(pilot: Pilot[Any], demo: Demo, app: MonotuiApp, canary: int = 25) -> None:
    """Put checkout's canary at `canary` % and let the bad canary fail there."""
    await pilot.press("w", *str(canary), "enter")
    await settle(pilot)
    for _ in range(12):
        demo.tick()
        if demo.rollout("checkout").snapshot().verdict.result.value == "FAIL":
            break
    app.show_latest("checkout")
    await settle(pilot)
    assert app.store.get("checkout").verdict.result.value == "FAIL"


async def test_the_weight_dialog_refuses_what_is_not_a_whole_percentage() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        for typed in ("2.5", "10.0", "-5", "1e2", "ten"):
            await pilot.press("w", *typed, "enter")
            await settle(pilot)
            assert isinstance(app.screen, WeightInputScreen), typed  # stays open, says why
            shown = screen_text(app)
            assert "whole" in shown or "number" in shown, typed
            assert weights(demo).canary == 1, typed  # 2.5 never became 25, 10.0 never 100
            await pilot.press("escape")
            await settle(pilot)
        await pilot.press("w", "2", "5", " ", "%", "enter")  # "25 %" is a whole percentage
        await settle(pilot)
        assert weights(demo).canary == 25


async def test_w_then_100_asks_like_promote_and_names_the_verdict() -> None:
    demo, app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        await pilot.press("w", "1", "0", "0", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        text = screen_text(app)
        assert "send 100 % of traffic to the canary" in text and "The judge says" in text
        await pilot.press("n")
        await settle(pilot)
        assert weights(demo).canary == 1
        await pilot.press("w", "1", "0", "0", "enter", "y")
        await settle(pilot)
        assert weights(demo).canary == 100


async def test_the_promote_dialog_names_the_verdict() -> None:
    demo, app = demo_app("bad-canary")
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        await failing(pilot, demo, app)
        await pilot.press("P")
        await settle(pilot)
        assert "The judge says FAIL" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert weights(demo).canary == 25


async def test_advancing_a_failing_canary_asks_first_by_key_palette_and_weight() -> None:
    demo, app = demo_app("bad-canary")
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        await failing(pilot, demo, app)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        text = screen_text(app)
        assert "The judge says FAIL" in text and "Advance checkout to 50 % anyway?" in text
        await pilot.press("n")
        await settle(pilot)
        assert weights(demo).canary == 25
        await pilot.press("colon")
        await wait_for_text(pilot, "checkout: advance")
        await pilot.press(*"checkout: advance", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen) and "FAIL" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("w", "4", "0", "enter")  # upwards: asks
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen) and "Raise" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert weights(demo).canary == 25
        await pilot.press("w", "5", "enter")  # downwards, the safe direction: at once
        await settle(pilot)
        assert weights(demo).canary == 5
        await pilot.press("a", "y")  # asked, and confirmed
        await settle(pilot)
        assert weights(demo).canary == 10


async def test_once_the_kill_switch_is_off_the_advice_says_so_and_never_offers_it_first() -> None:
    demo, app = demo_app("bad-canary")
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        await failing(pilot, demo, app)
        assert "turning off new-checkout may stop the errors" in screen_text(app)
        await pilot.press("f", "enter", "y")  # turn the kill switch off
        await settle(pilot)
        assert flag_state(demo, "new-checkout")[1] == "off"
        # The flag is still ENABLED (its state); its value is false: it is off.
        snapshot = app.store.get("checkout")
        flag = next(f for f in snapshot.flags if f.key == "new-checkout")
        assert flag.state == "ENABLED" and flag.value is False
        assert snapshot.verdict.result.value == "FAIL"  # the errors have not gone yet
        text = screen_text(app)
        assert "turning off" not in text and "is off already" in text
        await pilot.press("colon")
        shown = await wait_for_text(pilot, "checkout:")
        first = shown.split("Search for commands…", 1)[1].lstrip()
        assert not first.startswith("checkout: toggle flag new-checkout")
        await pilot.press(*"new-checkout")
        shown = await wait_for_text(pilot, "toggle flag new-checkout")
        assert "turns it back on" in shown
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f", "enter")  # the question says so too
        await settle(pilot)
        await settle(pilot)
        assert "kill switch and it is off" in question(app)


async def test_in_read_only_every_writing_key_says_why() -> None:
    demo, app = demo_app(read_only=True)
    said = notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        keys = (("r", "rollback"), ("w", "set weight"), ("a", "advance"), ("p", "pause"))
        for key, word in (*keys, ("P", "promote")):
            said.clear()
            await pilot.press(key)
            await settle(pilot)
            assert said == [
                f"read-only: {key} ({word}) does nothing: monotui was started with "
                "--read-only, so nothing can be written"
            ], key
        said.clear()
        await pilot.press("f", "enter")
        await settle(pilot)
        assert said == ["read-only: flags cannot be toggled"]
        assert weights(demo).canary == 1


async def test_a_key_that_does_not_apply_says_why() -> None:
    demo, app = demo_app()
    said = notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await open_cockpit(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert weights(demo).canary == 0
        said.clear()
        await pilot.press("r")  # at 0 % already
        await settle(pilot)
        assert said == ["nothing to roll back: the canary has 0 % already"]


class _HangingHistory:
    """Metrics whose history (the first thing the start reads) waits for `gate`."""

    name = "metrics"

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate

    def fetch(self) -> Sample:
        return Sample(t=time.time())

    def history(self, span_s: float, points: int) -> tuple[Sample, ...]:
        self.gate.wait(20)
        return ()

    def close(self) -> None:
        self.gate.set()


async def test_before_the_first_route_read_r_still_rolls_back() -> None:
    demo = build_demo("healthy", seed=7, realtime=False)
    cfg = demo.rollout("checkout").config
    gate = threading.Event()
    ctl = assemble(cfg, router=SimRouter(demo.world, "checkout"), metrics=_HangingHistory(gate))
    app = MonotuiApp([ctl], poll=False)
    app.animation_level = "none"
    said = notes(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert app.store.get("checkout").weights is None  # not read yet: the start hangs
            await pilot.press("a")
            await pilot.pause()
            assert said and "waits for the route" in said[-1]
            assert weights(demo).canary == 1
            await pilot.press("r")
            deadline = time.monotonic() + 5
            while weights(demo).canary != 0:
                assert time.monotonic() < deadline, "r did not roll back"
                await pilot.pause(0.02)
            gate.set()
            await settle(pilot)
    finally:
        gate.set()
        ctl.close()


CONFIG = """
[audit]
path = "{audit}"

[[rollouts]]
name = "standalone"
[rollouts.router]
kind = "none"
[rollouts.metrics]
kind = "none"
"""


def test_monotui_and_monotui_c_and_monotui_watch_are_the_same_cockpit(tmp_path: Path) -> None:
    (tmp_path / "monotui.toml").write_text(CONFIG.format(audit=tmp_path / "audit.jsonl"))
    python = sys.executable
    cfg = tmp_path / "monotui.toml"
    forms = (
        f"cd {tmp_path} && exec {python} -m monotui",
        f"exec {python} -m monotui -c {cfg}",
        f"exec {python} -m monotui watch -c {cfg}",
    )
    for form in forms:
        session = start(["sh", "-c", form])
        try:
            session.wait_for(b"standalone", 30)
            session.wait_for(b"quit", 30)
            os.write(session.master, b"q")
            code = None
            deadline = time.monotonic() + 10
            while code is None and time.monotonic() < deadline:
                try:
                    code = session.proc.wait(0.05)
                except subprocess.TimeoutExpired:
                    continue
            assert code == 0, form
            assert b"Traceback" not in bytes(session.output), form
        finally:
            session.close()
