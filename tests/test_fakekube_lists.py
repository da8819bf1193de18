"""Cluster-wide lists through the real client and kubectl: paging, resourceVersion, RBAC scope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.fakekube import FakeKube
from tests.fakekube.kubectl import kubectl

FLAGGER = ("flagger.app", "v1beta1")


def canary(name: str, namespace: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}},
    }


def names(listed: dict[str, Any]) -> list[str]:
    return [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in listed["items"]]


def status_of(exc: client.ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body


@pytest.fixture
def custom(fake_api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(fake_api_client)


@pytest.fixture
def five_canaries(fake_kube: FakeKube) -> list[str]:
    made = [
        ("prod", "api"),
        ("prod", "web"),
        ("staging", "api"),
        ("staging", "db"),
        ("team-a", "x"),
    ]
    for ns, name in made:
        fake_kube.put_object(canary(name, ns, tier="front" if name == "web" else "back"))
    return [f"{ns}/{name}" for ns, name in made]


def test_cluster_wide_list_spans_namespaces_at_the_current_resource_version(
    custom: client.CustomObjectsApi, fake_kube: FakeKube, five_canaries: list[str]
) -> None:
    listed = custom.list_cluster_custom_object(*FLAGGER, "canaries")
    assert names(listed) == five_canaries
    assert listed["kind"] == "CanaryList"
    assert listed["metadata"]["resourceVersion"] == str(fake_kube.resource_version)
    assert "continue" not in listed["metadata"]
    fronts = custom.list_cluster_custom_object(*FLAGGER, "canaries", label_selector="tier=front")
    assert names(fronts) == ["prod/web"]
    outside = custom.list_cluster_custom_object(
        *FLAGGER, "canaries", field_selector="metadata.namespace!=prod"
    )
    assert names(outside) == five_canaries[2:]


def test_pages_are_consistent_at_the_first_pages_resource_version(
    custom: client.CustomObjectsApi, fake_kube: FakeKube, five_canaries: list[str]
) -> None:
    first = custom.list_cluster_custom_object(*FLAGGER, "canaries", limit=2)
    assert names(first) == five_canaries[:2]
    assert first["metadata"]["remainingItemCount"] == 3
    rv = first["metadata"]["resourceVersion"]
    # writes between pages do not show up in the later pages, as with etcd
    fake_kube.delete_object("flagger.app", "canaries", "staging", "api")
    fake_kube.put_object(canary("new", "prod"))
    pages, token = [first], first["metadata"]["continue"]
    while token:
        page = custom.list_cluster_custom_object(*FLAGGER, "canaries", limit=2, _continue=token)
        assert page["metadata"]["resourceVersion"] == rv
        pages.append(page)
        token = page["metadata"].get("continue")
    assert [n for p in pages for n in names(p)] == five_canaries
    fresh = custom.list_cluster_custom_object(*FLAGGER, "canaries")
    assert "prod/new" in names(fresh) and "staging/api" not in names(fresh)


def test_selected_pages_have_no_remaining_count(
    custom: client.CustomObjectsApi, five_canaries: list[str]
) -> None:
    page = custom.list_cluster_custom_object(
        *FLAGGER, "canaries", limit=1, label_selector="tier=back"
    )
    assert names(page) == ["prod/api"] and page["metadata"]["continue"]
    assert "remainingItemCount" not in page["metadata"]


def test_a_continue_token_from_compacted_history_is_410_with_a_fresh_token(
    custom: client.CustomObjectsApi, fake_kube: FakeKube, five_canaries: list[str]
) -> None:
    first = custom.list_cluster_custom_object(*FLAGGER, "canaries", limit=2)
    fake_kube.put_object(canary("new", "zzz"))
    fake_kube.compact()
    with pytest.raises(client.ApiException) as exc:
        custom.list_cluster_custom_object(
            *FLAGGER, "canaries", limit=2, _continue=first["metadata"]["continue"]
        )
    status = status_of(exc.value)
    assert exc.value.status == 410 and status["reason"] == "Expired"
    assert status["message"].startswith("The provided continue parameter is too old")
    # the token in the Status continues inconsistently: it sees what happened since
    rest = custom.list_cluster_custom_object(
        *FLAGGER, "canaries", _continue=status["metadata"]["continue"]
    )
    assert names(rest) == [*five_canaries[2:], "zzz/new"]


def test_resource_version_semantics_of_a_list(
    custom: client.CustomObjectsApi, fake_kube: FakeKube, five_canaries: list[str]
) -> None:
    before = fake_kube.resource_version
    fake_kube.delete_object("flagger.app", "canaries", "prod", "web")
    exact = custom.list_cluster_custom_object(
        *FLAGGER, "canaries", resource_version=str(before), resource_version_match="Exact"
    )
    assert names(exact) == five_canaries  # the list as it was at that resourceVersion
    assert exact["metadata"]["resourceVersion"] == str(before)
    not_older = custom.list_cluster_custom_object(
        *FLAGGER, "canaries", resource_version=str(before)
    )
    assert "prod/web" not in names(not_older)
    assert not_older["metadata"]["resourceVersion"] == str(fake_kube.resource_version)

    fake_kube.compact()
    with pytest.raises(client.ApiException) as exc:
        custom.list_cluster_custom_object(
            *FLAGGER, "canaries", resource_version=str(before), resource_version_match="Exact"
        )
    assert exc.value.status == 410
    assert (
        status_of(exc.value)["message"] == "The resourceVersion for the provided list is too old."
    )
    with pytest.raises(client.ApiException) as exc:  # a limit makes an RV an exact read
        custom.list_cluster_custom_object(
            *FLAGGER, "canaries", resource_version=str(before), limit=10
        )
    assert exc.value.status == 410

    future = fake_kube.resource_version + 100
    with pytest.raises(client.ApiException) as exc:
        custom.list_cluster_custom_object(*FLAGGER, "canaries", resource_version=str(future))
    assert exc.value.status == 504
    assert status_of(exc.value)["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


def test_invalid_list_options_are_refused_as_the_real_server_does(
    custom: client.CustomObjectsApi, five_canaries: list[str]
) -> None:
    with pytest.raises(client.ApiException) as exc:
        custom.list_cluster_custom_object(*FLAGGER, "canaries", resource_version_match="Exact")
    assert exc.value.status == 422
    assert status_of(exc.value)["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
        "resourceVersionMatch is forbidden unless resourceVersion is provided"
    )
    with pytest.raises(client.ApiException) as exc:
        custom.list_cluster_custom_object(*FLAGGER, "canaries", field_selector="spec.x=1")
    assert exc.value.status == 400
    assert status_of(exc.value)["message"] == (
        '"spec.x" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )
    with pytest.raises(client.ApiException) as exc:
        custom.list_cluster_custom_object(*FLAGGER, "canaries", _continue="not-a-token")
    assert exc.value.status == 400


def test_built_in_lists_across_namespaces_carry_no_type_meta_per_item(
    fake_api_client: client.ApiClient, fake_kube: FakeKube
) -> None:
    for ns in ("prod", "staging"):
        fake_kube.put_service(ns, "prometheus", [9090])
    core = client.CoreV1Api(fake_api_client)
    listed = core.list_service_for_all_namespaces(_preload_content=False)
    body = json.loads(listed.data)
    assert body["kind"] == "ServiceList" and body["apiVersion"] == "v1"
    assert [set(i) & {"apiVersion", "kind"} for i in body["items"]] == [set(), set()]
    typed = core.list_service_for_all_namespaces(field_selector="metadata.namespace=prod")
    assert [s.metadata.namespace for s in typed.items] == ["prod"]
    with pytest.raises(client.ApiException) as exc:
        core.list_service_for_all_namespaces(field_selector="spec.bogus=1")
    assert status_of(exc.value)["message"] == "field label not supported: spec.bogus"


def test_rbac_tells_a_cluster_wide_list_from_a_namespaced_one(
    custom: client.CustomObjectsApi, fake_kube: FakeKube, five_canaries: list[str]
) -> None:
    fake_kube.deny("list", "canaries", cluster_wide=True)
    assert names(custom.list_namespaced_custom_object(*FLAGGER, "prod", "canaries")) == [
        "prod/api",
        "prod/web",
    ]
    with pytest.raises(client.ApiException) as exc:
        custom.list_cluster_custom_object(*FLAGGER, "canaries")
    assert exc.value.status == 403
    assert status_of(exc.value)["message"] == (
        'canaries.flagger.app is forbidden: User "alice" cannot list resource "canaries" in '
        'API group "flagger.app" at the cluster scope'
    )
    fake_kube.allow_all()
    fake_kube.deny("list", "canaries", "staging")  # one namespace only
    assert len(custom.list_cluster_custom_object(*FLAGGER, "canaries")["items"]) == 5
    with pytest.raises(client.ApiException) as exc:
        custom.list_namespaced_custom_object(*FLAGGER, "staging", "canaries")
    assert exc.value.status == 403


def test_only_list_and_watch_are_served_across_namespaces(
    fake_api_client: client.ApiClient,
) -> None:
    request = fake_api_client.param_serialize(
        "POST",
        "/apis/flagger.app/v1beta1/canaries",
        header_params={"Content-Type": "application/json"},
        body=canary("x", "prod"),
        auth_settings=["BearerToken"],
    )
    answer = fake_api_client.call_api(*request)
    assert answer.status == 405
    assert json.loads(answer.read())["reason"] == "MethodNotAllowed"


def test_kubectl_pages_a_cluster_wide_list(
    fake_kube: FakeKube, fake_kubeconfig: Path, five_canaries: list[str]
) -> None:
    n = len(fake_kube.requests)
    done = kubectl(
        fake_kubeconfig, "get", "canaries.flagger.app", "-A", "-o", "json", "--chunk-size=2"
    )
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in listed["items"]] == (
        five_canaries
    )
    pages = [r for r in fake_kube.requests[n:] if r.path == "/apis/flagger.app/v1beta1/canaries"]
    assert [r.query.get("limit") for r in pages] == ["2", "2", "2"]
    assert [bool(r.query.get("continue")) for r in pages] == [False, True, True]
