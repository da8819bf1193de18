"""What the kube user may do, asked as `kubectl auth can-i` asks: a SelfSubjectAccessReview per
verb the tool needs, so `check-config` can say "cannot patch virtualservices" before 3 a.m.

`needs(...)` lists the verbs of one rollout's sources (reading, following and writing the routed
resource; its status subresource for Argo Rollouts; the FeatureFlag; creating Events), without
the writing ones in read-only mode. `can_i(...)` asks the API server about one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from monotui.sources import kube_http
from monotui.sources.kube import KubeConnection, translate

REVIEW_PATH = "authorization.k8s.io/v1"


@dataclass(frozen=True, slots=True)
class Need:
    """One verb on one resource that monotui uses, and what for."""

    verb: str
    resource: str  # plural: virtualservices
    group: str = ""  # "" is the core group
    subresource: str = ""
    why: str = ""
    writes: bool = False

    def __str__(self) -> str:
        """kubectl's spelling: `patch rollouts.argoproj.io/status`."""
        name = f"{self.resource}.{self.group}" if self.group else self.resource
        return f"{self.verb} {name}{'/' + self.subresource if self.subresource else ''}"


def needs(
    router: tuple[str, str] | None,
    *,
    argo: bool = False,
    featureflag: bool = False,
    read_only: bool = False,
) -> list[Need]:
    """The verbs one rollout needs: `router` is (group, plural) of the routed resource."""
    found: list[Need] = []
    if router is not None:
        group, plural = router
        found += [
            Need("get", plural, group, why="read the weights"),
            Need("list", plural, group, why="follow the route (watch starts with a list)"),
            Need("watch", plural, group, why="see changes made elsewhere at once"),
            Need("patch", plural, group, why="move the weights and store the pause", writes=True),
        ]
        if argo:
            found.append(
                Need("patch", plural, group, "status", why="advance past a pause", writes=True)
            )
    if featureflag:
        found += [
            Need("get", "featureflags", "core.openfeature.dev", why="read the flags"),
            Need("patch", "featureflags", "core.openfeature.dev", why="toggle a flag", writes=True),
        ]
    if router is not None or featureflag:
        found.append(
            Need("create", "events", why="record actions as Kubernetes Events", writes=True)
        )
    return [n for n in found if not (read_only and n.writes)]


def can_i(kube: KubeConnection, need: Need, namespace: str, name: str = "") -> tuple[bool, str]:
    """(allowed, the API server's reason) for `need` in `namespace` (on the object `name`).
    Raises the translated MonotuiError when the review itself cannot be made."""
    from kubernetes import client

    attributes = {"verb": need.verb, "resource": need.resource, "namespace": namespace}
    if need.group:
        attributes["group"] = need.group
    if need.subresource:
        attributes["subresource"] = need.subresource
    if name and need.verb not in ("list", "watch", "create"):
        attributes["name"] = name
    body = {
        "apiVersion": REVIEW_PATH,
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }
    api = client.AuthorizationV1Api(kube.api_client)
    try:
        answer = kube_http.call(
            api.create_self_subject_access_review,
            body,
            timeout_s=kube.timeout_s,
            what="the access review's answer",
        )
    except Exception as exc:  # ApiException, urllib3 and socket errors
        raise translate(
            exc,
            verb="create",
            what="a selfsubjectaccessreview",
            namespace=namespace,
            resource="selfsubjectaccessreviews.authorization.k8s.io",
            server=kube.server,
        ) from None
    status = answer.get("status") if isinstance(answer, dict) else None
    status = status if isinstance(status, dict) else {}
    return status.get("allowed") is True, str(status.get("reason") or "")
