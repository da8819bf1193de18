"""Widget tests on hand-built snapshots (and one from the demo): outside text stays literal, missing
data never reads as 0."""

from __future__ import annotations

import re

import pytest
from rich.console import Console
from textual.app import App, ComposeResult

from monotui.model import (
    Event,
    EventLevel,
    Flag,
    MetricLabel,
    MetricVerdict,
    Phase,
    Plan,
    Sample,
    Snapshot,
    SourceState,
    SourceStatus,
    Verdict,
    VerdictResult,
    Weights,
)
from monotui.sim.demo import build_demo
from tests.samples import SPECS, sample
from tests.test_app_support import screen_text
from widgets import (
    ErrorRateChart,
    EventLog,
    FlagsTable,
    PlanPanel,
    RolloutHeader,
    VerdictPanel,
    WeightsPanel,
)
from widgets.chart_columns import column_span_s, columns_of, complete, segments

T0 = 1_700_000_000.0
OK = (
    SourceStatus("router", SourceState.OK),
    SourceStatus("metrics", SourceState.OK),
    SourceStatus("flags", SourceState.OK),
)


def snapshot(**changes: object) -> Snapshot:
    """A mid-rollout snapshot; `changes` replace fields."""
    samples = tuple(sample(T0 + i, (0.01, 0.02), (100.0, 120.0), (90.0, 10.0)) for i in range(120))
    base: dict[str, object] = dict(
        rollout="checkout",
        namespace="shop",
        context="prod",
        backend="istio",
        t=T0 + 120,
        plan=Plan((1, 5, 10, 25, 50, 100), 10, Phase.PROGRESSING),
        weights=Weights.canary_at(10),
        samples=samples,
        verdict=Verdict(
            VerdictResult.PASS,
            97.0,
            "canary within limits",
            (MetricVerdict("error_rate", MetricLabel.PASS, 0.01, 0.02, 0.3, 2.0, 10, 10, True),),
        ),
        flags=(Flag("new-checkout", "ENABLED", "on", True, toggle="on -> off"),),
        events=(Event(T0, "checkout", "advanced: 95/5 -> 90/10"),),
        sources=OK,
        hold_s=300.0,
        hold_elapsed_s=130.0,
        metrics=SPECS,
        kill_switches=("new-checkout",),
        next_action="a advances to 25 %",
        newest_data_t=T0 + 119,
    )
    base.update(changes)
    return Snapshot(**base)  # type: ignore[arg-type]


class Panels(App[None]):
    def __init__(self, snap: Snapshot) -> None:
        super().__init__()
        self.snap = snap

    def compose(self) -> ComposeResult:
        yield RolloutHeader()
        yield ErrorRateChart()
        yield WeightsPanel()
        yield PlanPanel()
        yield VerdictPanel()
        yield FlagsTable()
        yield EventLog()

    def on_mount(self) -> None:
        self.show(self.snap)

    def show(self, snap: Snapshot) -> None:
        for widget in self.query("*"):
            if hasattr(widget, "snapshot"):
                widget.snapshot = snap


async def text_of(snap: Snapshot, size: tuple[int, int] = (120, 70)) -> str:
    app = Panels(snap)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        return screen_text(app)


async def test_markup_and_escape_sequences_in_data_are_shown_literally() -> None:
    snap = snapshot(
        flags=(Flag("[red]x[/red]", "ENABLED", "[b]on", "[/]", toggle="on -> off"),),
        events=(Event(T0, "checkout", "boom \x1b[2J [bold]cleared[/bold]", EventLevel.ERROR),),
        rollout="[blink]checkout",
    )
    text = await text_of(snap)
    assert "[red]x[/red]" in text
    assert "[b]on" in text
    assert "\\x1b[2J [bold]cleared[/bold]" in text
    assert "[blink]checkout" in text
    assert "\x1b" not in text


async def test_healthy_panels_show_the_numbers() -> None:
    text = await text_of(snapshot())
    assert "Progressing" in text and "shop@prod" in text and "istio" in text
    assert "90 %" in text and "10 %" in text  # configured
    assert "10.0 %" in text  # observed split from request rates
    assert "PASS" in text and "score 97" in text and "p=0.300" in text
    assert "02:10 / 05:00" in text and "a advances to 25 %" in text
    assert "advanced: 95/5 -> 90/10" in text


async def test_missing_data_is_never_zero() -> None:
    gaps = tuple(Sample(T0 + i) for i in range(30))
    snap = snapshot(
        samples=gaps,
        weights=None,
        sources=(
            SourceStatus("router", SourceState.ERROR, "connection refused"),
            SourceStatus("metrics", SourceState.STALE, "timeout", 12.0),
        ),
        verdict=Verdict.no_data("metrics stale"),
        newest_data_t=None,
    )
    text = await text_of(snap)
    assert "NO DATA" in text
    assert "ERROR router: connection refused" in text
    assert "STALE (12s) metrics: timeout" in text
    assert "0.00 %" not in text and " 0 %" not in text


