"""Which API groups, versions and resources the fake serves: discovery documents and URL routing.

Every resource of a group is served under every served version of the group; versions are kept
in Kubernetes priority order so the first one is the group's preferred version.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from tests.fakekube.status import ApiError, JsonObj

__all__ = ["DEFAULT_APIS", "ApiSpec", "Resource", "ServedApis", "Target", "group_version"]


class ApiSpec(NamedTuple):
    """One served API group: its versions and its resources (plural -> Kind)."""

    group: str
    versions: Sequence[str]
    kinds: Mapping[str, str]
    namespaced: bool = True
    status_subresource: bool = True


DEFAULT_APIS: tuple[ApiSpec, ...] = (
    ApiSpec(
        "",
        ["v1"],
        {
            "events": "Event",
            "configmaps": "ConfigMap",
            "services": "Service",
            "pods": "Pod",
            "secrets": "Secret",
        },
        status_subresource=False,
    ),
    ApiSpec("", ["v1"], {"namespaces": "Namespace"}, namespaced=False, status_subresource=False),
    ApiSpec("events.k8s.io", ["v1"], {"events": "Event"}, status_subresource=False),
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
    ApiSpec(
        "core.openfeature.dev",
        ["v1beta1"],
        {"featureflags": "FeatureFlag", "featureflagsources": "FeatureFlagSource"},
    ),
)
# Lets ``serve(group, versions, ["rollouts"])`` name the Kind right without a mapping.
_KNOWN_KINDS = {plural: kind for spec in DEFAULT_APIS for plural, kind in spec.kinds.items()}
_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]


def group_version(group: str, version: str) -> str:
    """``apiVersion`` as written in objects: ``v1`` for the core group, ``group/version`` else."""
    return f"{group}/{version}" if group else version


def _singular(plural: str) -> str:
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    if plural.endswith(("sses", "xes", "ches", "shes")):
        return plural[:-2]
    return plural.removesuffix("s")


def _version_key(version: str) -> tuple[int, int, int, str]:
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
    status_subresource: bool

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def details(self, name: str | None) -> JsonObj:
        return {"name": name, "group": self.group, "kind": self.plural}


@dataclass
class Target:
    """What a request URL names: a resource at a version, maybe a namespace, name, subresource."""

    resource: Resource
    version: str
    namespace: str | None
    name: str | None
    subresource: str | None

    @property
    def group_version(self) -> str:
        return group_version(self.resource.group, self.version)


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
            served.sort(key=_version_key)
            resources = self._resources.setdefault(group, {})
            for plural, kind in kinds.items():
                resources[plural] = Resource(group, plural, kind, namespaced, status_subresource)

    def unserve(self, group: str, version: str | None = None) -> None:
        """Stop serving one version of ``group`` (or the whole group)."""
        with self._lock:
            versions = self._versions.get(group, [])
            if version in versions:
                versions.remove(version)
            if version is None or not versions:
                self._versions.pop(group, None)

    def find_resource(self, group: str, kind: str, plural: str | None) -> Resource:
        """The resource of ``group`` named ``plural``, or else the one of ``kind``."""
        for res in self._resources.get(group, {}).values():
            if res.plural == plural or (plural is None and res.kind == kind):
                return res
        raise ValueError(
            f"fakekube: no served resource for group {group!r} kind {kind!r}; "
            "call fake.serve(group, versions, {plural: kind}) first"
        )

    # ------------------------------------------------------------------ discovery

    def discovery(self, parts: list[str], port: int) -> JsonObj | None:
        """The discovery document at these path parts, or None if the path is not discovery."""
        with self._lock:
            if parts == ["version"]:
                return {
                    "major": "1",
                    "minor": "33",
                    "gitVersion": "v1.33.0-fakekube",
                    "platform": "linux/amd64",
                }
            if parts == ["api"]:
                return {
                    "kind": "APIVersions",
                    "versions": self._versions.get("", []),
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{port}"}
                    ],
                }
            if parts == ["api", "v1"]:
                return self._resource_list("", "v1")
            if parts == ["apis"]:
                return {
                    "kind": "APIGroupList",
                    "apiVersion": "v1",
                    "groups": [self._api_group(g) for g in sorted(self._versions) if g],
                }
            if len(parts) == 2 and parts[0] == "apis":
                if parts[1] not in self._versions:
                    raise ApiError(404)
                return {"kind": "APIGroup", "apiVersion": "v1", **self._api_group(parts[1])}
            if len(parts) == 3 and parts[0] == "apis":
                return self._resource_list(parts[1], parts[2])
            return None

    def _api_group(self, group: str) -> JsonObj:
        versions = [
            {"groupVersion": group_version(group, v), "version": v} for v in self._versions[group]
        ]
        return {"name": group, "versions": versions, "preferredVersion": versions[0]}

    def _resource_list(self, group: str, version: str) -> JsonObj:
        if version not in self._versions.get(group, []):
            raise ApiError(404)
        resources = []
        for res in self._resources.get(group, {}).values():
            resources.append(
                {
                    "name": res.plural,
                    "singularName": _singular(res.plural),
                    "namespaced": res.namespaced,
                    "kind": res.kind,
                    "verbs": list(_VERBS),
                }
            )
            if res.status_subresource:
                resources.append(
                    {
                        "name": f"{res.plural}/status",
                        "singularName": "",
                        "namespaced": res.namespaced,
                        "kind": res.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version(group, version),
            "resources": resources,
        }

    # ------------------------------------------------------------------ routing

    def route(self, parts: list[str]) -> Target:
        """The served resource a resource URL names; 404 as the apiserver answers otherwise."""
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) > 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404)
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not 1 <= len(rest) <= 3:
            raise ApiError(404)
        with self._lock:
            res = self._resources.get(group, {}).get(rest[0])
            served = version in self._versions.get(group, [])
        name, sub = (rest[1:] + [None, None])[:2]
        if (
            res is None
            or not served
            or (namespace is None) == res.namespaced
            and name
            or namespace is not None
            and not res.namespaced
            or sub is not None
            and (sub != "status" or not res.status_subresource)
        ):
            raise ApiError(404)
        return Target(res, version, namespace, name, sub)
