"""How the fake answers one request: record it, apply faults, authorize, route, run the verb.

Order, as in the real server's filter chain where a client can tell: the request is recorded
(:attr:`FakeKube.requests`); an injected fault may answer instead (:mod:`.faults`); a wrong
token is 401; discovery documents are served; the URL is routed (404/405); deny rules answer
403 (:mod:`.rbac`); then the verb runs (:mod:`.verbs`, :mod:`.listing`, :mod:`.watch`,
:mod:`.proxy`, SelfSubjectAccessReviews).
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakekube import verbs
from tests.fakekube.apis import ServedApis, Target
from tests.fakekube.discovery import discovery_document
from tests.fakekube.faults import Fault, Faults
from tests.fakekube.handler import (
    Drop,
    Incoming,
    Outcome,
    Paced,
    RawResponse,
    Response,
    WatchStream,
    header,
)
from tests.fakekube.listing import list_response
from tests.fakekube.protobuf import PROTOBUF, decode
from tests.fakekube.proxy import ProxyBackends, forward, resolve
from tests.fakekube.rbac import AccessRules, Attributes, forbidden
from tests.fakekube.requestlog import Request
from tests.fakekube.status import ApiError, status_body
from tests.fakekube.store import ObjectStore, render
from tests.fakekube.watch import WatchControl, open_watch

__all__ = ["Dispatcher", "Settings"]

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
# Proxy requests are authorized by their HTTP method, as the apiserver's RequestInfo does.
_PROXY_VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch"}
_TOO_MANY = b"Too many requests, please try again later.\n"


class Settings(Protocol):
    """The public attributes of :class:`FakeKube` the dispatcher reads (and ``last_token``)."""

    requests: list[Request]
    patch_errors: list[str]
    latency_s: float
    require_token: str | None
    last_token: str | None
    token_users: dict[str, str]
    default_user: str
    default_watch_timeout_s: float
    max_watch_s: float | None

    @property
    def port(self) -> int: ...


class Dispatcher:
    """Answers requests from the fake's parts; one per :class:`FakeKube`."""

    def __init__(
        self,
        settings: Settings,
        store: ObjectStore,
        apis: ServedApis,
        rules: AccessRules,
        faults: Faults,
        backends: ProxyBackends,
        watches: WatchControl,
    ) -> None:
        self.settings, self.store, self.apis, self.rules = settings, store, apis, rules
        self.faults, self.backends, self.watches = faults, backends, watches
        self._releases = 0  # bumped by release_held(): answers held before it go out
        self._releases_lock = threading.Lock()

    # ------------------------------------------------------------------ one request

    def handle(self, inc: Incoming) -> Outcome:
        """The answer to one request, faults included."""
        url = urlsplit(inc.target)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        content_type = header(inc.headers, "Content-Type")
        record = Request(
            inc.method,
            url.path,
            content_type,
            None,
            query,
            inc.token,
            headers=inc.headers,
            at_s=time.monotonic(),
        )
        body, decode_error = _parse_body(inc.body, content_type)
        record.body = body
        self._classify(record, inc)
        s = self.settings
        with self.store.lock:
            s.requests.append(record)
            s.last_token = inc.token
            fault = self.faults.take(inc.method, url.path, self._user(inc.token))
        if s.latency_s:
            time.sleep(s.latency_s)
        if fault is not None and fault.kind in ("fail", "drop"):
            return _failure(fault)
        if fault is not None and fault.kind == "slow":
            self.watches.closing.wait(fault.delay_s or 0.0)
        try:
            if s.require_token is not None and inc.token != s.require_token:
                raise ApiError(401)
            if decode_error is not None:
                raise decode_error
            if isinstance(body, str):
                raise ApiError(400, "the body of the request could not be decoded as JSON")
            outcome = self._dispatch(inc, url.path, query, content_type, body, record)
        except ApiError as e:
            outcome = Response(e.code, e.body)
        except Exception:  # a bug in the fake: make it loud, not a hang
            traceback.print_exc()
            outcome = Response(500, status_body(500, f"fakekube bug: {traceback.format_exc()}"))
        if fault is not None and fault.kind == "late":
            self._hold(fault.delay_s)
        if fault is not None and fault.kind == "trickle" and not isinstance(outcome, Drop):
            assert not isinstance(outcome, Paced)
            return Paced(outcome, fault.delay_s or 0.0, fault.chunk_bytes, self.watches.closing)
        return outcome

    def release_held(self) -> None:
        """Let every answer held now by a ``late`` fault go out (later ones are held again)."""
        with self._releases_lock:
            self._releases += 1

    def _released_since(self, mark: int) -> bool:
        with self._releases_lock:
            return self._releases != mark

    def _hold(self, delay_s: float | None) -> None:
        """Hold an answer ``delay_s`` (None: until released or the fake stops)."""
        deadline = None if delay_s is None else time.monotonic() + delay_s
        with self._releases_lock:
            mark = self._releases
        while not self._released_since(mark) and not self.watches.closing.is_set():
            left = 0.05 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return
            self.watches.closing.wait(min(0.05, left))

    def _classify(self, record: Request, inc: Incoming) -> None:
        """Record the RBAC verb, resource and namespace as the request arrives (before any
        fault), so a request that never gets an answer is counted too."""
        parts = [p for p in unquote(record.path).split("/") if p]
        is_discovery = parts in (["version"], ["api"], ["apis"], ["api", "v1"]) or (
            parts[:1] == ["apis"] and len(parts) in (2, 3)
        )
        if is_discovery and inc.method in ("GET", "HEAD"):
            record.verb = "get"
            return
        try:
            t = self.apis.route(record.path)
            record.verb = self._verb(t, inc.method, dict(record.query))
        except ApiError:
            return
        record.resource, record.namespace = t.rbac_resource, t.namespace

    def _user(self, token: str | None) -> str:
        s = self.settings
        return s.token_users.get(token, s.default_user) if token else "system:anonymous"

    def _dispatch(
        self,
        inc: Incoming,
        path: str,
        query: dict[str, str],
        content_type: str | None,
        body: Any,
        record: Request,
    ) -> Outcome:
        method = inc.method
        parts = [p for p in unquote(path).split("/") if p]
        if method in ("GET", "HEAD"):
            accept = header(inc.headers, "Accept") or ""
            found = discovery_document(self.apis, parts, accept, self.settings.port)
            if found is not None:
                return Response(200, found[0], content_type=found[1])
        t = self.apis.route(path)
        verb = self._verb(t, method, query)
        user = self._user(inc.token)
        attrs = Attributes(user, verb, t.resource.group, t.rbac_resource, t.namespace, t.name)
        if not self.rules.allowed(attrs):
            raise forbidden(attrs, t)
        if t.subresource == "proxy":
            return self._proxy(t, inc)
        if t.resource.plural == "selfsubjectaccessreviews":
            return Response(201, self.rules.review(body, user))
        dry_run = query.get("dryRun") == "All"
        store, s = self.store, self.settings
        with store.lock:
            if verb == "watch":
                lines = open_watch(
                    store,
                    t,
                    query,
                    default_timeout_s=s.default_watch_timeout_s,
                    max_s=s.max_watch_s,
                    control=self.watches,
                )
                return WatchStream(lines)
            if verb == "get":
                return Response(200, render(store.current(t), t))
            if verb == "list":
                return Response(200, list_response(store, t, query))
            if verb == "create":
                return verbs.create(store, t, body, dry_run)
            if verb == "update":
                return verbs.update(store, t, verbs.check_body(t, body), dry_run)
            if verb == "patch":
                return verbs.patch(store, t, content_type, body, dry_run, s.patch_errors)
            if verb == "delete":
                return verbs.delete(store, t, body, dry_run)
            return verbs.delete_collection(store, t, query, body, dry_run)

    def _verb(self, t: Target, method: str, query: dict[str, str]) -> str:
        """The RBAC verb of the request; 405 for what the real server does not route."""
        if t.subresource == "proxy":
            return _PROXY_VERBS.get(method, method.lower())
        verb = _VERBS.get((method, t.name is not None))
        if verb == "list" and query.get("watch") in ("true", "1"):
            verb = "watch"
        if verb is None or verb not in t.resource.verbs:
            raise ApiError(405)
        if t.across_namespaces and verb not in ("list", "watch"):
            raise ApiError(405)  # only list and watch are served across all namespaces
        return verb

    def _proxy(self, t: Target, inc: Incoming) -> Outcome:
        service_target = Target(t.resource, t.version, t.namespace, None, None)
        name = (t.name or "").split(":")
        svc_name = name[1] if len(name) == 3 else name[0]
        with self.store.lock:
            stored = self.store.objects_at(None).get(self.store.key(service_target, svc_name))
            service = render(stored, service_target) if stored is not None else None
        url = resolve(service, self.backends.of(t.namespace or "", svc_name), t)
        return forward(url, t, inc, f"127.0.0.1:{self.settings.port}")


def _parse_body(raw: bytes, content_type: str | None) -> tuple[Any, ApiError | None]:
    """(JSON, or the text when it is not JSON, or None; the error a protobuf body earns)."""
    if not raw:
        return None, None
    try:
        if (content_type or "").startswith(PROTOBUF):
            return decode(raw), None
        return json.loads(raw), None
    except ApiError as e:
        return None, e
    except ValueError:
        return raw.decode("utf-8", "replace"), None


def _failure(fault: Fault) -> Outcome:
    """The answer of a ``fail`` or ``drop`` fault."""
    if fault.kind == "drop":
        return Drop()
    if fault.status == 429 and fault.message is None:  # priority and fairness: plain text
        plain = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Retry-After", "1" if fault.retry_after is None else str(fault.retry_after)),
            ("X-Content-Type-Options", "nosniff"),
        ]
        return RawResponse(429, plain, [_TOO_MANY], len(_TOO_MANY))
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    return Response(fault.status, status_body(fault.status, fault.message), headers)
