"""The live impact meter: the bad requests the bad canary served beyond what the baseline's rate
predicts, since it started, in `status --json` (the `impact` object) and the cockpit's header."""

from __future__ import annotations

from monotui.model import Action, ActionKind
from monotui.model.impact import impact_of
from monotui.sim.demo import build_demo
from monotui.status import snapshot_to_dict
from tests.test_app_support import screen_text
from tests.test_widgets import Panels


def _bad_canary_snapshot() -> object:
    demo = build_demo("bad-canary", realtime=False)
    demo.start()
    checkout = demo.rollout("checkout")
    checkout.apply(Action(ActionKind.SET_WEIGHT, "checkout", origin="cli", weight_pct=25))
    for _ in range(6):
        demo.tick()
    snap = demo.rollout("checkout").snapshot()
    demo.close()
    return snap


def test_status_json_has_the_impact_since_the_canary_started() -> None:
    snap = _bad_canary_snapshot()
    impact = snapshot_to_dict(snap)["impact"]  # type: ignore[arg-type]
    (errors,) = [m for m in snap.verdict.metrics if m.name == "error_rate"]  # type: ignore[attr-defined]
    assert errors.evidence is not None
    assert impact["excess_bad"]["5xx"] == errors.evidence.excess_bad > 0
    assert impact["bad_served"]["5xx"] == errors.evidence.run_canary_bad
    assert impact["bad_served"]["5xx"] > impact["excess_bad"]["5xx"]  # the baseline's share
    assert set(impact["excess_bad"]) == {"5xx", "slow"}


async def test_the_header_shows_the_worst_impact() -> None:
    snap = _bad_canary_snapshot()
    worst = impact_of(snap).worst  # type: ignore[arg-type]
    assert worst is not None and worst.what == "5xx"
    app = Panels(snap)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = screen_text(app)
    assert f"impact +{worst.excess:,.0f} 5xx" in text
