"""Who may do what: deny rules a test sets, the RBAC-style 403, and SelfSubjectAccessReviews.

Everything is allowed unless a deny rule matches the request's attributes, as RBAC names them:
user, verb (get, list, watch, create, update, patch, delete, deletecollection), API group,
resource (``plural`` or ``plural/subresource``: ``rollouts/status``, ``services/proxy``),
namespace and name. A rule's ``None`` matches anything; ``cluster_wide=True`` matches only
requests that are not in one namespace (a list or watch across all namespaces, or a
cluster-scoped resource), ``False`` only namespaced ones, so "may list in one namespace but not
cluster-wide" is ``deny("list", "canaries", cluster_wide=True)``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from tests.fakekube.apis import Target
from tests.fakekube.status import ApiError, FieldError, JsonObj, invalid

__all__ = ["AccessRules", "Attributes", "forbidden"]


@dataclass(frozen=True)
class Attributes:
    """What RBAC decides on: one request, or what a SelfSubjectAccessReview asks about."""

    user: str
    verb: str
    group: str
    resource: str  # plural or plural/subresource
    namespace: str | None  # None: all namespaces, or a cluster-scoped resource
    name: str | None


@dataclass(frozen=True)
class _DenyRule:
    verb: str | None
    resource: str | None
    namespace: str | None
    group: str | None
    name: str | None
    user: str | None
    cluster_wide: bool | None

    def matches(self, a: Attributes) -> bool:
        wanted = (self.verb, self.resource, self.namespace, self.group, self.name, self.user)
        actual = (a.verb, a.resource, a.namespace, a.group, a.name, a.user)
        if not all(w is None or w == x for w, x in zip(wanted, actual, strict=True)):
            return False
        return self.cluster_wide is None or self.cluster_wide == (a.namespace is None)


class AccessRules:
    """The deny rules, guarded by the fake's one lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._denies: list[_DenyRule] = []

    def deny(
        self,
        verb: str | None,
        resource: str | None,
        namespace: str | None,
        group: str | None,
        name: str | None,
        user: str | None,
        cluster_wide: bool | None,
    ) -> None:
        with self._lock:
            self._denies.append(
                _DenyRule(verb, resource, namespace, group, name, user, cluster_wide)
            )

    def allow_all(self) -> None:
        with self._lock:
            self._denies.clear()

    def allowed(self, a: Attributes) -> bool:
        with self._lock:
            return not any(rule.matches(a) for rule in self._denies)

    def review(self, body: Any, user: str) -> JsonObj:
        """A SelfSubjectAccessReview answered for ``user`` (what ``kubectl auth can-i`` asks)."""
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request was not a JSON object")
        spec = body.get("spec") or {}
        attrs, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if (attrs is None) == (non_resource is None):
            raise invalid(
                "authorization.k8s.io",
                "SelfSubjectAccessReview",
                "",
                [
                    FieldError(
                        "Invalid",
                        "spec.resourceAttributes",
                        "null" if attrs is None else attrs,
                        "exactly one of nonResourceAttributes or resourceAttributes must be "
                        "specified",
                    )
                ],
            )
        allowed = True  # non-resource URLs (/healthz, /metrics) are not covered by deny rules
        if attrs is not None:
            resource = attrs.get("resource") or ""
            if attrs.get("subresource"):
                resource += "/" + attrs["subresource"]
            allowed = self.allowed(
                Attributes(
                    user,
                    attrs.get("verb") or "",
                    attrs.get("group") or "",
                    resource,
                    attrs.get("namespace") or None,
                    attrs.get("name") or None,
                )
            )
        status: JsonObj = {"allowed": allowed}
        if allowed:
            status["reason"] = (
                f'RBAC: allowed by ClusterRoleBinding "fakekube" of ClusterRole "fakekube" '
                f'to User "{user}"'
            )
        return {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }


def forbidden(a: Attributes, t: Target) -> ApiError:
    """The 403 the apiserver's RBAC authorizer answers, naming the user, verb and scope."""
    scope = f'in the namespace "{t.namespace}"' if t.namespace else "at the cluster scope"
    who = f'{t.resource.qualified} "{t.name}"' if t.name else t.resource.qualified
    return ApiError(
        403,
        f'{who} is forbidden: User "{a.user}" cannot {a.verb} resource '
        f'"{a.resource}" in API group "{a.group}" {scope}',
        details=t.resource.details(t.name),
    )
