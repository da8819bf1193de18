"""Which API groups, versions and resources the fake serves, and which one a URL names.

Every resource of a group is served under every served version of the group; versions are kept
in Kubernetes priority order so the first one is the group's preferred version. A resource knows
what a client can tell apart on the wire: its subresources (``status``, ``proxy``), its verbs,
whether it is built in (typed: TypeMeta may be omitted from bodies and is absent from list
items, PUT needs no resourceVersion except on Leases, no generation except on Deployments) or
a custom resource.
``events.k8s.io`` Events are stored as core Events, as in the real server.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple
from urllib.parse import quote, unquote

from tests.fakekube.status import ApiError, JsonObj

__all__ = [
    "BUILTIN_GROUPS",
    "DEFAULT_APIS",
    "ApiSpec",
    "Resource",
    "ServedApis",
    "Target",
    "group_version",
    "version_key",
]

_NONE: Mapping[str, Sequence[str]] = MappingProxyType({})


class ApiSpec(NamedTuple):
    """One served API group: its versions and its resources (plural -> Kind).

    ``subresources`` adds subresources beyond ``status`` per plural (``{"services": ["proxy"]}``);
    ``verbs`` restricts what the resources answer (``["create"]`` for access reviews).
    """

    group: str
    versions: Sequence[str]
    kinds: Mapping[str, str]
    namespaced: bool = True
    status_subresource: bool = True
    subresources: Mapping[str, Sequence[str]] = _NONE
    verbs: Sequence[str] | None = None


DEFAULT_APIS: tuple[ApiSpec, ...] = (
    ApiSpec(
        "",
        ["v1"],
        {"events": "Event", "configmaps": "ConfigMap", "secrets": "Secret"},
        status_subresource=False,
    ),
    ApiSpec("", ["v1"], {"services": "Service"}, subresources={"services": ["proxy"]}),
    ApiSpec("", ["v1"], {"pods": "Pod"}),
    ApiSpec("", ["v1"], {"namespaces": "Namespace"}, namespaced=False),
    ApiSpec("apps", ["v1"], {"deployments": "Deployment"}),
    ApiSpec("coordination.k8s.io", ["v1"], {"leases": "Lease"}, status_subresource=False),
    ApiSpec("events.k8s.io", ["v1"], {"events": "Event"}, status_subresource=False),
    ApiSpec(
        "authorization.k8s.io",
        ["v1"],
        {"selfsubjectaccessreviews": "SelfSubjectAccessReview"},
        namespaced=False,
        status_subresource=False,
        verbs=["create"],
    ),
    ApiSpec(
        "networking.istio.io",
        ["v1", "v1beta1", "v1alpha3"],
        {"virtualservices": "VirtualService", "destinationrules": "DestinationRule"},
    ),
    ApiSpec(
        "gateway.networking.k8s.io",
        ["v1", "v1beta1"],
        {"httproutes": "HTTPRoute", "gateways": "Gateway"},
    ),
    ApiSpec(
        "argoproj.io",
        ["v1alpha1"],
        {
            "rollouts": "Rollout",
            "analysisruns": "AnalysisRun",
            "analysistemplates": "AnalysisTemplate",
        },
    ),
    ApiSpec("flagger.app", ["v1beta1"], {"canaries": "Canary"}),
    ApiSpec(
        "core.openfeature.dev",
        ["v1beta1"],
        {"featureflags": "FeatureFlag", "featureflagsources": "FeatureFlagSource"},
    ),
)
BUILTIN_GROUPS = frozenset(
    {"", "apps", "coordination.k8s.io", "events.k8s.io", "authorization.k8s.io"}
)
# Lets ``serve(group, versions, ["rollouts"])`` name the Kind right without a mapping.
_KNOWN_KINDS = {plural: kind for spec in DEFAULT_APIS for plural, kind in spec.kinds.items()}
_SHORT_NAMES = {
    "configmaps": ["cm"],
    "deployments": ["deploy"],
    "destinationrules": ["dr"],
    "events": ["ev"],
    "featureflags": ["ff"],  # the OpenFeature operator's CRDs (config/crd/bases)
    "featureflagsources": ["ffs"],
    "namespaces": ["ns"],
    "pods": ["po"],
    "rollouts": ["ro"],
    "services": ["svc"],
    "virtualservices": ["vs"],
}
_ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
_SUBRESOURCE_VERBS = {
    "status": ["get", "patch", "update"],
    "proxy": ["create", "delete", "get", "patch", "update"],
}


def group_version(group: str, version: str) -> str:
    """``apiVersion`` as written in objects: ``v1`` for the core group, ``group/version`` else."""
    return f"{group}/{version}" if group else version


def _singular(plural: str) -> str:
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    if plural.endswith(("sses", "xes", "ches", "shes")):
        return plural[:-2]
    return plural.removesuffix("s")


def version_key(version: str) -> tuple[int, int, int, str]:
    """Kubernetes version priority: GA > beta > alpha, higher numbers first, others last."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0, version)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0), "")


