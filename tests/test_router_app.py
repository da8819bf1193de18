"""Pilot: the cockpit steering a VirtualService on the fake API server with the keys."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from monotui.app import MonotuiApp
from monotui.audit import AuditLog
from monotui.model import Weights
from monotui.rollout import assemble
from monotui.sources.router_istio import IstioRouter
from tests.fakekube import FakeKube
from tests.router_helpers import ISTIO, NS, kube, no_metrics, rollout, virtual_service
from tests.test_app_support import screen_text, settle
from widgets import EventLog

SIZE = (120, 40)


def canary(fake: FakeKube) -> int:
    obj = fake.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    weight: int = obj["spec"]["http"][0]["route"][1]["weight"]
    return weight


def cockpit(fake: FakeKube, kubeconfig: Path, *, read_only: bool = False) -> MonotuiApp:
    conn = kube(kubeconfig)
    cfg = rollout()
    cfg = no_metrics(cfg)
    ctl = assemble(
        cfg,
        router=IstioRouter(conn, cfg, can_write=not read_only),
        audit=AuditLog(None),
        context=conn.context,
        kube_user=conn.user,
        read_only=read_only,
    )
    app = MonotuiApp([ctl], title="monotui", poll=False)
    app.animation_level = "none"
    return app


async def until(pilot: Pilot[Any], predicate: Any, timeout_s: float = 2.0) -> None:
    """Let the app run until `predicate()` holds (a deadline, not a fixed sleep)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        await pilot.pause(0.01)


async def test_the_keys_move_the_virtual_service(
    fake_kube: FakeKube, fake_kubeconfig: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    app = cockpit(fake_kube, fake_kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.store.get("reviews").weights == Weights(90, 10)
        await pilot.press("a")
        await settle(pilot)
        assert canary(fake_kube) == 25
        assert "advanced: 90/10 -> 75/25" in screen_text(app)
        await pilot.press("w", "4", "0", "enter")
        await settle(pilot)
        assert canary(fake_kube) == 40
        await pilot.press("P", "y")
        await settle(pilot)
        assert canary(fake_kube) == 100
        await pilot.press("r")
        await settle(pilot)
        assert canary(fake_kube) == 0
        assert app.store.get("reviews").weights == Weights(100, 0)
    app.rollouts[0].close()


async def test_a_change_made_elsewhere_shows_up_and_is_not_overwritten(
    fake_kube: FakeKube, fake_kubeconfig: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    app = cockpit(fake_kube, fake_kubeconfig)
    ctl = app.rollouts[0]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        fake_kube.put_object(virtual_service(30))  # someone runs kubectl
        text = "weights changed outside monotui: 90/10 -> 70/30"
        await until(pilot, lambda: any(e.text == text for e in ctl.events()), timeout_s=1.0)
        await pilot.press("a")  # advances from what is there now, not from 10
        await settle(pilot)
        assert canary(fake_kube) == 50
        # The events panel wraps long lines at its width: read its lines, rejoined.
        log = app.screen.query_one(EventLog)
        shown = " ".join(strip.text.strip() for strip in log.lines)
        assert "weights changed outside monotui: 90/10 -> 70/30" in shown
        assert "advanced: 70/30 -> 50/50" in shown
    ctl.close()


async def test_read_only_keys_send_nothing(fake_kube: FakeKube, fake_kubeconfig: Path) -> None:
    fake_kube.put_object(virtual_service(10))
    app = cockpit(fake_kube, fake_kubeconfig, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key in ("a", "r", "P", "y", "w", "5", "enter"):
            await pilot.press(key)
            await settle(pilot)
        assert canary(fake_kube) == 10
        assert not [r for r in fake_kube.requests if r.method == "PATCH"]
        assert "READ-ONLY" in screen_text(app)
    app.rollouts[0].close()
