"""Built-in kinds through their typed clients: what the real server defaults and refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client

from tests.fakekube import FakeKube


def message(exc: client.ApiException) -> str:
    text: str = json.loads(exc.body)["message"]
    return text


def deployment(image: str = "podinfo:6.0.0") -> dict[str, Any]:
    return {
        "metadata": {"name": "podinfo", "labels": {"app": "podinfo"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "podinfo"}},
            "template": {
                "metadata": {"labels": {"app": "podinfo"}},
                "spec": {"containers": [{"name": "podinfo", "image": image}]},
            },
        },
    }


def test_a_namespace_is_active_and_its_name_must_be_a_dns_label(
    fake_api_client: client.ApiClient,
) -> None:
    core = client.CoreV1Api(fake_api_client)
    created = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="prod")))
    assert created.status.phase == "Active" and created.spec.finalizers == ["kubernetes"]
    assert [n.metadata.name for n in core.list_namespace().items] == ["prod"]
    with pytest.raises(client.ApiException) as exc:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="a.b")))
    assert exc.value.status == 422
    assert message(exc.value).startswith(
        'Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": a lowercase RFC 1123 '
        "label must consist of"
    )


def test_a_service_gets_a_cluster_ip_and_port_defaults(fake_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(fake_api_client)
    spec = client.V1ServiceSpec(
        selector={"app": "prometheus"}, ports=[client.V1ServicePort(name="web", port=9090)]
    )
    created = core.create_namespaced_service(
        "monitoring", client.V1Service(metadata=client.V1ObjectMeta(name="prometheus"), spec=spec)
    )
    assert created.spec.type == "ClusterIP" and created.spec.cluster_ip.startswith("10.96.")
    port = created.spec.ports[0]
    assert (port.protocol, port.target_port) == ("TCP", 9090)
    assert (
        "generation"
        not in json.loads(
            core.read_namespaced_service("prometheus", "monitoring", _preload_content=False).data
        )["metadata"]
    )
    two_unnamed = client.V1ServiceSpec(
        ports=[client.V1ServicePort(port=80), client.V1ServicePort(port=81)]
    )
    with pytest.raises(client.ApiException) as exc:
        core.create_namespaced_service(
            "monitoring",
            client.V1Service(metadata=client.V1ObjectMeta(name="two"), spec=two_unnamed),
        )
    assert json.loads(exc.value.body)["details"]["causes"] == [
        {
            "reason": "FieldValueRequired",
            "message": "Required value",
            "field": "spec.ports[0].name",
        },
        {
            "reason": "FieldValueRequired",
            "message": "Required value",
            "field": "spec.ports[1].name",
        },
    ]


def test_a_deployment_keeps_a_generation_and_a_status_subresource(
    fake_api_client: client.ApiClient, fake_kube: FakeKube
) -> None:
    apps = client.AppsV1Api(fake_api_client)
    created = apps.create_namespaced_deployment("test", deployment())
    assert created.metadata.generation == 1 and created.kind == "Deployment"
    moved = apps.patch_namespaced_deployment(
        "podinfo",
        "test",
        {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "podinfo", "image": "podinfo:6.1.0"}]}
                }
            }
        },
    )
    assert moved.metadata.generation == 2
    status = apps.patch_namespaced_deployment_status(
        "podinfo", "test", {"status": {"observedGeneration": 2, "readyReplicas": 2}}
    )
    assert status.status.ready_replicas == 2 and status.metadata.generation == 2
    ignored = apps.patch_namespaced_deployment("podinfo", "test", {"status": {"readyReplicas": 0}})
    assert ignored.status.ready_replicas == 2  # the main resource ignores .status
    # a built-in kind may be replaced without a resourceVersion
    body = apps.read_namespaced_deployment("podinfo", "test")
    body.metadata.resource_version = None
    body.spec.replicas = 3
    assert apps.replace_namespaced_deployment("podinfo", "test", body).spec.replicas == 3
    listed = apps.list_deployment_for_all_namespaces()
    assert [d.metadata.name for d in listed.items] == ["podinfo"]


def test_pods_answer_the_field_selectors_the_real_server_supports(
    fake_api_client: client.ApiClient, fake_kube: FakeKube
) -> None:
    for name, phase in (("a", "Running"), ("b", "Pending")):
        fake_kube.put_object(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": "test"},
                "spec": {"containers": [{"name": "c", "image": "i"}], "nodeName": "n1"},
                "status": {"phase": phase},
            }
        )
    core = client.CoreV1Api(fake_api_client)
    running = core.list_pod_for_all_namespaces(field_selector="status.phase=Running")
    assert [p.metadata.name for p in running.items] == ["a"]
    on_node = core.list_namespaced_pod("test", field_selector="spec.nodeName=n1")
    assert len(on_node.items) == 2
