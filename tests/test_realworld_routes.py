"""The Istio and Gateway API routers on manifests shaped like the ones real projects ship and
document (Istio's bookinfo samples and traffic-shifting task, VirtualServices as Flagger and Argo
Rollouts write them, gateway-bound and delegating ones, tls/tcp routes; the Gateway API
traffic-splitting guide, v1beta1, rule names), written here in our own words and values, loaded
into the fake API server and read and written through the real kubernetes client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from string import Template
from typing import Any

import pytest
import yaml

from monotui.errors import ConfigError, MonotuiError, NotFoundError, SourceError
from monotui.model import Weights
from monotui.sources.discovery.run import discover
from monotui.sources.kube import KubeConnection
from monotui.sources.kube_router import KubeRouter
from monotui.sources.router_gateway import GatewayRouter
from monotui.sources.router_istio import IstioRouter
from tests.configs import rollout_config
from tests.fakekube import FakeKube
from tests.router_helpers import GATEWAY, ISTIO, NS, conn_fixture, rollout, without_weights

conn = conn_fixture()


MANIFESTS = Path(__file__).parent / "manifests"


def text(name: str) -> str:
    """A manifest of tests/manifests; `$word` placeholders are filled by `fill`."""
    return (MANIFESTS / f"{name}.yaml").read_text()


def fill(template: str, **values: Any) -> str:
    return Template(template).substitute(values)


def load(fake: FakeKube, text: str) -> list[dict[str, Any]]:
    """Put every document of a YAML manifest into the fake cluster, in namespace bookinfo."""
    docs = [d for d in yaml.safe_load_all(text) if d]
    for doc in docs:
        doc["metadata"].setdefault("namespace", NS)
        fake.put_object(doc)
    return docs


def vs(fake: FakeKube, name: str = "reviews") -> dict[str, Any]:
    return fake.get_object(ISTIO, "v1", "virtualservices", NS, name)


def route_of(fake: FakeKube, name: str = "reviews") -> dict[str, Any]:
    return fake.get_object(GATEWAY, "v1", "httproutes", NS, name)


def steer(router: KubeRouter, canary: int) -> Weights:
    """Set the canary weight compare-and-set, as a key press does; the weights read back."""
    result = router.write(Weights.canary_at(canary), router.read())
    assert result.state is not None
    return result.state.weights


def istio(conn: KubeConnection, name: str = "reviews", **cfg: Any) -> IstioRouter:
    return IstioRouter(conn, rollout("istio", name, **cfg))


def gateway(conn: KubeConnection, name: str = "reviews", **cfg: Any) -> GatewayRouter:
    cfg.setdefault("stable", "reviews-v1")
    cfg.setdefault("canary", "reviews-v2")
    return GatewayRouter(conn, rollout("gateway-api", name, **cfg))


def weights(route: dict[str, Any], key: str = "route") -> list[Any]:
    return [entry.get("weight") for entry in route[key]]


# --- Istio: the bookinfo samples ----------------------------------------------------------------

SPLIT = text("istio-bookinfo-split")


@pytest.mark.parametrize("version", ["v1alpha3", "v1beta1", "v1"])
@pytest.mark.parametrize(
    ("stable", "canary", "a", "b"),
    [("v1", "v2", 80, 20), ("v1", "v3", 50, 50), ("v2", "v3", 90, 10)],
)
def test_bookinfo_splits_read_and_move_only_the_weights(
    fake_kube: FakeKube,
    conn: KubeConnection,
    version: str,
    stable: str,
    canary: str,
    a: int,
    b: int,
) -> None:
    load(fake_kube, fill(SPLIT, version=version, stable=stable, canary=canary, a=a, b=b))
    router = istio(conn, stable=stable, canary=canary)
    assert router.read().weights == Weights(a, b)
    before = vs(fake_kube)
    assert steer(router, 35) == Weights(65, 35)
    after = vs(fake_kube)
    assert weights(after["spec"]["http"][0]) == [65, 35]
    assert without_weights(after) == without_weights(before)


ALL_V1 = text("istio-bookinfo-all-v1")


def test_all_v1_is_all_stable_and_the_missing_canary_is_named(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    load(fake_kube, ALL_V1)
    router = istio(conn)
    state = router.read()
    assert state.weights == Weights(100, 0)
    assert router.write(Weights(100, 0), state).state == state  # rollback: nothing to change
    with pytest.raises(MonotuiError, match=r"no canary destination \(subset v2\); add it"):
        router.write(Weights(95, 5), state)
    assert "weight" not in vs(fake_kube)["spec"]["http"][0]["route"][0]


TEST_V2 = text("istio-bookinfo-test-v2")


def test_header_match_to_v2_and_a_default_to_v1_needs_a_route(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    load(fake_kube, TEST_V2)
    with pytest.raises(ConfigError) as err:
        istio(conn).read()
    message = str(err.value)
    assert "#0 (unnamed), #1 (unnamed)" in message
    assert "route = 1" in message  # how to name an unnamed route: by its index
    assert istio(conn, route=1).read().weights == Weights(100, 0)
    assert istio(conn, route="1").read().weights == Weights(100, 0)  # quoted in the TOML


def test_header_match_to_v2_is_left_alone_while_the_default_route_splits(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    doc = yaml.safe_load(TEST_V2)
    default = doc["spec"]["http"][1]["route"]
    default[0]["weight"] = 90
    default.append({"destination": {"host": "reviews", "subset": "v2"}, "weight": 10})
    fake_kube.put_object({**doc, "metadata": {"name": "reviews", "namespace": NS}})
    router = istio(conn)  # no route configured: the only one sending to both
    assert router.read().weights == Weights(90, 10)
    before = vs(fake_kube)
    assert steer(router, 50) == Weights(50, 50)
    after = vs(fake_kube)
    assert after["spec"]["http"][0] == before["spec"]["http"][0]  # testers still go to v2 only
    assert weights(after["spec"]["http"][1]) == [50, 50]
    assert without_weights(after) == without_weights(before)


# --- Istio: as controllers and gateways write them ----------------------------------------------

FLAGGER = text("istio-flagger")


def test_a_flagger_virtual_service_by_host_with_the_canary_weight_omitted(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    load(fake_kube, FLAGGER)  # weight 0 is omitted (omitempty) on the canary
    router = istio(
        conn, "podinfo", match_by="host", stable="podinfo-primary", canary="podinfo-canary"
    )
    assert router.read().weights == Weights(100, 0)
    before = vs(fake_kube, "podinfo")
    result = router.write(Weights(90, 10), router.read())
    assert '{"op": "add", "path": "/spec/http/0/route/1/weight", "value": 10}' in result.patch
    after = vs(fake_kube, "podinfo")
    assert weights(after["spec"]["http"][0]) == [90, 10]
    assert without_weights(after) == without_weights(before)  # cors, mirror 12.5, owner, ...
    assert after["spec"]["http"][0]["mirrorPercentage"] == {"value": 12.5}


def test_a_host_split_is_read_by_host_when_stable_and_canary_name_hosts(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    # The contract: stable/canary name "a subset or a host"; no match_by needed for hosts.
    load(fake_kube, FLAGGER)
    router = istio(conn, "podinfo", stable="podinfo-primary", canary="podinfo-canary")
    assert router.read().weights == Weights(100, 0)
    assert steer(router, 10) == Weights(90, 10)
    assert weights(vs(fake_kube, "podinfo")["spec"]["http"][0]) == [90, 10]


def test_a_host_split_forced_to_subsets_says_which_hosts_to_use(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    load(fake_kube, FLAGGER)
    with pytest.raises(NotFoundError) as err:
        istio(
            conn, "podinfo", match_by="subset", stable="podinfo-primary", canary="podinfo-canary"
        ).read()
    message = str(err.value)
    assert "None" not in message
    assert "podinfo-primary, podinfo-canary" in message  # the hosts it could use
    assert 'match_by = "host"' in message


def test_hosts_match_in_short_or_fully_qualified_form(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    doc = yaml.safe_load(FLAGGER)
    route = doc["spec"]["http"][0]["route"]
    route[0]["destination"]["host"] = "podinfo-primary.bookinfo.svc.cluster.local"
    route[1]["destination"]["host"] = "podinfo-canary.bookinfo.svc.cluster.local"
    load(fake_kube, yaml.safe_dump(doc))
    router = istio(
        conn, "podinfo", match_by="host", stable="podinfo-primary", canary="podinfo-canary"
    )
    assert steer(router, 20) == Weights(80, 20)
    # The same short name in another namespace is another service: not ours.
    route[1]["destination"]["host"] = "podinfo-canary.staging.svc.cluster.local"
    load(fake_kube, yaml.safe_dump(doc))
    with pytest.raises(SourceError, match="podinfo-canary.staging"):
        router.read()


FLAGGER_STICKY = text("istio-flagger-sticky")
PODINFO = {"match_by": "host", "stable": "podinfo-primary", "canary": "podinfo-canary"}


def test_flagger_sticky_cookie_route_is_left_alone_and_its_split_found(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    load(fake_kube, FLAGGER_STICKY)  # both routes list both hosts; the first only for a cookie
    router = istio(conn, "podinfo", **PODINFO)
    assert router.read().weights == Weights(70, 30)
    before = vs(fake_kube, "podinfo")
    steer(router, 40)
    after = vs(fake_kube, "podinfo")
    assert after["spec"]["http"][0] == before["spec"]["http"][0]
    assert weights(after["spec"]["http"][1]) == [60, 40]
    assert without_weights(after) == without_weights(before)


def test_flagger_ab_testing_has_no_split_and_its_header_route_is_not_taken_for_one(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    doc = yaml.safe_load(FLAGGER_STICKY)  # A/B: testers (by header) 0/100, everyone else 100
    doc["spec"]["http"][0]["match"] = [{"headers": {"x-canary": {"exact": "insider"}}}]
    del doc["spec"]["http"][0]["name"], doc["spec"]["http"][1]["route"][1]
    load(fake_kube, yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match=r"route #0, takes only requests matched by header"):
        istio(conn, "podinfo", **PODINFO).read()
    assert istio(conn, "podinfo", route=0, **PODINFO).read().weights == Weights(0, 100)


GATEWAY_BOUND = text("istio-gateway-bound")


def test_a_gateway_bound_service_with_some_routes_named(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    load(fake_kube, GATEWAY_BOUND)
    router = istio(conn, "shop", stable="stable", canary="canary")
    assert router.read().weights == Weights(95, 5)
    assert istio(conn, "shop", route="api", stable="stable", canary="canary").read().weights == (
        Weights(95, 5)
    )
    with pytest.raises(NotFoundError, match=r"routes: api, #1 \(unnamed\), fallback"):
        istio(conn, "shop", route="checkout", stable="stable", canary="canary").read()
    before = vs(fake_kube, "shop")
    steer(router, 25)
    after = vs(fake_kube, "shop")
    assert after["spec"]["http"][1:] == before["spec"]["http"][1:]
    assert weights(after["spec"]["http"][0]) == [75, 25]
    assert without_weights(after) == without_weights(before)


DELEGATE = text("istio-delegate")


def test_a_delegating_route_names_the_virtual_service_to_steer(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    load(fake_kube, DELEGATE)
    with pytest.raises(ConfigError) as err:
        istio(conn, "edge").read()
    message = str(err.value)
    assert "delegates to VirtualService reviews-team/reviews" in message
    assert 'name = "reviews"' in message and 'namespace = "reviews-team"' in message
    delegate = rollout("istio", "reviews").model_copy(update={"namespace": "reviews-team"})
    assert IstioRouter(conn, delegate).read().weights == Weights(60, 40)  # hosts: none, fine


L4 = text("istio-tls-tcp")


def test_tls_with_sni_hosts_and_tcp_move_with_the_http_route(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    load(fake_kube, L4)
    before = vs(fake_kube)
    steer(istio(conn), 50)
    after = vs(fake_kube)
    spec = after["spec"]
    assert [weights(r) for r in (spec["http"][0], spec["tls"][0], spec["tcp"][0])] == [[50, 50]] * 3
    assert spec["tls"][1] == before["spec"]["tls"][1]  # another SNI host, another service
    assert without_weights(after) == without_weights(before)


def test_a_tls_only_virtual_service_is_steered_by_its_tls_routes(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    doc = yaml.safe_load(L4)
    del doc["spec"]["http"], doc["spec"]["tcp"]
    load(fake_kube, yaml.safe_dump(doc))
    router = istio(conn)
    assert router.read().weights == Weights(70, 30)
    steer(router, 0)
    assert weights(vs(fake_kube)["spec"]["tls"][0]) == [100, 0]


def test_three_destinations_are_refused_naming_the_third(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    doc = yaml.safe_load(fill(SPLIT, version="v1", stable="v1", canary="v2", a=50, b=40))
    doc["spec"]["http"][0]["route"].append(
        {"destination": {"host": "reviews", "subset": "v3"}, "weight": 10}
    )
    load(fake_kube, yaml.safe_dump(doc))
    with pytest.raises(SourceError, match=r"also routes to v3 \(subset\); monotui steers exactly"):
        istio(conn).read()


def test_only_v1beta1_served_reads_and_writes_v1beta1(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.unserve(ISTIO, "v1")
    load(fake_kube, fill(SPLIT, version="v1beta1", stable="v1", canary="v2", a=90, b=10))
    router = istio(conn)
    assert steer(router, 10) == Weights(90, 10)  # nothing to do: a no-op write
    assert steer(router, 20) == Weights(80, 20)
    assert router.api_version == "v1beta1"
    paths = {r.path for r in fake_kube.requests if r.method == "PATCH"}
    assert all("/networking.istio.io/v1beta1/" in p for p in paths) and paths


# --- Gateway API ---------------------------------------------------------------------------------

GUIDE = text("gateway-guide")


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_the_traffic_splitting_guide_moves_only_the_split_rule(
    fake_kube: FakeKube, conn: KubeConnection, version: str
) -> None:
    load(fake_kube, fill(GUIDE, version=version))
    router = gateway(conn)
    assert router.read().weights == Weights(90, 10)
    before = route_of(fake_kube)
    assert steer(router, 25) == Weights(75, 25)
    after = route_of(fake_kube)
    assert weights(after["spec"]["rules"][0], "backendRefs") == [75, 25]
    assert after["spec"]["rules"][1] == before["spec"]["rules"][1]  # testers: v2 only, as is
    assert without_weights(after) == without_weights(before)


FULL = text("gateway-full")


def test_omitted_weights_zero_weights_and_every_other_field(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    load(fake_kube, FULL)
    assert gateway(conn, route=0).read().weights == Weights(50, 50)  # omitted: 1 and 1
    assert gateway(conn, route=1).read().weights == Weights(0, 100)  # 0 and (omitted) 1
    router = gateway(conn, route=0)
    before = route_of(fake_kube)
    result = router.write(Weights(80, 20), router.read())
    assert result.patch.count('"op": "add"') == 2  # the omitted weights are added, not replaced
    after = route_of(fake_kube)
    assert weights(after["spec"]["rules"][0], "backendRefs") == [80, 20]
    assert after["spec"]["rules"][1] == before["spec"]["rules"][1]
    assert without_weights(after) == without_weights(before)
    assert after["status"] == before["status"]


def test_two_rules_to_both_backends_list_their_indexes_and_names(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    load(fake_kube, FULL)
    with pytest.raises(ConfigError) as err:
        gateway(conn).read()
    assert "(rules 0 (split), 1 (legacy))" in str(err.value)
    assert 'route = "split"' in str(err.value)


def test_a_rule_is_found_by_its_name(fake_kube: FakeKube, conn: KubeConnection) -> None:
    load(fake_kube, FULL)  # rules[].name: Gateway API v1.2 and later
    assert gateway(conn, route="legacy").read().weights == Weights(0, 100)
    with pytest.raises(NotFoundError, match=r"no rule named 'canary' \(rules: 0 \(split\), 1"):
        gateway(conn, route="canary").read()


GRPC = text("gateway-grpcroute")


def test_an_http_route_router_pointed_at_a_grpc_route_says_how_to_steer_it(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.serve(GATEWAY, ["v1"], {"grpcroutes": "GRPCRoute"})
    load(fake_kube, GRPC)
    with pytest.raises(NotFoundError) as err:
        gateway(conn).read()
    assert "reviews is a GRPCRoute, not an HTTPRoute" in str(err.value)
    assert 'route_kind = "GRPCRoute"' in str(err.value)


@pytest.mark.parametrize("version", ["v1", "v1alpha2"])
def test_a_grpc_route_reads_and_moves_only_its_weights(
    fake_kube: FakeKube, conn: KubeConnection, version: str
) -> None:
    # GRPCRoute: v1 from Gateway API 1.1, v1alpha2 (experimental channel) before it.
    fake_kube.serve(GATEWAY, [version], {"grpcroutes": "GRPCRoute"})
    for newer in ("v1", "v1beta1"):  # the fake serves each resource at every served version
        if newer != version:
            fake_kube.unserve(GATEWAY, newer)
    doc = yaml.safe_load(GRPC)
    doc["apiVersion"] = f"{GATEWAY}/{version}"
    doc["spec"]["rules"][0]["matches"] = [{"method": {"service": "reviews.Reviews"}}]
    load(fake_kube, yaml.safe_dump(doc))
    router = gateway(conn, route_kind="GRPCRoute")
    assert router.read().weights == Weights(90, 10)
    assert steer(router, 25) == Weights(75, 25)
    after = fake_kube.get_object(GATEWAY, version, "grpcroutes", NS, "reviews")
    rule = after["spec"]["rules"][0]
    assert weights(rule, "backendRefs") == [75, 25]
    assert rule["matches"] == [{"method": {"service": "reviews.Reviews"}}]  # as it was
    assert after["spec"]["parentRefs"] == [{"name": "public-web"}]
    paths = {r.path for r in fake_kube.requests if r.method == "PATCH"}
    assert paths and all(f"/{version}/namespaces/{NS}/grpcroutes/reviews" in p for p in paths)


def test_a_grpc_route_without_matches_gets_header_rules_without_a_path(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.serve(GATEWAY, ["v1"], {"grpcroutes": "GRPCRoute"})
    load(fake_kube, GRPC)
    router = gateway(conn, route_kind="GRPCRoute")
    router.set_track_routes(True, router.read())
    rules = fake_kube.get_object(GATEWAY, "v1", "grpcroutes", NS, "reviews")["spec"]["rules"]
    assert len(rules) == 3  # the weighted rule, then one header rule per track
    for rule in rules[1:]:
        (match,) = rule["matches"]
        assert "path" not in match  # a GRPCRoute match has method and headers only
        assert match["headers"][0]["name"] == "x-monotui-track"
    assert weights(rules[0], "backendRefs") == [90, 10]


def test_discovery_finds_a_grpc_route_and_its_router_steers_it(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.serve(GATEWAY, ["v1"], {"grpcroutes": "GRPCRoute"})
    load(fake_kube, GRPC)
    found = [f for f in discover(conn, NS).found if f.name == "reviews"]
    assert [f.router for f in found] == [
        {
            "kind": "gateway-api",
            "name": "reviews",
            "stable": "reviews-v1",
            "canary": "reviews-v2",
            "route_kind": "GRPCRoute",
        }
    ]
    assert found[0].owner == f"grpcroute {NS}/reviews"
    config = rollout_config({"name": "reviews", "namespace": NS, "router": found[0].router})
    router = GatewayRouter(conn, config)
    assert router.read().weights == Weights(90, 10)
    assert steer(router, 50) == Weights(50, 50)


def test_status_reads_a_fleet_of_grpc_routes_from_one_list(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.serve(GATEWAY, ["v1"], {"grpcroutes": "GRPCRoute"})
    blocks = []
    for name, canary in (("reviews", 10), ("ratings", 30)):
        doc = yaml.safe_load(GRPC)
        doc["metadata"]["name"] = name
        refs = doc["spec"]["rules"][0]["backendRefs"]
        refs[0]["weight"], refs[1]["weight"] = 100 - canary, canary
        load(fake_kube, yaml.safe_dump(doc))
        blocks.append(
            f'[[rollouts]]\nname = "{name}"\nnamespace = "{NS}"\n[rollouts.router]\n'
            f'kind = "gateway-api"\nroute_kind = "GRPCRoute"\nname = "{name}"\n'
            'stable = "reviews-v1"\ncanary = "reviews-v2"\n[rollouts.metrics]\nkind = "none"\n'
        )
    config = tmp_path / "monotui.toml"
    config.write_text("\n".join(blocks))
    fake_kube.requests.clear()
    out = subprocess.run(
        [sys.executable, "-m", "monotui", "status", "--json", "-c", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": str(fake_kubeconfig)},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    weights = {r["name"]: r["weights"] for r in json.loads(out.stdout)["rollouts"]}
    assert weights == {
        "reviews": {"stable": 90, "canary": 10},
        "ratings": {"stable": 70, "canary": 30},
    }
    reads = [r for r in fake_kube.requests if r.resource == "grpcroutes"]
    assert [r.verb for r in reads] == ["list"]  # one list for the fleet: no GET, no watch


def test_a_header_matched_rule_to_both_backends_is_not_the_split(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    doc = yaml.safe_load(fill(GUIDE, version="v1"))
    rules = doc["spec"]["rules"]
    rules[1]["backendRefs"].insert(0, {"name": "reviews-v1", "port": 9080, "weight": 0})
    load(fake_kube, yaml.safe_dump(doc))
    assert gateway(conn).read().weights == Weights(90, 10)
    del rules[0]
    rules.append({"backendRefs": [{"name": "reviews-v1", "port": 9080}]})
    load(fake_kube, yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match=r"rule 0, takes only requests matched by header"):
        gateway(conn).read()
    assert gateway(conn, route=0).read().weights == Weights(0, 100)
