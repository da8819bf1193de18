"""API discovery as the real server serves it, read by the real client and by kubectl."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from tests.fakekube import FakeKube
from tests.fakekube.kubectl import kubectl


def groups(api_client: client.ApiClient) -> dict[str, client.V1APIGroup]:
    return {g.name: g for g in client.ApisApi(api_client).get_api_versions().groups}


def test_every_group_the_features_need_is_listed_with_its_preferred_version(
    fake_api_client: client.ApiClient,
) -> None:
    served = groups(fake_api_client)
    for name in (
        "argoproj.io",
        "flagger.app",
        "networking.istio.io",
        "gateway.networking.k8s.io",
        "core.openfeature.dev",
        "coordination.k8s.io",
        "events.k8s.io",
        "apps",
        "authorization.k8s.io",
    ):
        assert name in served, name
    assert [v.version for v in served["networking.istio.io"].versions] == [
        "v1",
        "v1beta1",
        "v1alpha3",
    ]
    assert served["gateway.networking.k8s.io"].preferred_version.version == "v1"
    assert served["flagger.app"].preferred_version.group_version == "flagger.app/v1beta1"


def test_resource_lists_name_kinds_scopes_verbs_and_subresources(
    fake_api_client: client.ApiClient,
) -> None:
    custom = client.CustomObjectsApi(fake_api_client)
    argo = {r.name: r for r in custom.get_api_resources("argoproj.io", "v1alpha1").resources}
    assert argo["rollouts"].kind == "Rollout" and argo["rollouts"].namespaced
    assert argo["rollouts"].singular_name == "rollout"
    assert "ro" in argo["rollouts"].short_names
    assert set(argo["rollouts"].verbs) >= {"get", "list", "watch", "patch", "update"}
    assert sorted(argo["rollouts/status"].verbs) == ["get", "patch", "update"]
    openfeature = custom.get_api_resources("core.openfeature.dev", "v1beta1").resources
    assert {r.name: r.short_names for r in openfeature if "/" not in r.name} == {
        "featureflags": ["ff"],
        "featureflagsources": ["ffs"],
    }
    flagger = {r.name for r in custom.get_api_resources("flagger.app", "v1beta1").resources}
    assert flagger == {"canaries", "canaries/status"}

    core = {r.name: r for r in client.CoreV1Api(fake_api_client).get_api_resources().resources}
    assert "services/proxy" in core and "get" in core["services/proxy"].verbs
    assert core["namespaces"].namespaced is False and core["events"].namespaced is True
    leases = client.CoordinationV1Api(fake_api_client).get_api_resources().resources
    assert [(r.name, r.kind) for r in leases] == [("leases", "Lease")]
    reviews = client.AuthorizationV1Api(fake_api_client).get_api_resources().resources
    assert [(r.name, r.verbs, r.namespaced) for r in reviews] == [
        ("selfsubjectaccessreviews", ["create"], False)
    ]


def test_a_cluster_without_flagger(fake_api_client: client.ApiClient, fake_kube: FakeKube) -> None:
    fake_kube.put_object(
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "Canary",
            "metadata": {"name": "podinfo", "namespace": "test"},
            "spec": {},
        }
    )
    fake_kube.unserve("flagger.app")
    assert "flagger.app" not in groups(fake_api_client)
    custom = client.CustomObjectsApi(fake_api_client)
    with pytest.raises(client.ApiException) as exc:
        custom.get_api_resources("flagger.app", "v1beta1")
    assert exc.value.status == 404
    with pytest.raises(client.ApiException) as exc:
        custom.list_cluster_custom_object("flagger.app", "v1beta1", "canaries")
    assert exc.value.status == 404
    answer = fake_api_client.call_api(*fake_api_client.param_serialize("GET", "/apis/flagger.app"))
    assert answer.status == 404
    fake_kube.serve("flagger.app", "v1beta1")  # installed again: the stored Canary is back
    listed = custom.list_cluster_custom_object("flagger.app", "v1beta1", "canaries")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["podinfo"]


def test_kubectl_discovers_in_two_requests_and_sees_only_what_is_served(
    fake_kube: FakeKube, fake_kubeconfig: Path
) -> None:
    n = len(fake_kube.requests)
    done = kubectl(fake_kubeconfig, "api-resources", "-o", "name")
    assert done.returncode == 0, done.stderr
    listed = set(done.stdout.split())
    assert {"canaries.flagger.app", "rollouts.argoproj.io", "leases.coordination.k8s.io"} <= listed
    assert {"services", "namespaces", "virtualservices.networking.istio.io"} <= listed
    # aggregated discovery: /api and /apis answer everything at once
    assert sorted(r.path for r in fake_kube.requests[n:] if r.path != "/version") == [
        "/api",
        "/apis",
    ]
    fake_kube.unserve("flagger.app")
    done = kubectl(fake_kubeconfig, "api-resources", "-o", "name", "--cached=false")
    assert done.returncode == 0, done.stderr
    assert "canaries.flagger.app" not in done.stdout.split()
    assert "rollouts.argoproj.io" in done.stdout.split()


@pytest.mark.parametrize("path", ["/version", "/api", "/api/v1", "/apis/apps/v1"])
def test_kubectl_get_raw_reads_discovery_documents(fake_kubeconfig: Path, path: str) -> None:
    done = kubectl(fake_kubeconfig, "get", "--raw", path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("{")
