"""The inference rules of discovery on objects shaped like the upstream examples (no server):
which destination is the stable one, subset vs host splits, Argo's traffic routers, flags that
belong with a rollout, unique names, a config file over a guess, and TOML that no name can break."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

from monotui.sources.discovery.argo import rollout_found
from monotui.sources.discovery.flags import attach_flags
from monotui.sources.discovery.found import Discovery, Found
from monotui.sources.discovery.infer import roles
from monotui.sources.discovery.merge import merge
from monotui.sources.discovery.meshes import http_route_found, virtual_service_found
from monotui.sources.discovery.render import to_toml
from monotui.sources.discovery.rules import DestinationRules
from monotui.sources.discovery.run import _unique_names
from tests.configs import parse
from tests.discovery_helpers import documents


def doc(name: str, kind: str) -> dict[str, Any]:
    return next(d for d in documents(name) if d["kind"] == kind)


@pytest.mark.parametrize(
    ("names", "weights", "stable", "why"),
    [
        (["podinfo-canary", "podinfo-primary"], [0, 100], "podinfo-primary", "names the canary"),
        (["app-stable", "app-next"], [10, 90], "app-stable", "names the canary"),
        (["reviews-v3", "reviews-v2"], [50, 50], "reviews-v2", "older version"),
        (["blue", "green"], [100, 0], "blue", "names the canary"),
        (["alpha", "beta"], [10, 90], "beta", "takes more traffic"),
        (["alpha", "beta"], [50, 50], "alpha", "listed first"),
    ],
)
def test_which_destination_is_the_stable_one(
    names: list[str], weights: list[int], stable: str, why: str
) -> None:
    s, c, rule = roles(names, weights)
    assert names[s] == stable and {s, c} == {0, 1}
    assert why in rule


def test_a_subset_split_reads_the_version_label_from_the_destination_rule() -> None:
    rules = DestinationRules([doc("bookinfo-reviews", "DestinationRule")])
    found = virtual_service_found(doc("bookinfo-reviews", "VirtualService"), rules)
    assert isinstance(found, Found)
    assert found.router == {"kind": "istio", "name": "reviews", "stable": "v1", "canary": "v2"}
    assert found.metrics == {
        "kind": "prometheus",
        "service": "reviews",
        "version_label": "destination_version",
        "baseline": "v1",
        "canary": "v2",
    }


def test_without_a_destination_rule_the_subset_names_are_a_guess_that_says_so() -> None:
    found = virtual_service_found(doc("bookinfo-reviews", "VirtualService"), DestinationRules([]))
    assert isinstance(found, Found)
    assert (found.metrics["baseline"], found.metrics["canary"]) == ("v1", "v2")
    assert found.source["metrics.baseline"].startswith("a guess: no DestinationRule")


def test_a_subset_labelled_otherwise_is_a_guess_too() -> None:
    rule = copy.deepcopy(doc("bookinfo-reviews", "DestinationRule"))
    for subset in rule["spec"]["subsets"]:
        subset["labels"] = {"track": subset["name"]}
    found = virtual_service_found(
        doc("bookinfo-reviews", "VirtualService"), DestinationRules([rule])
    )
    assert isinstance(found, Found)
    assert "no 'version' label" in found.source["metrics.version_label"]


def test_a_route_to_one_destination_is_no_rollout() -> None:
    ratings = [d for d in documents("bookinfo-reviews") if d["metadata"]["name"] == "ratings"][0]
    assert virtual_service_found(ratings, DestinationRules([])) == (
        "no http route sends to exactly two weighted destinations"
    )


def test_the_gateway_split_is_the_weighted_rule_not_the_testers() -> None:
    found = http_route_found(doc("gateway-traffic-splitting", "HTTPRoute"))
    assert isinstance(found, Found)
    assert found.router == {
        "kind": "gateway-api",
        "name": "foo-route",
        "stable": "foo-v1",
        "canary": "foo-v2",
        "route": 0,
    }
    assert found.metrics["version_label"] == "destination_service_name"


def argo(**canary: Any) -> dict[str, Any]:
    rollout = copy.deepcopy(doc("argo-rollouts-demo", "Rollout"))
    strategy = rollout["spec"]["strategy"]["canary"]
    for key, value in canary.items():
        if value is None:
            strategy.pop(key, None)
        else:
            strategy[key] = value
    return rollout


def test_an_argo_rollout_reads_its_weights_from_the_virtual_service_it_names() -> None:
    found = rollout_found(argo(), DestinationRules([]))
    assert isinstance(found, Found)
    assert found.router["traffic"] == {
        "kind": "istio",
        "name": "rollouts-demo-vsvc",
        "route": "primary",
        "stable": "rollouts-demo-stable",
        "canary": "rollouts-demo-canary",
    }
    assert found.owns == frozenset({("virtualservices", "default", "rollouts-demo-vsvc")})
    assert found.steps == (5, 20, 50, 100)


def test_an_argo_rollout_with_the_gateway_api_plugin() -> None:
    plugin = {"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "foo-route"}}}
    found = rollout_found(argo(trafficRouting=plugin), DestinationRules([]))
    assert isinstance(found, Found)
    assert found.router["traffic"]["kind"] == "gateway-api"
    assert found.owns == frozenset({("httproutes", "default", "foo-route")})


def test_a_replica_based_argo_canary_has_no_metrics_and_says_why() -> None:
    found = rollout_found(argo(trafficRouting=None), DestinationRules([]))
    assert isinstance(found, Found)
    assert "traffic" not in found.router and found.metrics == {"kind": "none"}
    assert "cannot tell the two ReplicaSets" in found.source["metrics.kind"]


def test_what_was_not_found_is_said_in_the_toml_too() -> None:
    found = rollout_found(argo(trafficRouting=None), DestinationRules([]))
    assert isinstance(found, Found)
    text = to_toml(
        [found.table()],
        {found.name: found.source},
        discovery=Discovery("all namespaces"),
        prometheus={},
        finding=None,
        inferred_metrics={},
        context="context c",
    )
    router = text[text.index("[rollouts.router]") :]
    assert "# traffic: none: a replica-based canary, weights from its status" in router
    tomllib.loads(text)


def test_a_blue_green_rollout_is_passed_with_the_reason() -> None:
    rollout = argo()
    rollout["spec"]["strategy"] = {"blueGreen": {"activeService": "a", "previewService": "b"}}
    assert "blueGreen strategy" in str(rollout_found(rollout, DestinationRules([])))


def test_flags_attach_by_name_before_labels() -> None:
    found = Found("reviews", "bookinfo", "virtualservice bookinfo/reviews", {}, {})
    labelled = doc("openfeature-flags", "FeatureFlag")
    named = copy.deepcopy(labelled)
    named["metadata"] = {"name": "reviews", "namespace": "bookinfo"}
    elsewhere = copy.deepcopy(named)
    elsewhere["metadata"]["namespace"] = "staging"
    attach_flags([found], [labelled, elsewhere, named])
    assert found.flags == {"kind": "featureflag", "name": "reviews"}
    assert "also sharing it: reviews-featureflags" in found.source["flags.name"]


def test_the_same_name_in_two_namespaces_gets_its_namespace() -> None:
    a = Found("reviews", "bookinfo", "x", {"kind": "istio", "name": "reviews"}, {})
    b = Found("reviews", "staging", "y", {"kind": "istio", "name": "reviews"}, {})
    _unique_names([a, b])
    assert (a.name, b.name) == ("bookinfo/reviews", "staging/reviews")
    assert a.router["name"] == "reviews"  # the resource keeps its name
    parse({"rollouts": [a.table(), b.table()]})  # unique: the config accepts both


def test_a_file_entry_of_another_kind_replaces_the_inferred_table() -> None:
    found = virtual_service_found(
        doc("bookinfo-reviews", "VirtualService"),
        DestinationRules([doc("bookinfo-reviews", "DestinationRule")]),
    )
    assert isinstance(found, Found)
    entry = {"name": "reviews", "namespace": "bookinfo", "metrics": {"kind": "none"}}
    (table,), sources = merge([found], [entry], file="ops.toml")
    assert table["metrics"] == {"kind": "none"}
    assert sources["reviews"]["metrics"] == "set in ops.toml"
    assert not [k for k in sources["reviews"] if k.startswith("metrics.")]
    assert table["router"]["stable"] == "v1"  # the rest is still what was found


def test_toml_output_survives_names_and_comments_from_the_cluster() -> None:
    weird = 'we"ird\n[prometheus]\x1b[31m'
    found = Found("reviews", "bookinfo", "x", {"kind": "istio", "name": weird, "stable": "v1"}, {})
    found.note("router.name", f"the VirtualService {weird}")
    text = to_toml(
        [found.table()],
        {"reviews": found.source},
        discovery=Discovery("namespace bookinfo"),
        prometheus={},
        finding=None,
        inferred_metrics={},
        context="context c",
    )
    data = tomllib.loads(text)
    assert data["rollouts"][0]["router"]["name"] == weird
    assert "\x1b" not in text and "prometheus" not in data


@pytest.mark.parametrize(
    ("name", "traffic"),
    [
        ("rollouts-demo-vsvc.default", "rollouts-demo-vsvc"),  # its own namespace, spelt out
        ("rollouts-demo-vsvc.istio-system", None),  # the documented <name>.<namespace> form
    ],
)
def test_an_argo_rollout_naming_its_virtual_service_with_a_namespace(
    name: str, traffic: str | None
) -> None:
    routing = {"istio": {"virtualService": {"name": name, "routes": ["primary"]}}}
    found = rollout_found(argo(trafficRouting=routing), DestinationRules([]))
    assert isinstance(found, Found)
    if traffic is None:  # [rollouts.router.traffic] reads in the Rollout's namespace only
        assert "traffic" not in found.router
        assert "istio-system/rollouts-demo-vsvc, outside" in found.source["router.traffic"]
    else:
        assert found.router["traffic"]["name"] == traffic
