"""Leases (coordination.k8s.io/v1) as leader election uses them, through the real client."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from kubernetes import client

from tests.fakekube import FakeKube

NS = "rollouts"
T0 = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


def lease(holder: str, at: datetime = T0, name: str = "monotui", **spec: object) -> client.V1Lease:
    return client.V1Lease(
        metadata=client.V1ObjectMeta(name=name, namespace=NS),
        spec=client.V1LeaseSpec(
            holder_identity=holder,
            lease_duration_seconds=15,
            acquire_time=at,
            renew_time=at,
            lease_transitions=0,
            **spec,
        ),
    )


@pytest.fixture
def leases(fake_api_client: client.ApiClient) -> client.CoordinationV1Api:
    return client.CoordinationV1Api(fake_api_client)


def message(exc: client.ApiException) -> str:
    text: str = json.loads(exc.body)["message"]
    return text


def test_create_get_and_a_second_create_is_already_exists(
    leases: client.CoordinationV1Api, fake_kube: FakeKube
) -> None:
    created = leases.create_namespaced_lease(NS, lease("pod-a"))
    assert created.spec.holder_identity == "pod-a" and created.spec.lease_transitions == 0
    assert created.spec.renew_time == T0 and created.spec.lease_duration_seconds == 15
    stored = fake_kube.get_object("coordination.k8s.io", "v1", "leases", NS, "monotui")
    assert stored["spec"]["renewTime"] == "2025-03-04T05:06:07.123456Z"  # MicroTime, in UTC
    assert "generation" not in stored["metadata"]  # a built-in kind without one
    got = leases.read_namespaced_lease("monotui", NS)
    assert got.metadata.resource_version == created.metadata.resource_version
    with pytest.raises(client.ApiException) as exc:
        leases.create_namespaced_lease(NS, lease("pod-b"))
    assert exc.value.status == 409
    assert json.loads(exc.value.body)["reason"] == "AlreadyExists"
    assert message(exc.value) == 'leases.coordination.k8s.io "monotui" already exists'


def test_times_are_decoded_as_the_real_server_decodes_micro_time(
    leases: client.CoordinationV1Api,
) -> None:
    other_zone = T0.astimezone(timezone(timedelta(hours=2)))
    created = leases.create_namespaced_lease(NS, lease("pod-a", at=other_zone, name="zoned"))
    assert created.spec.acquire_time == T0
    whole_second = T0.replace(microsecond=0)  # isoformat() then writes no fraction at all
    with pytest.raises(client.ApiException) as exc:
        leases.create_namespaced_lease(NS, lease("pod-a", at=whole_second, name="whole"))
    assert exc.value.status == 400
    assert message(exc.value) == (
        'Lease in version "v1" cannot be handled as a Lease: parsing time '
        '"2025-03-04T05:06:07+00:00" as "2006-01-02T15:04:05.000000Z07:00": '
        'cannot parse "+00:00" as ".000000"'
    )
    naive = T0.replace(tzinfo=None)
    with pytest.raises(client.ApiException) as exc:
        leases.create_namespaced_lease(NS, lease("pod-a", at=naive, name="naive"))
    assert message(exc.value).endswith('cannot parse "" as "Z07:00"')


def test_update_is_compare_and_set_on_resource_version(
    leases: client.CoordinationV1Api,
) -> None:
    leases.create_namespaced_lease(NS, lease("pod-a"))
    seen_by_a = leases.read_namespaced_lease("monotui", NS)
    seen_by_b = leases.read_namespaced_lease("monotui", NS)
    seen_by_b.spec.holder_identity = "pod-b"
    seen_by_b.spec.lease_transitions = 1
    seen_by_b.spec.acquire_time = seen_by_b.spec.renew_time = T0 + timedelta(seconds=20)
    taken = leases.replace_namespaced_lease("monotui", NS, seen_by_b)
    assert int(taken.metadata.resource_version) > int(seen_by_a.metadata.resource_version)

    seen_by_a.spec.renew_time = T0 + timedelta(seconds=21)  # a renewal from a stale read
    with pytest.raises(client.ApiException) as exc:
        leases.replace_namespaced_lease("monotui", NS, seen_by_a)
    assert exc.value.status == 409
    assert message(exc.value) == (
        'Operation cannot be fulfilled on leases.coordination.k8s.io "monotui": the object has '
        "been modified; please apply your changes to the latest version and try again"
    )
    now = leases.read_namespaced_lease("monotui", NS)
    assert (now.spec.holder_identity, now.spec.lease_transitions) == ("pod-b", 1)

    now.metadata.resource_version = None  # Leases do not allow an unconditional update
    with pytest.raises(client.ApiException) as exc:
        leases.replace_namespaced_lease("monotui", NS, now)
    assert exc.value.status == 422
    assert "metadata.resourceVersion: Invalid value: 0x0: must be specified" in message(exc.value)


def test_of_many_candidates_racing_for_one_lease_exactly_one_wins(
    leases: client.CoordinationV1Api,
) -> None:
    leases.create_namespaced_lease(NS, lease(""))
    seen = leases.read_namespaced_lease("monotui", NS)
    outcomes: list[int] = []
    start = threading.Barrier(8)

    def candidate(i: int) -> None:
        spec = client.V1LeaseSpec(holder_identity=f"pod-{i}", lease_duration_seconds=15)
        mine = client.V1Lease(metadata=seen.metadata, spec=spec)
        start.wait()
        try:
            leases.replace_namespaced_lease("monotui", NS, mine)
            outcomes.append(200)
        except client.ApiException as e:
            outcomes.append(e.status)

    threads = [threading.Thread(target=candidate, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(outcomes) == [200] + [409] * 7


def test_patch_delete_and_validation(leases: client.CoordinationV1Api) -> None:
    leases.create_namespaced_lease(NS, lease("pod-a"))
    renewed = leases.patch_namespaced_lease(
        "monotui", NS, {"spec": {"renewTime": "2025-03-04T05:06:30.000001Z"}}
    )
    assert renewed.spec.renew_time == T0.replace(second=30, microsecond=1)
    assert renewed.spec.acquire_time == T0  # kept as given
    with pytest.raises(client.ApiException) as exc:
        leases.patch_namespaced_lease("monotui", NS, {"spec": {"leaseDurationSeconds": 0}})
    assert exc.value.status == 422
    assert message(exc.value) == (
        'Lease.coordination.k8s.io "monotui" is invalid: spec.leaseDurationSeconds: '
        "Invalid value: 0: must be greater than 0"
    )
    with pytest.raises(client.ApiException) as exc:
        leases.patch_namespaced_lease("monotui", NS, {"spec": {"leaseDurationSeconds": "15"}})
    assert exc.value.status == 400
    leases.delete_namespaced_lease("monotui", NS)
    with pytest.raises(client.ApiException) as exc:
        leases.read_namespaced_lease("monotui", NS)
    assert exc.value.status == 404
    assert message(exc.value) == 'leases.coordination.k8s.io "monotui" not found'
