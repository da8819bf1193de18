"""Leader election over one Lease on the fake API server, through the real client, on clocks the
test moves (client-go's rules: a candidate waits the record out on its own clock; the holder acts
only within the renew deadline of its last renewal; every write is compare-and-set)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from monotui.autopilot.elector import Elector, LeaseTiming
from monotui.autopilot.lease import LeaseLock
from monotui.errors import ConfigError
from monotui.sources.kube import KubeConnection
from tests.fakekube import FakeKube
from tests.router_helpers import kube

NS, NAME = "bookinfo", "monotui-istio-reviews"
TIMING = LeaseTiming(lease_duration_s=15, renew_deadline_s=10, retry_period_s=2)
MICRO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
EPOCH = 1767225600.0  # a whole second: isoformat() would write no fraction at all


class Clock:
    """A monotonic and a wall clock that move only when the test says so."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.wall_t = EPOCH

    def monotonic(self) -> float:
        return self.t

    def wall(self) -> float:
        return self.wall_t

    def advance(self, s: float) -> None:
        self.t += s
        self.wall_t += s


@pytest.fixture
def conn(fake_kube: FakeKube, fake_kubeconfig: Path) -> Iterator[KubeConnection]:
    connection = kube(fake_kubeconfig)
    yield connection
    connection.close()


def elector(conn: KubeConnection, identity: str, clock: Clock) -> Elector:
    lock = LeaseLock(conn, NS, NAME, "reviews", timeout_s=2)
    return Elector(lock, identity, TIMING, monotonic=clock.monotonic, wall=clock.wall)


def stored(fake: FakeKube) -> dict[str, object]:
    spec: dict[str, object] = fake.get_object("coordination.k8s.io", "v1", "leases", NS, NAME)[
        "spec"
    ]
    return spec


