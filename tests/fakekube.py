"""A fake Kubernetes API server on 127.0.0.1 for tests, spoken to by the real ``kubernetes`` client.

    with FakeKube() as fake:                      # or the ``fake_kube`` pytest fixture
        fake.put_object({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                         "metadata": {"name": "reviews", "namespace": "bookinfo"}, "spec": {}})
        api = CustomObjectsApi(new_client_from_config(str(fake.write_kubeconfig(path))))

Faithful to a real apiserver serving CRDs where a client can tell: paths, discovery (``/api``, ``/apis``, ``/apis/{group}[/{version}]``), Status error bodies,
resourceVersion (one global counter; a write that changes nothing is a no-op and does not bump it),
generation, 409 on a stale resourceVersion (PUT, or a PATCH carrying one), PUT needing a
resourceVersion, JSON patch (a failed op is a bare 422 "the server rejected our request due to an
error in our request" with ``details: {}``, exactly as the real server answers), merge patch,
415 for strategic merge patch on custom resources, the status subresource (the main resource
ignores ``.status`` changes; ``/status`` changes nothing but ``.status``), finalizers,
label/field selectors, watches (chunked, ADDED/MODIFIED/DELETED, resourceVersion, timeoutSeconds,
410 Expired after :meth:`FakeKube.compact`), RBAC-style 403 messages, bearer tokens, 401.
Not modelled: schema validation/defaulting, server-side apply, limit/continue paging, namespace
existence, admission, ownerReference garbage collection, managedFields, protobuf.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import secrets
import select
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

from tests.jsonpatch_impl import (
    JsonPatchError,
    JsonPatchFormatError,
    apply_json_patch,
    apply_merge_patch,
)

__all__ = [
    "DEFAULT_APIS",
    "ApiSpec",
    "FakeKube",
    "KubeContext",
    "Request",
    "fake_kube",
    "fake_kubeconfig",
    "status_body",
]

JsonObj = dict[str, Any]
ObjKey = tuple[str, str, str, str]  # (group, plural, namespace or "", name)

REJECTED_PATCH = "the server rejected our request due to an error in our request"
NOT_FOUND = "the server could not find the requested resource"
_PATCH_TYPES = (
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
)
_REASONS = {
    400: ("BadRequest", "the server rejected our request for an unknown reason"),
    401: ("Unauthorized", "Unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("NotFound", NOT_FOUND),
    405: ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
    409: ("Conflict", "the server reported a conflict"),
    410: ("Expired", "the resource has expired"),
    415: ("UnsupportedMediaType", "the body of the request was in an unknown format"),
    422: ("Invalid", REJECTED_PATCH),
    429: (
        "TooManyRequests",
        "the server has received too many requests and has asked us to try again later",
    ),
    500: ("InternalError", "Internal error occurred: fake: injected failure"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: (
        "Timeout",
        "the server was unable to return a response in the time allotted, "
        "but may still be processing the request",
    ),
}


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
_KNOWN_KINDS = {plural: kind for spec in DEFAULT_APIS for plural, kind in spec.kinds.items()}


def status_body(
    code: int,
    message: str | None = None,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> JsonObj:
    """A ``Status`` failure body as the apiserver writes it (empty detail fields omitted)."""
    default_reason, default_message = _REASONS.get(code, ("", f"fake: status {code}"))
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": default_message if message is None else message,
        "reason": reason or default_reason,
        "details": {k: v for k, v in (details or {}).items() if v},
        "code": code,
    }


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        message: str | None = None,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.body = status_body(code, message, reason, details)


@dataclass(eq=False)
class Request:
    """One request as received: unpacks as, and equals, ``(method, path, content_type, body)``."""

    method: str
    path: str  # without the query string
    content_type: str | None
    body: Any  # parsed JSON, the raw text if it is not JSON, or None
    query: Mapping[str, str] = field(default_factory=dict)
    token: str | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.method, self.path, self.content_type, self.body))

    def __getitem__(self, index: int) -> Any:
        return tuple(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Request):
            other = (*other, other.query, other.token)
            return (*self, self.query, self.token) == other
        return isinstance(other, tuple) and tuple(self) == other

    __hash__ = None  # type: ignore[assignment]  # bodies are dicts


@dataclass(frozen=True)
class KubeContext:
    name: str
    user: str = "alice"
    namespace: str = "default"
    server: str | None = None  # default: this fake


@dataclass
class _Resource:
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
class _Target:
    resource: _Resource
    version: str
    namespace: str | None
    name: str | None
    subresource: str | None

    @property
    def group_version(self) -> str:
        return _gv(self.resource.group, self.version)


@dataclass
class _DenyRule:
    verb: str | None
    plural: str | None
    namespace: str | None
    group: str | None
    name: str | None

    def matches(self, verb: str, resource: str, t: _Target) -> bool:
        wanted = (self.verb, self.plural, self.namespace, self.group, self.name)
        actual = (verb, resource, t.namespace, t.resource.group, t.name)
        return all(w is None or w == a for w, a in zip(wanted, actual, strict=True))


@dataclass
class _Fault:
    remaining: int
    status: int
    method: str | None
    message: str | None
    retry_after: int | None
    drop: bool


class _Event(NamedTuple):
    rv: int
    type: str
    key: ObjKey
    obj: JsonObj


@dataclass
class _Response:
    code: int
    body: JsonObj
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Watch:
    lines: Iterator[bytes]


class _Drop:
    """Close the connection without answering."""


def _gv(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def _without(obj: JsonObj, *keys: str) -> JsonObj:
    return {k: v for k, v in obj.items() if k not in keys}


def _meta(obj: JsonObj) -> JsonObj:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    return meta


def _split_terms(selector: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for ch in selector:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    return [t.strip() for t in [*terms, current] if t.strip()]


_Requirement = tuple[str, str, frozenset[str]]  # key, "in" | "notin" | "exists" | "!exists"


def _parse_selector(selector: str | None) -> list[_Requirement]:
    """Label (``a=b,c!=d,e in (x,y),!f``) or field (``metadata.name=x``) selector."""
    reqs: list[_Requirement] = []
    for term in _split_terms(selector or ""):
        if m := re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\((.*)\)", term):
            reqs.append((m[1], m[2], frozenset(v.strip() for v in m[3].split(","))))
        elif m := re.fullmatch(r"([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)", term):
            reqs.append((m[1], "notin" if m[2] == "!=" else "in", frozenset([m[3]])))
        elif m := re.fullmatch(r"(!?)([\w./-]+)", term):
            reqs.append((m[2], m[1] + "exists", frozenset()))
        else:
            raise ApiError(400, f"unable to parse requirement: {term!r}")
    return reqs


def _selects(
    reqs: list[_Requirement], obj: JsonObj, lookup: Callable[[JsonObj, str], str | None]
) -> bool:
    for key, op, values in reqs:
        value = lookup(obj, key)
        if (
            op == "in"
            and value not in values
            or op == "notin"
            and value in values
            or op == "exists"
            and value is None
            or op == "!exists"
            and value is not None
        ):
            return False
    return True


def _label(obj: JsonObj, key: str) -> str | None:
    labels = obj.get("metadata", {}).get("labels") or {}
    value = labels.get(key)
    return None if value is None else str(value)


def _field_path(obj: JsonObj, path: str) -> str | None:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return "" if path == "metadata.namespace" else None
        node = node[part]
    return None if node is None else str(node)


def _object_filter(query: Mapping[str, str]) -> Callable[[JsonObj], bool]:
    labels = _parse_selector(query.get("labelSelector"))
    fields = _parse_selector(query.get("fieldSelector"))
    return lambda obj: _selects(labels, obj, _label) and _selects(fields, obj, _field_path)


class FakeKube:
    """The fake API server. All public methods are thread-safe.

    Public attributes a test may read or set:
      requests          every request received, in order (see :class:`Request`)
      patch_errors      why each rejected JSON patch failed (the wire only says 422)
      latency_s         sleep this long before handling each request
      require_token     if set, any other bearer token (or none) gets 401
      last_token        the bearer token of the newest request
      token_users       token -> user name shown in 403 messages (kubeconfig users are added)
      default_user      the user name for a token not in ``token_users``
      default_watch_timeout_s, max_watch_s
                        watch length without ``timeoutSeconds``, and a cap on every watch
    """

    def __init__(self, apis: Iterable[ApiSpec] = DEFAULT_APIS) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._versions: dict[str, list[str]] = {}
        self._resources: dict[str, dict[str, _Resource]] = {}
        self._objects: dict[ObjKey, JsonObj] = {}
        self._events: list[_Event] = []
        self._rv = 1000
        self._compacted_rv = 0
        self._denies: list[_DenyRule] = []
        self._faults: list[_Fault] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._port = 0
        self.requests: list[Request] = []
        self.patch_errors: list[str] = []
        self.latency_s = 0.0
        self.require_token: str | None = None
        self.last_token: str | None = None
        self.token_users: dict[str, str] = {}
        self.default_user = "system:serviceaccount:default:monotui"
        self.default_watch_timeout_s = 30.0
        self.max_watch_s: float | None = None
        for spec in apis:
            self.serve(
                spec.group,
                spec.versions,
                spec.kinds,
                namespaced=spec.namespaced,
                status_subresource=spec.status_subresource,
            )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeKube:
        """Listen on 127.0.0.1 (a free port the first time, the same port afterwards)."""
        if self._server is not None:
            return self
        self._closing.clear()
        self._server = _Server(self, self._port)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(0.02,),
            name=f"fakekube:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection (watches end). State is kept."""
        server, self._server = self._server, None
        if server is None:
            return
        self._closing.set()
        with self._lock:
            self._changed.notify_all()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def down(self) -> None:
        """Simulate an unreachable API server: connections are refused until :meth:`up`."""
        self.stop()

    def up(self) -> None:
        """Accept connections again on the same port, with the same objects."""
        self.start()

    def __enter__(self) -> FakeKube:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def resource_version(self) -> int:
        """The current global resourceVersion (the one of the newest write)."""
        return self._rv

    # ------------------------------------------------------------------ configuration

    def serve(
        self,
        group: str,
        versions: Sequence[str] | str,
        plurals: Iterable[str] | Mapping[str, str] = (),
        *,
        namespaced: bool = True,
        status_subresource: bool = True,
    ) -> None:
        """Serve ``group`` at ``versions`` with these resources (plural, or plural -> Kind).

        Every resource of a group is served under every served version of the group, and an
        object is stored once and shown under each version (only ``apiVersion`` differs).
        """
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
                resources[plural] = _Resource(group, plural, kind, namespaced, status_subresource)

    def unserve(self, group: str, version: str | None = None) -> None:
        """Stop serving one version of ``group`` (or the whole group). Objects are kept."""
        with self._lock:
            versions = self._versions.get(group, [])
            if version in versions:
                versions.remove(version)
            if version is None or not versions:
                self._versions.pop(group, None)

    def deny(
        self,
        verb: str | None = None,
        plural: str | None = None,
        namespace: str | None = None,
        *,
        group: str | None = None,
        name: str | None = None,
    ) -> None:
        """Answer 403 to matching requests (None matches anything).

        Verbs as in RBAC: get, list, watch, create, update, patch, delete, deletecollection.
        A subresource is its own resource, as in RBAC: ``plural="rollouts/status"``.
        """
        with self._lock:
            self._denies.append(_DenyRule(verb, plural, namespace, group, name))

    def allow_all(self) -> None:
        with self._lock:
            self._denies.clear()

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        method: str | None = None,
        message: str | None = None,
        retry_after: int | None = None,
        drop: bool = False,
    ) -> None:
        """Fail the next ``n`` requests (only those with ``method``, if given).

        ``drop=True`` closes the connection without an answer instead of sending ``status``.
        """
        with self._lock:
            self._faults.append(
                _Fault(n, status, method.upper() if method else None, message, retry_after, drop)
            )

    def compact(self) -> None:
        """Forget the watch history: watches from an older resourceVersion get 410 Expired."""
        with self._lock:
            self._events.clear()
            self._compacted_rv = self._rv

    # ------------------------------------------------------------------ direct state access

    def put_object(self, obj: JsonObj, *, plural: str | None = None) -> JsonObj:
        """Store ``obj`` as is (status included), creating or replacing; returns the stored copy.

        Sets resourceVersion, and uid/creationTimestamp/generation unless given. The resource is
        found from apiVersion and kind (or ``plural``) among the served ones.
        """
        obj = copy.deepcopy(obj)
        group, _, version = obj["apiVersion"].rpartition("/")
        with self._lock:
            res = self._find_resource(group, obj.get("kind", ""), plural)
            meta = _meta(obj)
            if res.namespaced:
                meta.setdefault("namespace", "default")
            key = (group, res.plural, meta.get("namespace", ""), meta["name"])
            current = self._objects.get(key)
            if current is None:
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", _now())
                meta.setdefault("generation", 1)
            else:
                old = current["metadata"]
                for k in ("uid", "creationTimestamp"):
                    meta.setdefault(k, old.get(k))
                changed = _without(current, "metadata", "apiVersion", "kind", "status") != _without(
                    obj, "metadata", "apiVersion", "kind", "status"
                )
                meta.setdefault("generation", old.get("generation", 1) + int(changed))
            self._commit(key, obj, "ADDED" if current is None else "MODIFIED")
            return self._render(obj, version)

    def get_object(
        self, group: str, version: str, plural: str, ns: str | None, name: str
    ) -> JsonObj:
        """A deep copy of the stored object as served at ``version``; KeyError if absent."""
        with self._lock:
            return self._render(self._objects[(group, plural, ns or "", name)], version)

    def list_objects(self, group: str, plural: str, ns: str | None = None) -> list[JsonObj]:
        with self._lock:
            return [
                copy.deepcopy(o)
                for (g, p, n, _), o in sorted(self._objects.items())
                if g == group and p == plural and ns in (None, n)
            ]

    def delete_object(self, group: str, plural: str, ns: str | None, name: str) -> None:
        """Delete immediately (finalizers ignored); watches see DELETED. KeyError if absent."""
        with self._lock:
            key = (group, plural, ns or "", name)
            self._commit(key, copy.deepcopy(self._objects[key]), "DELETED")

    # ------------------------------------------------------------------ kubeconfig

    def write_kubeconfig(
        self,
        path: str | Path,
        context: str = "fake",
        user: str = "alice",
        namespace: str = "default",
        *,
        token: str | None = None,
        extra_contexts: Iterable[KubeContext] = (),
    ) -> Path:
        """Write a kubeconfig for this fake (token auth; the token maps to ``user``)."""
        contexts = [KubeContext(context, user, namespace), *extra_contexts]
        users = {}
        for ctx in contexts:
            tok = token if (token and ctx.user == user) else f"fake-token-{ctx.user}"
            users[ctx.user] = tok
            self.token_users.setdefault(tok, ctx.user)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [
                {"name": c.name, "cluster": {"server": c.server or self.url}} for c in contexts
            ],
            "users": [{"name": u, "user": {"token": t}} for u, t in users.items()],
            "contexts": [
                {
                    "name": c.name,
                    "context": {"cluster": c.name, "user": c.user, "namespace": c.namespace},
                }
                for c in contexts
            ],
            "current-context": context,
        }
        path = Path(path)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    # ------------------------------------------------------------------ request handling

    def _handle(
        self, method: str, target: str, content_type: str | None, raw: bytes, token: str | None
    ) -> _Response | _Watch | _Drop:
        url = urlsplit(target)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        with self._lock:
            self.requests.append(Request(method, url.path, content_type, body, query, token))
            self.last_token = token
            fault = next((f for f in self._faults if f.method in (None, method)), None)
            if fault is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
        if self.latency_s:
            time.sleep(self.latency_s)
        if fault is not None:
            if fault.drop:
                return _Drop()
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            return _Response(fault.status, status_body(fault.status, fault.message), headers)
        try:
            if self.require_token is not None and token != self.require_token:
                raise ApiError(401)
            if isinstance(body, str):
                raise ApiError(400, "the body of the request could not be decoded as JSON")
            return self._dispatch(method, url.path, query, content_type, body, token)
        except ApiError as e:
            return _Response(e.code, e.body)
        except Exception:  # a bug in the fake: make it loud, not a hang
            traceback.print_exc()
            return _Response(500, status_body(500, f"fakekube bug: {traceback.format_exc()}"))

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        content_type: str | None,
        body: Any,
        token: str | None,
    ) -> _Response | _Watch:
        parts = [p for p in path.split("/") if p]
        if method == "GET" and (discovery := self._discovery(parts)) is not None:
            return _Response(200, discovery)
        t = self._route(parts)
        watch = query.get("watch") in ("true", "1")
        verb = {
            ("GET", True): "watch" if watch else "get",
            ("GET", False): "watch" if watch else "list",
            ("POST", False): "create",
            ("PUT", True): "update",
            ("PATCH", True): "patch",
            ("DELETE", True): "delete",
            ("DELETE", False): "deletecollection",
        }.get((method, t.name is not None))
        if verb is None:
            raise ApiError(405)
        resource = t.resource.plural + (f"/{t.subresource}" if t.subresource else "")
        with self._lock:
            denied = any(rule.matches(verb, resource, t) for rule in self._denies)
        if denied:
            raise self._forbidden(verb, resource, t, token)
        dry_run = query.get("dryRun") == "All"
        with self._lock:
            if verb == "watch":
                return _Watch(self._watch(t, query))
            if verb == "get":
                return _Response(200, self._render(self._current(t), t.version))
            if verb == "list":
                return _Response(200, self._list(t, query))
            if verb == "create":
                return self._create(t, body, dry_run)
            if verb == "update":
                return self._update(t, self._check_body(t, body), dry_run)
            if verb == "patch":
                return self._patch(t, content_type, body, dry_run)
            if verb == "delete":
                return self._delete(t, body, dry_run)
            items = []
            for one in self._matching_targets(t, query):
                items.append(self._render(self._current(one), t.version))
                self._delete(one, body, dry_run)
            return _Response(200, self._list_body(t, items))

    # ------------------------------------------------------------------ routing and discovery

    def _discovery(self, parts: list[str]) -> JsonObj | None:
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
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}
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
        versions = [{"groupVersion": _gv(group, v), "version": v} for v in self._versions[group]]
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
                    "verbs": [
                        "delete",
                        "deletecollection",
                        "get",
                        "list",
                        "patch",
                        "create",
                        "update",
                        "watch",
                    ],
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
            "groupVersion": _gv(group, version),
            "resources": resources,
        }

    def _route(self, parts: list[str]) -> _Target:
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
        return _Target(res, version, namespace, name, sub)

    def _find_resource(self, group: str, kind: str, plural: str | None) -> _Resource:
        for res in self._resources.get(group, {}).values():
            if res.plural == plural or (plural is None and res.kind == kind):
                return res
        raise ValueError(
            f"fakekube: no served resource for group {group!r} kind {kind!r}; "
            "call fake.serve(group, versions, {plural: kind}) first"
        )

    def _forbidden(self, verb: str, resource: str, t: _Target, token: str | None) -> ApiError:
        user = self.token_users.get(token, self.default_user) if token else "system:anonymous"
        scope = f'in the namespace "{t.namespace}"' if t.namespace else "at the cluster scope"
        who = f'{t.resource.qualified} "{t.name}"' if t.name else t.resource.qualified
        return ApiError(
            403,
            f'{who} is forbidden: User "{user}" cannot {verb} resource '
            f'"{resource}" in API group "{t.resource.group}" {scope}',
            details=t.resource.details(t.name),
        )

    # ------------------------------------------------------------------ verbs (under the lock)

    def _key(self, t: _Target, name: str | None = None) -> ObjKey:
        return (t.resource.group, t.resource.plural, t.namespace or "", name or t.name or "")

    def _current(self, t: _Target) -> JsonObj:
        obj = self._objects.get(self._key(t))
        if obj is None:
            raise ApiError(
                404,
                f'{t.resource.qualified} "{t.name}" not found',
                details=t.resource.details(t.name),
            )
        return obj

    def _render(self, obj: JsonObj, version: str) -> JsonObj:
        out = copy.deepcopy(obj)
        out["apiVersion"] = _gv(obj["apiVersion"].rpartition("/")[0], version)
        return out

    def _matching(self, t: _Target, query: Mapping[str, str]) -> list[JsonObj]:
        selected = _object_filter(query)
        group, plural = t.resource.group, t.resource.plural
        return [
            obj
            for (g, p, ns, name), obj in sorted(self._objects.items())
            if g == group
            and p == plural
            and t.namespace in (None, ns)
            and t.name in (None, name)
            and selected(obj)
        ]

    def _matching_targets(self, t: _Target, query: Mapping[str, str]) -> list[_Target]:
        return [
            _Target(
                t.resource, t.version, o["metadata"].get("namespace"), o["metadata"]["name"], None
            )
            for o in self._matching(t, query)
        ]

    def _list_body(self, t: _Target, items: list[JsonObj]) -> JsonObj:
        return {
            "apiVersion": t.group_version,
            "kind": f"{t.resource.kind}List",
            "metadata": {"continue": "", "resourceVersion": str(self._rv)},
            "items": items,
        }

    def _list(self, t: _Target, query: Mapping[str, str]) -> JsonObj:
        items = [self._render(o, t.version) for o in self._matching(t, query)]
        return self._list_body(t, items)

    def _commit(self, key: ObjKey, obj: JsonObj, event_type: str) -> None:
        self._rv += 1
        _meta(obj)["resourceVersion"] = str(self._rv)
        if event_type == "DELETED":
            self._objects.pop(key, None)
        else:
            self._objects[key] = obj
        self._events.append(_Event(self._rv, event_type, key, copy.deepcopy(obj)))
        self._changed.notify_all()

    def _check_body(self, t: _Target, body: Any) -> JsonObj:
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request was not a JSON object")
        obj: JsonObj = copy.deepcopy(body)
        if t.resource.group == "":  # built-in types may omit their TypeMeta
            obj.setdefault("apiVersion", t.group_version)
            obj.setdefault("kind", t.resource.kind)
        if "kind" not in obj or "apiVersion" not in obj:
            raise ApiError(400, f"Object 'Kind' is missing in '{json.dumps(obj)}'")
        if obj["apiVersion"] != t.group_version:
            raise ApiError(
                400,
                f"the API version in the data ({obj['apiVersion']}) does not "
                f"match the expected API version ({t.group_version})",
            )
        if obj["kind"] != t.resource.kind:
            raise ApiError(
                400,
                f"the kind in the data ({obj['kind']}) does not match the "
                f"expected kind ({t.resource.kind})",
            )
        meta = _meta(obj)
        if t.namespace and meta.setdefault("namespace", t.namespace) != t.namespace:
            raise ApiError(
                400,
                "the namespace of the provided object does not match the "
                "namespace sent on the request",
            )
        if t.name is not None and meta.get("name") != t.name:
            raise ApiError(
                400,
                f"the name of the object ({meta.get('name')}) does not match "
                f"the name on the URL ({t.name})",
            )
        return obj

    def _invalid(self, t: _Target, name: str, field_path: str, message: str) -> ApiError:
        qualified = f"{t.resource.kind}.{t.resource.group}" if t.resource.group else t.resource.kind
        return ApiError(
            422,
            f'{qualified} "{name}" is invalid: {field_path}: {message}',
            details={
                "name": name,
                "group": t.resource.group,
                "kind": t.resource.kind,
                "causes": [
                    {"reason": "FieldValueInvalid", "message": message, "field": field_path}
                ],
            },
        )

    def _conflict(self, t: _Target, why: str) -> ApiError:
        return ApiError(
            409,
            f'Operation cannot be fulfilled on {t.resource.qualified} "{t.name}": {why}',
            details=t.resource.details(t.name),
        )

    def _create(self, t: _Target, body: Any, dry_run: bool) -> _Response:
        obj = self._check_body(t, body)
        meta = obj["metadata"]
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise self._invalid(
                    t, "", "metadata.name", "Required value: name or generateName is required"
                )
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        key = self._key(t, meta["name"])
        if key in self._objects:
            raise ApiError(
                409,
                f'{t.resource.qualified} "{meta["name"]}" already exists',
                reason="AlreadyExists",
                details=t.resource.details(meta["name"]),
            )
        for k in ("resourceVersion", "deletionTimestamp", "uid"):
            meta.pop(k, None)
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now(), generation=1)
        if t.resource.status_subresource:
            obj.pop("status", None)
        if not dry_run:
            self._commit(key, obj, "ADDED")
        return _Response(201, copy.deepcopy(obj))

    def _update(self, t: _Target, new: JsonObj, dry_run: bool, *, patch: bool = False) -> _Response:
        current = self._current(t)
        cur_meta, new_meta = current["metadata"], new["metadata"]
        rv = new_meta.get("resourceVersion")
        if not rv and not patch:
            raise self._invalid(
                t,
                t.name or "",
                "metadata.resourceVersion",
                "Invalid value: 0x0: must be specified for an update",
            )
        if rv and rv != cur_meta["resourceVersion"]:
            raise self._conflict(
                t,
                "the object has been modified; please apply your changes "
                "to the latest version and try again",
            )
        if t.subresource == "status":
            obj = copy.deepcopy(current)
            obj.pop("status", None)
            if "status" in new:
                obj["status"] = new["status"]
        else:
            obj = new
            if t.resource.status_subresource:
                obj.pop("status", None)
                if "status" in current:
                    obj["status"] = copy.deepcopy(current["status"])
            for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                obj["metadata"].pop(k, None)
                if k in cur_meta:
                    obj["metadata"][k] = cur_meta[k]
            ignored = ("metadata", "apiVersion", "kind") + (
                ("status",) if t.resource.status_subresource else ()
            )
            if _without(obj, *ignored) != _without(current, *ignored):
                obj["metadata"]["generation"] = cur_meta.get("generation", 1) + 1
        obj["apiVersion"] = t.group_version
        obj["metadata"]["resourceVersion"] = cur_meta["resourceVersion"]
        if _without(obj, "apiVersion") == _without(current, "apiVersion"):
            return _Response(200, self._render(current, t.version))  # no-op: no new RV
        if not dry_run:
            gone = "deletionTimestamp" in cur_meta and not obj["metadata"].get("finalizers")
            self._commit(self._key(t), obj, "DELETED" if gone else "MODIFIED")
        return _Response(200, copy.deepcopy(obj))

    def _patch(self, t: _Target, content_type: str | None, patch: Any, dry_run: bool) -> _Response:
        kind = (content_type or "").split(";")[0].strip().lower()
        if t.resource.group == "" and kind == "application/strategic-merge-patch+json":
            kind = "application/merge-patch+json"  # close enough for the core types used here
        if kind not in ("application/json-patch+json", "application/merge-patch+json"):
            raise ApiError(
                415,
                f"the body of the request was in an unknown format - accepted "
                f"media types include: {_PATCH_TYPES}",
            )
        current = self._render(self._current(t), t.version)
        if kind == "application/merge-patch+json":
            if not isinstance(patch, dict):
                raise ApiError(
                    400,
                    "json: cannot unmarshal array into Go value of type map[string]interface {}",
                )
            patched = apply_merge_patch(current, patch)
        else:
            try:
                patched = apply_json_patch(current, patch)
            except JsonPatchFormatError as e:
                raise ApiError(400, str(e)) from None
            except JsonPatchError as e:
                self.patch_errors.append(str(e))
                raise ApiError(422) from None
        if not isinstance(patched, dict):
            raise ApiError(422)
        return self._update(t, self._check_body(t, patched), dry_run, patch=True)

    def _delete(self, t: _Target, options: Any, dry_run: bool) -> _Response:
        current = self._current(t)
        meta = current["metadata"]
        pre = (options.get("preconditions") if isinstance(options, dict) else None) or {}
        for field_name, label in (("resourceVersion", "ResourceVersion"), ("uid", "UID")):
            if pre.get(field_name) and pre[field_name] != meta.get(field_name):
                raise self._conflict(
                    t,
                    f"Precondition failed: {label} in precondition: "
                    f"{pre[field_name]}, {label} in object meta: "
                    f"{meta.get(field_name)}",
                )
        if meta.get("finalizers"):
            obj = copy.deepcopy(current)
            if "deletionTimestamp" not in meta and not dry_run:
                obj["metadata"]["deletionTimestamp"] = _now()
                self._commit(self._key(t), obj, "MODIFIED")
            return _Response(202, self._render(obj, t.version))
        if not dry_run:
            self._commit(self._key(t), copy.deepcopy(current), "DELETED")
        return _Response(
            200,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {**t.resource.details(t.name), "uid": meta.get("uid")},
            },
        )

    # ------------------------------------------------------------------ watch

    def _watch(self, t: _Target, query: Mapping[str, str]) -> Iterator[bytes]:
        """Called under the lock: snapshot now, then stream from the event history."""
        try:
            timeout = float(query.get("timeoutSeconds") or self.default_watch_timeout_s)
        except ValueError:
            raise ApiError(400, "invalid timeoutSeconds") from None
        if self.max_watch_s is not None:
            timeout = min(timeout, self.max_watch_s)
        selected = _object_filter(query)  # a bad selector is a 400, before the 200 is sent
        rv_param = query.get("resourceVersion") or "0"
        if not rv_param.isdigit():
            raise ApiError(400, f"invalid resourceVersion {rv_param!r}")
        since = int(rv_param)
        initial: list[JsonObj] = []
        if since == 0:
            initial, since = self._matching(t, query), self._rv
        return self._watch_lines(t, selected, initial, since, time.monotonic() + timeout)

    def _watch_lines(
        self,
        t: _Target,
        selected: Callable[[JsonObj], bool],
        initial: list[JsonObj],
        since: int,
        deadline: float,
    ) -> Iterator[bytes]:
        def line(event_type: str, obj: JsonObj) -> bytes:
            return json.dumps({"type": event_type, "object": obj}).encode() + b"\n"

        for obj in initial:
            yield line("ADDED", self._render(obj, t.version))
        group, plural = t.resource.group, t.resource.plural
        while not self._closing.is_set():
            with self._lock:
                expired = self._compacted_rv if since < self._compacted_rv else None
                pending = [e for e in self._events if e.rv > since]
                if not pending and expired is None:
                    self._changed.wait(min(0.05, max(0.0, deadline - time.monotonic())))
            if expired is not None:
                message = f"too old resource version: {since} ({expired})"
                yield line("ERROR", status_body(410, message, "Expired"))
                return
            for ev in pending:
                since = ev.rv
                g, p, ns, name = ev.key
                if (
                    (g, p) == (group, plural)
                    and t.namespace in (None, ns)
                    and t.name in (None, name)
                    and selected(ev.obj)
                ):
                    yield line(ev.type, self._render(ev.obj, t.version))
            if time.monotonic() >= deadline:
                return
            yield b""  # lets the handler check that the client is still there


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, fake: FakeKube, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    def track(self, sock: socket.socket, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(sock)

    def close_connections(self) -> None:
        with self._conn_lock:
            for sock in self._connections:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client gone mid-answer is fine
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        raw = self._read_body()
        auth = self.headers.get("Authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        outcome = self.server.fake._handle(
            self.command, self.path, self.headers.get("Content-Type"), raw, token
        )
        if isinstance(outcome, _Drop):
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        elif isinstance(outcome, _Watch):
            self._stream(outcome.lines)
        else:
            data = json.dumps(outcome.body, separators=(",", ":")).encode() + b"\n"
            self.send_response(outcome.code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in outcome.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

    def _stream(self, lines: Iterator[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for data in lines:
                if data:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                elif self._peer_closed():
                    self.close_connection = True
                    return
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def _peer_closed(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@pytest.fixture
def fake_kube() -> Iterator[FakeKube]:
    """A started :class:`FakeKube` with :data:`DEFAULT_APIS` served; stopped afterwards."""
    with FakeKube() as fake:
        yield fake


@pytest.fixture
def fake_kubeconfig(fake_kube: FakeKube, tmp_path: Path) -> Path:
    """A kubeconfig (context ``fake``, user ``alice``, namespace ``default``) for ``fake_kube``."""
    return fake_kube.write_kubeconfig(tmp_path / "kubeconfig")
