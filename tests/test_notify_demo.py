"""`monotui demo --headless --notify URL` end to end: the demo's automatic rollback of the bad
canary reaches a local receiver with its numbers, through the real command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.notify_receiver import receiving

ROOT = Path(__file__).resolve().parent.parent


def _demo(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "monotui",
            "demo",
            "--headless",
            "--policy",
            "auto",
            "--notify",
            url,
            "--duration",
            "60",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_the_demo_posts_its_rollback_to_a_webhook() -> None:
    with receiving() as rx:
        out = _demo(rx.url + "/hook")
        bodies = rx.bodies()
    assert out.returncode == 0 and out.stderr == "", out.stderr
    events = [(b["rollout"], b["event"]) for b in bodies]
    assert ("checkout", "finished") in events and ("reviews", "finished") in events
    rolled = next(b for b in bodies if b["rollout"] == "checkout" and b["event"] == "finished")
    assert rolled["who"] == "automation" and "rolled back" in rolled["title"]
    # The demo's checkout probe often catches the bad canary before its 5xx evidence does; the
    # message then names the probe. Either way its numbers are the evidence that decided.
    if "synthetic" in rolled["reason"]:
        assert "checkout-submit fails on canary" in rolled["reason"]
    else:
        assert rolled["numbers"]["excess_bad"] > 0
    assert rolled["numbers"]["e_value"] >= rolled["numbers"]["rolls_back_at"] == 100.0
    promoted = next(b for b in bodies if b["rollout"] == "reviews" and b["event"] == "finished")
    assert "promoted" in promoted["title"]
    # A rolled-back canary takes no traffic: its NO DATA is not an alarm.
    assert not any("NO DATA" in b["title"] for b in bodies)


def test_a_slack_hook_gets_slack_s_shape() -> None:
    with receiving() as rx:
        out = _demo(rx.url + "/services/T000/B000/XXXX")
        bodies = rx.bodies()
    assert out.returncode == 0, out.stderr
    assert bodies and all(set(b) == {"text", "blocks"} for b in bodies)


def test_a_bad_url_is_one_line_and_exit_2() -> None:
    out = _demo("ftp://example.invalid/hook")
    assert out.returncode == 2 and "--notify needs an http" in out.stderr
