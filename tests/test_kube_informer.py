"""Routers reading from the session's informers on the fake API server, through the real client:
one list per kind and namespace (or one for the cluster) instead of a GET per poll, writes that
stay per object and compare-and-set, and a cache that resyncs after 410 Gone and after a dropped
watch, and is never served as fresh while it is not synced."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from monotui.config import Config, KubernetesConfig
from monotui.errors import (
    BackendUnavailableError,
    ConflictError,
    MonotuiError,
    PermissionDeniedError,
)
from monotui.model import Weights
from monotui.registry import PRODUCTION, BuildContext
from monotui.sources import kube_informer
from monotui.sources.kube_informers import CLUSTER_WIDE_FROM
from monotui.sources.router_istio import IstioRouter
from tests.configs import rollout_config
from tests.fakekube import FakeKube
from tests.fleet_helpers import ISTIO, fleet, rollout_table, virtual_service

WATCH_PATH = "virtualservices"


def wait_for(check: Callable[[], object], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def world(fake_kube: FakeKube, tmp_path: Path) -> Iterator[tuple[FakeKube, BuildContext]]:
    kubeconfig = fake_kube.write_kubeconfig(tmp_path / "kubeconfig")
    ctx = BuildContext(
        Config(kubernetes=KubernetesConfig(kubeconfig=kubeconfig)), shared_reads=True
    )
    ctx.kube().timeout_s = 2.0
    try:
        yield fake_kube, ctx
    finally:
        ctx.close()


def routers(fake: FakeKube, ctx: BuildContext, members: list[tuple[str, str]]) -> list[IstioRouter]:
    out = []
    for name, ns in members:
        fake.put_object(virtual_service(name, ns))
        cfg = rollout_config(rollout_table(name, ns) | {"metrics": {"kind": "none"}})
        router = PRODUCTION.get("router", "istio").build(cfg.router, cfg, ctx)
        assert isinstance(router, IstioRouter)
        out.append(router)
    return out


def test_a_fleet_reads_from_one_list_per_namespace_and_then_sends_nothing(
    world: tuple[FakeKube, BuildContext],
) -> None:
    fake, ctx = world
    built = routers(fake, ctx, fleet(30, namespaces=2))
    since = len(fake.requests)
    assert all(r.read().weights == Weights(90, 10) for r in built)
    assert fake.count_requests("list", since=since) == 2  # one per namespace
    assert fake.count_requests("get", since=since) == 0
    wait_for(lambda: fake.open_watches == 2, "one watch per namespace")
    steady = len(fake.requests)
    for _ in range(5):  # five polls of the whole fleet
        for r in built:
            r.read()
    assert len(fake.requests) == steady  # 0 API requests per poll at steady state


def test_a_one_shot_command_lists_once_and_opens_no_watch(
    fake_kube: FakeKube, tmp_path: Path
) -> None:
    kubeconfig = fake_kube.write_kubeconfig(tmp_path / "kubeconfig")
    config = Config(kubernetes=KubernetesConfig(kubeconfig=kubeconfig))
    ctx = BuildContext(config, shared_reads=True, follow_reads=False)  # what `status` builds
    try:
        built = routers(fake_kube, ctx, fleet(30, namespaces=2))
        since = len(fake_kube.requests)
        assert all(r.read().weights == Weights(90, 10) for r in built)
        assert fake_kube.count_requests("list", since=since) == 2  # one per namespace
        time.sleep(0.3)  # a watch would have been opened by now
        assert fake_kube.count_requests("watch", since=since) == 0
        assert fake_kube.open_watches == 0
        started = time.monotonic()
    finally:
        ctx.close()
    assert time.monotonic() - started < 2.0  # the idle informers end at once


def test_objects_in_many_namespaces_share_one_cluster_wide_list(
    world: tuple[FakeKube, BuildContext],
) -> None:
    fake, ctx = world
    built = routers(fake, ctx, fleet(40, namespaces=CLUSTER_WIDE_FROM + 4))
    since = len(fake.requests)
    assert {r.read().weights for r in built} == {Weights(90, 10)}
    assert fake.count_requests("list", since=since) == 1
    assert fake.count_requests("list", path=r"^/apis/networking.istio.io/v1/virtualservices$") == 1


def test_a_refused_cluster_wide_list_falls_back_to_one_per_namespace(
    world: tuple[FakeKube, BuildContext],
) -> None:
    fake, ctx = world
    members = fleet(10, namespaces=CLUSTER_WIDE_FROM)
    fake.deny("list", "virtualservices", cluster_wide=True)
    built = routers(fake, ctx, members)
    assert {r.read().weights for r in built} == {Weights(90, 10)}  # no error reaches the reader
    assert fake.count_requests("list", path=r"/namespaces/") == CLUSTER_WIDE_FROM


def test_writes_stay_per_object_and_compare_and_set_and_the_next_read_shows_them(
    world: tuple[FakeKube, BuildContext],
) -> None:
    fake, ctx = world
    first, second = routers(fake, ctx, fleet(2, namespaces=1))
    state = first.read()
    since = len(fake.requests)
    result = first.write(Weights(75, 25), state)
    assert result.state is not None and result.state.weights == Weights(75, 25)
    assert fake.count_requests(method="PATCH", since=since) == 1
    assert fake.count_requests("get", since=since) + fake.count_requests("list", since=since) == 0
    assert first.read().weights == Weights(75, 25)  # our write, never the version before it
    assert second.read().weights == Weights(90, 10)  # the other object untouched
    # Someone else moves it: a write from what we had is a conflict, and the next read shows
    # their change even before the watch has brought it.
    fake.put_object(virtual_service("svc-000", "team-0", canary=40))
    with pytest.raises(ConflictError):
        first.write(Weights(50, 50), result.state)
    assert first.read().weights == Weights(60, 40)


def test_a_change_made_elsewhere_reaches_the_follower_and_the_cache(
    world: tuple[FakeKube, BuildContext],
) -> None:
    fake, ctx = world
    (router,) = routers(fake, ctx, fleet(1))
    router.read()
    seen: list[Weights] = []
    stop = router.watch(lambda s: seen.append(s.weights))
    assert stop is not None
    try:
        fake.put_object(virtual_service("svc-000", "team-0", canary=30))
        wait_for(lambda: seen == [Weights(70, 30)], "the change through the watch")
        assert router.read().weights == Weights(70, 30)
    finally:
        stop()


def _informer(ctx: BuildContext) -> Any:
    pool = ctx.informers()
    assert pool is not None
    (informer,) = pool.informers()
    return informer


def test_410_gone_resyncs_and_delivers_what_changed_meanwhile(
    world: tuple[FakeKube, BuildContext],
) -> None:
    fake, ctx = world
    (router,) = routers(fake, ctx, fleet(1))
    router.read()
    seen: list[Weights] = []
    stop = router.watch(lambda s: seen.append(s.weights))
    assert stop is not None
    informer = _informer(ctx)
    wait_for(lambda: fake.open_watches == 1, "the watch")
    try:
        # The watch ends; while its successor waits, the object moves and history is compacted:
        # the successor, from the version the informer had, is told 410 Gone.
        fake.slow_next(1, 2.0, method="GET", path=WATCH_PATH)
        fake.end_watches()
        fake.put_object(virtual_service("svc-000", "team-0", canary=35))
        fake.compact()
        wait_for(lambda: informer.lists == 2, "the resync")
        wait_for(lambda: seen == [Weights(65, 35)], "the change, from the fresh list")
        assert router.read().weights == Weights(65, 35)
        wait_for(lambda: fake.open_watches == 1, "watching again")
    finally:
        stop()


def test_bookmarks_keep_the_version_fresh_so_a_new_watch_needs_no_resync(
    world: tuple[FakeKube, BuildContext],
) -> None:
    fake, ctx = world
    (router,) = routers(fake, ctx, fleet(1))
    router.read()
    informer = _informer(ctx)
    wait_for(lambda: fake.open_watches == 1, "the watch")
    # Elsewhere in the cluster the resourceVersion moves on; a bookmark tells the informer.
    fake.put_object(virtual_service("other", "elsewhere"))
    fake.send_bookmarks()
    wait_for(
        lambda: informer.resource_version == str(fake.resource_version), "the bookmark's version"
    )
    fake.compact()
    fake.end_watches()
    wait_for(lambda: fake.count_requests("watch") == 2, "the next watch")
    wait_for(lambda: fake.open_watches == 1, "watching again")
    assert informer.lists == 1  # resumed from the bookmark: no 410, no list


def test_a_dropped_watch_resyncs_and_an_outage_is_never_shown_as_fresh(
    world: tuple[FakeKube, BuildContext],
) -> None:
    fake, ctx = world
    (router,) = routers(fake, ctx, fleet(1))
    router.read()
    informer = _informer(ctx)
    wait_for(lambda: fake.open_watches == 1, "the watch")
    fake.drop_watches()
    wait_for(lambda: informer.lists == 2, "the resync after the drop")
    assert router.read().weights == Weights(90, 10)
    fake.down()
    wait_for(lambda: not informer.synced, "the informer noticing the outage")
    with pytest.raises(BackendUnavailableError) as unavailable:
        router.read()  # the weights it had are not handed out as fresh
    assert "unreachable" in str(unavailable.value)
    fake.put_object(virtual_service("svc-000", "team-0", canary=20))  # changed while away
    fake.up()
    wait_for(lambda: informer.synced, "the resync after the outage", timeout_s=20)
    assert router.read().weights == Weights(80, 20)


def test_a_missing_object_in_a_synced_cache_is_not_found(
    world: tuple[FakeKube, BuildContext],
) -> None:
    fake, ctx = world
    routers(fake, ctx, fleet(1))
    cfg = rollout_config(rollout_table("ghost", "team-0") | {"metrics": {"kind": "none"}})
    ghost = PRODUCTION.get("router", "istio").build(cfg.router, cfg, ctx)
    with pytest.raises(MonotuiError) as missing:
        ghost.read()
    assert "ghost not found in namespace team-0" in str(missing.value)
    assert missing.value.exit_code == 2


def test_without_shared_reads_a_router_gets_its_object(fake_kube: FakeKube, tmp_path: Path) -> None:
    kubeconfig = fake_kube.write_kubeconfig(tmp_path / "kubeconfig")
    ctx = BuildContext(Config(kubernetes=KubernetesConfig(kubeconfig=kubeconfig)))
    try:
        (router,) = routers(fake_kube, ctx, fleet(1))
        since = len(fake_kube.requests)
        router.read()
        assert fake_kube.count_requests("get", since=since) == 1
        assert ctx.informers() is None
    finally:
        ctx.close()
    assert fake_kube.get_object(ISTIO, "v1", "virtualservices", "team-0", "svc-000")


def test_a_denied_watch_is_told_to_the_follower_naming_the_verb(
    world: tuple[FakeKube, BuildContext],
) -> None:
    fake, ctx = world
    (router,) = routers(fake, ctx, fleet(1))
    fake.deny("watch", None, "team-0")
    errors: list[MonotuiError] = []
    stop = router.watch(lambda s: None, errors.append)
    assert stop is not None
    try:
        wait_for(lambda: errors, "the refused watch")
    finally:
        stop()
    assert isinstance(errors[0], PermissionDeniedError)
    assert "'watch'" in str(errors[0]) and "virtualservices" in str(errors[0])


def test_stopping_ends_a_list_in_flight_at_once(world: tuple[FakeKube, BuildContext]) -> None:
    fake, ctx = world
    ctx.kube().timeout_s = 30.0  # the list's own deadline is far away
    (router,) = routers(fake, ctx, fleet(1))
    # The list (not the GET of the object) sends a byte every half second.
    fake.trickle_next(None, 0.5, method="GET", path=WATCH_PATH + "$")

    def read() -> None:
        with contextlib.suppress(MonotuiError):  # it fails once the informer is stopped
            router.read()

    # A read starts the informer and waits for its first list (a daemon: it is left waiting).
    threading.Thread(target=read, daemon=True).start()
    wait_for(lambda: fake.count_requests("list", path=WATCH_PATH) >= 1, "the list")
    informer = _informer(ctx)

    informer.stop(timeout_s=5.0)

    # Its socket was shut down: the thread is gone, not reading one byte at a time for 30 s.
    names = {t.name for t in threading.enumerate()}
    assert "informer virtualservices team-0" not in names


def test_a_list_past_its_cap_is_one_typed_error(
    world: tuple[FakeKube, BuildContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, ctx = world
    monkeypatch.setattr(kube_informer, "LIST_MAX_BYTES", 1 << 20)
    members = fleet(3, namespaces=1)
    (router, *_) = routers(fake, ctx, members)
    for name, ns in members:  # three objects of half a megabyte each
        big = virtual_service(name, ns)
        big["metadata"]["annotations"] = {"note": "x" * 500_000}
        fake.put_object(big)
    with pytest.raises(MonotuiError, match="more than 1 MB"):
        router.read()
