"""SelfSubjectAccessReviews answered from the deny rules, as ``kubectl auth can-i`` asks them."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client, config

from tests.fakekube import FakeKube
from tests.fakekube.kubectl import kubectl

NS = "bookinfo"
ISTIO = "networking.istio.io"


def can_i(api_client: client.ApiClient, **attributes: str) -> client.V1SubjectAccessReviewStatus:
    review = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(**attributes)
        )
    )
    answer = client.AuthorizationV1Api(api_client).create_self_subject_access_review(review)
    return answer.status


def test_a_review_answers_from_the_deny_rules_for_the_asked_attributes(
    fake_api_client: client.ApiClient, fake_kube: FakeKube
) -> None:
    fake_kube.deny("patch", "virtualservices", NS, group=ISTIO)
    fake_kube.deny("update", "rollouts/status", group="argoproj.io")
    denied = can_i(
        fake_api_client, verb="patch", group=ISTIO, resource="virtualservices", namespace=NS
    )
    assert denied.allowed is False and not denied.denied
    assert can_i(
        fake_api_client, verb="get", group=ISTIO, resource="virtualservices", namespace=NS
    ).allowed
    assert can_i(
        fake_api_client, verb="patch", group=ISTIO, resource="virtualservices", namespace="other"
    ).allowed
    assert not can_i(
        fake_api_client,
        verb="update",
        group="argoproj.io",
        resource="rollouts",
        subresource="status",
        namespace=NS,
    ).allowed
    assert can_i(
        fake_api_client, verb="update", group="argoproj.io", resource="rollouts", namespace=NS
    ).allowed
    assert fake_kube.requests[-1].verb == "create"  # the review itself is a create


def test_cluster_wide_and_per_user_rules(
    fake_api_client: client.ApiClient, fake_kube: FakeKube, tmp_path: Path
) -> None:
    fake_kube.deny("list", "canaries", group="flagger.app", cluster_wide=True)
    fake_kube.deny("create", "events", user="bob")
    assert not can_i(fake_api_client, verb="list", group="flagger.app", resource="canaries").allowed
    assert can_i(
        fake_api_client, verb="list", group="flagger.app", resource="canaries", namespace=NS
    ).allowed
    assert can_i(fake_api_client, verb="create", resource="events", namespace=NS).allowed
    bob = fake_kube.write_kubeconfig(tmp_path / "bob", user="bob")
    with config.new_client_from_config(config_file=str(bob)) as bob_client:
        assert not can_i(bob_client, verb="create", resource="events", namespace=NS).allowed


def test_a_review_with_no_attributes_is_invalid(fake_api_client: client.ApiClient) -> None:
    review = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec())
    with pytest.raises(client.ApiException) as exc:
        client.AuthorizationV1Api(fake_api_client).create_self_subject_access_review(review)
    assert exc.value.status == 422


@pytest.mark.parametrize(
    ("args", "answer"),
    [
        (["patch", f"virtualservices.{ISTIO}", "-n", NS], "no"),
        (["get", f"virtualservices.{ISTIO}", "-n", NS], "yes"),
        (["patch", f"virtualservices.{ISTIO}", "-n", "staging"], "yes"),
        (["list", "canaries.flagger.app", "--all-namespaces"], "no"),
        (["list", "canaries.flagger.app", "-n", NS], "yes"),
        (["get", "services", "--subresource=proxy", "-n", "istio-system"], "no"),
        (["get", "services", "-n", "istio-system"], "yes"),
    ],
)
def test_kubectl_auth_can_i(
    fake_kube: FakeKube, fake_kubeconfig: Path, args: list[str], answer: str
) -> None:
    fake_kube.deny("patch", "virtualservices", NS, group=ISTIO)
    fake_kube.deny("list", "canaries", cluster_wide=True)
    fake_kube.deny("get", "services/proxy", "istio-system")
    done = kubectl(fake_kubeconfig, "auth", "can-i", *args)
    assert done.stdout.strip() == answer, done.stderr
    assert done.returncode == (0 if answer == "yes" else 1)
