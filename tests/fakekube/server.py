""":class:`FakeKube`: the fake API server a test holds.

It ties the parts together: served APIs and routing (:mod:`.apis`, :mod:`.discovery`), the
object store and its history (:mod:`.store`), lists (:mod:`.listing`), the verbs
(:mod:`.verbs`, :mod:`.kinds`), watches (:mod:`.watch`), deny rules and access reviews
(:mod:`.rbac`), injected faults (:mod:`.faults`), the service proxy (:mod:`.proxy`), request
dispatch (:mod:`.dispatch`), kubeconfig files (:mod:`.kubeconfig`) and HTTP (:mod:`.handler`).
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from tests.fakekube.apis import DEFAULT_APIS, ApiSpec, Resource, ServedApis, Target
from tests.fakekube.dispatch import Dispatcher
from tests.fakekube.faults import Fault, Faults
from tests.fakekube.handler import HttpServer
from tests.fakekube.kinds import to_storage
from tests.fakekube.kubeconfig import KubeContext, write_kubeconfig
from tests.fakekube.proxy import ProxyBackends, service_manifest
from tests.fakekube.rbac import AccessRules
from tests.fakekube.requestlog import Request, count_requests, request_counts
from tests.fakekube.status import JsonObj
from tests.fakekube.store import ObjectStore, render
from tests.fakekube.watch import WatchControl

__all__ = ["FakeKube"]


class FakeKube:
    """The fake API server. All public methods are thread-safe.

    Public attributes a test may read or set:
      requests          every request received, in order (see :class:`Request`, which also
                        says the RBAC verb); :meth:`request_counts` and :meth:`count_requests`
                        count them
      patch_errors      why each rejected JSON patch failed (the wire only says 422)
      latency_s         sleep this long before handling each request
      require_token     if set, any other bearer token (or none) gets 401
      last_token        the bearer token of the newest request
      token_users       token -> user name shown in 403 messages (kubeconfig users are added)
      default_user      the user name for a token not in ``token_users``
      default_watch_timeout_s, max_watch_s
                        watch length without ``timeoutSeconds``, and a cap on every watch
      bookmark_interval_s
                        how often a watch that allows bookmarks gets one (real server: ~60 s)
    """

    def __init__(self, apis: Iterable[ApiSpec] = DEFAULT_APIS) -> None:
        self._store = ObjectStore()
        self._lock = self._store.lock  # one lock for all state
        self._apis = ServedApis(self._lock)
        self._rules = AccessRules(self._lock)
        self._faults = Faults(self._lock)
        self._backends = ProxyBackends(self._lock)
        self._watches = WatchControl()
        self._server: HttpServer | None = None
        self._thread: threading.Thread | None = None
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
        self._dispatcher = Dispatcher(
            self, self._store, self._apis, self._rules, self._faults, self._backends, self._watches
        )
        for spec in apis:
            self.serve(
                spec.group,
                spec.versions,
                spec.kinds,
                namespaced=spec.namespaced,
                status_subresource=spec.status_subresource,
                subresources=spec.subresources,
                verbs=spec.verbs,
            )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeKube:
        """Listen on 127.0.0.1 (a free port the first time, the same port afterwards)."""
        if self._server is not None:
            return self
        self._watches.closing.clear()
        self._server = HttpServer(self._dispatcher.handle, self._port)
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
        self._watches.closing.set()
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

    # ------------------------------------------------------------------ APIs and access

    def serve(
        self,
        group: str,
        versions: Sequence[str] | str,
        plurals: Iterable[str] | Mapping[str, str] = (),
        *,
        namespaced: bool = True,
        status_subresource: bool = True,
        subresources: Mapping[str, Sequence[str]] | None = None,
        verbs: Sequence[str] | None = None,
    ) -> None:
        """Serve ``group`` at ``versions`` with these resources (plural, or plural -> Kind).

        Every resource of a group is served under every served version of the group, and an
        object is stored once and shown under each version (only ``apiVersion`` differs).
        ``serve(group, versions)`` alone serves an :meth:`unserve`-d group again.
        """
        self._apis.serve(
            group, versions, plurals, namespaced, status_subresource, subresources or {}, verbs
        )

    def unserve(self, group: str, version: str | None = None) -> None:
        """Stop serving one version of ``group`` (or the whole group: a cluster without
        Flagger is ``unserve("flagger.app")``). Objects are kept; discovery no longer lists it.
        """
        self._apis.unserve(group, version)

    def deny(
        self,
        verb: str | None = None,
        plural: str | None = None,
        namespace: str | None = None,
        *,
        group: str | None = None,
        name: str | None = None,
        user: str | None = None,
        cluster_wide: bool | None = None,
    ) -> None:
        """Answer 403 to matching requests, and "no" to matching access reviews (None matches
        anything).

        Verbs as in RBAC: get, list, watch, create, update, patch, delete, deletecollection.
        A subresource is its own resource, as in RBAC: ``plural="rollouts/status"``, and the
        service proxy is ``get`` (by HTTP method) on ``services/proxy`` with the name as in the
        URL (``prometheus:9090``). ``cluster_wide=True`` matches only requests across all
        namespaces (or of cluster-scoped resources), ``False`` only those in one namespace.
        """
        self._rules.deny(verb, plural, namespace, group, name, user, cluster_wide)

    def allow_all(self) -> None:
        """Forget every :meth:`deny` rule."""
        self._rules.allow_all()

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        n: int | None = 1,
        status: int = 500,
        *,
        method: str | None = None,
        path: str | None = None,
        message: str | None = None,
        retry_after: int | None = None,
        drop: bool = False,
        user: str | None = None,
    ) -> None:
        """Fail the next ``n`` matching requests (None: all until :meth:`clear_faults`).

        ``method`` and ``path`` (a regular expression searched in the URL path) narrow what
        matches, here and in the other fault methods; ``user`` narrows it to the requests whose
        bearer token maps to that user (:attr:`token_users`: one process of several, each with
        its own kubeconfig). ``drop=True`` closes the connection without an answer instead. A
        429 without ``message`` is the real server's plain-text "Too many requests, please try
        again later." with ``Retry-After``.
        """
        fields = {"status": status, "message": message, "retry_after": retry_after, "user": user}
        self._faults.add(Fault.of("drop" if drop else "fail", n, method, path, **fields))

    def slow_next(
        self,
        n: int | None = 1,
        delay_s: float = 1.0,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Wait ``delay_s`` before handling the next ``n`` matching requests."""
        self._faults.add(Fault.of("slow", n, method, path, delay_s=delay_s))

    def answer_late(
        self,
        n: int | None = 1,
        delay_s: float | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Apply the next ``n`` matching requests at once but answer only after ``delay_s``
        (None: never, until :meth:`release_held` or :meth:`stop`): the write a client gave up
        on that happened all the same."""
        self._faults.add(Fault.of("late", n, method, path, delay_s=delay_s))

    def trickle_next(
        self,
        n: int | None = 1,
        interval_s: float = 0.5,
        *,
        method: str | None = None,
        path: str | None = None,
        chunk_bytes: int = 1,
    ) -> None:
        """Send the answers of the next ``n`` matching requests ``chunk_bytes`` at a time, one
        chunk every ``interval_s`` (watch streams and proxied answers included)."""
        fields = {"delay_s": interval_s, "chunk_bytes": chunk_bytes}
        self._faults.add(Fault.of("trickle", n, method, path, **fields))

    def clear_faults(self) -> None:
        """Forget every pending fault (answers already held stay held: see release_held)."""
        self._faults.clear()

    def release_held(self) -> None:
        """Send the answers :meth:`answer_late` faults hold now (later ones are held again)."""
        self._dispatcher.release_held()

    # ------------------------------------------------------------------ history and watches

    def compact(self, resource_version: int | None = None) -> None:
        """Forget the history up to ``resource_version`` (default: all of it). Watches and
        exact or paginated lists from an older resourceVersion then get 410 Expired."""
        self._store.compact(resource_version)

    def drop_watches(self) -> None:
        """Cut the connection of every open watch (no clean end), as an apiserver restart."""
        self._watches.drop()

    def end_watches(self) -> None:
        """End every open watch cleanly, as if its timeout had passed."""
        self._watches.end()

    def send_bookmarks(self) -> None:
        """Send a BOOKMARK now on every open watch that allows them."""
        self._watches.send_bookmarks()

    @property
    def open_watches(self) -> int:
        """How many watch streams are open now."""
        return self._watches.open_count

    @property
    def bookmark_interval_s(self) -> float:
        return self._watches.bookmark_interval_s

    @bookmark_interval_s.setter
    def bookmark_interval_s(self, value: float) -> None:
        self._watches.bookmark_interval_s = value

    # ------------------------------------------------------------------ service proxy

    def proxy_backend(
        self, namespace: str, service: str, url: str, *, port: int | str | None = None
    ) -> None:
        """Send what the service proxy gets for ``service`` (its port number or name ``port``,
        or every port) to ``url`` (``http://127.0.0.1:9090``, maybe with a path prefix). The
        Service object must exist as well (:meth:`put_service`); without a backend the proxy
        answers 503 "no endpoints available for service ..." as a Service without ready pods.
        """
        self._backends.register(namespace, service, url, port)

    def remove_proxy_backend(
        self, namespace: str, service: str, *, port: int | str | None = None
    ) -> None:
        """Forget the backend of one port (or, with None, every backend of the Service)."""
        self._backends.remove(namespace, service, port)

    def put_service(
        self,
        namespace: str,
        name: str,
        ports: Sequence[int | JsonObj] = (80,),
        *,
        labels: Mapping[str, str] | None = None,
        backend: str | None = None,
    ) -> JsonObj:
        """Store a ClusterIP Service with these ports (a number, or a ServicePort object) and,
        with ``backend``, register it for every port. Returns the stored Service."""
        stored = self.put_object(service_manifest(namespace, name, ports, labels))
        if backend is not None:
            self.proxy_backend(namespace, name, backend)
        return stored

    # ------------------------------------------------------------------ direct state access

    def put_object(self, obj: JsonObj, *, plural: str | None = None) -> JsonObj:
        """Store ``obj`` as is (status included), creating or replacing; returns the stored copy.

        Sets resourceVersion, uid and creationTimestamp (and generation, where the kind keeps
        one) unless given. The resource is found from apiVersion and kind (or ``plural``)
        among the served ones. No validation or defaulting: that is what the API does.
        """
        obj = copy.deepcopy(obj)
        group, _, version = obj["apiVersion"].rpartition("/")
        with self._lock:
            res = self._apis.find_resource(group, obj.get("kind", ""), plural)
            stored = self._store.put(to_storage(res, obj), res)
            return render(stored, self._target(res, version))

    def get_object(
        self, group: str, version: str, plural: str, ns: str | None, name: str
    ) -> JsonObj:
        """A deep copy of the stored object as served at ``version``; KeyError if absent."""
        res = self._apis.find_resource(group, "", plural)
        stored = self._store.get((res.storage_group, plural, ns or "", name))
        return render(stored, self._target(res, version))

    def list_objects(self, group: str, plural: str, ns: str | None = None) -> list[JsonObj]:
        """Deep copies of the stored objects of one resource (in ``ns``, or in all)."""
        return self._store.list_copies(group, plural, ns)

    def delete_object(self, group: str, plural: str, ns: str | None, name: str) -> None:
        """Delete immediately (finalizers ignored); watches see DELETED. KeyError if absent."""
        self._store.delete((group, plural, ns or "", name))

    @staticmethod
    def _target(res: Resource, version: str) -> Target:
        return Target(res, version, None, None, None)

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

    # ------------------------------------------------------------------ request log

    def request_counts(self, since: int = 0) -> Counter[tuple[str, str]]:
        """How many requests of each (verb, path) arrived from ``requests[since]`` on (take
        ``since = len(fake.requests)`` before a poll to count that poll)."""
        with self._lock:
            return request_counts(self.requests, since)

    def count_requests(
        self,
        verb: str | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        since: int = 0,
    ) -> int:
        """How many requests from ``requests[since]`` on match the RBAC ``verb`` (list, watch,
        get ...), the HTTP ``method`` and ``path`` (a regular expression searched in it)."""
        with self._lock:
            return count_requests(self.requests, verb, method=method, path=path, since=since)
