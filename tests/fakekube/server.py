""":class:`FakeKube`: the fake API server a test holds, and how it answers each request.

It ties the parts together: served APIs and routing (:mod:`.apis`), the object store
(:mod:`.store`), the verbs (:mod:`.verbs`), watches (:mod:`.watch`), deny rules and faults
(:mod:`.faults`), kubeconfig files (:mod:`.kubeconfig`) and the HTTP server (:mod:`.handler`).
"""

from __future__ import annotations

import copy
import json
import threading
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakekube import verbs
from tests.fakekube.apis import DEFAULT_APIS, ApiSpec, ServedApis
from tests.fakekube.faults import Fault, Faults, forbidden
from tests.fakekube.handler import Drop, HttpServer, Outcome, Request, Response, WatchStream
from tests.fakekube.kubeconfig import KubeContext, write_kubeconfig
from tests.fakekube.status import ApiError, JsonObj, status_body
from tests.fakekube.store import ObjectStore, render
from tests.fakekube.watch import open_watch

__all__ = ["FakeKube"]

# (method, names one object?) -> RBAC verb; a GET becomes "watch" with ?watch=true.
_VERBS = {
    ("GET", True): "get",
    ("GET", False): "list",
    ("POST", False): "create",
    ("PUT", True): "update",
    ("PATCH", True): "patch",
    ("DELETE", True): "delete",
    ("DELETE", False): "deletecollection",
}


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
        self._store = ObjectStore()
        self._lock = self._store.lock  # one lock for all state, as before the split
        self._apis = ServedApis(self._lock)
        self._faults = Faults(self._lock)
        self._server: HttpServer | None = None
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
        self._server = HttpServer(self._handle, self._port)
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
            self._store.changed.notify_all()
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
        return self._store.resource_version

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
        self._apis.serve(group, versions, plurals, namespaced, status_subresource)

    def unserve(self, group: str, version: str | None = None) -> None:
        """Stop serving one version of ``group`` (or the whole group). Objects are kept."""
        self._apis.unserve(group, version)

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
        self._faults.deny(verb, plural, namespace, group, name)

    def allow_all(self) -> None:
        """Forget every :meth:`deny` rule."""
        self._faults.allow_all()

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
        method = method.upper() if method else None
        self._faults.add(Fault(n, status, method, message, retry_after, drop))

    def compact(self) -> None:
        """Forget the watch history: watches from an older resourceVersion get 410 Expired."""
        self._store.compact()

    # ------------------------------------------------------------------ direct state access

    def put_object(self, obj: JsonObj, *, plural: str | None = None) -> JsonObj:
        """Store ``obj`` as is (status included), creating or replacing; returns the stored copy.

        Sets resourceVersion, and uid/creationTimestamp/generation unless given. The resource is
        found from apiVersion and kind (or ``plural``) among the served ones.
        """
        obj = copy.deepcopy(obj)
        group = obj["apiVersion"].rpartition("/")[0]
        with self._lock:
            res = self._apis.find_resource(group, obj.get("kind", ""), plural)
            return self._store.put(obj, res)

    def get_object(
        self, group: str, version: str, plural: str, ns: str | None, name: str
    ) -> JsonObj:
        """A deep copy of the stored object as served at ``version``; KeyError if absent."""
        return self._store.get((group, plural, ns or "", name), version)

    def list_objects(self, group: str, plural: str, ns: str | None = None) -> list[JsonObj]:
        """Deep copies of the stored objects of one resource (in ``ns``, or in all)."""
        return self._store.list_copies(group, plural, ns)

    def delete_object(self, group: str, plural: str, ns: str | None, name: str) -> None:
        """Delete immediately (finalizers ignored); watches see DELETED. KeyError if absent."""
        self._store.delete((group, plural, ns or "", name))

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
        return write_kubeconfig(path, self.url, self.token_users, contexts, context, token)

    # ------------------------------------------------------------------ request handling

    def _handle(
        self, method: str, target: str, content_type: str | None, raw: bytes, token: str | None
    ) -> Outcome:
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
            fault = self._faults.take(method)
        if self.latency_s:
            time.sleep(self.latency_s)
        if fault is not None:
            if fault.drop:
                return Drop()
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            return Response(fault.status, status_body(fault.status, fault.message), headers)
        try:
            if self.require_token is not None and token != self.require_token:
                raise ApiError(401)
            if isinstance(body, str):
                raise ApiError(400, "the body of the request could not be decoded as JSON")
            return self._dispatch(method, url.path, query, content_type, body, token)
        except ApiError as e:
            return Response(e.code, e.body)
        except Exception:  # a bug in the fake: make it loud, not a hang
            traceback.print_exc()
            return Response(500, status_body(500, f"fakekube bug: {traceback.format_exc()}"))

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        content_type: str | None,
        body: Any,
        token: str | None,
    ) -> Response | WatchStream:
        parts = [p for p in path.split("/") if p]
        if method == "GET" and (discovery := self._apis.discovery(parts, self.port)) is not None:
            return Response(200, discovery)
        t = self._apis.route(parts)
        verb = _VERBS.get((method, t.name is not None))
        if verb is None:
            raise ApiError(405)
        if method == "GET" and query.get("watch") in ("true", "1"):
            verb = "watch"
        resource = t.resource.plural + (f"/{t.subresource}" if t.subresource else "")
        if self._faults.denied(verb, resource, t):
            user = self.token_users.get(token, self.default_user) if token else "system:anonymous"
            raise forbidden(verb, resource, t, user)
        dry_run = query.get("dryRun") == "All"
        store = self._store
        with self._lock:
            if verb == "watch":
                return WatchStream(
                    open_watch(
                        store,
                        t,
                        query,
                        default_timeout_s=self.default_watch_timeout_s,
                        max_s=self.max_watch_s,
                        closing=self._closing,
                    )
                )
            if verb == "get":
                return Response(200, render(store.current(t), t.version))
            if verb == "list":
                return Response(200, store.listing(t, query))
            if verb == "create":
                return verbs.create(store, t, body, dry_run)
            if verb == "update":
                return verbs.update(store, t, verbs.check_body(t, body), dry_run)
            if verb == "patch":
                return verbs.patch(store, t, content_type, body, dry_run, self.patch_errors)
            if verb == "delete":
                return verbs.delete(store, t, body, dry_run)
            return verbs.delete_collection(store, t, query, body, dry_run)
