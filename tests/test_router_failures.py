"""What a user sees when the API says no, is gone, or is slow; and the watch that follows changes."""

from __future__ import annotations

import threading
import time

import pytest

from monotui.errors import (
    BackendUnavailableError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    SourceError,
)
from monotui.model import Weights
from monotui.sources.base import RouteState
from monotui.sources.kube import KubeConnection
from monotui.sources.router_istio import IstioRouter
from tests.fakekube import FakeKube
from tests.router_helpers import ISTIO, NS, conn_fixture, rollout, virtual_service, wait_for

conn = conn_fixture(timeout_s=0.5)  # a dropped or slow answer fails in half a second


@pytest.fixture
def router(fake_kube: FakeKube, conn: KubeConnection) -> IstioRouter:
    fake_kube.put_object(virtual_service(10))
    return IstioRouter(conn, rollout())


def canary_weight(fake: FakeKube) -> int:
    obj = fake.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    weight: int = obj["spec"]["http"][0]["route"][1]["weight"]
    return weight


def test_403_on_patch_names_verb_resource_and_namespace(
    fake_kube: FakeKube, router: IstioRouter
) -> None:
    state = router.read()
    fake_kube.deny("patch", "virtualservices", NS)
    with pytest.raises(PermissionDeniedError) as caught:
        router.write(Weights(75, 25), state)
    text = str(caught.value)
    assert "cannot patch virtualservice reviews in namespace bookinfo" in text
    assert "needs 'patch' on virtualservices.networking.istio.io" in text
    assert "RBAC" in text and caught.value.exit_code == 4
    assert canary_weight(fake_kube) == 10


def test_403_on_get(fake_kube: FakeKube, router: IstioRouter) -> None:
    fake_kube.deny("get", "virtualservices", NS)
    with pytest.raises(PermissionDeniedError, match="cannot get virtualservice reviews"):
        router.read()


def test_404_after_deletion_names_the_object(fake_kube: FakeKube, router: IstioRouter) -> None:
    state = router.read()
    fake_kube.delete_object(ISTIO, "virtualservices", NS, "reviews")
    with pytest.raises(NotFoundError, match="virtualservice reviews not found") as caught:
        router.write(Weights(75, 25), state)
    assert caught.value.exit_code == 2


def test_api_down_is_unavailable_and_recovers(fake_kube: FakeKube, router: IstioRouter) -> None:
    router.read()
    fake_kube.down()
    with pytest.raises(BackendUnavailableError, match="unreachable .*check the cluster") as caught:
        router.read()
    assert "Traceback" not in str(caught.value) and "0x" not in str(caught.value)
    fake_kube.up()
    assert router.read().weights == Weights(90, 10)


def test_a_slow_get_times_out_once_not_four_times(fake_kube: FakeKube, router: IstioRouter) -> None:
    router.read()
    fake_kube.latency_s = 1.5
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError, match="did not answer in time"):
        router.read()
    assert time.monotonic() - started < 1.2  # 0.5 s timeout, no silent retries
    assert sum(1 for r in fake_kube.requests if r.method == "GET") == 2


def test_a_500_is_unavailable_and_retried_next_poll(
    fake_kube: FakeKube, router: IstioRouter
) -> None:
    fake_kube.fail_next(1, 503, retry_after=30)
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError, match="answered 503 .*retried at the next poll"):
        router.read()
    assert time.monotonic() - started < 1  # Retry-After is not slept on silently
    assert router.read().weights == Weights(90, 10)


def test_a_dropped_patch_may_have_been_applied_and_is_re_read(
    fake_kube: FakeKube, router: IstioRouter
) -> None:
    state = router.read()
    fake_kube.fail_next(1, method="PATCH", drop=True)
    with pytest.raises(BackendUnavailableError, match="MAY have been applied; it now reads 90/10"):
        router.write(Weights(75, 25), state)
    assert sum(1 for r in fake_kube.requests if r.method == "PATCH") == 1  # never sent twice


def test_a_timed_out_patch_says_it_may_still_apply(
    fake_kube: FakeKube, router: IstioRouter
) -> None:
    state = router.read()
    fake_kube.latency_s = 0.8
    with pytest.raises(BackendUnavailableError, match="MAY have been applied") as caught:
        router.write(Weights(75, 25), state)
    assert caught.value.exit_code == 5
    fake_kube.latency_s = 0
    wait_for(lambda: canary_weight(fake_kube) == 25)  # and indeed the server applied it


