"""The synthetics panel in the cockpit (Pilot, the demo world): a row per probe and a column per
track, the failure's reason under its row, one line under 90 columns, hidden without probes,
outside text shown literally, the h key's curl lines; and no secret reaches the screen."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from monotui.model import (
    MetricLabel,
    MetricVerdict,
    Plan,
    ProbeCell,
    ProbeState,
    Snapshot,
    Synthetics,
    Verdict,
)
from monotui.model.verdict import Evidence
from monotui.screens.curl import CurlScreen
from tests.test_app_support import demo_app, open_cockpit, settle
from widgets.synthetics_panel import SyntheticsPanel, fold


def panel_text(app: object, selector: str = "#synthetics") -> str:
    panel = app.screen.query_one(selector, SyntheticsPanel)  # type: ignore[attr-defined]
    rendered = panel.render()
    assert isinstance(rendered, Text)
    return rendered.plain


async def test_a_bad_canary_shows_its_failing_probe_per_track_and_why() -> None:
    demo, app = demo_app("bad-canary", ticks=0)
    from monotui.model import Action, ActionKind

    demo.rollout("checkout").apply(Action(ActionKind.SET_WEIGHT, "checkout", weight_pct=25))
    for _ in range(10):
        demo.tick()
    async with app.run_test(size=(160, 56)) as pilot:  # a big screen: the table
        await open_cockpit(pilot)
        text = panel_text(app)
        lines = text.splitlines()
        assert lines[0].split() == ["probe", "baseline", "canary", "canary+flag"]
        row = next(line for line in lines if line.startswith("checkout-submit"))
        assert row.split()[1:4] == ["PASS", "40", "ms"]
        assert row.count("FAIL") == 2  # canary and canary+flag
        assert "canary: status 500 (expected 200)" in text
        assert "evidence" in text and "of 100x: FAIL" in text
        assert app.screen.query_one("#synthetics").display
        assert not app.screen.query_one("#synthetics-fold").display
        assert not app.screen.query_one("#synthetics-line").display
    demo.close()
    demo, app = demo_app("bad-canary", ticks=0)
    demo.rollout("checkout").apply(Action(ActionKind.SET_WEIGHT, "checkout", weight_pct=25))
    for _ in range(10):
        demo.tick()
    async with app.run_test(size=(120, 40)) as pilot:  # shorter: one line, the charts keep rows
        await open_cockpit(pilot)
        assert not app.screen.query_one("#synthetics").display
        assert panel_text(app, "#synthetics-line").startswith("synthetics 3/5 pass; ")
        demo.close()


async def test_at_80x24_it_folds_into_one_line_over_the_verdict() -> None:
    demo, app = demo_app("bad-canary", ticks=0)
    from monotui.model import Action, ActionKind

    demo.rollout("checkout").apply(Action(ActionKind.SET_WEIGHT, "checkout", weight_pct=25))
    for _ in range(10):
        demo.tick()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_cockpit(pilot)
        folded = app.screen.query_one("#synthetics-fold", SyntheticsPanel)
        assert folded.display and not app.screen.query_one("#synthetics").display
        assert panel_text(app, "#synthetics-fold") == (
            "synthetics 3/5 pass; checkout-submit FAIL on canary, canary+flag"
        )
        assert folded.region.height == 1 and folded.region.bottom <= 24  # on the first screen
        demo.close()


async def test_the_panel_is_hidden_without_probes_and_h_shows_the_curl_lines() -> None:
    demo, app = demo_app("healthy", ticks=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_cockpit(pilot, row=0)  # checkout
        assert app.screen.query_one("#synthetics-line").display
        await pilot.press("h")
        await settle(pilot)
        assert isinstance(app.screen, CurlScreen)
        lines = app.screen.lines
        assert len(lines) == 2 and all(line.startswith("curl -sS") for line in lines)
        assert "-H 'x-flag-new-checkout: on'" in lines[1]
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, CurlScreen)
        await pilot.press("escape")
        await open_cockpit(pilot, row=1)  # reviews: no probes
        assert app.screen.rollout == "reviews"  # type: ignore[attr-defined]
        for panel in ("#synthetics", "#synthetics-fold", "#synthetics-line"):
            assert not app.screen.query_one(panel).display
        assert app.screen.check_action("curl", ()) is False
        demo.close()


def snapshot_with(synthetics: Synthetics) -> Snapshot:
    return Snapshot(
        "r", "ns", "", "istio", 100.0, Plan((1, 100), 1), None, (), Verdict.no_data(""),
        (), (), (), synthetics=synthetics,
    )  # fmt: skip


def test_outside_text_in_reasons_is_shown_literally() -> None:
    evil = "status 500 [bold red]x[/] \x1b[2J"
    cells = (
        ProbeCell("p", "baseline", ProbeState.PASS, latency_ms=3.0, recent=(1.0,)),
        ProbeCell("p", "canary", ProbeState.FAIL, evil, latency_ms=3.0, recent=(0.0, 1.0)),
    )
    panel = SyntheticsPanel()
    text = panel.draw(snapshot_with(Synthetics(cells)), 120)
    assert "[bold red]x[/]" in text.plain and "\x1b" not in text.plain
    assert "\\x1b[2J" in text.plain


def test_the_fold_names_a_judged_failure_and_stale_or_error_cells() -> None:
    stale = Synthetics(
        (
            ProbeCell("p", "baseline", ProbeState.PASS),
            ProbeCell("p", "canary", ProbeState.STALE, "newest result 40s old"),
        )
    )
    assert fold(stale).plain == "synthetics 1/2 pass; p STALE on canary"
    ev = Evidence(200.0, 100.0, 2.0, None, 10.0, 10, 10, 10, 0, 10, 10, 10)
    judged = Synthetics(
        (
            ProbeCell("p", "baseline", ProbeState.PASS),
            ProbeCell("p", "canary", ProbeState.PASS, last_failure="status 503"),
        ),
        (MetricVerdict("p on canary", MetricLabel.HIGH, evidence=ev),),
    )
    assert fold(judged).plain == "synthetics 2/2 pass; p FAIL on canary"
    wide = SyntheticsPanel().draw(snapshot_with(judged), 120).plain
    assert "canary: last failure: status 503" in wide


async def test_no_secret_reaches_the_screen(tmp_path: Path) -> None:
    """A probe's secret header (a file) is sent, yet never drawn, in the panel or the h dialog."""
    demo, app = demo_app("bad-canary", ticks=2)
    probe = demo.rollout("checkout").observer.synthetics
    assert probe is not None
    secret = "tok-" + "9" * 20
    token = tmp_path / "token"
    token.write_text(secret)
    http = probe.sources[0]
    http.settings = http.settings.model_copy(  # type: ignore[attr-defined]
        update={"secret_headers": {"authorization": f"file:{token}"}}
    )
    demo.tick()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_cockpit(pilot)
        await pilot.press("h")
        await settle(pilot)
        screen_text = app.export_screenshot()
        assert secret not in screen_text
        assert "authorization: $(cat" in " ".join(app.screen.lines)  # type: ignore[attr-defined]
    sent = http.shop.apps["v2"].requests[-1][2]  # type: ignore[attr-defined]
    assert sent["authorization"] == secret  # it was really sent
    demo.close()
