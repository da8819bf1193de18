"""Delivery that is not noisy and loses nothing: a restart does not resend what was sent, a rate
limit spaces deliveries, a burst about one rollout is one post, a 429 is retried after its
Retry-After, a receiver that is down for a while gets everything afterwards in order (also across
a restart), and a sink that keeps failing shows as a failing source of the rollouts it serves."""

from __future__ import annotations

import time
from pathlib import Path

from monotui.model import SourceState, VerdictChanged, VerdictResult
from monotui.model.verdict import Verdict
from monotui.notify.message import Message
from monotui.notify.spool import Spool
from monotui.sim.demo import build_demo
from tests.notify_helpers import notified, rollback, sink
from tests.notify_receiver import Answer, receiving

DOWN_S = 2.0
"""How long the receiver is down (30 s in the issue; the mechanism does not depend on it)."""


def _fail(demo: object) -> None:
    rollout = demo.rollout("checkout")  # type: ignore[attr-defined]
    verdict = Verdict(VerdictResult.FAIL, 0.0, "canary 5xx 4.1x the baseline's")
    rollout.observer.told.tell(
        VerdictChanged, "verdict FAIL: canary worse", before=VerdictResult.PASS, verdict=verdict
    )


def test_a_restart_does_not_send_a_state_change_again(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with receiving() as rx:
        settings = sink(tmp_path, rx.url + "/hook", kind="webhook")
        with notified([settings], state) as (demo, notifier):
            _fail(demo)
            assert notifier.flush(10)
        assert [b["event"] for b in rx.bodies()] == ["verdict"]
        # A second monotui (the same world, the same state file) sees the same FAIL.
        with notified([settings], state) as (demo, notifier):
            _fail(demo)
            rollback(demo)  # a new state change still goes out
            assert notifier.flush(10)
        rx.wait_for(2)
    assert [b["event"] for b in rx.bodies()] == ["verdict", "finished"]


def test_the_rate_limit_spaces_deliveries(tmp_path: Path) -> None:
    with receiving() as rx:
        # Two at once, then one every 10 s.
        settings = sink(tmp_path, rx.url + "/hook", kind="webhook", per_minute=6, burst=2)
        with notified([settings], None) as (demo, notifier):
            for _ in range(5):
                rollback(demo)
            assert not notifier.flush(1.5)
            assert len(rx.requests) == 2
            assert len(notifier.sinks[0].courier.spool) == 3


def test_a_burst_about_one_rollout_is_one_slack_post(tmp_path: Path) -> None:
    # Three actions on one rollout within batch_s go out as one message, not three pings.
    with receiving() as rx:
        settings = sink(tmp_path, rx.url + "/hook", kind="slack", batch_s=1.0)
        with notified([settings], None) as (demo, notifier):
            rollback(demo)
            courier = notifier.sinks[0].courier
            # The first is queued (without a batch window it would be on its way now).
            _until(lambda: len(courier.spool) + len(rx.requests) > 0, "the first queued")
            rollback(demo)
            rollback(demo)
            assert notifier.flush(10)  # the spool is empty: each POST was answered
        assert len(rx.requests) == 1
        (got,) = rx.requests
    assert got.body["text"].endswith("(+2 more)")
    sections = [b for b in got.body["blocks"] if b["type"] == "section" and "text" in b]
    assert len(sections) >= 3


def test_a_429_is_retried_after_its_retry_after(tmp_path: Path) -> None:
    with receiving() as rx:
        rx.script.append(Answer(429, {"Retry-After": "1"}, {"message": "slow down"}))
        settings = sink(tmp_path, rx.url + "/hook", kind="webhook")
        with notified([settings], None, max_backoff_s=0.01) as (demo, notifier):
            rollback(demo)
            assert notifier.flush(10)
        first, second = rx.wait_for(2)
    assert first.body == second.body
    # Retry-After wins over the (tiny) backoff: not before the second the server asked for.
    assert second.at - first.at >= 1.0


def test_a_receiver_down_for_a_while_gets_everything_in_order(tmp_path: Path) -> None:
    with receiving() as rx:
        rx.down()
        settings = sink(tmp_path, rx.url + "/hook", kind="webhook", failing_after=2)
        with notified([settings], tmp_path / "state", max_backoff_s=0.2) as (demo, notifier):
            reviews = demo.rollout("reviews")
            for name in ("checkout", "reviews", "checkout"):
                rollback(demo, name)
            courier = notifier.sinks[0].courier
            _until(lambda: courier.problem is not None, "the sink to count as failing")
            status = reviews.snapshot().source("notify webhook")
            assert status is not None and status.state == SourceState.ERROR
            assert "refused" in status.message or "unreachable" in status.message
            assert "3 queued" in status.message
            time.sleep(DOWN_S)  # the receiver stays down a while; the courier keeps trying
            assert courier.failures > 2
            rx.up()
            assert notifier.flush(10)
            _until(lambda: reviews.snapshot().source("notify webhook") is None, "fine again")
        got = rx.wait_for(3)
    assert [r.body["rollout"] for r in got] == ["checkout", "reviews", "checkout"]


def test_what_was_queued_while_down_is_sent_by_the_next_run(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with receiving() as rx:
        rx.down()
        settings = sink(tmp_path, rx.url + "/hook", kind="webhook")
        with notified([settings], state, max_backoff_s=0.1) as (demo, notifier):
            rollback(demo, "checkout")
            rollback(demo, "reviews")
            _until(lambda: notifier.sinks[0].courier.failures > 0, "a failed delivery")
        rx.up()
        with notified([settings], state, demo=build_demo(realtime=False)) as (_, notifier):
            assert notifier.flush(10)
        got = rx.wait_for(2)
    assert [r.body["rollout"] for r in got] == ["checkout", "reviews"]


def test_the_on_disk_queue_drops_the_oldest_when_full(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    spool = Spool(path, max_items=3)
    for i in range(5):
        spool.append(_message(i))
    assert spool.dropped == 2
    again = Spool(path, max_items=3)  # as the next process reads it
    assert [m.key for m in again.peek(10)] == ["k2", "k3", "k4"]
    with path.open("ab") as f:
        f.write(b'{"v": 1, "message": {"key": "torn')  # a crash mid-append
    assert [m.key for m in Spool(path, max_items=3).peek(10)] == ["k2", "k3", "k4"]


def _message(i: int) -> Message:
    return Message(f"k{i}", "checkout", "shop", "", "action", "t", "x", "", "info", float(i))


def _until(check: object, what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError(f"waited {timeout_s}s for {what}")


def test_a_queue_file_that_cannot_be_rewritten_does_not_stop_the_deliveries(
    tmp_path: Path,
) -> None:
    # The spool's atomic rewrite goes through "<spool>.tmp": a folder in its way makes every
    # rewrite fail, as a full or read-only disk would, after each message went out.
    with receiving() as rx:
        settings = sink(tmp_path, rx.url + "/hook", kind="webhook")
        with notified([settings], tmp_path / "state") as (demo, notifier):
            courier = notifier.sinks[0].courier
            assert courier.spool.path is not None
            blocker = courier.spool.path.with_name(courier.spool.path.name + ".tmp")
            blocker.mkdir(parents=True)
            rollback(demo, "checkout")
            rx.wait_for(1)
            rollback(demo, "reviews")
            got = rx.wait_for(2)
            assert notifier.flush(10)
            assert courier.problem is None and courier.failures == 0
    assert [r.body["rollout"] for r in got] == ["checkout", "reviews"]
    assert len(rx.requests) == 2  # each sent once


def test_a_retry_after_of_a_day_holds_the_queue_five_minutes_at_most(tmp_path: Path) -> None:
    with receiving() as rx:
        rx.script.append(Answer(503, {"Retry-After": "86400"}, {"message": "maintenance"}))
        settings = sink(tmp_path, rx.url + "/hook", kind="webhook", failing_after=1)
        with notified([settings], None) as (demo, notifier):
            rollback(demo)
            rx.wait_for(1)
            courier = notifier.sinks[0].courier
            _until(lambda: courier.problem is not None, "the sink to count as failing")
            problem = courier.problem or ""
    assert "rate limiting us (HTTP 503)" in problem and "next try in 300s" in problem


def test_a_receiver_answering_200_with_a_big_page_gets_the_message_once(tmp_path: Path) -> None:
    page = b"<html><title>Welcome</title>" + b"x" * 300_000 + b"</html>"
    with receiving(lambda got: Answer(200, {"Content-Type": "text/html"}, page)) as rx:
        settings = sink(tmp_path, rx.url + "/hook", kind="webhook")
        with notified([settings], None, max_backoff_s=0.05) as (demo, notifier):
            rollback(demo)
            assert notifier.flush(10)
            rollback(demo, "reviews")  # the queue goes on
            assert notifier.flush(10)
    assert [r.body["rollout"] for r in rx.requests] == ["checkout", "reviews"]
