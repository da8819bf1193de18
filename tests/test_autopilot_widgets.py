"""The cockpit as the autopilot's window: the header names the Lease holder and how fresh it is,
the plan shows the autopilot's next move and hold, and the holder's name stays literal."""

from __future__ import annotations

import pytest

from monotui.model import AutopilotStatus
from tests.test_widgets import snapshot, text_of

LEASE = "shop/monotui-istio-checkout"


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        (
            AutopilotStatus(LEASE, "pod-a", live=True, renewed_age_s=3.2),
            "autopilot: pod-a, renewed 3s ago",
        ),
        (AutopilotStatus(LEASE), "autopilot: none"),
        (AutopilotStatus(LEASE, "", renewed_age_s=1.0), "autopilot: none"),  # released
        (
            AutopilotStatus(LEASE, "pod-a", live=False, renewed_age_s=200.0),
            "autopilot: lease expired (pod-a, renewed 3m ago)",
        ),
        (AutopilotStatus(LEASE, error="forbidden: cannot list leases"), "autopilot: unknown"),
    ],
)
async def test_the_header_says_who_holds_the_lease(status: AutopilotStatus, shown: str) -> None:
    text = await text_of(snapshot(autopilot=status))
    assert shown in text


async def test_the_plan_shows_the_autopilots_move_and_hold_not_the_cockpits() -> None:
    pilot = AutopilotStatus(
        LEASE,
        "pod-a",
        live=True,
        renewed_age_s=1.0,
        next_move="advances to 25 % in 40s if PASS holds",
        hold_elapsed_s=260.0,
    )
    text = await text_of(snapshot(autopilot=pilot, hold_elapsed_s=10.0))
    assert "next autopilot pod-a: advances to 25 % in 40s if PASS holds" in text
    assert "hold 04:20 / 05:00" in text  # the autopilot's hold, not the cockpit's 00:10
    assert "a advances to 25 %" not in text
    alone = await text_of(snapshot(autopilot=AutopilotStatus(LEASE)))
    assert "next a advances to 25 %" in alone and "hold 02:10 / 05:00" in alone


async def test_a_holder_name_with_escapes_and_markup_is_shown_literally() -> None:
    pilot = AutopilotStatus(LEASE, "[b]pod\x1b[2J", live=True, renewed_age_s=1.0, next_move="x")
    text = await text_of(snapshot(autopilot=pilot))
    assert "autopilot: [b]pod\\x1b[2J, renewed 1s ago" in text
    assert "\x1b" not in text
