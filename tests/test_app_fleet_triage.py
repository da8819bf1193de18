"""Pilot tests of the fleet screen with 300 simulated rollouts in two clusters: the summary, the
severity order, `/` filtering (a bad regex is a message, not a crash), sorting, grouping, the
palette's k9s-style commands, a cursor that keeps a FAIL red, and redrawing only what changed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from textual.pilot import Pilot

from monotui.app import MonotuiApp
from monotui.model.fleet import Severity
from monotui.screens.fleet import FleetScreen
from monotui.sim.demo import Demo
from monotui.sim.fleet import build_fleet
from tests.test_app_support import screen_text, settle
from widgets import FleetTable
from widgets.fleet_summary import FleetSummary

SIZE = (160, 50)
FAILING = {Severity.FAIL, Severity.BOTH_FAILING}


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    fleet = build_fleet(300)
    fleet.start()
    yield fleet
    fleet.close()


def app_of(demo: Demo) -> MonotuiApp:
    app = MonotuiApp(demo.rollouts, title="fleet", poll=False, started=True)
    app.animation_level = "none"
    return app


def table(app: MonotuiApp) -> FleetTable:
    screen = app.screen
    assert isinstance(screen, FleetScreen)
    return screen.query_one(FleetTable)


def rows(app: MonotuiApp) -> list[Any]:
    return [line.row for line in table(app).lines if line.kind == "row"]


async def type_text(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*["space" if ch == " " else ch for ch in text])


async def test_the_summary_counts_each_rollout_once_and_the_worst_come_first(demo: Demo) -> None:
    app = app_of(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        line = "300 rollouts · 9 FAIL · 3 both failing · 6 paused · 42 progressing · 240 idle"
        assert line in text
        shown = rows(app)
        assert len(shown) == 300
        order = [r.severity for r in shown]
        assert order == sorted(order)  # FAIL, both failing, ..., idle
        assert order[0] == Severity.FAIL and order[9] == Severity.BOTH_FAILING
        assert table(app).current_rollout() == shown[0].key  # the cursor starts on a FAIL
        assert " prod-eu " in text and " staging " in text  # each cluster's badge


async def test_slash_filters_by_regex_and_a_bad_one_is_a_message(demo: Demo) -> None:
    app = app_of(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "svc-00[0-4]")
        await settle(pilot)
        assert sorted(r.name for r in rows(app)) == [f"svc-00{i}" for i in range(5)]
        assert "showing 5 of 300" in screen_text(app)
        await pilot.press("enter")  # kept
        await pilot.press("slash")  # the filter as it is, to edit
        await type_text(pilot, "(")  # svc-00[0-4]( is not a regex: the last good one stays
        await settle(pilot)
        text = screen_text(app)
        assert "filter: not a regular expression" in text
        assert len(rows(app)) == 5
        await pilot.press("escape")  # the edit is dropped, the filter stays as it was
        await settle(pilot)
        assert len(rows(app)) == 5 and "not a regular expression" not in screen_text(app)
        await pilot.press("escape")  # on the table: no filter at all
        await settle(pilot)
        assert len(rows(app)) == 300


async def test_the_filter_matches_namespace_cluster_phase_and_verdict(demo: Demo) -> None:
    app = app_of(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        for text, check in (
            ("^team-3$", lambda r: r.namespace == "team-3"),
            ("^staging$", lambda r: r.cluster == "staging"),
            ("^paused$", lambda r: r.phase.value == "Paused"),
            ("^fail$", lambda r: r.verdict.value == "FAIL"),
        ):
            assert screen.apply_filter(text) is None
            await settle(pilot)
            found = rows(app)
            assert found and all(check(r) for r in found), text
        assert len(rows(app)) == 9


async def test_s_sorts_by_the_next_column_and_capital_s_reverses(demo: Demo) -> None:
    app = app_of(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")  # severity -> name
        await settle(pilot)
        names = [r.name for r in rows(app)]
        assert names == sorted(names) and "sort name" in screen_text(app)
        await pilot.press("S")
        await settle(pilot)
        assert [r.name for r in rows(app)] == sorted(names, reverse=True)


async def test_g_groups_by_namespace_then_cluster_and_the_cursor_skips_titles(
    demo: Demo,
) -> None:
    app = app_of(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        lines = table(app).lines
        titles = [x for x in lines if x.kind == "group"]
        assert len(titles) == 6 and lines[0].kind == "group"
        assert titles[0].title.startswith("team-") and " · 50 · " in titles[0].title
        assert table(app).current_rollout() is not None  # on a rollout, not on a title
        for _ in range(60):  # past the first group's end and its next title
            await pilot.press("down")
        await settle(pilot)
        assert table(app).current_rollout() is not None
        await pilot.press("g")
        await settle(pilot)
        groups = [x.title.split(" · ")[0] for x in table(app).lines if x.kind == "group"]
        assert sorted(groups) == ["prod-eu", "staging"]


async def test_rows_drawn_again_after_regrouping_show_what_they_say_now(demo: Demo) -> None:
    # Rows are drawn from what was drawn before when nothing about them changed: going round
    # the groupings shows the same screen, and a row whose content changed shows the new one.
    app = app_of(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = screen_text(app)
        for _ in range(3):
            await pilot.press("g")
            await settle(pilot)
        assert screen_text(app) == first
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        shown = rows(app)[0]
        snapshot = next(r for r in demo.rollouts if r.name == shown.name).snapshot()
        screen.show(replace(snapshot, namespace="team-new"))
        for _ in range(3):
            await pilot.press("g")
            await settle(pilot)
        line = next(x for x in screen_text(app).splitlines() if f" {shown.name} " in x)
        assert "team-new" in line


async def test_palette_commands_ns_ctx_sort_and_filter(demo: Demo) -> None:
    app = app_of(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for command, check in (
            ("ns team-1", lambda rs: {r.namespace for r in rs} == {"team-1"}),
            ("ctx staging", lambda rs: {r.cluster for r in rs} == {"staging"}),
            ("sort canary", lambda rs: rs[0].canary_err == max(r.canary_err or 0 for r in rs)),
            ("filter fail", lambda rs: {r.severity for r in rs} <= FAILING),
        ):
            await pilot.press("colon")
            await settle(pilot)
            await type_text(pilot, command)
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, FleetScreen), command
            assert check(rows(app)), command
        text = screen_text(app)
        assert "ns team-1" in text and "ctx staging" in text and "sort canary" in text
        await pilot.press("colon")
        await type_text(pilot, "ns all")
        await pilot.press("enter")
        await pilot.press("colon")
        await type_text(pilot, "ctx all")
        await pilot.press("enter")
        await settle(pilot)
        assert len(rows(app)) == 9 + 3  # only the filter is left: FAIL and both failing


async def test_the_cursor_keeps_a_fail_red(demo: Demo) -> None:
    app = app_of(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        fleet = table(app)
        assert fleet.lines[fleet.cursor].row is not None
        assert fleet.lines[fleet.cursor].row.severity == Severity.FAIL

        def badge(y: int) -> Any:
            strip = fleet.render_line(y)
            return next(seg.style for seg in strip if seg.text.strip() == "FAIL")

        under_cursor, next_row = badge(1), badge(2)  # the first two lines, both FAIL
        assert under_cursor.bgcolor is not None and under_cursor.bgcolor.name == "red"
        assert under_cursor == next_row  # the same badge, cursor or not
        cursor_bg = fleet.get_component_rich_style("fleet-table--cursor").bgcolor
        assert cursor_bg is not None and cursor_bg != under_cursor.bgcolor


async def test_only_the_lines_that_changed_are_redrawn(demo: Demo) -> None:
    app = app_of(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        fleet = table(app)
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        before = fleet.redrawn
        for rollout in demo.rollouts:  # the same snapshots again: nothing to draw
            screen.show(rollout.snapshot())
        await settle(pilot)
        screen.flush()
        assert fleet.redrawn == before
        # One rollout's row changes (not its place): that line is redrawn, no other.
        snapshot = next(r for r in demo.rollouts if r.name == "svc-099").snapshot()
        screen.show(replace(snapshot, namespace="team-x"))
        await settle(pilot)
        screen.flush()
        assert fleet.redrawn - before == 1
        assert [r.namespace for r in rows(app) if r.name == "svc-099"] == ["team-x"]


async def test_a_burst_of_300_polls_reaches_every_row() -> None:
    # The scheduler delivers hundreds of snapshots at once; the app shows the newest of each
    # rollout in slices, so a key is never queued behind them, and no row is left behind.
    demo = build_fleet(300, seed=11)
    app = MonotuiApp(demo.rollouts, title="fleet")  # polling, as `monotui watch` does
    app.animation_level = "none"
    try:
        async with app.run_test(size=SIZE) as pilot:
            deadline = time.monotonic() + 60
            while not all(s.sources for s in app.store) or len(list(app.store)) < 300:
                assert time.monotonic() < deadline, "not every rollout was shown polled"
                await pilot.pause(0.05)
            screen = app.screen
            assert isinstance(screen, FleetScreen)
            screen.flush()
            await pilot.pause()
            assert "300 rollouts · " in screen_text(app)
            assert len(rows(app)) == 300
    finally:
        app.shutdown()


async def test_a_flush_due_at_once_while_busy_is_not_lost(demo: Demo) -> None:
    """Four flushes in quick succession, then a change a little later: the next flush is due
    at once while the screen is still "busy" (four in the last second). It was a Textual timer
    of 0 s, whose task dies dividing by zero: the flush never came, and the fleet stood still
    for good (seen as "300 waiting" on a fleet all judged). The change must reach the row."""
    app = app_of(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        snapshot = next(r for r in demo.rollouts if r.name == "svc-099").snapshot()
        await pilot.pause(1.1)  # no flush in the last second
        for k in range(4):  # four flushes within a fraction of a second
            screen.show(replace(snapshot, namespace=f"team-{k}"))
            await pilot.pause(0.03)
        await pilot.pause(0.35)  # past the last flush + FLUSH_S, within the second
        screen.show(replace(snapshot, namespace="team-x"))
        deadline = time.monotonic() + 5
        while [r.namespace for r in rows(app) if r.name == "svc-099"] != ["team-x"]:
            assert time.monotonic() < deadline, "the change never reached the fleet"
            await pilot.pause(0.05)


async def test_a_theme_change_redraws_the_rows_in_its_colours(demo: Demo) -> None:
    """The table keeps its own style between redraws: a new theme must still reach every row."""
    app = app_of(demo)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        fleet = table(app)

        def background(y: int) -> Any:
            style = next(iter(fleet.render_line(y))).style
            return style.bgcolor if style is not None else None

        before = background(3)
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await settle(pilot)
        assert background(3) != before
        assert background(3) == fleet.rich_style.bgcolor  # what the table looks like now


@pytest.mark.parametrize(("size", "hints"), [((80, 24), False), ((160, 50), True)])
async def test_the_view_line_keeps_to_one_line_at_80_columns(
    demo: Demo, size: tuple[int, int], hints: bool
) -> None:
    """Grouped, the view line and its key hints are wider than 80 columns: the hints (the footer
    has them too) give way, so the line does not wrap and push the table down."""
    app = app_of(demo)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        (view,) = [row for row in screen_text(app).splitlines() if "showing 300 of 300" in row]
        assert "group namespace" in view
        assert ("s sort · g group" in view) == hints
        # Three lines (the counts, the clusters, the view): none wrapped onto a fourth.
        assert app.screen.query_one(FleetSummary).content_region.height == 3
