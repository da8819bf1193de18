"""The Istio router against the fake API server, through the real kubernetes client."""

from __future__ import annotations

import json
from typing import Any

import pytest

from monotui.errors import (
    ConfigError,
    ConflictError,
    MonotuiError,
    NotFoundError,
    SourceError,
)
from monotui.model import Weights
from monotui.sources.kube import KubeConnection
from monotui.sources.router_istio import IstioRouter
from tests.fakekube import FakeKube
from tests.fakekube.jsonpatch import apply_json_patch
from tests.router_helpers import (
    ISTIO,
    NS,
    conn_fixture,
    dest,
    rollout,
    virtual_service,
    without_weights,
)

conn = conn_fixture()


def stored(fake: FakeKube, name: str = "reviews") -> dict[str, Any]:
    return fake.get_object(ISTIO, "v1", "virtualservices", NS, name)


def weights_of(obj: dict[str, Any], section: str = "http", i: int = 0) -> list[int | None]:
    return [e.get("weight") for e in obj["spec"][section][i]["route"]]


def patches(fake: FakeKube) -> list[Any]:
    return [r.body for r in fake.requests if r.method == "PATCH"]


def test_reads_subset_weights_and_writes_only_the_weights(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(virtual_service(10))
    router = IstioRouter(conn, rollout(route="primary"))
    before = stored(fake_kube)
    state = router.read()
    assert state.weights == Weights(90, 10)
    assert state.version == before["metadata"]["resourceVersion"]
    assert state.resource == "virtualservice bookinfo/reviews"

    result = router.write(Weights(75, 25), state)

    after = stored(fake_kube)
    assert weights_of(after) == [75, 25]
    assert result.state is not None and result.state.weights == Weights(75, 25)
    assert result.state.version == after["metadata"]["resourceVersion"] != state.version
    # Every other field survives byte for byte, key order included.
    assert json.dumps(without_weights(after)) == json.dumps(without_weights(before))
    # The patch text is exactly what was sent.
    assert patches(fake_kube) == [json.loads(result.patch)]


def test_host_based_destinations(fake_kube: FakeKube, conn: KubeConnection) -> None:
    http = [
        {
            "route": [
                {
                    "destination": {"host": "reviews-stable.bookinfo.svc.cluster.local"},
                    "weight": 80,
                },
                {
                    "destination": {"host": "reviews-canary.bookinfo.svc.cluster.local"},
                    "weight": 20,
                },
            ]
        }
    ]
    fake_kube.put_object(virtual_service(http=http))
    router = IstioRouter(
        conn,
        rollout(
            match_by="host",
            stable="reviews-stable.bookinfo.svc.cluster.local",
            canary="reviews-canary.bookinfo.svc.cluster.local",
        ),
    )
    state = router.read()
    assert state.weights == Weights(80, 20)
    router.write(Weights(100, 0), state)
    assert weights_of(stored(fake_kube)) == [100, 0]


def test_without_a_route_name_the_only_http_route_is_used(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(virtual_service(http=[{"route": [dest("v1", 95), dest("v2", 5)]}]))
    router = IstioRouter(conn, rollout())
    state = router.read()
    assert state.weights == Weights(95, 5)
    router.write(Weights(90, 10), state)
    assert weights_of(stored(fake_kube)) == [90, 10]


def test_the_route_to_both_destinations_is_found_among_others(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    testers = {"name": "testers", "match": [{"headers": {"x-tester": {"exact": "1"}}}],
               "route": [dest("v2")]}  # fmt: skip
    main = {"name": "main", "route": [dest("v1", 70), dest("v2", 30)]}
    fake_kube.put_object(virtual_service(http=[testers, main]))
    router = IstioRouter(conn, rollout())
    state = router.read()
    assert state.weights == Weights(70, 30)
    router.write(Weights(50, 50), state)
    after = stored(fake_kube)
    assert after["spec"]["http"][0] == testers  # the testers' route is not steered
    assert weights_of(after, i=1) == [50, 50]


def test_ambiguous_routes_are_a_config_error_listing_the_names(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(
        virtual_service(
            http=[
                {"name": "eu", "route": [dest("v1", 90), dest("v2", 10)]},
                {"name": "us", "route": [dest("v1", 50), dest("v2", 50)]},
            ]
        )
    )
    with pytest.raises(ConfigError, match=r"eu, us.*set \[rollouts.router\] route"):
        IstioRouter(conn, rollout()).read()
    assert IstioRouter(conn, rollout(route="us")).read().weights == Weights(50, 50)


def test_an_unknown_route_name_says_which_routes_exist(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(virtual_service())
    with pytest.raises(NotFoundError, match="no http route named 'canary' .*primary"):
        IstioRouter(conn, rollout(route="canary")).read()


def test_tls_and_tcp_routes_to_the_same_destinations_move_in_step(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    tls = [
        {"match": [{"port": 443, "sniHosts": ["reviews.example.com"]}],
         "route": [dest("v1", 90), dest("v2", 10)]},
        {"match": [{"port": 8443, "sniHosts": ["other"]}], "route": [dest("v3", 100)]},
    ]  # fmt: skip
    tcp = [{"match": [{"port": 3306}], "route": [dest("v1", 90), dest("v2", 10)]}]
    fake_kube.put_object(virtual_service(10, tls=tls, tcp=tcp))
    router = IstioRouter(conn, rollout(route="primary"))
    before = stored(fake_kube)
    router.write(Weights(60, 40), router.read())
    after = stored(fake_kube)
    assert weights_of(after) == [60, 40]
    assert weights_of(after, "tls", 0) == [60, 40]
    assert weights_of(after, "tcp", 0) == [60, 40]
    assert after["spec"]["tls"][1] == tls[1]  # another destination: untouched
    assert json.dumps(without_weights(after)) == json.dumps(without_weights(before))
    assert len(patches(fake_kube)) == 1  # one patch: all or nothing


def test_a_lone_destination_is_all_traffic_and_rollback_leaves_it_alone(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(virtual_service(http=[{"name": "primary", "route": [dest("v1")]}]))
    router = IstioRouter(conn, rollout())
    state = router.read()
    assert state.weights == Weights(100, 0)
    before = stored(fake_kube)
    result = router.write(Weights(100, 0), state)  # a rollback at 100/0 writes nothing
    assert stored(fake_kube) == before
    assert result.state is not None and result.state.weights == Weights(100, 0)
    with pytest.raises(MonotuiError, match="no canary destination .*add it with weight 0"):
        router.write(Weights(90, 10), state)
    assert stored(fake_kube) == before


def test_a_missing_weight_is_added_not_replaced(fake_kube: FakeKube, conn: KubeConnection) -> None:
    fake_kube.put_object(virtual_service(http=[{"route": [dest("v1", 100), dest("v2")]}]))
    router = IstioRouter(conn, rollout())
    state = router.read()
    assert state.weights == Weights(100, 0)
    result = router.write(Weights(95, 5), state)
    assert weights_of(stored(fake_kube)) == [95, 5]
    assert {"op": "add", "path": "/spec/http/0/route/1/weight", "value": 5} in json.loads(
        result.patch
    )


def test_weights_not_summing_to_100_show_the_real_split_and_are_repaired(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(virtual_service(http=[{"route": [dest("v1", 70), dest("v2", 20)]}]))
    router = IstioRouter(conn, rollout())
    state = router.read()
    assert state.weights == Weights(78, 22)  # what Envoy sends: 70/90 and 20/90
    assert "raw weights 70/20 do not sum to 100" in state.resource
    router.write(Weights(80, 20), state)
    assert weights_of(stored(fake_kube)) == [80, 20]


def test_other_destinations_in_the_route_are_refused(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(
        virtual_service(http=[{"route": [dest("v1", 80), dest("v2", 10), dest("v3", 10)]}])
    )
    with pytest.raises(SourceError, match="also routes to v3"):
        IstioRouter(conn, rollout()).read()


def test_dry_run_returns_the_exact_patch_and_sends_nothing(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(virtual_service(10))
    router = IstioRouter(conn, rollout())
    state = router.read()
    before = stored(fake_kube)
    dry = router.write(Weights(75, 25), state, dry_run=True)
    assert dry.state is None
    assert patches(fake_kube) == [] and stored(fake_kube) == before
    ops = json.loads(dry.patch)
    assert [op["op"] for op in ops] == ["test", "test", "replace", "replace"]
    assert weights_of(apply_json_patch(before, ops)) == [75, 25]
    real = router.write(Weights(75, 25), state)
    assert real.patch == dry.patch


def test_a_foreign_weight_change_is_a_conflict_and_survives(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(virtual_service(10))
    router = IstioRouter(conn, rollout())
    state = router.read()
    fake_kube.put_object(virtual_service(30))  # someone else moves the weights
    with pytest.raises(ConflictError, match="changed since it was read; nothing was applied"):
        router.write(Weights(75, 25), state)
    assert weights_of(stored(fake_kube)) == [70, 30]
    assert router.read().weights == Weights(70, 30)


def test_a_foreign_destination_change_is_a_conflict_even_with_equal_weights(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(virtual_service(10))
    router = IstioRouter(conn, rollout())
    state = router.read()
    moved = virtual_service(10)
    moved["spec"]["http"][0]["route"].reverse()  # canary first: same weights, other places
    moved["spec"]["http"][0]["route"][0]["weight"] = 90
    moved["spec"]["http"][0]["route"][1]["weight"] = 10
    fake_kube.put_object(moved)
    with pytest.raises(ConflictError):
        router.write(Weights(75, 25), state)
    assert weights_of(stored(fake_kube)) == [90, 10]  # v2 still at 90: nothing applied


def test_an_unrelated_foreign_edit_does_not_block_a_write(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(virtual_service(10))
    router = IstioRouter(conn, rollout())
    state = router.read()
    edited = virtual_service(10)
    edited["spec"]["http"][0]["timeout"] = "30s"
    fake_kube.put_object(edited)
    router.write(Weights(75, 25), state)
    after = stored(fake_kube)
    assert after["spec"]["http"][0]["timeout"] == "30s" and weights_of(after) == [75, 25]


@pytest.mark.parametrize("served", ["v1beta1", "v1alpha3"])
def test_falls_back_to_an_older_version_when_v1_is_not_served(
    fake_kube: FakeKube, conn: KubeConnection, served: str
) -> None:
    # Istio before 1.22 serves no v1; before 1.5, v1alpha3 alone.
    fake_kube.put_object(virtual_service(10))
    for version in ("v1", "v1beta1", "v1alpha3"):
        if version != served:
            fake_kube.unserve(ISTIO, version)
    router = IstioRouter(conn, rollout())
    state = router.read()
    assert router.api_version == served and state.weights == Weights(90, 10)
    router.write(Weights(50, 50), state)
    assert weights_of(fake_kube.get_object(ISTIO, served, "virtualservices", NS, "reviews")) == [
        50,
        50,
    ]
    assert all(f"/{served}/" in r.path for r in fake_kube.requests if r.method == "PATCH")


def test_no_istio_at_all_says_so(fake_kube: FakeKube, conn: KubeConnection) -> None:
    fake_kube.unserve(ISTIO)
    with pytest.raises(NotFoundError, match="serves no virtualservices API .*is Istio installed"):
        IstioRouter(conn, rollout()).read()


def test_a_missing_virtual_service_is_named(fake_kube: FakeKube, conn: KubeConnection) -> None:
    with pytest.raises(
        NotFoundError, match="virtualservice ratings not found in namespace bookinfo"
    ):
        IstioRouter(conn, rollout(name="ratings")).read()


def test_an_unnamed_route_that_moved_is_not_written_in_its_old_place(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    # Two unnamed path routes to the same subsets at the same weights differ only by match.
    def route(prefix: str) -> dict[str, Any]:
        return {"match": [{"uri": {"prefix": prefix}}], "route": [dest("v1", 90), dest("v2", 10)]}

    fake_kube.put_object(virtual_service(http=[route("/"), route("/api")]))
    router = IstioRouter(conn, rollout("istio", route=1))
    seen = router.read()
    moved = stored(fake_kube)  # someone puts a route first: "/" is now where "/api" was
    moved["spec"]["http"].insert(0, route("/docs"))
    fake_kube.put_object(moved)
    with pytest.raises(ConflictError):
        router.write(Weights(50, 50), seen)
    assert [weights_of(stored(fake_kube), "http", i) for i in range(3)] == [[90, 10]] * 3
