"""Listing the kinds discovery reads, in one namespace or across all of them, as plain dicts.

A kind the cluster does not serve (Flagger not installed) is noted as absent; a kind the kube user
may not list is skipped with one line naming the missing permission; neither is a failure. Every
other error (unreachable API server, 401) is raised typed: without the cluster there is nothing
to discover. Lists are read in pages of `PAGE`, at most `MAX_ITEMS` objects per kind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from monotui.errors import MonotuiError, PermissionDeniedError, SourceError
from monotui.outside_text import literal
from monotui.sources.kube import KubeConnection, translate

PAGE = 500
MAX_ITEMS = 5000
MAX_NAMED = 50
"""At most this many objects are read one by one (named by annotations, outside the scope)."""
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@dataclass(frozen=True, slots=True)
class Kind:
    """One listable resource: its API group ("" for core), versions to try, plural."""

    group: str
    versions: tuple[str, ...]
    plural: str

    @property
    def rbac(self) -> str:
        """How RBAC and kubectl name it: "virtualservices.networking.istio.io", "services"."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, version: str, namespace: str | None) -> str:
        base = f"/apis/{self.group}/{version}" if self.group else f"/api/{version}"
        where = f"/namespaces/{quote(namespace, safe='')}" if namespace else ""
        return f"{base}{where}/{self.plural}"


ISTIO_VERSIONS = ("v1", "v1beta1", "v1alpha3")
ROLLOUTS = Kind("argoproj.io", ("v1alpha1",), "rollouts")
CANARIES = Kind("flagger.app", ("v1beta1",), "canaries")
VIRTUAL_SERVICES = Kind("networking.istio.io", ISTIO_VERSIONS, "virtualservices")
DESTINATION_RULES = Kind("networking.istio.io", ISTIO_VERSIONS, "destinationrules")
HTTP_ROUTES = Kind("gateway.networking.k8s.io", ("v1", "v1beta1"), "httproutes")
GRPC_ROUTES = Kind("gateway.networking.k8s.io", ("v1", "v1alpha2"), "grpcroutes")
FEATURE_FLAGS = Kind("core.openfeature.dev", ("v1beta1",), "featureflags")
FEATURE_FLAG_SOURCES = Kind("core.openfeature.dev", ("v1beta1",), "featureflagsources")
DEPLOYMENTS = Kind("apps", ("v1",), "deployments")
SERVICES = Kind("", ("v1",), "services")

Named = dict[str, Any] | str
"""An object looked up by name, or why there is none: "not found", "forbidden: ...", ..."""


