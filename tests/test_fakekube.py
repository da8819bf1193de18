"""The fake Kubernetes API server, exercised through the real ``kubernetes`` client."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from hypothesis import given
from hypothesis import strategies as st
from kubernetes import client, config, watch

from tests import fakekube
from tests.fakekube import FakeKube, KubeContext
from tests.fakekube.jsonpatch import (
    JsonPatchError,
    JsonPatchTestFailed,
    apply_json_patch,
    apply_merge_patch,
)

fake_kube = fakekube.fake_kube
fake_kubeconfig = fakekube.fake_kubeconfig

ISTIO = "networking.istio.io"
NS = "bookinfo"
VS = (ISTIO, "v1", NS, "virtualservices")
JSON_PATCH = "application/json-patch+json"


def virtual_service(name: str = "reviews", canary: int = 10, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{ISTIO}/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": NS, **meta},
        "spec": {
            "hosts": ["reviews"],
            "http": [
                {
                    "name": "primary",
                    "route": [
                        {
                            "destination": {"host": "reviews", "subset": "v1"},
                            "weight": 100 - canary,
                        },
                        {"destination": {"host": "reviews", "subset": "v2"}, "weight": canary},
                    ],
                }
            ],
        },
    }


def status_of(exc: client.ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body


@pytest.fixture
def api_client(fake_kubeconfig: Path) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(fake_kubeconfig))
    yield api_client
    api_client.close()


@pytest.fixture
def api(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture
def reviews(fake_kube: FakeKube) -> dict[str, Any]:
    return fake_kube.put_object(virtual_service())


def wait_for(predicate: Any, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(0.005)  # polling, not waiting for something


# ---------------------------------------------------------------- CRUD


def test_create_get_list(api: client.CustomObjectsApi, fake_kube: FakeKube) -> None:
    created = api.create_namespaced_custom_object(*VS, virtual_service())
    meta = created["metadata"]
    assert meta["namespace"] == NS and meta["generation"] == 1
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) == fake_kube.resource_version

    got = api.get_namespaced_custom_object(*VS, "reviews")
    assert got == created
    # one object, served under every version of the group
    old = api.get_namespaced_custom_object(ISTIO, "v1beta1", NS, "virtualservices", "reviews")
    assert old["apiVersion"] == f"{ISTIO}/v1beta1" and old["spec"] == created["spec"]

    api.create_namespaced_custom_object(*VS, virtual_service("ratings", labels={"app": "r"}))
    listed = api.list_namespaced_custom_object(*VS)
    assert listed["kind"] == "VirtualServiceList"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["ratings", "reviews"]
    assert listed["metadata"]["resourceVersion"] == str(fake_kube.resource_version)
    selected = api.list_namespaced_custom_object(*VS, label_selector="app=r")
    assert [i["metadata"]["name"] for i in selected["items"]] == ["ratings"]
    by_field = api.list_namespaced_custom_object(*VS, field_selector="metadata.name=reviews")
    assert [i["metadata"]["name"] for i in by_field["items"]] == ["reviews"]
    everywhere = api.list_cluster_custom_object(ISTIO, "v1", "virtualservices")
    assert len(everywhere["items"]) == 2

    with pytest.raises(client.ApiException) as exc:
        api.create_namespaced_custom_object(*VS, virtual_service())
    assert exc.value.status == 409 and status_of(exc.value)["reason"] == "AlreadyExists"


def test_direct_state_access(fake_kube: FakeKube) -> None:
    stored = fake_kube.put_object(virtual_service())
    rv = int(stored["metadata"]["resourceVersion"])
    copy_ = fake_kube.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    copy_["spec"]["http"] = []  # a deep copy: the stored object is untouched
    assert fake_kube.get_object(*VS[:2], "virtualservices", NS, "reviews")["spec"]["http"]
    again = fake_kube.put_object(virtual_service(canary=20))
    assert int(again["metadata"]["resourceVersion"]) == rv + 1
    assert again["metadata"]["generation"] == 2
    assert again["metadata"]["uid"] == stored["metadata"]["uid"]
    fake_kube.delete_object(ISTIO, "virtualservices", NS, "reviews")
    with pytest.raises(KeyError):
        fake_kube.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    with pytest.raises(ValueError, match="serve"):
        fake_kube.put_object(
            {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "x"}}
        )


def test_not_found(api: client.CustomObjectsApi) -> None:
    with pytest.raises(client.ApiException) as exc:
        api.get_namespaced_custom_object(*VS, "nope")
    assert exc.value.status == 404
    assert status_of(exc.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'virtualservices.networking.istio.io "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "group": ISTIO, "kind": "virtualservices"},
        "code": 404,
    }


def test_delete_and_finalizers(
    api: client.CustomObjectsApi, fake_kube: FakeKube, reviews: dict[str, Any]
) -> None:
    gone = api.delete_namespaced_custom_object(*VS, "reviews")
    assert gone["status"] == "Success" and gone["details"]["name"] == "reviews"
    with pytest.raises(client.ApiException) as exc:
        api.get_namespaced_custom_object(*VS, "reviews")
    assert exc.value.status == 404

    api.create_namespaced_custom_object(*VS, virtual_service("a", labels={"app": "x"}))
    api.create_namespaced_custom_object(*VS, virtual_service("b"))
    deleted = api.delete_collection_namespaced_custom_object(*VS, label_selector="app=x")
    assert [i["metadata"]["name"] for i in deleted["items"]] == ["a"]
    assert [o["metadata"]["name"] for o in fake_kube.list_objects(ISTIO, "virtualservices")] == [
        "b"
    ]
    fake_kube.delete_object(ISTIO, "virtualservices", NS, "b")

    fake_kube.put_object(virtual_service(finalizers=["example.com/keep"]))
    # 202 Accepted with the object; the client only deserializes a 200, so it returns None
    assert api.delete_namespaced_custom_object(*VS, "reviews") is None
    assert api.get_namespaced_custom_object(*VS, "reviews")["metadata"]["deletionTimestamp"]
    api.patch_namespaced_custom_object(*VS, "reviews", {"metadata": {"finalizers": None}})
    assert fake_kube.list_objects(ISTIO, "virtualservices") == []


# ---------------------------------------------------------------- patch and replace


def test_json_patch_with_passing_test(
    api: client.CustomObjectsApi, fake_kube: FakeKube, reviews: dict[str, Any]
) -> None:
    patch = [
        {"op": "test", "path": "/spec/http/0/route/1/weight", "value": 10},
        {"op": "replace", "path": "/spec/http/0/route/0/weight", "value": 75},
        {"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 25},
    ]
    patched = api.patch_namespaced_custom_object(*VS, "reviews", patch, _content_type=JSON_PATCH)
    weights = [r["weight"] for r in patched["spec"]["http"][0]["route"]]
    assert weights == [75, 25]
    assert patched["metadata"]["generation"] == 2
    assert int(patched["metadata"]["resourceVersion"]) > int(reviews["metadata"]["resourceVersion"])
    path = f"/apis/{ISTIO}/v1/namespaces/{NS}/virtualservices/reviews"
    assert fake_kube.requests[-1] == ("PATCH", path, JSON_PATCH, patch)
    assert ("PATCH", path, JSON_PATCH, patch) in fake_kube.requests


def test_json_patch_with_failing_test_is_422(
    api: client.CustomObjectsApi, fake_kube: FakeKube, reviews: dict[str, Any]
) -> None:
    patch = [
        {"op": "test", "path": "/spec/http/0/route/1/weight", "value": 50},
        {"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 60},
    ]
    with pytest.raises(client.ApiException) as exc:
        api.patch_namespaced_custom_object(*VS, "reviews", patch, _content_type=JSON_PATCH)
    assert exc.value.status == 422
    assert isinstance(exc.value, client.exceptions.UnprocessableEntityException)
    # what the real apiserver sends: nothing says which op failed
    assert status_of(exc.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "the server rejected our request due to an error in our request",
        "reason": "Invalid",
        "details": {},
        "code": 422,
    }
    assert fake_kube.patch_errors == [
        "testing value /spec/http/0/route/1/weight failed: test failed"
    ]
    assert fake_kube.get_object(ISTIO, "v1", "virtualservices", NS, "reviews") == reviews


def test_merge_patch_and_strategic_merge_rejected(
    api: client.CustomObjectsApi, reviews: dict[str, Any]
) -> None:
    patched = api.patch_namespaced_custom_object(  # merge patch is the client's default
        *VS, "reviews", {"metadata": {"labels": {"canary": "yes"}}, "spec": {"hosts": None}}
    )
    assert patched["metadata"]["labels"] == {"canary": "yes"}
    assert "hosts" not in patched["spec"]
    assert patched["metadata"]["generation"] == 2

    with pytest.raises(client.ApiException) as exc:
        api.patch_namespaced_custom_object(
            *VS, "reviews", {"spec": {}}, _content_type="application/strategic-merge-patch+json"
        )
    assert exc.value.status == 415
    assert status_of(exc.value)["reason"] == "UnsupportedMediaType"


def test_noop_patch_keeps_resource_version(
    api: client.CustomObjectsApi, reviews: dict[str, Any]
) -> None:
    same = api.patch_namespaced_custom_object(*VS, "reviews", {"spec": {"hosts": ["reviews"]}})
    assert same["metadata"]["resourceVersion"] == reviews["metadata"]["resourceVersion"]


def test_stale_resource_version_is_409(
    api: client.CustomObjectsApi, reviews: dict[str, Any]
) -> None:
    fresh = api.get_namespaced_custom_object(*VS, "reviews")
    fresh["spec"]["http"][0]["route"][1]["weight"] = 20
    replaced = api.replace_namespaced_custom_object(*VS, "reviews", fresh)
    assert replaced["metadata"]["resourceVersion"] != fresh["metadata"]["resourceVersion"]

    with pytest.raises(client.ApiException) as exc:  # `fresh` is stale now
        api.replace_namespaced_custom_object(*VS, "reviews", fresh)
    assert exc.value.status == 409
    status = status_of(exc.value)
    assert status["reason"] == "Conflict"
    assert status["message"] == (
        'Operation cannot be fulfilled on virtualservices.networking.istio.io "reviews": the '
        "object has been modified; please apply your changes to the latest version and try again"
    )

    stale_patch = {
        "metadata": {"resourceVersion": fresh["metadata"]["resourceVersion"]},
        "spec": {"hosts": ["x"]},
    }
    with pytest.raises(client.ApiException) as exc:
        api.patch_namespaced_custom_object(*VS, "reviews", stale_patch)
    assert exc.value.status == 409

    del fresh["metadata"]["resourceVersion"]
    with pytest.raises(client.ApiException) as exc:
        api.replace_namespaced_custom_object(*VS, "reviews", fresh)
    assert exc.value.status == 422 and "must be specified for an update" in exc.value.body


def test_status_subresource(api: client.CustomObjectsApi, fake_kube: FakeKube) -> None:
    fake_kube.put_object(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {"name": "reviews", "namespace": NS},
            "spec": {"paused": True},
            "status": {"phase": "Paused"},
        }
    )
    ro = ("argoproj.io", "v1alpha1", NS, "rollouts", "reviews")
    main = api.patch_namespaced_custom_object(*ro, {"status": {"phase": "Healthy"}})
    assert main["status"] == {"phase": "Paused"}  # ignored on the main resource, as for real
    status = api.patch_namespaced_custom_object_status(
        *ro, {"status": {"phase": "Healthy"}, "spec": {"paused": False}}
    )
    assert status["status"] == {"phase": "Healthy"} and status["spec"] == {"paused": True}
    assert status["metadata"]["generation"] == 1


# ---------------------------------------------------------------- errors and faults


def test_forbidden_from_deny_list(
    api: client.CustomObjectsApi, fake_kube: FakeKube, reviews: dict[str, Any]
) -> None:
    fake_kube.token_users["fake-token-alice"] = "system:serviceaccount:x:y"
    fake_kube.deny(verb="patch", plural="virtualservices", namespace=NS)
    api.get_namespaced_custom_object(*VS, "reviews")  # other verbs still allowed
    with pytest.raises(client.ApiException) as exc:
        api.patch_namespaced_custom_object(*VS, "reviews", {"spec": {}})
    assert exc.value.status == 403
    assert status_of(exc.value)["message"] == (
        'virtualservices.networking.istio.io "reviews" is forbidden: User '
        '"system:serviceaccount:x:y" cannot patch resource "virtualservices" in API group '
        '"networking.istio.io" in the namespace "bookinfo"'
    )
    assert status_of(exc.value)["details"] == {
        "name": "reviews",
        "group": ISTIO,
        "kind": "virtualservices",
    }
    fake_kube.allow_all()
    api.patch_namespaced_custom_object(*VS, "reviews", {"spec": {}})


def test_injected_failures(
    api: client.CustomObjectsApi, fake_kube: FakeKube, reviews: dict[str, Any]
) -> None:
    fake_kube.fail_next(1, status=500)
    with pytest.raises(client.ApiException) as exc:
        api.get_namespaced_custom_object(*VS, "reviews")
    assert exc.value.status == 500 and status_of(exc.value)["reason"] == "InternalError"
    assert api.get_namespaced_custom_object(*VS, "reviews")

    fake_kube.fail_next(1, status=503, method="PATCH")
    api.get_namespaced_custom_object(*VS, "reviews")  # not a PATCH: not failed
    with pytest.raises(client.ApiException) as exc:
        api.patch_namespaced_custom_object(*VS, "reviews", {"spec": {"hosts": ["a"]}})
    assert exc.value.status == 503
    assert fake_kube.get_object(ISTIO, "v1", "virtualservices", NS, "reviews") == reviews

    fake_kube.fail_next(1, drop=True, method="PATCH")
    with pytest.raises(urllib3.exceptions.ProtocolError):  # not an ApiException, not retried
        api.patch_namespaced_custom_object(*VS, "reviews", {"spec": {"hosts": ["a"]}})
    n = len(fake_kube.requests)
    fake_kube.fail_next(1, drop=True)
    assert api.get_namespaced_custom_object(*VS, "reviews")  # a GET is retried by urllib3
    assert [r.method for r in fake_kube.requests[n:]] == ["GET", "GET"]


def test_latency_and_client_timeouts(
    api: client.CustomObjectsApi, fake_kube: FakeKube, reviews: dict[str, Any]
) -> None:
    fake_kube.latency_s = 0.05
    n = len(fake_kube.requests)
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        api.get_namespaced_custom_object(*VS, "reviews", _request_timeout=0.01)
    assert [r.method for r in fake_kube.requests[n:]] == ["GET"] * 4  # urllib3 retried 3 times
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):  # a PATCH is not retried...
        api.patch_namespaced_custom_object(
            *VS, "reviews", {"spec": {"hosts": ["late"]}}, _request_timeout=0.01
        )
    # ...and the server got it all the same: a timed-out write may have been applied
    wait_for(
        lambda: (
            fake_kube.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")["spec"]["hosts"]
            == ["late"]
        )
    )


def test_down_and_up(
    api: client.CustomObjectsApi, fake_kube: FakeKube, reviews: dict[str, Any]
) -> None:
    port = fake_kube.port
    fake_kube.down()
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        api.get_namespaced_custom_object(*VS, "reviews")
    fake_kube.up()
    assert fake_kube.port == port
    assert api.get_namespaced_custom_object(*VS, "reviews") == reviews


def test_token(
    api: client.CustomObjectsApi, fake_kube: FakeKube, tmp_path: Path, reviews: dict[str, Any]
) -> None:
    api.get_namespaced_custom_object(*VS, "reviews")
    assert fake_kube.last_token == "fake-token-alice"
    assert fake_kube.requests[-1].token == "fake-token-alice"
    fake_kube.require_token = "fake-token-bob"
    with pytest.raises(client.ApiException) as exc:
        api.get_namespaced_custom_object(*VS, "reviews")
    assert exc.value.status == 401 and status_of(exc.value)["reason"] == "Unauthorized"
    bob = fake_kube.write_kubeconfig(tmp_path / "bob", user="bob")
    with config.new_client_from_config(config_file=str(bob)) as bob_client:
        client.CustomObjectsApi(bob_client).get_namespaced_custom_object(*VS, "reviews")


def test_kubeconfig_with_several_contexts(fake_kube: FakeKube, tmp_path: Path) -> None:
    path = fake_kube.write_kubeconfig(
        tmp_path / "kc",
        context="prod",
        user="alice",
        namespace=NS,
        extra_contexts=[KubeContext("staging", user="bob", namespace="staging")],
    )
    contexts, current = config.list_kube_config_contexts(config_file=str(path))
    assert current["name"] == "prod" and current["context"]["namespace"] == NS
    assert {c["name"] for c in contexts} == {"prod", "staging"}
    with config.new_client_from_config(config_file=str(path), context="staging") as c:
        client.CustomObjectsApi(c).list_namespaced_custom_object(
            ISTIO, "v1", "staging", "virtualservices"
        )
    assert fake_kube.last_token == "fake-token-bob"


def test_requests_are_recorded(
    api: client.CustomObjectsApi, fake_kube: FakeKube, reviews: dict[str, Any]
) -> None:
    api.list_namespaced_custom_object(*VS, label_selector="app=x")
    method, path, content_type, body = fake_kube.requests[-1]
    assert (method, path, content_type, body) == (
        "GET",
        f"/apis/{ISTIO}/v1/namespaces/{NS}/virtualservices",
        None,
        None,
    )
    assert fake_kube.requests[-1].query == {"labelSelector": "app=x"}
    assert not [r for r in fake_kube.requests if r.method == "PATCH"]


def test_fast_enough(api: client.CustomObjectsApi, reviews: dict[str, Any]) -> None:
    start = time.perf_counter()
    for _ in range(20):
        api.get_namespaced_custom_object(*VS, "reviews")
    assert time.perf_counter() - start < 0.5  # ~40 ms each if Nagle or keep-alive were wrong


# ---------------------------------------------------------------- discovery


def test_discovery(api_client: client.ApiClient, fake_kube: FakeKube) -> None:
    groups = {g.name: g for g in client.ApisApi(api_client).get_api_versions().groups}
    assert [v.version for v in groups[ISTIO].versions] == ["v1", "v1beta1", "v1alpha3"]
    assert groups[ISTIO].preferred_version.version == "v1"
    api = client.CustomObjectsApi(api_client)
    resources = api.get_api_resources(ISTIO, "v1beta1").resources
    assert "virtualservices" in {r.name for r in resources}

    fake_kube.unserve(ISTIO, "v1")  # an older Istio: only v1beta1 and v1alpha3
    groups = {g.name: g for g in client.ApisApi(api_client).get_api_versions().groups}
    assert groups[ISTIO].preferred_version.version == "v1beta1"
    with pytest.raises(client.ApiException) as exc:
        api.get_api_resources(ISTIO, "v1")
    assert exc.value.status == 404 and status_of(exc.value)["reason"] == "NotFound"
    with pytest.raises(client.ApiException) as exc:
        api.list_namespaced_custom_object(*VS)
    assert exc.value.status == 404
    assert status_of(exc.value)["message"] == "the server could not find the requested resource"

    fake_kube.serve("example.com", ["v1alpha1"], {"widgets": "Widget"})
    assert {r.kind for r in api.get_api_resources("example.com", "v1alpha1").resources} == {
        "Widget"
    }


# ---------------------------------------------------------------- watch


def test_watch_sees_modified_after_patch(
    api: client.CustomObjectsApi, reviews: dict[str, Any]
) -> None:
    rv = api.list_namespaced_custom_object(*VS)["metadata"]["resourceVersion"]
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    w = watch.Watch()

    def consume() -> None:
        for event in w.stream(
            api.list_namespaced_custom_object, *VS, resource_version=rv, timeout_seconds=5
        ):
            events.put(event)
            if event["type"] == "MODIFIED":
                w.stop()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    api.patch_namespaced_custom_object(
        *VS,
        "reviews",
        [{"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 30}],
        _content_type=JSON_PATCH,
    )
    event = events.get(timeout=2)
    assert event["type"] == "MODIFIED"
    assert event["object"]["spec"]["http"][0]["route"][1]["weight"] == 30
    assert event["raw_object"]["metadata"]["resourceVersion"] != rv
    thread.join(timeout=2)
    assert not thread.is_alive()


def test_watch_history_initial_events_and_timeout(
    api: client.CustomObjectsApi, fake_kube: FakeKube, reviews: dict[str, Any]
) -> None:
    fake_kube.max_watch_s = 0.05  # streams end as if timeoutSeconds had passed
    rv = reviews["metadata"]["resourceVersion"]
    fake_kube.put_object(virtual_service("ratings"))
    fake_kube.delete_object(ISTIO, "virtualservices", NS, "reviews")

    def events(**kwargs: Any) -> list[tuple[str, str]]:
        stream = watch.Watch().stream(
            api.list_namespaced_custom_object, *VS, timeout_seconds=5, **kwargs
        )
        return [(e["type"], e["object"]["metadata"]["name"]) for e in stream]

    # from a resourceVersion: what happened after it
    assert events(resource_version=rv) == [("ADDED", "ratings"), ("DELETED", "reviews")]
    # without one: the current objects, as ADDED
    assert events() == [("ADDED", "ratings")]
    assert events(label_selector="app=none") == []


def test_watch_from_compacted_resource_version_is_410(
    api: client.CustomObjectsApi, fake_kube: FakeKube, reviews: dict[str, Any]
) -> None:
    old = reviews["metadata"]["resourceVersion"]
    fake_kube.put_object(virtual_service(canary=50))
    fake_kube.compact()
    with pytest.raises(client.ApiException) as exc:
        list(
            watch.Watch().stream(
                api.list_namespaced_custom_object, *VS, resource_version=old, timeout_seconds=5
            )
        )
    assert exc.value.status == 410


# ---------------------------------------------------------------- other clients


def test_core_events(api_client: client.ApiClient, fake_kube: FakeKube) -> None:
    core = client.CoreV1Api(api_client)
    event = client.CoreV1Event(
        metadata=client.V1ObjectMeta(generate_name="reviews."),
        involved_object=client.V1ObjectReference(
            kind="VirtualService", name="reviews", namespace=NS
        ),
        reason="WeightChanged",
        message="canary 10% -> 25%",
        type="Normal",
    )
    created = core.create_namespaced_event(NS, event)
    assert created.metadata.name.startswith("reviews.")
    assert created.reason == "WeightChanged"
    assert fake_kube.list_objects("", "events", NS)[0]["message"] == "canary 10% -> 25%"


async def test_aio_client_get_and_patch(
    fake_kube: FakeKube, fake_kubeconfig: Path, reviews: dict[str, Any]
) -> None:
    aio = pytest.importorskip("kubernetes.aio")
    api_client = await aio.config.new_client_from_config(config_file=str(fake_kubeconfig))
    try:
        api = aio.client.CustomObjectsApi(api_client)
        got = await api.get_namespaced_custom_object(*VS, "reviews")
        assert got == reviews
        patched = await api.patch_namespaced_custom_object(
            *VS,
            "reviews",
            [
                {"op": "test", "path": "/spec/http/0/route/1/weight", "value": 10},
                {"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 20},
            ],
            _content_type=JSON_PATCH,
        )
        assert patched["spec"]["http"][0]["route"][1]["weight"] == 20
        with pytest.raises(aio.client.ApiException) as exc:
            await api.patch_namespaced_custom_object(
                *VS,
                "reviews",
                [{"op": "test", "path": "/spec/http/0/route/1/weight", "value": 10}],
                _content_type=JSON_PATCH,
            )
        assert exc.value.status == 422

        rv = got["metadata"]["resourceVersion"]  # watch from before the patch: it is replayed
        w = aio.watch.Watch()
        async with w.stream(
            api.list_namespaced_custom_object, *VS, resource_version=rv, timeout_seconds=5
        ) as stream:
            async for event in stream:
                assert event["type"] == "MODIFIED"
                assert event["object"]["spec"]["http"][0]["route"][1]["weight"] == 20
                w.stop()
    finally:
        await api_client.close()


# ---------------------------------------------------------------- JSON patch / merge patch


def test_json_patch_operations() -> None:
    doc = {"a": {"b": [1, 2]}, "c~d/e": 1}
    assert apply_json_patch(
        doc,
        [
            {"op": "add", "path": "/a/b/-", "value": 3},
            {"op": "add", "path": "/a/b/0", "value": 0},
            {"op": "remove", "path": "/c~0d~1e"},
            {"op": "copy", "from": "/a/b", "path": "/copy"},
            {"op": "move", "from": "/a", "path": "/moved"},
            {"op": "replace", "path": "/moved/b/1", "value": 10},
            {"op": "test", "path": "/copy", "value": [0, 1, 2, 3]},
            {"op": "test", "path": "/missing", "value": None},
        ],
    ) == {"moved": {"b": [0, 10, 2, 3]}, "copy": [0, 1, 2, 3]}
    assert doc == {"a": {"b": [1, 2]}, "c~d/e": 1}  # input untouched

    with pytest.raises(JsonPatchTestFailed, match="testing value /a/b failed"):
        apply_json_patch(doc, [{"op": "test", "path": "/a/b", "value": [1, 2.5]}])
    with pytest.raises(JsonPatchTestFailed):
        apply_json_patch({"x": 1}, [{"op": "test", "path": "/x", "value": True}])
    for bad in (
        [{"op": "remove", "path": "/nope"}],
        [{"op": "replace", "path": "/x/y", "value": 1}],
        [{"op": "add", "path": "/a/b/5", "value": 1}],
        [{"op": "frob", "path": "/a"}],
    ):
        with pytest.raises(JsonPatchError):
            apply_json_patch(doc, bad)


def test_merge_patch_rfc7386_examples() -> None:
    assert apply_merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert apply_merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert apply_merge_patch({"a": "b"}, {"a": None}) == {}
    assert apply_merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert apply_merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert apply_merge_patch([1, 2], {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}
    assert apply_merge_patch({"a": "foo"}, "bar") == "bar"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(json_values, json_values)
def test_merge_patch_is_idempotent(target: Any, patch: Any) -> None:
    once = apply_merge_patch(target, patch)
    assert apply_merge_patch(once, patch) == once
