"""Watches through the real client: bookmarks, initial events, 410, compaction, drops."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import urllib3
from kubernetes import client, watch

from tests.fakekube import FakeKube

ISTIO = ("networking.istio.io", "v1")


def vs(name: str, namespace: str, weight: int = 10, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"http": [{"route": [{"weight": 100 - weight}, {"weight": weight}]}]},
    }


def wait_for(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(0.005)  # polling, not waiting for something


class Consumer:
    """Runs one watch stream in a thread; its events (or the error that ended it) in a queue."""

    def __init__(self, stream: Iterator[dict[str, Any]]) -> None:
        self.events: queue.Queue[dict[str, Any] | BaseException | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream: Iterator[dict[str, Any]]) -> None:
        try:
            for event in stream:
                self.events.put(event)
            self.events.put(None)  # a clean end
        except BaseException as e:  # noqa: BLE001 (handed to the test)
            self.events.put(e)

    def next(self, timeout_s: float = 5.0) -> dict[str, Any] | BaseException | None:
        return self.events.get(timeout=timeout_s)

    def until_end(self, timeout_s: float = 5.0) -> list[Any]:
        out = []
        while (item := self.next(timeout_s)) is not None and not isinstance(item, BaseException):
            out.append(item)
        return [*out, item]


@pytest.fixture
def custom(fake_api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(fake_api_client)


def raw_watch(fake: FakeKube, path: str, **params: str) -> tuple[int, list[dict[str, Any]]]:
    """A watch read by plain HTTP: (status, every event) until the stream ends."""
    params = {"watch": "true", **params}
    answer = httpx.get(
        f"{fake.url}{path}",
        params=params,
        headers={"Authorization": "Bearer fake-token-alice"},
        timeout=10,
    )
    return answer.status_code, [json.loads(line) for line in answer.text.splitlines() if line]


def test_a_cluster_wide_watch_sees_every_namespace_with_selectors(
    custom: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    rv = str(fake_kube.resource_version)
    stream = watch.Watch().stream(
        custom.list_cluster_custom_object,
        *ISTIO,
        "virtualservices",
        resource_version=rv,
        label_selector="team=a",
        timeout_seconds=5,
    )
    consumer = Consumer(stream)
    fake_kube.put_object(vs("one", "prod", team="a"))
    fake_kube.put_object(vs("two", "staging", team="b"))
    fake_kube.put_object(vs("three", "staging", team="a"))
    seen = [consumer.next(), consumer.next()]
    assert [(e["type"], e["object"]["metadata"]["namespace"]) for e in seen] == [  # type: ignore[index]
        ("ADDED", "prod"),
        ("ADDED", "staging"),
    ]
    fake_kube.end_watches()
    assert consumer.next() is None  # ends cleanly, as a timeout would


def test_bookmarks_carry_the_current_resource_version(
    custom: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    fake_kube.put_object(vs("reviews", "prod"))
    w = watch.Watch()
    stream = w.stream(
        custom.list_namespaced_custom_object,
        *ISTIO,
        "prod",
        "virtualservices",
        resource_version=str(fake_kube.resource_version),
        allow_watch_bookmarks=True,
        timeout_seconds=5,
    )
    consumer = Consumer(stream)
    wait_for(lambda: fake_kube.open_watches == 1)
    fake_kube.put_object(vs("other", "staging"))  # another namespace moves the RV on
    fake_kube.send_bookmarks()
    bookmark = consumer.next()
    assert isinstance(bookmark, dict) and bookmark["type"] == "BOOKMARK"
    assert bookmark["raw_object"] == {
        "kind": "VirtualService",
        "apiVersion": "networking.istio.io/v1",
        "metadata": {"resourceVersion": str(fake_kube.resource_version)},
    }
    assert w.resource_version == str(fake_kube.resource_version)  # the client resumes there
    fake_kube.end_watches()
    assert consumer.next() is None


def test_a_bookmark_comes_right_before_a_watch_times_out(fake_kube: FakeKube) -> None:
    fake_kube.max_watch_s = 0.1
    status, events = raw_watch(
        fake_kube, "/apis/networking.istio.io/v1/virtualservices", allowWatchBookmarks="true"
    )
    assert status == 200
    assert [e["type"] for e in events] == ["BOOKMARK"]
    _, without = raw_watch(fake_kube, "/apis/networking.istio.io/v1/virtualservices")
    assert without == []


def test_send_initial_events_ends_with_an_annotated_bookmark(
    fake_api_client: client.ApiClient, fake_kube: FakeKube
) -> None:
    for name in ("a", "b"):
        fake_kube.put_object(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "x"}}
        )
    core = client.CoreV1Api(fake_api_client)
    stream = watch.Watch().stream(
        core.list_namespaced_config_map,
        "x",
        send_initial_events=True,
        resource_version_match="NotOlderThan",
        allow_watch_bookmarks=True,
        timeout_seconds=5,
    )
    consumer = Consumer(stream)
    first, second, end = consumer.next(), consumer.next(), consumer.next()
    assert [e["type"] for e in (first, second)] == ["ADDED", "ADDED"]  # type: ignore[index]
    assert isinstance(end, dict) and end["type"] == "BOOKMARK"
    assert end["raw_object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    fake_kube.end_watches()
    assert consumer.next() is None

    status, events = raw_watch(
        fake_kube, "/api/v1/namespaces/x/configmaps", sendInitialEvents="true"
    )
    assert status == 422
    assert [e["message"] for e in events] == [
        'ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: '
        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, "
        "allowWatchBookmarks: Forbidden: sendInitialEvents requires setting "
        "allowWatchBookmarks to true]"
    ]


def test_a_watch_from_compacted_history_is_one_410_error_event(fake_kube: FakeKube) -> None:
    old = fake_kube.put_object(vs("reviews", "prod"))["metadata"]["resourceVersion"]
    fake_kube.put_object(vs("reviews", "prod", weight=20))
    fake_kube.compact()
    status, events = raw_watch(
        fake_kube, "/apis/networking.istio.io/v1/virtualservices", resourceVersion=old
    )
    assert status == 200  # the error is in the stream, as the real server sends it
    assert events == [
        {
            "type": "ERROR",
            "object": {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": f"too old resource version: {old} ({fake_kube.resource_version})",
                "reason": "Expired",
                "details": {},
                "code": 410,
            },
        }
    ]


def test_a_partial_compaction_keeps_the_newer_history(
    custom: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    fake_kube.max_watch_s = 0.1
    first = int(fake_kube.put_object(vs("a", "prod"))["metadata"]["resourceVersion"])
    second = int(fake_kube.put_object(vs("b", "prod"))["metadata"]["resourceVersion"])
    fake_kube.put_object(vs("c", "prod"))
    fake_kube.compact(second)

    def names(rv: int) -> list[str]:
        stream = watch.Watch().stream(
            custom.list_cluster_custom_object,
            *ISTIO,
            "virtualservices",
            resource_version=str(rv),
            timeout_seconds=5,
        )
        return [e["object"]["metadata"]["name"] for e in stream]

    assert names(second) == ["c"]
    with pytest.raises(client.ApiException) as exc:
        names(first)
    assert exc.value.status == 410


def test_dropped_watches_break_the_stream_and_the_client_can_resume(
    custom: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    rv = str(fake_kube.resource_version)
    w = watch.Watch()
    stream = w.stream(
        custom.list_cluster_custom_object,
        *ISTIO,
        "virtualservices",
        resource_version=rv,
        timeout_seconds=5,
    )
    consumer = Consumer(stream)
    fake_kube.put_object(vs("a", "prod"))
    assert consumer.next()["type"] == "ADDED"  # type: ignore[index]
    fake_kube.drop_watches()
    assert isinstance(consumer.next(), urllib3.exceptions.ProtocolError)
    wait_for(lambda: fake_kube.open_watches == 0)
    fake_kube.put_object(vs("b", "prod"))  # happened while nobody watched
    again = Consumer(
        w.stream(
            custom.list_cluster_custom_object,
            *ISTIO,
            "virtualservices",
            resource_version=w.resource_version,
            timeout_seconds=5,
        )
    )
    resumed = again.next()
    assert isinstance(resumed, dict) and resumed["object"]["metadata"]["name"] == "b"
    fake_kube.end_watches()
    assert again.next() is None


def test_one_watch_costs_one_request_however_many_changes_it_carries(
    custom: client.CustomObjectsApi, fake_kube: FakeKube
) -> None:
    since = len(fake_kube.requests)
    consumer = Consumer(
        watch.Watch().stream(
            custom.list_cluster_custom_object, *ISTIO, "virtualservices", timeout_seconds=5
        )
    )
    wait_for(lambda: fake_kube.open_watches == 1)
    for weight in range(0, 50, 10):
        fake_kube.put_object(vs("reviews", "prod", weight=weight))
    types = [consumer.next()["type"] for _ in range(5)]  # type: ignore[index]
    assert types == ["ADDED", "MODIFIED", "MODIFIED", "MODIFIED", "MODIFIED"]
    assert fake_kube.request_counts(since) == {
        ("watch", "/apis/networking.istio.io/v1/virtualservices"): 1
    }
    fake_kube.end_watches()
    assert consumer.next() is None
