"""The Gateway API router: proportional backendRef weights shown and written as percentages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monotui.errors import ConfigError, ConflictError, NotFoundError, SourceError
from monotui.model import Weights
from monotui.sources import track_routes
from monotui.sources.base import Router
from monotui.sources.kube import KubeConnection
from monotui.sources.kube_router import percentages
from monotui.sources.router_gateway import GatewayRouter
from tests.fakekube import FakeKube
from tests.fakekube.jsonpatch import JsonPatchTestFailed, apply_json_patch
from tests.router_helpers import (
    GATEWAY,
    NS,
    conn_fixture,
    http_route,
    rollout,
    without_weights,
)

conn = conn_fixture()


def gateway(**router: Any) -> Any:
    return rollout("gateway-api", stable="reviews-v1", canary="reviews-v2", **router)


def stored(fake: FakeKube, version: str = "v1") -> dict[str, Any]:
    return fake.get_object(GATEWAY, version, "httproutes", NS, "reviews")


def weights_of(obj: dict[str, Any], rule: int = 0) -> list[int | None]:
    return [r.get("weight") for r in obj["spec"]["rules"][rule]["backendRefs"]]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ((90, 10), Weights(90, 10)),
        ((None, None), Weights(50, 50)),  # default weight 1 each
        ((3, 1), Weights(75, 25)),
        ((1, 0), Weights(100, 0)),
        ((0, 7), Weights(0, 100)),
        ((2, 1), Weights(67, 33)),  # rounded so they sum to 100
    ],
)
def test_proportional_weights_read_as_percentages(
    fake_kube: FakeKube, conn: KubeConnection, raw: tuple[int | None, int | None], shown: Weights
) -> None:
    fake_kube.put_object(http_route(*raw))
    router = GatewayRouter(conn, gateway())
    assert isinstance(router, Router)
    state = router.read()
    assert state.weights == shown
    assert ("shown as percentages" in state.resource) == (sum(w or 1 for w in raw) != 100)


def test_writes_percentages_and_leaves_everything_else(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(http_route(None, None))
    router = GatewayRouter(conn, gateway())
    before = stored(fake_kube)
    result = router.write(Weights(90, 10), router.read())
    after = stored(fake_kube)
    assert weights_of(after) == [90, 10]
    assert result.state is not None and result.state.weights == Weights(90, 10)
    assert json.dumps(without_weights(after)) == json.dumps(without_weights(before))
    ops = [(op["op"], op["path"].rsplit("/", 2)[-2:]) for op in json.loads(result.patch)]
    assert ops == [  # the rule pinned by its matches and backendRefs, then the two weights added
        ("test", ["0", "matches"]),
        ("test", ["0", "backendRefs"]),
        ("add", ["0", "weight"]),
        ("add", ["1", "weight"]),
    ]


def test_a_lone_backend_is_all_traffic(fake_kube: FakeKube, conn: KubeConnection) -> None:
    fake_kube.put_object(http_route(None, names=("reviews-v1",)))
    router = GatewayRouter(conn, gateway())
    assert router.read().weights == Weights(100, 0)


def test_all_zero_weights_are_an_error_that_says_why(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.put_object(http_route(0, 0))
    with pytest.raises(SourceError, match="answers 500"):
        GatewayRouter(conn, gateway()).read()


def test_rule_by_index_or_the_one_with_both_backends(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    api = {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
           "backendRefs": [{"name": "api", "port": 80}]}  # fmt: skip
    main = http_route(80, 20)["spec"]["rules"][0]
    fake_kube.put_object(http_route(rules=[api, main]))
    assert GatewayRouter(conn, gateway()).read().weights == Weights(80, 20)
    assert GatewayRouter(conn, gateway(route=1)).read().weights == Weights(80, 20)
    with pytest.raises(NotFoundError, match="no rule 5 .*it has 2"):
        GatewayRouter(conn, gateway(route=5)).read()
    with pytest.raises(ConfigError, match="rule index"):
        GatewayRouter(conn, gateway(route="main")).read()
    router = GatewayRouter(conn, gateway())
    router.write(Weights(50, 50), router.read())
    after = stored(fake_kube)
    assert after["spec"]["rules"][0] == api and weights_of(after, 1) == [50, 50]


def test_several_candidate_rules_need_an_index(fake_kube: FakeKube, conn: KubeConnection) -> None:
    rule = http_route(80, 20)["spec"]["rules"][0]
    fake_kube.put_object(http_route(rules=[rule, rule]))
    with pytest.raises(
        ConfigError, match="2 rules and 2 of them .*set \\[rollouts.router\\] route"
    ):
        GatewayRouter(conn, gateway()).read()


def test_renamed_backend_is_a_conflict(fake_kube: FakeKube, conn: KubeConnection) -> None:
    fake_kube.put_object(http_route(90, 10))
    router = GatewayRouter(conn, gateway())
    state = router.read()
    fake_kube.put_object(http_route(90, 10, names=("reviews-v1", "reviews-v3")))
    with pytest.raises(ConflictError):
        router.write(Weights(75, 25), state)


def test_falls_back_to_v1beta1(fake_kube: FakeKube, conn: KubeConnection) -> None:
    fake_kube.put_object(http_route(90, 10))
    fake_kube.unserve(GATEWAY, "v1")
    router = GatewayRouter(conn, gateway())
    router.write(Weights(80, 20), router.read())
    assert router.api_version == "v1beta1"
    assert weights_of(stored(fake_kube, "v1beta1")) == [80, 20]


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=4).filter(lambda ws: sum(ws) > 0))
def test_percentages_sum_to_100_and_stay_close(raw: list[int]) -> None:
    shown = percentages(raw)
    assert sum(shown) == 100
    total = sum(raw)
    assert all(abs(p - 100 * w / total) < 1 for p, w in zip(shown, raw, strict=True))


def test_a_header_rule_keeps_the_weighted_rules_timeouts_and_not_its_name() -> None:
    # Gateway API v1 rules carry timeouts (and name, retry, sessionPersistence in later ones).
    weighted = {
        "name": "split",
        "matches": [{"path": {"type": "PathPrefix", "value": "/cart"}}],
        "filters": [
            {
                "type": "RequestHeaderModifier",
                "requestHeaderModifier": {"set": [{"name": "x-env", "value": "prod"}]},
            }
        ],
        "timeouts": {"request": "10s", "backendRequest": "2s"},
        "sessionPersistence": {"sessionName": "cart", "type": "Cookie"},
        "backendRefs": [
            {"name": "cart-v1", "port": 80, "weight": 90},
            {"name": "cart-v2", "port": 80, "weight": 10},
        ],
    }
    ops = track_routes.gateway_ops([weighted], 0, {"stable": 0, "canary": 1}, True)
    added = [op["value"] for op in ops if op["op"] == "add"]
    assert [rule["backendRefs"][0]["name"] for rule in added] == ["cart-v2", "cart-v1"]
    for rule in added:
        assert "name" not in rule  # rule names are unique within an HTTPRoute
        assert rule["timeouts"] == weighted["timeouts"]
        assert rule["sessionPersistence"] == weighted["sessionPersistence"]
        assert rule["filters"] == weighted["filters"]


@pytest.mark.parametrize("named", [True, False])
def test_a_rule_that_moved_is_not_written_in_its_old_place(
    fake_kube: FakeKube, conn: KubeConnection, named: bool
) -> None:
    def rule(name: str, prefix: str) -> dict[str, Any]:
        refs = [
            {"name": "reviews-v1", "port": 9080, "weight": 90},
            {"name": "reviews-v2", "port": 9080, "weight": 10},
        ]
        found = {
            "matches": [{"path": {"type": "PathPrefix", "value": prefix}}],
            "backendRefs": refs,
        }
        return {"name": name, **found} if named else found

    fake_kube.put_object(http_route(rules=[rule("web", "/"), rule("api", "/api")]))
    router = GatewayRouter(conn, gateway(route="api" if named else 1))
    seen = router.read()
    moved = stored(fake_kube)  # someone puts a rule first: "web" is now where "api" was
    moved["spec"]["rules"].insert(0, rule("docs", "/docs"))
    fake_kube.put_object(moved)
    with pytest.raises(ConflictError):
        router.write(Weights(50, 50), seen)
    assert [weights_of(stored(fake_kube), i) for i in range(3)] == [[90, 10]] * 3


@pytest.mark.parametrize("section", ["http", "rules"])
def test_header_routes_for_a_route_that_moved_are_not_added(section: str) -> None:
    # Two unnamed path routes to the same two destinations differ only by their matches.
    if section == "http":

        def route(prefix: str) -> dict[str, Any]:
            refs = [
                {"destination": {"host": "r", "subset": s}, "weight": w}
                for s, w in (("v1", 90), ("v2", 10))
            ]
            return {"match": [{"uri": {"prefix": prefix}}], "route": refs}
    else:

        def route(prefix: str) -> dict[str, Any]:
            refs = [{"name": n, "port": 80, "weight": w} for n, w in (("r-v1", 90), ("r-v2", 10))]
            return {
                "matches": [{"path": {"type": "PathPrefix", "value": prefix}}],
                "backendRefs": refs,
            }

    seen = [route("/"), route("/api")]
    found = {"stable": 0, "canary": 1}
    make = track_routes.istio_ops if section == "http" else track_routes.gateway_ops
    ops = make(seen, 1, found, True)
    moved = {"spec": {section: [route("/docs"), *seen]}}  # "/" is now where "/api" was
    with pytest.raises(JsonPatchTestFailed):
        apply_json_patch(moved, ops)
    apply_json_patch({"spec": {section: seen}}, ops)  # as read, it applies
