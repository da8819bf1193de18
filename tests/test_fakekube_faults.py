"""Faults a test injects per request pattern, as the real client meets them."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, watch

from tests.fakekube import FakeKube

ISTIO, NS = "networking.istio.io", "bookinfo"
VS = (ISTIO, "v1", NS, "virtualservices")


def vs(name: str, weight: int = 10) -> dict[str, Any]:
    return {
        "apiVersion": f"{ISTIO}/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"http": [{"route": [{"weight": 100 - weight}, {"weight": weight}]}]},
    }


def weight(fake: FakeKube, name: str = "reviews") -> int:
    obj = fake.get_object(ISTIO, "v1", "virtualservices", NS, name)
    value: int = obj["spec"]["http"][0]["route"][1]["weight"]
    return value


@pytest.fixture
def api(fake_api_client: client.ApiClient, fake_kube: FakeKube) -> client.CustomObjectsApi:
    fake_kube.put_object(vs("reviews"))
    fake_kube.put_object(vs("ratings"))
    return client.CustomObjectsApi(fake_api_client)


def test_a_fault_hits_only_the_requests_its_pattern_matches(
    api: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    fake_kube.fail_next(None, 500, path="/virtualservices/reviews$", method="get")
    for _ in range(3):
        assert api.get_namespaced_custom_object(*VS, "ratings")
        with pytest.raises(client.ApiException) as exc:
            api.get_namespaced_custom_object(*VS, "reviews")
        assert exc.value.status == 500
    api.patch_namespaced_custom_object(*VS, "reviews", {"metadata": {"labels": {"a": "b"}}})
    fake_kube.clear_faults()
    assert api.get_namespaced_custom_object(*VS, "reviews")


def test_429_is_the_plain_text_answer_of_priority_and_fairness(
    api: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    fake_kube.fail_next(1, 429, retry_after=3, method="PATCH")
    with pytest.raises(client.ApiException) as exc:  # a write is not retried by urllib3
        api.patch_namespaced_custom_object(*VS, "reviews", {"metadata": {"labels": {"a": "b"}}})
    assert exc.value.status == 429
    assert exc.value.headers["Retry-After"] == "3"
    assert exc.value.body == "Too many requests, please try again later.\n"
    fake_kube.fail_next(1, 503, message="etcdserver: leader changed", method="PATCH")
    with pytest.raises(client.ApiException) as exc:
        api.patch_namespaced_custom_object(*VS, "reviews", {"metadata": {"labels": {"a": "b"}}})
    assert json.loads(exc.value.body)["message"] == "etcdserver: leader changed"
    assert "Retry-After" not in exc.value.headers


def test_a_read_is_retried_after_retry_after_by_the_client_stack(
    api: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    n = len(fake_kube.requests)
    fake_kube.fail_next(2, 429, retry_after=0, method="GET")
    assert api.list_namespaced_custom_object(*VS)["items"]  # urllib3 honours Retry-After
    assert fake_kube.count_requests("list", since=n) == 3
    fake_kube.fail_next(1, 503, method="GET")  # without Retry-After: no retry
    with pytest.raises(client.ApiException) as exc:
        api.list_namespaced_custom_object(*VS)
    assert exc.value.status == 503


def test_a_slow_answer_times_out_a_client_and_gets_retried_only_for_reads(
    api: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    fake_kube.slow_next(None, 1.0, method="GET")
    n = len(fake_kube.requests)
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        api.get_namespaced_custom_object(*VS, "reviews", _request_timeout=0.05)
    assert fake_kube.count_requests("get", since=n) == 4  # urllib3 retried a GET 3 times
    fake_kube.clear_faults()


def test_a_write_applied_but_answered_too_late(
    api: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    fake_kube.answer_late(1, None, method="PATCH")  # answered only when released
    patch = [{"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 30}]
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        api.patch_namespaced_custom_object(
            *VS, "reviews", patch, _content_type="application/json-patch+json", _request_timeout=0.2
        )
    assert weight(fake_kube) == 30  # the client gave up, yet the route has moved
    fake_kube.release_held()
    fake_kube.answer_late(1, None, method="PATCH")  # a release frees what was held, not later
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        api.patch_namespaced_custom_object(
            *VS, "ratings", {"spec": {"hosts": ["a"]}}, _request_timeout=0.2
        )
    fake_kube.release_held()

    fake_kube.answer_late(1, 0.1, method="PATCH")  # late, but a patient client gets it
    patched = api.patch_namespaced_custom_object(
        *VS,
        "reviews",
        [{"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 40}],
        _content_type="application/json-patch+json",
    )
    assert patched["spec"]["http"][0]["route"][1]["weight"] == 40


def test_a_trickled_answer_defeats_a_per_read_timeout(
    api: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    fake_kube.trickle_next(1, 0.05, path="/reviews$", chunk_bytes=16)  # about 20 chunks
    started = time.monotonic()
    got = api.get_namespaced_custom_object(*VS, "reviews", _request_timeout=(5, 0.5))
    elapsed = time.monotonic() - started
    assert got["metadata"]["name"] == "reviews"
    # each read got bytes within 0.5 s, so the client waited for all of the slower whole
    assert elapsed > 0.5


def test_a_dropped_connection_loses_the_write(
    api: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    fake_kube.fail_next(1, drop=True, method="PATCH", path="/reviews$")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        api.patch_namespaced_custom_object(*VS, "reviews", {"spec": {"hosts": ["x"]}})
    assert (
        "hosts" not in fake_kube.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")["spec"]
    )


def test_the_request_log_counts_by_verb_and_path(
    api: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    since = len(fake_kube.requests)
    api.list_cluster_custom_object(ISTIO, "v1", "virtualservices")
    api.get_namespaced_custom_object(*VS, "reviews")
    api.get_namespaced_custom_object(*VS, "reviews")
    api.patch_namespaced_custom_object(*VS, "ratings", {"metadata": {"labels": {"x": "y"}}})
    assert fake_kube.request_counts(since) == {
        ("list", "/apis/networking.istio.io/v1/virtualservices"): 1,
        ("get", f"/apis/networking.istio.io/v1/namespaces/{NS}/virtualservices/reviews"): 2,
        ("patch", f"/apis/networking.istio.io/v1/namespaces/{NS}/virtualservices/ratings"): 1,
    }
    assert fake_kube.count_requests("get", since=since, path="/reviews$") == 2
    assert fake_kube.count_requests(method="PATCH", since=since) == 1
    stamps = [r.at_s for r in fake_kube.requests[since:]]
    assert stamps == sorted(stamps)
    assert fake_kube.requests[-1].headers["Content-Type"] == "application/merge-patch+json"


def test_a_fault_for_one_user_leaves_the_others_requests_alone(
    api: client.CustomObjectsApi, fake_kube: FakeKube, tmp_path: Path
) -> None:
    from kubernetes import config

    path = fake_kube.write_kubeconfig(tmp_path / "pod-b", user="pod-b")
    other = config.new_client_from_config(config_file=str(path))  # type: ignore[no-untyped-call]
    try:
        pod_b = client.CustomObjectsApi(other)
        fake_kube.fail_next(None, 503, path="/virtualservices/", user="pod-b")
        for _ in range(2):
            assert api.get_namespaced_custom_object(*VS, "reviews")  # alice still gets through
            with pytest.raises(client.ApiException) as exc:
                pod_b.get_namespaced_custom_object(*VS, "reviews")
            assert exc.value.status == 503
        fake_kube.clear_faults()
        assert pod_b.get_namespaced_custom_object(*VS, "reviews")
    finally:
        other.close()


def test_faults_do_not_leak_into_other_threads_requests_beyond_their_count(
    api: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    fake_kube.fail_next(3, 500, method="GET")
    outcomes: list[int] = []

    def get() -> None:
        try:
            api.get_namespaced_custom_object(*VS, "reviews")
            outcomes.append(200)
        except client.ApiException as e:
            outcomes.append(e.status)

    threads = [threading.Thread(target=get) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(outcomes) == [200, 200, 200, 500, 500, 500]


def test_a_trickled_watch_stream_still_parses_event_by_event(
    api: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    fake_kube.trickle_next(1, 0.001, path="/virtualservices$", chunk_bytes=7)
    rv = fake_kube.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")["metadata"][
        "resourceVersion"
    ]
    fake_kube.max_watch_s = 0.3
    fake_kube.put_object(vs("reviews", weight=60))
    fake_kube.delete_object(ISTIO, "virtualservices", NS, "ratings")
    stream = watch.Watch().stream(
        api.list_namespaced_custom_object, *VS, resource_version=str(int(rv) - 1), timeout_seconds=5
    )
    events = [(e["type"], e["object"]["metadata"]["name"]) for e in stream]
    assert events == [
        ("ADDED", "reviews"),
        ("ADDED", "ratings"),
        ("MODIFIED", "reviews"),
        ("DELETED", "ratings"),
    ]