async def test_failing_verdict_names_the_kill_switch() -> None:
    snap = snapshot(verdict=Verdict(VerdictResult.FAIL, 20.0, "canary 5xx 9 % > 5 %"))
    text = await text_of(snap)
    assert "FAIL" in text
    assert "turning off new-checkout may stop the errors" in text
    healthy = await text_of(snapshot())
    assert "may stop the errors" not in healthy


async def test_read_only_header_and_flags() -> None:
    writable = await text_of(snapshot())
    row = next(line for line in writable.splitlines() if "new-checkout" in line)
    assert "on = true" in row and "off" in row.split("on = true", 1)[1]  # enter goes to off
    text = await text_of(snapshot(read_only=True, dry_run=True))
    assert "READ-ONLY" in text and "DRY-RUN" in text
    row = next(line for line in text.splitlines() if "new-checkout" in line)
    assert "read-only" in row and "off" not in row.split("on = true", 1)[1]


async def test_flags_fit_their_share_of_a_120_column_screen() -> None:
    long_rule = "fractional: on 10 % / off 90 % if email ends with @example.com"
    flags = (
        Flag("new-checkout", "ENABLED", "on", True, toggle="on -> off"),
        Flag("checkout-banner", "ENABLED", "green", "green", toggle="enabled -> disabled"),
        Flag("legacy-payments", "DISABLED", "off", None, targeting=long_rule, toggle="enable"),
    )
    app = Panels(snapshot(flags=flags))
    async with app.run_test(size=(72, 70)) as pilot:  # the cockpit gives flags 3/5 of 120
        await pilot.pause()
        table = app.query_one(FlagsTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width
        text = screen_text(app)
        assert "disabled" in text and "enable" in text and "fractional: on" in text
        assert "@example.com" not in text  # cut with an ellipsis, not by the border


async def test_a_canary_without_traffic_reads_no_traffic_not_no_data() -> None:
    """After a rollback the canary's requests are counted and none came: the charts' legends say
    so, as the verdict does, and keep NO DATA for a canary whose metrics are missing."""
    quiet = tuple(sample(T0 + i, (0.01, None), (100.0, None), (90.0, 0.0)) for i in range(120))
    text = await text_of(snapshot(samples=quiet, weights=Weights.canary_at(0)))
    assert "canary no traffic" in text and "canary NO DATA" not in text
    missing = tuple(sample(T0 + i, (0.01, None), (100.0, None), (90.0, None)) for i in range(120))
    assert "canary NO DATA" in await text_of(snapshot(samples=missing))


async def test_chart_replots_only_when_a_column_fills() -> None:
    snap = snapshot()
    app = Panels(snap)
    async with app.run_test(size=(120, 70)) as pilot:
        await pilot.pause()
        chart = app.query_one(ErrorRateChart)
        drawn = chart._drawn
        app.show(snap)  # the same data again: nothing to do
        await pilot.pause()
        assert chart._drawn is drawn
        # A spike in the column still filling: the legend's current value (pooled over the
        # metrics window, as the verdict sees it) moves at once, the plot waits.
        assert "canary 2.00 %" in screen_text(app)
        spike = (*snap.samples, sample(T0 + 120.5, (0.01, 0.09), (100.0, 120.0), (90.0, 10.0)))
        app.show(snapshot(samples=spike, t=T0 + 121))
        await pilot.pause()
        assert "canary 2.12 %" in screen_text(app)
        assert chart._drawn is drawn
        # The column is over: the plot shows the spike (the y axis grows to hold it).
        app.show(snapshot(samples=spike, t=T0 + 122.5))
        await pilot.pause()
        assert chart._drawn is not drawn
        before, after = (d[1] if d else None for d in (drawn, chart._drawn))
        assert before is not None and after is not None and after.top > before.top


def test_columns_keep_gaps_and_fit_the_width() -> None:
    samples = [
        sample(T0 + i, (0.01, None if 900 <= i < 1000 else 0.02), rps=(90.0, 10.0))
        for i in range(1800)
    ]
    now = T0 + 1800
    span_s = column_span_s(now - samples[0].t, 100)
    edge = (now // span_s) * span_s
    _, points = columns_of(complete(samples, edge), 0, SPECS[0], span_s, edge)
    assert len(points) <= 100
    assert any(y is None for _, y in points)
    assert points[-1][1] == pytest.approx(0.02)
    assert len(segments(points)) == 2


async def test_long_events_wrap_inside_the_panel() -> None:
    long = "verdict FAIL: canary 5xx 6.8 % now, above the 5.0 % limit (baseline 0.5 %): the-end"
    app = Panels(snapshot(events=(Event(T0, "checkout", long, EventLevel.ERROR),)))
    words = long.split()
    async with app.run_test(size=(60, 70)) as pilot:
        await pilot.pause()
        # Wrapped at the panel's width: RichLog's default wraps at 78 and the border cut the rest.
        shown = screen_text(app).replace("│", " ").split()
        assert all(word in shown for word in words)
        await pilot.resize_terminal(45, 70)
        await pilot.pause()
        shown = screen_text(app).replace("│", " ").split()
        assert all(word in shown for word in words)  # wrapped again when the panel narrowed


async def test_a_longer_reason_grows_the_verdict_panel() -> None:
    short = snapshot()
    app = Panels(short)
    async with app.run_test(size=(60, 70)) as pilot:
        await pilot.pause()
        reason = "canary 5xx 6.7 % now, above the 5.0 % limit (baseline 0.4 %): HIGH (critical)"
        verdict = Verdict(VerdictResult.FAIL, 0.0, reason, short.verdict.metrics)
        app.show(snapshot(verdict=verdict, kill_switches=()))  # one more wrapped line
        await pilot.pause()
        assert "HIGH (critical)" in screen_text(app)


def test_a_metric_line_drops_its_least_important_numbers_rather_than_wrap() -> None:
    from monotui.model import Evidence
    from widgets.verdict_panel import metric_line

    evidence = Evidence(
        e_value=0.61,
        limit=100.0,
        ci_low=0.49,
        ci_high=1.8,
        ratio=1.0,
        canary_requests=12_166,
        canary_bad=58,
        baseline_requests=100_000,
        baseline_bad=500,
        run_canary_requests=12_166,
        run_canary_bad=58,
        excess_bad=0.0,
        what="5xx",
    )
    metric = MetricVerdict("error_rate", MetricLabel.PASS, 0.0052, 0.0048, evidence=evidence)
    spec = SPECS[0]
    wide = metric_line(metric, spec, 200).plain
    assert "evidence 0.61x of 100x" in wide and "[0.49x–1.8x]" in wide
    assert "58 5xx / 12,166 req" in wide
    narrow = metric_line(metric, spec, 78).plain  # an 80-column cockpit
    assert len(narrow) <= 78 and "evidence 0.61x of 100x" in narrow
    assert "req" not in narrow  # the counts go first, never onto a line of their own
    tiny = metric_line(metric, spec, 40).plain
    assert "evidence 0.61x of 100x" in tiny  # the evidence always shows


def test_a_canary_without_traffic_in_its_step_reads_no_traffic_not_no_data() -> None:
    from monotui.model import Evidence
    from widgets.verdict_panel import metric_line

    def line(canary_requests: float) -> str:
        evidence = Evidence(
            e_value=0.08,
            limit=100.0,
            ci_low=None,
            ci_high=2.5,
            ratio=0.64,
            canary_requests=canary_requests,
            canary_bad=0,
            baseline_requests=50_000,
            baseline_bad=400,
            run_canary_requests=2_000,
            run_canary_bad=30,
            excess_bad=0.0,
            what="5xx",
        )
        verdict = MetricVerdict("error_rate", MetricLabel.PASS, 0.008, None, evidence=evidence)
        return metric_line(verdict, SPECS[0], 200).plain

    assert "→ no traffic" in line(0)  # weight 0 after a rollback: nothing is wrong with metrics
    assert "→ NO DATA" in line(120)  # it had requests and no value: the metrics are missing


async def test_after_an_automatic_rollback_the_verdict_says_who_when_and_why() -> None:
    # The reason used to be one grey event line under "Failed / NO DATA".
    demo = build_demo("bad-canary", seed=7, realtime=False, policy="auto")
    demo.start()
    for _ in range(60):
        snap = next(s for s in demo.tick() if s.rollout == "checkout")
        if snap.phase == Phase.FAILED:
            break
    assert snap.phase == Phase.FAILED
    for _ in range(5):  # newer polls and events do not push it off the screen
        snap = next(s for s in demo.tick() if s.rollout == "checkout")
    text = " ".join((await text_of(snap)).split())
    assert re.search(r"rolled back at \d\d:\d\d:\d\d by the automation: verdict FAIL", text), text


def test_the_automation_policy_is_never_split_across_two_lines() -> None:
    # At 160x50 the plan panel is 42 cells wide: "automation" ended one line, "auto" began the
    # next.
    snap = snapshot(policy="auto")
    hold = "hold 02:10 / 05:00  " + "x" * 10
    for width in range(len(hold) + 2, len(hold) + 2 + len("automation auto") + 2):
        # Wrapped at the panel's width, as the panel shows it.
        wrapped = PlanPanel().draw(snap, width).wrap(Console(), width)
        lines = [line.plain.rstrip() for line in wrapped]
        assert any("automation auto" in line for line in lines), (width, lines)