# --- watch -------------------------------------------------------------------------------------


def watch_requests(fake: FakeKube) -> int:
    return sum(1 for r in list(fake.requests) if r.query.get("watch") in ("true", "1"))


class Seen:
    """What the watch reported, safe to read from the test thread."""

    def __init__(self) -> None:
        self.states: list[RouteState] = []
        self.lock = threading.Lock()

    def __call__(self, state: RouteState) -> None:
        with self.lock:
            self.states.append(state)

    def weights(self) -> list[Weights]:
        with self.lock:
            return [s.weights for s in self.states]


def test_watch_sees_a_foreign_change_quickly_and_stops_promptly(
    fake_kube: FakeKube, router: IstioRouter
) -> None:
    seen = Seen()
    stop = router.watch(seen)
    assert stop is not None
    wait_for(lambda: seen.weights() == [Weights(90, 10)])  # the object as it is, first
    started = time.monotonic()
    fake_kube.put_object(virtual_service(20))
    wait_for(lambda: Weights(80, 20) in seen.weights(), timeout_s=1.0)
    assert time.monotonic() - started < 1.0
    before = {t.name for t in threading.enumerate()}
    started = time.monotonic()
    stop()
    assert time.monotonic() - started < 0.5
    assert "watch virtualservice bookinfo/reviews" not in {t.name for t in threading.enumerate()}
    assert "watch virtualservice bookinfo/reviews" in before


def test_watch_is_re_established_after_the_api_comes_back(
    fake_kube: FakeKube, router: IstioRouter
) -> None:
    seen = Seen()
    stop = router.watch(seen)
    assert stop is not None
    wait_for(lambda: seen.weights())
    watches = watch_requests(fake_kube)
    fake_kube.down()
    fake_kube.put_object(virtual_service(40))  # changed while we could not see it
    fake_kube.up()
    wait_for(lambda: Weights(60, 40) in seen.weights(), timeout_s=5)
    assert watch_requests(fake_kube) > watches
    fake_kube.put_object(virtual_service(50))
    wait_for(lambda: Weights(50, 50) in seen.weights(), timeout_s=2)
    stop()


def test_watch_survives_the_server_ending_it_and_a_compaction(
    fake_kube: FakeKube, router: IstioRouter
) -> None:
    fake_kube.max_watch_s = 0.2  # the server closes every watch quickly
    seen = Seen()
    stop = router.watch(seen)
    assert stop is not None
    wait_for(lambda: seen.weights())
    fake_kube.compact()  # the next resume from our resourceVersion gets 410 Gone
    watches = watch_requests(fake_kube)
    wait_for(lambda: watch_requests(fake_kube) >= watches + 2)  # ended by the server, renewed
    fake_kube.put_object(virtual_service(30))
    wait_for(lambda: Weights(70, 30) in seen.weights(), timeout_s=3)
    stop()


def test_a_429_on_patch_is_one_line_and_retried(fake_kube: FakeKube, router: IstioRouter) -> None:
    state = router.read()
    fake_kube.fail_next(1, 429, method="PATCH")  # the plain-text answer of priority-and-fairness
    with pytest.raises(BackendUnavailableError) as caught:
        router.write(Weights(75, 25), state)
    assert str(caught.value) == (
        "kubernetes API answered 429 to patch virtualservice reviews: Too many requests, please "
        "try again later.; it is retried at the next poll"
    )
    assert canary_weight(fake_kube) == 10


def test_a_webhook_422_says_what_it_said_not_that_the_route_changed(
    fake_kube: FakeKube, router: IstioRouter
) -> None:
    state = router.read()
    said = 'admission webhook "validation.istio.io" denied the request: weights must sum to 100'
    fake_kube.fail_next(1, 422, method="PATCH", message=said)
    with pytest.raises(SourceError) as caught:
        router.write(Weights(75, 25), state)
    assert not isinstance(caught.value, ConflictError)
    assert str(caught.value) == (
        f"kubernetes API refused to patch virtualservice reviews (422): {said}; nothing was applied"
    )
    assert canary_weight(fake_kube) == 10
