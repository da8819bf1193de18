"""Three real autopilot processes share one rollout's Lease on the fake API server: exactly one
leads at a time, and SIGTERM releases the Lease, so a standby takes over at once instead of
waiting the Lease out (no metrics here: this is about who leads, not what they do)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.autopilot_helpers import STARTUP_S, Autopilot, Timing, holder
from tests.fakekube import FakeKube
from tests.prometheus_server import wait_until
from tests.router_helpers import virtual_service

# A long Lease, so "at once" and "after it expired" cannot be mistaken for one another.
LONG = Timing(lease_s=8, renew_s=5.0, retry_s=0.3)


def ready(pilot: Autopilot) -> bool:
    try:
        return httpx.get(f"{pilot.url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_one_leads_and_sigterm_hands_the_lease_over_at_once(
    fake_kube: FakeKube, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    pilots = [Autopilot(fake_kube, tmp_path, f"pod-{x}", timing=LONG) for x in "abc"]
    try:
        for pilot in pilots:
            wait_until(lambda p=pilot: ready(p), STARTUP_S, f"{pilot.identity} ready", 0.1)
        first = next(p for p in pilots if p.identity == holder(fake_kube))
        assert [p.identity for p in pilots if p.leads()] == [first.identity]
        standbys = [p for p in pilots if p is not first]
        for standby in standbys:  # they observe, they do not lead
            assert not standby.leads()

        assert first.terminate() == 0
        released = time.monotonic()
        texts = [e["text"] for e in first.events()]
        assert f"{first.identity} released the lease bookinfo/monotui-istio-reviews" in texts
        assert texts[-1] == "stopped"
        wait_until(
            lambda: holder(fake_kube) in {p.identity for p in standbys},
            LONG.lease_s - 2,  # well before the Lease could have expired
            "a standby to take the released Lease",
            0.05,
        )
        assert time.monotonic() - released < LONG.lease_s
        second = next(p for p in standbys if p.identity == holder(fake_kube))
        second.wait_for(lambda e: e.get("leading") is True, 5, "its leadership line")
        (stopped,) = first.stops()
        assert stopped <= second.leads()[0]  # never two leaders at once
        third = next(p for p in standbys if p is not second)
        assert not third.leads()
    finally:
        for pilot in pilots:
            pilot.close()
