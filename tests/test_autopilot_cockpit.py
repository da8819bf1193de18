"""Pilot: a cockpit on policy auto beside a running autopilot is its window. It shows the holder
and the autopilot's next move, never writes by itself while the Lease is live, still obeys the
keys (audited as the person's, seen by the autopilot within a poll), and acts again once the
autopilot has released the Lease."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monotui import config
from monotui.app import MonotuiApp
from monotui.audit import AuditLog, read_audit
from monotui.autopilot.window import LeaseWindows
from monotui.model import ActionEvent, VerdictResult, Weights
from monotui.registry import BuildContext
from monotui.rollout import Rollout, build_rollouts
from monotui.sim.kinds import registry_for
from monotui.sim.scenarios import HEALTHY
from monotui.sim.world import World
from tests.autopilot_helpers import NS, STARTUP_S, Autopilot, canary, holder
from tests.fakekube import FakeKube
from tests.prometheus_server import wait_until
from tests.router_helpers import virtual_service
from tests.test_app_support import screen_text
from tests.test_router_app import until

SIZE = (120, 40)
DEFERS = (
    "automatic advance not applied: autopilot pod-a holds the lease "
    "bookinfo/monotui-istio-reviews: the cockpit leaves the automation to it"
)


@pytest.fixture
def world() -> World:
    """Healthy traffic in real time, so the cockpit's judge says PASS from the start."""
    now = time.time()
    w = World(seed=9, start=now - 600)
    w.add_rollout("reviews", NS, HEALTHY, weights=Weights.canary_at(50))
    w.advance_to(now)
    w.follow = time.time
    return w


@pytest.fixture
def cockpit(
    fake_kube: FakeKube, fake_kubeconfig: Path, world: World, tmp_path: Path
) -> Iterator[tuple[Rollout, LeaseWindows]]:
    """The rollout as `monotui watch` builds it (the route on the fake API server as alice; the
    metrics from the simulated world), on auto with no hold: it would advance at every PASS."""
    kinds = registry_for(world)
    data = {
        "kubernetes": {"kubeconfig": str(fake_kubeconfig)},
        "rollouts": [
            {
                "name": "reviews",
                "namespace": NS,
                "policy": "auto",
                "hold_s": 0,
                "interval_s": 0.5,
                "router": {"kind": "istio", "route": "primary"},
                "metrics": {"kind": "sim", "window": "10s", "history_s": 600},
                "judge": {"latency": False, "confidence": 0.9999},
            }
        ],
    }
    cfg = config.parse(data, kinds=kinds)
    ctx = BuildContext(cfg)
    audit = AuditLog(tmp_path / "cockpit-audit.jsonl", user="oncall")
    (rollout,) = build_rollouts(cfg, kinds, ctx, audit=audit)
    windows = LeaseWindows([rollout], ctx.kube()).start()
    yield rollout, windows
    windows.close()
    rollout.close()
    ctx.close()


def writes_by(fake: FakeKube, user: str) -> list[Any]:
    token = f"fake-token-{user}"
    return [
        r
        for r in fake.requests
        if r.token == token and r.method in ("PATCH", "PUT", "POST") and "virtualservices" in r.path
    ]


async def test_a_cockpit_on_auto_never_writes_while_an_autopilot_holds_the_lease(
    fake_kube: FakeKube,
    tmp_path: Path,
    cockpit: tuple[Rollout, LeaseWindows],
) -> None:
    fake_kube.put_object(virtual_service(10))
    pilot = Autopilot(fake_kube, tmp_path, "pod-a")  # no metrics: it holds, it never acts
    rollout, _ = cockpit
    try:
        wait_until(lambda: holder(fake_kube) == "pod-a", STARTUP_S, "the autopilot leads", 0.1)
        app = MonotuiApp([rollout], title="monotui")
        app.animation_level = "none"
        async with app.run_test(size=SIZE) as ui:

            def deferred() -> bool:
                return any(e.text == DEFERS for e in rollout.events())

            await until(ui, deferred, timeout_s=20)
            snap = rollout.snapshot()
            assert snap.verdict.result == VerdictResult.PASS  # it would act: hold 0, PASS
            assert snap.autopilot is not None and snap.autopilot.holder == "pod-a"
            assert writes_by(fake_kube, "alice") == [] and canary(fake_kube) == 10
            await until(ui, lambda: "autopilot: pod-a, renewed" in screen_text(app), 5)
            # Its move, as it stored it in the Lease (the panel wraps the rest of the sentence).
            await until(ui, lambda: "next autopilot pod-a: pauses" in screen_text(app), 5)
            assert "a advances" not in screen_text(app)

            await ui.press("a")  # a person's key still works, as theirs
            await until(ui, lambda: canary(fake_kube) == 25, timeout_s=5)
            (record,) = list(read_audit(tmp_path / "cockpit-audit.jsonl"))
            assert (record["user"], record["origin"], record["after"]) == ("oncall", "key", "75/25")
            pilot.wait_for(
                lambda e: e["text"] == "weights changed outside monotui: 90/10 -> 75/25",
                1 + 2.0,  # within one poll of the autopilot (0.5 s), on a busy machine
                "the autopilot sees the key",
            )
            refused = [e for e in rollout.events() if isinstance(e, ActionEvent) and e.automatic]
            assert [e.outcome for e in refused] == ["refused"]  # told once, not at every poll

            assert pilot.terminate() == 0  # the Lease is released ...

            # ... so it acts, within 20 s on a loaded machine (on auto with no hold it goes on
            # to 100 % within a poll: a busy loop may never see the 50 %, so its own moves are
            # read from its events).
            def own() -> list[str]:  # told right after the write lands: wait for both
                return [
                    e.text
                    for e in rollout.events()
                    if isinstance(e, ActionEvent) and e.automatic and e.outcome != "refused"
                ]

            await until(ui, lambda: canary(fake_kube) >= 50 and bool(own()), timeout_s=20)
            assert own()[0].startswith("advanced: 75/25 -> 50/50"), own()
            assert len(writes_by(fake_kube, "alice")) >= 2  # the key's, then its own
            await until(ui, lambda: "autopilot: none" in screen_text(app), 5)
    finally:
        pilot.close()