@dataclass
class Lister:
    """Lists kinds in `namespace` (None: all namespaces) and remembers what it could not."""

    kube: KubeConnection
    namespace: str | None
    skipped: list[str] = field(default_factory=list)
    """One line per kind the kube user may not list: the permission it needs."""
    absent: list[str] = field(default_factory=list)
    """The kinds the cluster does not serve."""
    denied: set[str] = field(default_factory=set)
    """The kinds it may not list (their `rbac` names)."""
    _named: dict[tuple[str, str, str], Named] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        return f"namespace {self.namespace}" if self.namespace else "all namespaces"

    def objects(self, kind: Kind, *, labels: str = "") -> list[dict[str, Any]]:
        """The objects of `kind` (each with its apiVersion as served); [] when the cluster does
        not serve it or the user may not list it (both noted)."""
        namespace = self.namespace
        for version in kind.versions:
            try:
                return self._pages(kind, version, namespace, labels)
            except _Unserved:
                continue
            except _Forbidden as exc:
                where = f"in namespace {namespace}" if namespace else "across all namespaces"
                self.denied.add(kind.rbac)
                self.skipped.append(
                    f"skipped {kind.rbac}: forbidden to list them {where}: your kube user needs "
                    f"'list' on {kind.rbac} (see the README's RBAC section). The API said: {exc}"
                )
                return []
        self.absent.append(kind.rbac)
        return []

    def covers(self, namespace: str) -> bool:
        """Whether a list in this scope holds the objects of `namespace`."""
        return self.namespace is None or self.namespace == namespace

    def finder(self, kind: Kind, listed: list[dict[str, Any]]) -> Callable[[str, str], Named]:
        """Look up objects of `kind` by (namespace, name): in `listed` (its `objects`) within the
        scope, one GET each outside it (remembered), never a failure."""
        index = {
            (str(meta.get("namespace") or ""), str(meta.get("name") or "")): obj
            for obj in listed
            if isinstance(meta := obj.get("metadata"), dict)
        }

        def find(namespace: str, name: str) -> Named:
            if kind.rbac in self.absent:
                return f"not served by this cluster ({kind.rbac} not installed)"
            if self.covers(namespace):
                if kind.rbac in self.denied:
                    return f"forbidden to list {kind.rbac} (see the skipped line)"
                return index.get((namespace, name)) or "not found"
            return self._one(kind, namespace, name)

        return find

    def _one(self, kind: Kind, namespace: str, name: str) -> Named:
        key = (kind.rbac, namespace, name)
        if key in self._named:
            return self._named[key]
        if not (_NAMESPACE.fullmatch(namespace) and len(namespace) <= 63):
            return "not found (not a valid namespace name)"
        if not (_NAME.fullmatch(name) and len(name) <= 253):
            return "not found (not a valid name)"
        if len(self._named) >= MAX_NAMED:
            return f"not looked up: more than {MAX_NAMED} objects named outside {self.scope}"
        path = f"{kind.path(kind.versions[0], namespace)}/{quote(name, safe='')}"
        try:
            self._named[key] = self.get(path, what=f"{kind.rbac} {namespace}/{name}", verb="get")
        except _Unserved:
            self._named[key] = "not found"
        except _Forbidden as exc:
            self._named[key] = (
                f"forbidden: your kube user needs 'get' on {kind.rbac} in namespace "
                f"{namespace} (the API said: {exc})"
            )
        return self._named[key]

    def _pages(
        self, kind: Kind, version: str, namespace: str | None, labels: str
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query = [("limit", str(PAGE))]
            if labels:
                query.append(("labelSelector", labels))
            if token:
                query.append(("continue", token))
            body = self.get(kind.path(version, namespace), query, what=kind.rbac)
            page = body.get("items")
            if not isinstance(page, list):
                raise SourceError(f"the API answered the list of {kind.rbac} without items")
            api_version = f"{kind.group}/{version}" if kind.group else version
            for item in page:
                if isinstance(item, dict):
                    items.append({"apiVersion": api_version, **item})
            meta = body.get("metadata")
            token = str(meta.get("continue") or "") if isinstance(meta, dict) else ""
            if not token or len(items) >= MAX_ITEMS:
                return items[:MAX_ITEMS]

    def get(
        self,
        path: str,
        query: list[tuple[str, str]] | None = None,
        *,
        what: str = "",
        verb: str = "list",
    ) -> dict[str, Any]:
        """GET `path` of the API server with the kubeconfig's credentials, as JSON."""
        status, data = request(self.kube, path, query)
        if status == 404:
            raise _Unserved(path)
        if status == 403:
            raise _Forbidden(_message(data))
        if status == 401:
            raise PermissionDeniedError(
                f"unauthorized: the kubeconfig's credentials were refused ({_message(data)}); "
                "log in again (e.g. refresh your token) and retry"
            )
        if status != 200:
            raise SourceError(
                f"kubernetes API answered {status} to {verb} {what or path}: {_message(data)}"
            )
        try:
            body = json.loads(data)
        except ValueError:
            raise SourceError(
                f"the API answered the {verb} of {what or path} with no JSON"
            ) from None
        if not isinstance(body, dict):
            raise SourceError(f"the API answered the {verb} of {what or path} with no object")
        return body


def request(
    kube: KubeConnection,
    path: str,
    query: list[tuple[str, str]] | None = None,
    *,
    timeout_s: float | None = None,
) -> tuple[int, bytes]:
    """One GET through the kubernetes client (its credentials, TLS and pool): status and body.
    Connection failures are raised as BackendUnavailableError."""
    client = kube.api_client
    try:
        method, url, headers, body, post = client.param_serialize(
            "GET",
            path,
            query_params=query or None,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        answer = client.call_api(
            method, url, headers, body, post, _request_timeout=timeout_s or kube.timeout_s
        )
        data = answer.read()
    except MonotuiError:
        raise
    except Exception as exc:
        raise translate(exc, verb="get", what=path, namespace="-", server=kube.server) from None
    return int(answer.status), data if isinstance(data, bytes) else bytes(data or b"")


def _message(data: bytes) -> str:
    """The Status message of an error body, as a safe line (it is outside text)."""
    try:
        body = json.loads(data)
    except ValueError:
        return literal(data[:200].decode("utf-8", "replace"), max_len=200)
    return literal(body.get("message", "") if isinstance(body, dict) else "", max_len=200)


class _Unserved(Exception):
    """404 on a list: the cluster does not serve this group/version."""


class _Forbidden(Exception):
    """403 on a list: RBAC says no."""
