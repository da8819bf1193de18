"""The fleet's error-rate sparkline is the same whether its windows are pooled afresh at every
poll or kept between polls (`SparkMemo`): as polls go by, when a canary starts failing, and when
a rollout's history is read anew with other numbers in windows that were already drawn."""

from __future__ import annotations

from dataclasses import replace

from monotui.model.fleet_sparks import SparkMemo, columns, error_spark
from monotui.sim.fleet import build_fleet


def test_kept_windows_draw_what_pooling_afresh_draws_poll_after_poll() -> None:
    demo = build_fleet(40, seed=5)
    demo.start()
    memo = SparkMemo()
    drawn: set[str] = set()
    try:
        for _ in range(30):  # 30 polls: windows fill up, scroll out, canaries fail
            for snapshot in demo.tick():
                kept = error_spark(snapshot, memo=memo)
                assert kept == error_spark(snapshot), snapshot.rollout
                drawn.add(kept)
    finally:
        demo.close()
    assert len(drawn) > 3  # the sparklines did change meanwhile (a test that could fail)


def test_a_history_read_anew_is_pooled_again() -> None:
    demo = build_fleet(20, seed=5)
    demo.start()
    try:
        for _ in range(30):
            snapshots = demo.tick()
    finally:
        demo.close()
    failing = max(snapshots, key=lambda s: error_spark(s).count("█"))
    memo = SparkMemo()
    before = error_spark(failing, memo=memo)
    # The same times, other objects and other numbers: every canary error is gone.
    clean = tuple(
        replace(s, canary=replace(s.canary, bad=tuple(0.0 for _ in s.canary.bad)))
        if s.canary.bad
        else s
        for s in failing.samples
    )
    anew = replace(failing, samples=clean)
    assert error_spark(anew, memo=memo) == error_spark(anew) != before


def test_windows_are_aligned_on_absolute_time_newest_sample_first() -> None:
    demo = build_fleet(2, seed=5)
    demo.start()
    try:
        for _ in range(20):
            snapshot = demo.tick()[0]
    finally:
        demo.close()
    cols = columns(snapshot, 8)
    size = snapshot.window_s
    newest = int(snapshot.samples[-1].t // size)
    for k, col in enumerate(cols):
        assert all(int(s.t // size) == newest - (7 - k) for s in col)
        assert [s.t for s in col] == sorted((s.t for s in col), reverse=True)
    assert sum(len(c) for c in cols) == sum(
        1 for s in snapshot.samples if int(s.t // size) > newest - 8
    )