@dataclass
class Resource:
    """One served resource type of a group."""

    group: str
    plural: str
    kind: str
    namespaced: bool
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = _ALL_VERBS

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def status_subresource(self) -> bool:
        return "status" in self.subresources

    @property
    def builtin(self) -> bool:
        """A built-in (typed) resource rather than a custom resource."""
        return self.group in BUILTIN_GROUPS

    @property
    def storage_group(self) -> str:
        """The group its objects are stored under (events.k8s.io Events are core Events)."""
        return "" if (self.group, self.plural) == ("events.k8s.io", "events") else self.group

    @property
    def unconditional_update(self) -> bool:
        """Whether a PUT may omit resourceVersion (built-in kinds but Leases, as their
        registry strategies say; never custom resources)."""
        return self.builtin and self.plural != "leases"

    @property
    def tracks_generation(self) -> bool:
        """Whether metadata.generation is kept (custom resources and Deployments)."""
        return not self.builtin or self.plural == "deployments"

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def short_names(self) -> list[str]:
        return list(_SHORT_NAMES.get(self.plural, []))

    def subresource_verbs(self, sub: str) -> list[str]:
        return list(_SUBRESOURCE_VERBS.get(sub, ["get"]))

    def details(self, name: str | None) -> JsonObj:
        return {"name": name, "group": self.group, "kind": self.plural}


@dataclass
class Target:
    """What a request URL names: a resource at a version, maybe a namespace, name, subresource.

    ``proxy_path`` is what follows ``.../NAME/proxy`` (escaped again, trailing slash kept).
    """

    resource: Resource
    version: str
    namespace: str | None
    name: str | None
    subresource: str | None
    proxy_path: str = ""

    @property
    def group_version(self) -> str:
        return group_version(self.resource.group, self.version)

    @property
    def rbac_resource(self) -> str:
        """``plural`` or ``plural/subresource``, as RBAC rules name it."""
        sub = f"/{self.subresource}" if self.subresource else ""
        return self.resource.plural + sub

    @property
    def across_namespaces(self) -> bool:
        """A namespaced resource asked for in all namespaces at once (``GET /apis/G/V/PLURAL``)."""
        return self.namespace is None and self.resource.namespaced


