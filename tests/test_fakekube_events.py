"""Events through core v1 and events.k8s.io/v1: one stored object, the real validation, RBAC."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kubernetes import client

from tests.fakekube import FakeKube
from tests.fakekube.kubectl import kubectl

NS = "bookinfo"
AT = datetime(2025, 3, 4, 5, 6, 7, 250000, tzinfo=UTC)


def regarding() -> client.V1ObjectReference:
    return client.V1ObjectReference(
        api_version="networking.istio.io/v1", kind="VirtualService", name="reviews", namespace=NS
    )


def new_style(type_: str = "Normal", **fields: object) -> client.EventsV1Event:
    return client.EventsV1Event(
        metadata=client.V1ObjectMeta(generate_name="reviews."),
        event_time=AT,
        regarding=regarding(),
        reason="WeightChanged",
        note="canary 10% -> 25% (error rate 0.10% vs 0.12%)",
        type=type_,
        action="SetWeight",
        reporting_controller="monotui",
        reporting_instance="monotui-alice",
        **fields,
    )


def causes(exc: client.ApiException) -> list[tuple[str, str]]:
    details = json.loads(exc.body)["details"]
    return [(c["field"], c["message"]) for c in details["causes"]]


@pytest.fixture
def core(fake_api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(fake_api_client)


@pytest.fixture
def events_v1(fake_api_client: client.ApiClient) -> client.EventsV1Api:
    return client.EventsV1Api(fake_api_client)


def test_an_event_posted_through_events_k8s_io_is_a_core_event_too(
    core: client.CoreV1Api, events_v1: client.EventsV1Api
) -> None:
    created = events_v1.create_namespaced_event(NS, new_style())
    assert created.metadata.name.startswith("reviews.")
    assert created.event_time == AT and created.regarding.name == "reviews"
    as_core = core.read_namespaced_event(created.metadata.name, NS)
    assert as_core.involved_object.kind == "VirtualService"
    assert as_core.message == "canary 10% -> 25% (error rate 0.10% vs 0.12%)"
    assert as_core.reporting_component == "monotui"
    assert as_core.metadata.resource_version == created.metadata.resource_version
    selected = core.list_namespaced_event(
        NS, field_selector="involvedObject.name=reviews,reason=WeightChanged"
    )
    assert [e.metadata.name for e in selected.items] == [created.metadata.name]
    by_v1_field = events_v1.list_namespaced_event(NS, field_selector="regarding.kind=Pod")
    assert by_v1_field.items == []


def test_a_legacy_core_event_needs_little_and_is_listed_by_both_apis(
    core: client.CoreV1Api, events_v1: client.EventsV1Api
) -> None:
    legacy = client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="reviews.1"),
        involved_object=regarding(),
        reason="Paused",
        message="paused by alice",
        type="Normal",
        source=client.V1EventSource(component="monotui"),
        count=1,
        first_timestamp=AT,
        last_timestamp=AT,
    )
    created = core.create_namespaced_event(NS, legacy)
    assert created.first_timestamp == AT.replace(microsecond=0)  # metav1.Time: whole seconds
    raw = json.loads(events_v1.list_namespaced_event(NS, _preload_content=False).data)
    [shown] = raw["items"]
    assert (shown["note"], shown["deprecatedCount"], shown["eventTime"]) == (
        "paused by alice",
        1,
        None,
    )
    # As on a real cluster, the typed client cannot read an events.k8s.io Event without an
    # eventTime: whoever lists Events that others may have posted reads them as core Events.
    with pytest.raises(ValueError, match="eventTime"):
        events_v1.list_namespaced_event(NS)
    assert [e.message for e in core.list_namespaced_event(NS).items] == ["paused by alice"]


def test_core_v1_validates_only_the_legacy_rules(core: client.CoreV1Api) -> None:
    elsewhere = client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="x"),
        involved_object=client.V1ObjectReference(kind="Pod", name="p", namespace="other"),
    )
    with pytest.raises(client.ApiException) as exc:
        core.create_namespaced_event(NS, elsewhere)
    assert exc.value.status == 422
    assert json.loads(exc.value.body)["message"] == (
        'Event "x" is invalid: involvedObject.namespace: Invalid value: "other": '
        "does not match event.namespace"
    )
    with_time = client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="y"),
        involved_object=regarding(),
        event_time=AT,
        reason="WeightChanged",
    )
    with pytest.raises(client.ApiException) as exc:
        core.create_namespaced_event(NS, with_time)
    fields = [f for f, _ in causes(exc.value)]
    assert fields[0] == "reportingComponent" and "reportingInstance" in fields
    assert "action" in fields and "type" not in fields  # core v1 never checks the type


def test_events_k8s_io_validates_strictly(events_v1: client.EventsV1Api) -> None:
    with pytest.raises(client.ApiException) as exc:
        events_v1.create_namespaced_event(NS, new_style("Info"))
    assert exc.value.status == 422
    assert causes(exc.value) == [("type", 'Invalid value: "": has invalid value: Info')]
    with pytest.raises(client.ApiException) as exc:
        events_v1.create_namespaced_event(NS, new_style(deprecated_count=3))
    assert causes(exc.value) == [("count", 'Invalid value: "": needs to be unset')]
    long = new_style()
    long.reporting_controller = "monotui/with/slashes"
    with pytest.raises(client.ApiException) as exc:
        events_v1.create_namespaced_event(NS, long)
    assert causes(exc.value)[0][0] == "reportingController"


def test_rbac_can_forbid_creating_events(
    core: client.CoreV1Api, events_v1: client.EventsV1Api, fake_kube: FakeKube
) -> None:
    fake_kube.deny("create", "events", NS)
    with pytest.raises(client.ApiException) as exc:
        events_v1.create_namespaced_event(NS, new_style())
    assert exc.value.status == 403
    assert json.loads(exc.value.body)["message"] == (
        'events.events.k8s.io is forbidden: User "alice" cannot create resource "events" in '
        'API group "events.k8s.io" in the namespace "bookinfo"'
    )
    with pytest.raises(client.ApiException) as exc:
        core.create_namespaced_event(
            NS,
            client.CoreV1Event(metadata=client.V1ObjectMeta(name="z"), involved_object=regarding()),
        )
    assert exc.value.status == 403
    assert core.list_namespaced_event(NS).items == []


def test_kubectl_sees_the_event(events_v1: client.EventsV1Api, fake_kubeconfig: Path) -> None:
    events_v1.create_namespaced_event(NS, new_style("Warning"))
    done = kubectl(
        fake_kubeconfig, "get", "events", "-n", NS, "--field-selector", "type=Warning", "-o", "json"
    )
    assert done.returncode == 0, done.stderr
    [event] = json.loads(done.stdout)["items"]
    assert (event["reason"], event["involvedObject"]["name"]) == ("WeightChanged", "reviews")
