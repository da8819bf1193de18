"""API discovery as the apiserver serves it, listing only what the fake serves.

Legacy documents (what the Python client reads): ``/version``, ``/api`` (APIVersions),
``/api/v1`` and ``/apis/G/V`` (APIResourceList), ``/apis`` (APIGroupList), ``/apis/G``
(APIGroup). Aggregated discovery (what kubectl asks for first, in one request each for ``/api``
and ``/apis``) when the Accept header names ``as=APIGroupDiscoveryList``.
"""

from __future__ import annotations

from tests.fakekube.apis import Resource, ServedApis, group_version
from tests.fakekube.status import ApiError, JsonObj

__all__ = ["AGGREGATED_TYPE", "discovery_document"]

AGGREGATED_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
_VERSION = {
    "major": "1",
    "minor": "33",
    "gitVersion": "v1.33.0-fakekube",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-04-23T00:00:00Z",
    "goVersion": "go1.24.2",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def discovery_document(
    apis: ServedApis, parts: list[str], accept: str, port: int
) -> tuple[JsonObj, str] | None:
    """(document, content type) for a discovery path, or None if the path is not discovery."""
    aggregated = any(
        {"g=apidiscovery.k8s.io", "v=v2", "as=APIGroupDiscoveryList"}
        <= {p.strip() for p in media.split(";")}
        for media in accept.split(",")
    )
    if parts == ["version"]:
        return dict(_VERSION), "application/json"
    if parts == ["api"]:
        if aggregated:
            return _aggregated(apis, core=True), AGGREGATED_TYPE
        core = apis.served("")
        return {
            "kind": "APIVersions",
            "versions": core[0] if core else [],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{port}"}
            ],
        }, "application/json"
    if parts == ["apis"]:
        if aggregated:
            return _aggregated(apis, core=False), AGGREGATED_TYPE
        groups = [_api_group(g, vs) for g, vs, _ in apis.groups() if g]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}, "application/json"
    if parts == ["api", "v1"]:
        return _resource_list(apis, "", "v1"), "application/json"
    if len(parts) == 2 and parts[0] == "apis":
        served = apis.served(parts[1])
        if served is None:
            raise ApiError(404)
        group = {"kind": "APIGroup", "apiVersion": "v1", **_api_group(parts[1], served[0])}
        return group, "application/json"
    if len(parts) == 3 and parts[0] == "apis":
        return _resource_list(apis, parts[1], parts[2]), "application/json"
    return None


def _api_group(group: str, versions: list[str]) -> JsonObj:
    listed = [{"groupVersion": group_version(group, v), "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def _resource_list(apis: ServedApis, group: str, version: str) -> JsonObj:
    served = apis.served(group)
    if served is None or version not in served[0]:
        raise ApiError(404)
    resources: list[JsonObj] = []
    for res in served[1]:
        entry: JsonObj = {
            "name": res.plural,
            "singularName": res.singular,
            "namespaced": res.namespaced,
            "kind": res.kind,
            "verbs": list(res.verbs),
        }
        if res.short_names:
            entry["shortNames"] = res.short_names
        resources.append(entry)
        for sub in res.subresources:
            resources.append(
                {
                    "name": f"{res.plural}/{sub}",
                    "singularName": "",
                    "namespaced": res.namespaced,
                    "kind": res.kind,
                    "verbs": res.subresource_verbs(sub),
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version(group, version),
        "resources": resources,
    }


def _aggregated(apis: ServedApis, *, core: bool) -> JsonObj:
    items = []
    for group, versions, resources in apis.groups():
        if (group == "") != core:
            continue
        listed = [
            {
                "version": v,
                "resources": [_aggregated_resource(r, v) for r in resources],
                "freshness": "Current",
            }
            for v in versions
        ]
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": listed})
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }


def _aggregated_resource(res: Resource, version: str) -> JsonObj:
    kind = {"group": res.group, "version": version, "kind": res.kind}
    entry: JsonObj = {
        "resource": res.plural,
        "responseKind": kind,
        "scope": "Namespaced" if res.namespaced else "Cluster",
        "singularResource": res.singular,
        "verbs": list(res.verbs),
    }
    if res.short_names:
        entry["shortNames"] = res.short_names
    if res.subresources:
        entry["subresources"] = [
            {"subresource": s, "responseKind": kind, "verbs": res.subresource_verbs(s)}
            for s in res.subresources
        ]
    return entry