class ServedApis:
    """The served groups/versions/resources, guarded by the fake's one lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._versions: dict[str, list[str]] = {}
        self._resources: dict[str, dict[str, Resource]] = {}

    def serve(
        self,
        group: str,
        versions: Sequence[str] | str,
        plurals: Iterable[str] | Mapping[str, str],
        namespaced: bool,
        status_subresource: bool,
        subresources: Mapping[str, Sequence[str]] = _NONE,
        verbs: Sequence[str] | None = None,
    ) -> None:
        """Add versions and resources to ``group`` (see :meth:`FakeKube.serve`)."""
        kinds = (
            plurals
            if isinstance(plurals, Mapping)
            else {p: _KNOWN_KINDS.get(p, _singular(p).capitalize()) for p in plurals}
        )
        with self._lock:
            served = self._versions.setdefault(group, [])
            for v in [versions] if isinstance(versions, str) else versions:
                if v not in served:
                    served.append(v)
            served.sort(key=version_key)
            resources = self._resources.setdefault(group, {})
            for plural, kind in kinds.items():
                subs = (("status",) if status_subresource else ()) + tuple(
                    subresources.get(plural, ())
                )
                resources[plural] = Resource(
                    group, plural, kind, namespaced, subs, tuple(verbs or _ALL_VERBS)
                )

    def unserve(self, group: str, version: str | None = None) -> None:
        """Stop serving one version of ``group`` (or the whole group)."""
        with self._lock:
            versions = self._versions.get(group, [])
            if version in versions:
                versions.remove(version)
            if version is None or not versions:
                self._versions.pop(group, None)

    def groups(self) -> list[tuple[str, list[str], list[Resource]]]:
        """(group, versions in priority order, resources) for every served group, sorted."""
        with self._lock:
            return [
                (g, list(vs), list(self._resources.get(g, {}).values()))
                for g, vs in sorted(self._versions.items())
                if vs
            ]

    def served(self, group: str) -> tuple[list[str], list[Resource]] | None:
        """The served versions and resources of ``group``, or None when it is not served."""
        with self._lock:
            versions = self._versions.get(group)
            if not versions:
                return None
            return list(versions), list(self._resources.get(group, {}).values())

    def find_resource(self, group: str, kind: str, plural: str | None) -> Resource:
        """The resource of ``group`` named ``plural``, or else the one of ``kind``."""
        for res in self._resources.get(group, {}).values():
            if res.plural == plural or (plural is None and res.kind == kind):
                return res
        raise ValueError(
            f"fakekube: no served resource for group {group!r} kind {kind!r}; "
            "call fake.serve(group, versions, {plural: kind}) first"
        )

    # ------------------------------------------------------------------ routing

    def route(self, raw_path: str) -> Target:
        """The served resource a resource URL names; 404 as the apiserver answers otherwise.

        The path is unescaped before it is split, as Go's ``URL.Path`` is (``%2F`` is a ``/``).
        """
        path = unquote(raw_path)
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) > 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404)
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        with self._lock:
            res = self._resources.get(group, {}).get(rest[0]) if rest else None
            served = version in self._versions.get(group, [])
        if res is None or not served:
            raise ApiError(404)
        if len(rest) >= 3 and rest[2] == "proxy" and "proxy" in res.subresources:
            return Target(res, version, namespace, rest[1], "proxy", _proxy_path(path, rest))
        if not 1 <= len(rest) <= 3:
            raise ApiError(404)
        name, sub = (rest[1:] + [None, None])[:2]
        if (
            (namespace is None and res.namespaced and name)
            or (namespace is not None and not res.namespaced)
            or (sub is not None and sub not in res.subresources)
        ):
            raise ApiError(404)
        return Target(res, version, namespace, name, sub)


def _proxy_path(path: str, rest: list[str]) -> str:
    """What follows ``NAME/proxy`` in the unescaped path, cleaned as Go's path.Join does."""
    marker = f"/{rest[1]}/proxy"
    tail = path[path.index(marker) + len(marker) :]
    if not tail:
        return ""
    cleaned: list[str] = []
    for seg in tail.split("/"):
        if seg == "..":
            if cleaned:
                cleaned.pop()
        elif seg not in ("", "."):
            cleaned.append(seg)
    joined = "/" + "/".join(cleaned)
    if tail.endswith("/") and joined != "/":
        joined += "/"
    return quote(joined, safe="/:@!$&'()*+,;=-._~")
