"""The router and the traffic disagree, on screen at 80x24: the header, the weights and the plan
say so, and the event log keeps when it began; a route the traffic follows says nothing."""

from __future__ import annotations

from monotui.app import MonotuiApp
from monotui.sim.demo import build_demo
from tests.test_app_support import open_cockpit, screen_text

TICKS = 12  # two minutes of 10 s polls: past the settling time and a whole metrics window


def _app(leak: float | None) -> MonotuiApp:
    demo = build_demo("healthy", seed=7, realtime=False)
    demo.start()
    demo.world.ignore_route("checkout", leak)
    for _ in range(TICKS):
        demo.tick()
    app = MonotuiApp(demo.rollouts, title="demo", poll=False, started=True)
    app.animation_level = "none"
    return app


async def test_a_route_the_traffic_ignores_is_said_in_three_places() -> None:
    app = _app(25.0)  # the route says 1 %; a quarter of the requests reach the canary
    async with app.run_test(size=(80, 24)) as pilot:
        await open_cockpit(pilot)
        text = screen_text(app)
        assert "OFF ROUTE" in text
        assert "observed  OFF" in text
        assert "next the traffic ignores the route" in text
        events = [e for e in app.store.get("checkout").events if "does not follow" in e.text]
        assert len(events) == 1 and events[0].level.value == "warn"


async def test_a_route_the_traffic_follows_says_nothing() -> None:
    app = _app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_cockpit(pilot)
        text = screen_text(app)
        assert "OFF ROUTE" not in text and "observed  OFF" not in text
        assert "ignores the route" not in text