def test_the_first_candidate_creates_the_lease_with_micro_times_the_server_accepts(
    conn: KubeConnection, fake_kube: FakeKube
) -> None:
    clock = Clock()
    a = elector(conn, "pod-a", clock)
    assert a.try_acquire_or_renew('{"format":1}')
    spec = stored(fake_kube)
    assert spec["holderIdentity"] == "pod-a" and spec["leaseDurationSeconds"] == 15
    assert spec["renewTime"] == "2026-01-01T00:00:00.000000Z"  # a whole second, six digits
    assert MICRO.match(str(spec["acquireTime"])) and spec["leaseTransitions"] == 0
    assert a.is_leader() and a.may_act()
    lease = fake_kube.get_object("coordination.k8s.io", "v1", "leases", NS, NAME)
    assert lease["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "monotui-autopilot"}


def test_a_standby_takes_over_only_after_the_record_was_silent_for_the_lease_duration(
    conn: KubeConnection, fake_kube: FakeKube
) -> None:
    clock_a, clock_b = Clock(), Clock()
    a, b = elector(conn, "pod-a", clock_a), elector(conn, "pod-b", clock_b)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()  # held
    for _ in range(5):  # a renews every retry period: b never sees it silent for 15 s
        clock_a.advance(4)
        clock_b.advance(4)
        assert a.try_acquire_or_renew()
        assert not b.try_acquire_or_renew()
    assert a.may_act()
    clock_a.advance(TIMING.renew_deadline_s)  # a is cut off: it may not act any more ...
    assert not a.may_act()
    clock_b.advance(14.9)  # ... while b still waits: the gap is lease duration - renew deadline
    assert not b.try_acquire_or_renew()
    clock_b.advance(0.2)
    assert b.try_acquire_or_renew()
    spec = stored(fake_kube)
    assert spec["holderIdentity"] == "pod-b" and spec["leaseTransitions"] == 1
    assert b.taken_over is not None and b.taken_over.record.holder == "pod-a"
    assert not a.try_acquire_or_renew() and not a.is_leader()  # a's stale renewal is refused


def test_the_holder_may_act_only_within_the_renew_deadline_of_when_it_sent_the_renewal(
    conn: KubeConnection, fake_kube: FakeKube
) -> None:
    clock = Clock()
    a = elector(conn, "pod-a", clock)
    assert a.try_acquire_or_renew()
    fake_kube.fail_next(None, 503, path="/leases")
    clock.advance(9.9)
    assert not a.try_acquire_or_renew()
    assert a.may_act() and "503" in a.error
    clock.advance(0.2)
    assert not a.may_act()
    fake_kube.clear_faults()
    assert a.try_acquire_or_renew() and a.may_act()  # nobody took it: ours again


def test_a_released_lease_is_taken_at_once_and_keeps_the_stored_state(
    conn: KubeConnection, fake_kube: FakeKube
) -> None:
    clock_a, clock_b = Clock(), Clock()
    a, b = elector(conn, "pod-a", clock_a), elector(conn, "pod-b", clock_b)
    assert a.try_acquire_or_renew('{"format":1,"canary_pct":5}')
    assert not b.try_acquire_or_renew()
    assert a.release()
    spec = stored(fake_kube)
    assert spec["holderIdentity"] == "" and spec["leaseDurationSeconds"] == 1
    assert not a.is_leader() and not a.may_act()
    assert b.try_acquire_or_renew()  # no waiting: nobody holds it
    assert b.taken_over is not None
    assert b.taken_over.record.state == '{"format":1,"canary_pct":5}'


def test_one_identity_in_two_processes_does_not_make_two_leaders(
    conn: KubeConnection, fake_kube: FakeKube
) -> None:
    clock_1, clock_2 = Clock(), Clock()
    first, second = elector(conn, "pod-a", clock_1), elector(conn, "pod-a", clock_2)
    assert first.try_acquire_or_renew()
    assert not second.try_acquire_or_renew() and not second.is_leader()
    clock_2.advance(16)  # silent for a lease duration on its clock, but first renews ...
    clock_1.advance(16)
    assert first.try_acquire_or_renew()
    assert not second.try_acquire_or_renew()  # ... so the record changed: it waits again


def test_of_two_candidates_for_an_expired_lease_exactly_one_wins(
    conn: KubeConnection, fake_kube: FakeKube, monkeypatch: pytest.MonkeyPatch
) -> None:
    clocks = [Clock() for _ in range(3)]
    a, b, c = (elector(conn, f"pod-{x}", k) for x, k in zip("abc", clocks, strict=True))
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew() and not c.try_acquire_or_renew()
    for k in clocks:
        k.advance(16)
    read = b.lock.get

    def read_then_lose_the_race() -> object:
        record = read()
        assert c.try_acquire_or_renew()  # c takes it between b's read and b's write
        return record

    monkeypatch.setattr(b.lock, "get", read_then_lose_the_race)
    assert not b.try_acquire_or_renew()
    assert "changed since it was read" in b.error  # the 409 of a stale resourceVersion
    assert stored(fake_kube)["holderIdentity"] == "pod-c" and not b.is_leader()


@pytest.mark.parametrize(
    ("lease", "renew", "retry", "words"),
    [
        (10, 10.0, 2.0, "greater than --renew-deadline"),
        (15, 2.0, 2.0, "1.2 x --retry-period"),
        (0, 0.5, 0.1, "whole number"),
    ],
)
def test_timings_client_go_would_refuse_are_a_config_error(
    lease: int, renew: float, retry: float, words: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(words)):
        LeaseTiming(lease, renew, retry)


def test_a_lease_deleted_by_hand_is_waited_out_while_its_holder_may_still_act(
    conn: KubeConnection, fake_kube: FakeKube
) -> None:
    clock_a, clock_b = Clock(), Clock()
    a, b = elector(conn, "pod-a", clock_a), elector(conn, "pod-b", clock_b)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    fake_kube.delete_object("coordination.k8s.io", "leases", NS, NAME)  # kubectl delete lease
    clock_a.advance(1)
    clock_b.advance(1)
    assert not b.try_acquire_or_renew() and not b.may_act()  # a still may: b does not create
    assert a.may_act()
    assert a.try_acquire_or_renew()  # the holder makes it again, and stays the only leader
    assert stored(fake_kube)["holderIdentity"] == "pod-a"
    assert not b.try_acquire_or_renew()
    fake_kube.delete_object("coordination.k8s.io", "leases", NS, NAME)
    clock_a.advance(30)  # a is gone for good: b creates it once a's last record is silent
    clock_b.advance(14.9)
    assert not b.try_acquire_or_renew()
    clock_b.advance(0.2)
    assert b.try_acquire_or_renew() and b.may_act() and not a.may_act()
    assert stored(fake_kube)["holderIdentity"] == "pod-b"


def test_a_holder_cleared_by_hand_stops_the_holder_and_is_waited_out_by_the_standby(
    conn: KubeConnection, fake_kube: FakeKube
) -> None:
    clock_a, clock_b = Clock(), Clock()
    a, b = elector(conn, "pod-a", clock_a), elector(conn, "pod-b", clock_b)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    lease = fake_kube.get_object("coordination.k8s.io", "v1", "leases", NS, NAME)
    lease["spec"]["holderIdentity"] = ""  # kubectl edit: the duration stays 15 s
    fake_kube.put_object(lease)
    clock_a.advance(1)
    clock_b.advance(1)
    assert not a.try_acquire_or_renew() and not a.may_act()  # a sees it: it stops at once
    assert not b.try_acquire_or_renew()  # b does not know when a saw it: it waits 15 s
    clock_b.advance(14.9)
    assert not b.try_acquire_or_renew()
    clock_b.advance(0.2)
    assert b.try_acquire_or_renew()
    spec = stored(fake_kube)
    assert spec["holderIdentity"] == "pod-b" and spec["leaseTransitions"] == 1
