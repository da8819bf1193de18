"""The cockpit's windows onto the autopilot Leases of a fleet, on the fake API server through the
real client: one list+watch of the Leases per namespace (or one for the cluster) and then nothing
per poll, however many rollouts; a Lease that appears, changes or goes is seen through the watch
(and after a dropped watch or 410 Gone, through a fresh list); a 403 or a hanging API server shows
in the header and never holds up the reader or the exit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from monotui.audit import AuditLog
from monotui.autopilot.lease import lease_spec
from monotui.autopilot.names import GROUP, MANAGED_BY, PLURAL, SELECTOR, VERSION
from monotui.autopilot.window import LeaseWindows, RolloutWindow
from monotui.model import Weights
from monotui.registry import PRODUCTION, BuildContext
from monotui.rollout import Rollout, build_rollouts
from monotui.sources.kube_informers import CLUSTER_WIDE_FROM
from tests.configs import parse
from tests.fakekube import FakeKube
from tests.fleet_helpers import fleet, rollout_table, virtual_service
from widgets.rollout_header import autopilot_text

ROLLOUTS = 24
FOLLOW_S = 0.2  # the windows look often: the old LIST per namespace per look shows at once
STEADY_S = 2.0  # the window in which requests are counted
LEASES_PATH = r"/leases$"


def wait_for(check: Callable[[], object], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def lease(namespace: str, rollout: str, holder: str, duration_s: int = 30) -> dict[str, Any]:
    """The Lease an autopilot holding `rollout` keeps, renewed now."""
    now = time.time()
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Lease",
        "metadata": {
            "name": f"monotui-istio-{rollout}",
            "namespace": namespace,
            "labels": dict(MANAGED_BY),
        },
        "spec": lease_spec(holder, duration_s, now, now, 0),
    }


def header(window: RolloutWindow) -> str:
    return autopilot_text(window.status()).plain


class Fleet:
    """ROLLOUTS Istio rollouts over `namespaces` namespaces, built as `monotui watch` builds them,
    half of them with a live Lease held by pod-a."""

    def __init__(self, fake: FakeKube, tmp_path: Path, namespaces: int) -> None:
        self.fake = fake
        self.members = fleet(ROLLOUTS, namespaces=namespaces)
        self.namespaces = namespaces
        kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
        tables = [rollout_table(n, ns) | {"metrics": {"kind": "none"}} for n, ns in self.members]
        cfg = parse({"kubernetes": {"kubeconfig": str(kubeconfig)}, "rollouts": tables})
        self.ctx = BuildContext(cfg, shared_reads=True)
        self.ctx.kube().timeout_s = 2.0
        audit = AuditLog(tmp_path / "audit.jsonl", user="oncall")
        self.rollouts: list[Rollout] = build_rollouts(cfg, PRODUCTION, self.ctx, audit=audit)
        for name, ns in self.members:
            fake.put_object(virtual_service(name, ns))
        self.held = {name for i, (name, _) in enumerate(self.members) if i % 2 == 0}
        for name, ns in self.members:
            if name in self.held:
                fake.put_object(lease(ns, name, "pod-a"))
        self.windows: LeaseWindows | None = None
        self._closed = False

    def follow(self, shared: bool = False) -> LeaseWindows:
        """The windows on informers of their own (the old signature), or on the session's
        (shared with its routers), as `monotui watch` starts them."""
        pool = self.ctx.informers() if shared else None
        self.windows = LeaseWindows(
            self.rollouts, self.ctx.kube(), informers=pool, follow_s=FOLLOW_S
        ).start()
        return self.windows

    def window(self, name: str) -> RolloutWindow:
        assert self.windows is not None
        return self.windows.windows[name]

    def namespace_of(self, name: str) -> str:
        return dict(self.members)[name]

    def all_shown(self) -> bool:
        return all(
            header(self.window(name)).startswith("autopilot: pod-a, renewed")
            if name in self.held
            else header(self.window(name)) == "autopilot: none"
            for name, _ in self.members
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.windows is not None:
            self.windows.close()
        for rollout in self.rollouts:
            rollout.close()
        self.ctx.close()


@pytest.fixture
def make_fleet(fake_kube: FakeKube, tmp_path: Path) -> Iterator[Callable[[int], Fleet]]:
    made: list[Fleet] = []

    def make(namespaces: int) -> Fleet:
        made.append(Fleet(fake_kube, tmp_path, namespaces))
        return made[-1]

    yield make
    for f in made:
        f.close()


def lease_lists(fake: FakeKube, since: int = 0) -> int:
    return fake.count_requests("list", path=LEASES_PATH, since=since)


@pytest.mark.parametrize(
    ("namespaces", "lists"),
    [(3, 3), (CLUSTER_WIDE_FROM + 1, 1)],  # one per namespace, or one for the whole cluster
)
def test_a_fleets_leases_cost_one_list_and_then_no_request_per_poll(
    make_fleet: Callable[[int], Fleet], namespaces: int, lists: int
) -> None:
    f = make_fleet(namespaces)
    fake = f.fake
    since_start = len(fake.requests)
    f.follow()
    steady_state(f, since_start, lists)


def test_the_session_routers_and_the_leases_share_its_informers_and_its_exit(
    make_fleet: Callable[[int], Fleet],
) -> None:
    f = make_fleet(CLUSTER_WIDE_FROM + 1)
    fake = f.fake
    since_start = len(fake.requests)

    def poll() -> None:  # every rollout's poll: its route, its automation's view of the Lease
        for rollout in f.rollouts:
            assert rollout.cycle().weights == Weights(90, 10)

    poll()  # the first: one cluster-wide list of the VirtualServices
    windows = f.follow(shared=True)
    steady_state(f, since_start, lists=1, watches=2, poll=poll)
    pool = f.ctx.informers()
    assert pool is not None
    assert sorted(i.plural for i in pool.informers()) == ["leases", "virtualservices"]
    windows.close()
    assert all(i.synced for i in pool.informers())  # the session's: closed by the session
    f.close()
    wait_for(lambda: fake.open_watches == 0, "every watch closed with the session")


def steady_state(
    f: Fleet,
    since_start: int,
    lists: int,
    watches: int | None = None,
    poll: Callable[[], None] = lambda: None,
) -> None:
    """Every header shown, then STEADY_S of polls and of reading them without a request."""
    fake = f.fake
    wait_for(f.all_shown, "every header to show its Lease (or none)")
    # The watches opened after their lists (the old code never opened one: it listed again).
    deadline = time.monotonic() + 5
    while fake.open_watches < (watches or lists) and time.monotonic() < deadline:
        time.sleep(0.01)
    since = len(fake.requests)
    end = time.monotonic() + STEADY_S
    while time.monotonic() < end:  # the cockpit reading its headers, as the UI does
        poll()
        assert f.all_shown()
        time.sleep(0.05)
    listed = lease_lists(fake, since)
    assert listed == 0, f"{listed} Lease LISTs in {STEADY_S} s of steady state"
    assert len(fake.requests) == since  # nothing else either: 0 API requests per poll
    assert lease_lists(fake, since_start) == lists
    selectors = {
        r.query.get("labelSelector") for r in fake.requests[since_start:] if "leases" in r.path
    }
    assert selectors == {SELECTOR}  # the server filters: no node heartbeats come along
    # A cockpit on auto defers to the live holder (the gate reads the Lease itself).
    name = sorted(f.held)[0]
    why = f.window(name).gate()
    assert why is not None and why.startswith("autopilot pod-a holds the lease")
    assert f.window(sorted(set(dict(f.members)) - f.held)[0]).gate() is None


def test_a_lease_that_appears_changes_or_goes_is_seen_through_the_watch(
    make_fleet: Callable[[int], Fleet],
) -> None:
    f = make_fleet(3)
    fake = f.fake
    f.follow()
    wait_for(f.all_shown, "every header")
    wait_for(lambda: fake.open_watches == 3, "one watch of the Leases per namespace")
    held = sorted(f.held)[0]
    free = sorted(set(dict(f.members)) - f.held)[0]
    since = len(fake.requests)

    fake.put_object(lease(f.namespace_of(held), held, "pod-b"))  # another autopilot took over
    wait_for(lambda: header(f.window(held)).startswith("autopilot: pod-b, renewed"), "pod-b")
    fake.put_object(lease(f.namespace_of(free), free, "pod-c"))  # an autopilot started
    wait_for(lambda: header(f.window(free)).startswith("autopilot: pod-c, renewed"), "pod-c")
    fake.delete_object(GROUP, PLURAL, f.namespace_of(held), f"monotui-istio-{held}")
    wait_for(lambda: header(f.window(held)) == "autopilot: none", "the deleted Lease gone")
    assert lease_lists(fake, since) == 0  # all of it through the watches

    fake.drop_watches()  # the API server restarts: a fresh list, and the watch again
    fake.put_object(lease(f.namespace_of(free), free, "pod-d"))
    wait_for(lambda: header(f.window(free)).startswith("autopilot: pod-d, renewed"), "pod-d")
    wait_for(lambda: fake.open_watches == 3, "the watches back")

    relisted = lease_lists(fake)
    # The watches end; while their successors wait, the Lease moves and history is compacted:
    # resuming from the version the informers had is 410 Gone ...
    fake.slow_next(3, 1.0, method="GET", path=LEASES_PATH)
    fake.end_watches()
    fake.put_object(lease(f.namespace_of(free), free, "pod-e"))
    fake.compact()
    wait_for(lambda: header(f.window(free)).startswith("autopilot: pod-e, renewed"), "pod-e")
    assert lease_lists(fake) > relisted  # ... so the informer listed afresh


def test_leases_the_user_may_not_list_show_as_unknown_and_recover_when_granted(
    make_fleet: Callable[[int], Fleet],
) -> None:
    f = make_fleet(3)
    fake = f.fake
    fake.deny("list", "leases")
    f.follow()
    name = sorted(f.held)[0]
    wait_for(lambda: header(f.window(name)).startswith("autopilot: unknown: "), "unknown")
    assert header(f.window(name)).startswith(
        f"autopilot: unknown: forbidden: cannot list leases in namespace {f.namespace_of(name)}: "
        "your kube user needs 'list' on leases.coordination.k8s.io there"
    )
    fake.allow_all()  # granted: the informer lists again (after its back-off)
    wait_for(f.all_shown, "every header once granted", timeout_s=20)


@pytest.mark.parametrize("shared", [False, True])
def test_a_hanging_api_server_never_holds_up_the_headers_or_the_exit(
    make_fleet: Callable[[int], Fleet], shared: bool
) -> None:
    f = make_fleet(3)
    fake = f.fake
    fake.answer_late(None, method="GET", path=r"/leases$")  # lists of Leases: never answered
    f.follow(shared=shared)
    wait_for(lambda: fake.count_requests(path=LEASES_PATH) >= 1, "a list in flight")
    name = sorted(f.held)[0]
    # The list gives up within the request timeout; the header says so (read from memory).
    wait_for(lambda: header(f.window(name)).startswith("autopilot: unknown: "), "unknown")
    closed = threading.Event()

    def close() -> None:  # as `q` does: the windows, then the session's informers
        f.close()
        closed.set()

    threading.Thread(target=close, daemon=True).start()
    wait_for(closed.is_set, "the exit while the lists hang", timeout_s=5)
    fake.release_held()


def test_a_lease_deleted_or_cleared_by_hand_keeps_the_cockpit_deferring_until_it_runs_out(
    fake_kube: FakeKube, fake_kubeconfig: Path
) -> None:
    from monotui.autopilot.lease import LeaseLock
    from tests.router_helpers import kube

    conn = kube(fake_kubeconfig)
    clock = [1000.0]
    lock = LeaseLock(conn, "bookinfo", "monotui-istio-reviews", "reviews", timeout_s=2)
    window = RolloutWindow(lock, monotonic=lambda: clock[0])
    try:
        fake_kube.put_object(lease("bookinfo", "reviews", "pod-a", duration_s=30))
        assert (window.gate() or "").startswith("autopilot pod-a holds the lease")
        fake_kube.delete_object(GROUP, PLURAL, "bookinfo", "monotui-istio-reviews")
        assert "was deleted while autopilot pod-a held it" in (window.gate() or "")
        clock[0] += 31  # pod-a's lease has run out on its clock and on ours
        stale = lease("bookinfo", "reviews", "", duration_s=30)  # kubectl edit: holder cleared
        fake_kube.put_object(stale)
        assert "was cleared by hand" in (window.gate() or "")
        clock[0] += 31
        assert window.gate() is None
        fake_kube.put_object(lease("bookinfo", "reviews", "", duration_s=1))  # a release
        assert window.gate() is None
    finally:
        conn.close()
