"""Discovery binds a rollout to the FeatureFlag the OpenFeature operator binds its pods to: the pod
template's openfeature.dev annotations, the FeatureFlagSources they name and those sources'
providers, read from the fake API server through the real kubernetes client (`monotui discover`
and `status` in-process, no config file)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.discovery_helpers import documents
from tests.discovery_world import Cluster, cluster, monotui  # noqa: F401

OPERATOR = "openfeature-operator"
GROUP = "core.openfeature.dev"


def seed_operator(c: Cluster) -> None:
    for doc in documents(OPERATOR):
        c.fake.put_object(doc)


def discovered(capsys: pytest.CaptureFixture[str], *scope: str) -> dict[str, Any]:
    ran = monotui(capsys, "discover", *(scope or ("-A",)), "-o", "json")
    assert ran.code == 0, ran.err
    data: dict[str, Any] = ran.json()
    return data


def rollout(data: dict[str, Any], name: str) -> tuple[dict[str, Any], dict[str, str]]:
    table = next(r for r in data["rollouts"] if r["name"] == name)
    return table, data["discovery"]["source"][name]


def test_the_annotation_binding_wins_over_a_feature_flag_named_after_the_rollout(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_operator(cluster)
    table, source = rollout(discovered(capsys), "open-feature-demo")
    # The name guess would take FeatureFlag open-feature-demo; flagd follows featureflag-sample.
    assert table["flags"] == {"kind": "featureflag", "name": "featureflag-sample"}
    how = source["flags.name"]
    assert "featureflag open-feature-demo/featureflag-sample" in how
    assert "openfeature.dev/featureflagsource annotation of the pod template of rollout" in how


def test_sources_merge_in_order_and_unfollowable_providers_are_named(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_operator(cluster)
    table, source = rollout(discovered(capsys), "checkout")
    # The provider-less source takes flags/shared's defaultSyncProvider (the last one set), so
    # it is a kubernetes source of a FeatureFlag in another namespace.
    assert table["flags"] == {
        "kind": "featureflag",
        "name": "checkout-flags",
        "namespace": "flags",
    }
    assert "Deployment shop/checkout" in source["flags.name"]
    assert "defaultSyncProvider of FeatureFlagSource flags/shared" in source["flags.name"]
    notes = source["flags"]
    assert "FeatureFlagSource shop/checkout-sources's http source (https://***@flags" in notes
    assert "FeatureFlagSource flags/shared's grpc source (flagd-sync.flags:8015)" in notes
    assert "s3cret" not in notes  # the URL's password is not echoed
    assert "cannot follow" in notes


def test_a_bound_feature_flag_of_another_namespace_is_read(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_operator(cluster)
    ran = monotui(capsys, "status", "--json", "-n", "shop")
    assert ran.code == 0, ran.err
    checkout = ran.rollouts()["checkout"]
    assert checkout["sources"]["flags"]["state"] == "ok", checkout["sources"]
    assert [(f["key"], f["value"]) for f in checkout["flags"]] == [("new-checkout", True)]
    # The FeatureFlagSource and FeatureFlag outside the namespace: one GET each, no list there.
    assert cluster.fake.count_requests("get", path="^/apis/core.openfeature.dev/v1beta1/namespaces/flags/featureflagsources/shared$") == 1  # fmt: skip
    assert cluster.fake.count_requests("list", path="/namespaces/flags/") == 0


def test_an_old_operator_annotation_is_said_and_the_name_guess_still_applies(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_operator(cluster)
    cluster.fake.put_object(
        {
            "apiVersion": f"{GROUP}/v1beta1",
            "kind": "FeatureFlag",
            "metadata": {"name": "legacy", "namespace": "legacy"},
            "spec": {"flagSpec": {"flags": {}}},
        }
    )
    table, source = rollout(discovered(capsys), "legacy")
    assert "openfeature.dev/featureflagconfiguration" in source["flags"]
    assert "Deployment legacy/legacy-app" in source["flags"]  # the workloadRef's template
    assert table["flags"] == {"kind": "featureflag", "name": "legacy"}
    assert "is named after rollout legacy/legacy" in source["flags.name"]


def test_one_list_per_kind_across_all_namespaces(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_operator(cluster)
    discovered(capsys)
    for plural in ("deployments", "featureflagsources"):
        assert cluster.fake.count_requests("list", path=f"/{plural}$") == 1, plural
        assert cluster.fake.count_requests("list", path=f"/namespaces/.*/{plural}$") == 0
        assert cluster.fake.count_requests("get", path=f"/{plural}/") == 0, plural


def test_no_deployment_is_listed_across_the_cluster_without_a_feature_flag_source(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The upstream examples: a Flagger Canary whose targetRef Deployment could be read, but no
    # FeatureFlagSource anywhere, so no Deployment's template can bind: one cheap list, not
    # every Deployment of the cluster.
    discovered(capsys)
    assert cluster.fake.count_requests("list", path="/featureflagsources$") == 1
    assert cluster.fake.count_requests("list", path="/deployments") == 0
    assert cluster.fake.count_requests("get", path="/deployments/") == 0


def test_nothing_more_is_asked_of_a_cluster_without_the_operator(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_operator(cluster)
    cluster.fake.unserve(GROUP)
    discovered(capsys)
    assert cluster.fake.count_requests(path="/featureflagsources") == 0
    assert cluster.fake.count_requests(path="/deployments") == 0


def test_a_cluster_without_the_crd_or_the_right_is_a_note_not_a_failure(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_operator(cluster)
    cluster.fake.deny("list", "featureflagsources")
    data = discovered(capsys)
    assert any("featureflagsources.core.openfeature.dev" in s for s in data["discovery"]["skipped"])
    table, source = rollout(data, "open-feature-demo")
    assert "forbidden to list featureflagsources" in source["flags"]
    # Unknown binding: the name guess applies again, and says it is one.
    assert table["flags"] == {"kind": "featureflag", "name": "open-feature-demo"}

    cluster.fake.unserve(GROUP)
    data = discovered(capsys)
    assert f"featureflagsources.{GROUP}" in data["discovery"]["absent"]
    table, source = rollout(data, "open-feature-demo")
    assert "not served by this cluster" in source["flags"]
    assert "flags" not in table


def test_a_feature_flag_source_that_does_not_exist_binds_nothing(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_operator(cluster)
    cluster.fake.delete_object(GROUP, "featureflagsources", "open-feature-demo", "end-to-end")
    table, source = rollout(discovered(capsys), "open-feature-demo")
    assert "FeatureFlagSource open-feature-demo/end-to-end: not found" in source["flags"]
    assert "flags" not in table  # not the decoy named after the rollout


@pytest.mark.parametrize(
    ("annotations", "said"),
    [
        (
            {"openfeature.dev": "enabled", "openfeature.dev/featureflagsource": "end-to-end"},
            'openfeature.dev/enabled is not set ("openfeature.dev: enabled" is the spelling '
            "before v0.5",
        ),
        (
            {"openfeature.dev/enabled": "True", "openfeature.dev/featureflagsource": "end-to-end"},
            "openfeature.dev/enabled is 'True', not \"true\": the operator injects no flagd",
        ),
        (
            {"openfeature.dev/enabled": "true"},
            "names no FeatureFlagSource (openfeature.dev/featureflagsource): the operator "
            "refuses to admit its pods",
        ),
    ],
)
def test_annotations_the_operator_does_not_act_on_bind_nothing(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    annotations: dict[str, str],
    said: str,
) -> None:
    seed_operator(cluster)
    obj = cluster.object(
        "argoproj.io", "v1alpha1", "rollouts", "open-feature-demo", "open-feature-demo"
    )
    obj["spec"]["template"]["metadata"]["annotations"] = annotations
    cluster.fake.put_object(obj)
    table, source = rollout(discovered(capsys), "open-feature-demo")
    assert said in source["flags"]
    assert table.get("flags", {}).get("name") != "featureflag-sample"


@pytest.mark.parametrize(
    ("provider", "bound", "said"),
    [
        (
            "flagd-proxy",
            True,
            "FeatureFlagSource open-feature-demo/end-to-end's flagd-proxy source",
        ),
        ("file", False, "from a ConfigMap the operator copied once"),
        ("https", False, "provider 'https', which the operator does not know"),
    ],
)
def test_what_each_provider_binds(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    provider: str,
    bound: bool,
    said: str,
) -> None:
    seed_operator(cluster)
    obj = cluster.object(GROUP, "v1beta1", "featureflagsources", "open-feature-demo", "end-to-end")
    obj["spec"]["sources"][0]["provider"] = provider
    cluster.fake.put_object(obj)
    table, source = rollout(discovered(capsys), "open-feature-demo")
    assert said in (source.get("flags.name") if bound else source["flags"])
    # Never the decoy named after the rollout: the binding decided.
    assert table.get("flags") == (
        {"kind": "featureflag", "name": "featureflag-sample"} if bound else None
    )


def test_a_bare_route_is_bound_through_the_deployment_behind_its_canary(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_operator(cluster)
    table, source = rollout(discovered(capsys), "reviews")
    # The app label would guess reviews-featureflags; the v2 pods' flagd follows reviews-ratings.
    assert table["flags"] == {"kind": "featureflag", "name": "reviews-ratings"}
    how = source["flags.name"]
    assert "Deployment bookinfo/reviews-v2, behind Service reviews (the canary" in how
    assert "'version': 'v2'" in how  # picked by the DestinationRule subset's labels


def test_a_bare_route_keeps_the_guess_when_its_workload_is_unknown(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_operator(cluster)
    cluster.fake.delete_object("", "services", "bookinfo", "reviews")
    table, source = rollout(discovered(capsys), "reviews")
    assert table["flags"] == {"kind": "featureflag", "name": "reviews-featureflags"}
    assert "label app=reviews" in source["flags.name"]


def test_no_service_or_deployment_is_listed_where_no_feature_flag_is(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    discovered(capsys, "-n", "web")  # foo-route, a bare HTTPRoute; no FeatureFlag in web
    requests = [r for r in cluster.fake.requests if r.verb == "list"]
    assert [r for r in requests if r.resource == "deployments"] == []
    assert [
        r for r in requests if r.resource == "services" and "labelSelector" not in r.query
    ] == []


def test_names_from_an_annotation_reach_the_api_only_when_valid(
    cluster: Cluster,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_operator(cluster)
    obj = cluster.object("apps", "v1", "deployments", "shop", "checkout")
    many = ", ".join(f"ns{i}/ffs" for i in range(80))
    obj["spec"]["template"]["metadata"]["annotations"]["openfeature.dev/featureflagsource"] = (
        f"../end-to-end, flags/Bad_Name, {many}"
    )
    cluster.fake.put_object(obj)
    before = len(cluster.fake.requests)
    table, source = rollout(discovered(capsys, "-n", "shop"), "checkout")
    gets = [r.path for r in cluster.fake.requests[before:] if r.verb == "get"]
    assert not [p for p in gets if ".." in p or "Bad_Name" in p]
    assert len([p for p in gets if "/featureflagsources/" in p]) == 50  # then no more
    notes = source["flags"]
    assert "FeatureFlagSource ../end-to-end: not found (not a valid namespace name)" in notes
    assert "not looked up: more than 50 objects named outside namespace shop" in notes
