"""One namespaced custom object as the routers use it: read with API-version fallback, remembered by
resourceVersion, JSON-patched (the object or its status subresource) with errors a user can act on,
and watched for the changes that are not our own writes.

The Istio and Gateway API routers (`KubeRouter`) and the Argo Rollouts router (`ArgoRouter`) each
own one `KubeObject` and keep only what their object means (weights, steps, verbs) to themselves.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from monotui.errors import (
    BackendUnavailableError,
    ConflictError,
    MonotuiError,
    NotFoundError,
    SourceError,
    UncertainWriteError,
)
from monotui.sources import jsonpatch, kube_http
from monotui.sources.kube import JSON_PATCH, KubeConnection, is_uncertain, is_unserved, translate
from monotui.sources.kube_informers import CachedObject, InformerPool, Kind
from monotui.sources.kube_watch import ObjectWatch

_SEEN = 8  # objects remembered by resourceVersion, so a write needs no extra GET
_UNSEEN_S = 5.0  # how long a write of ours may take to come back through the watch

# How a refused PATCH names the RBAC resource: kubectl's "virtualservices.networking.istio.io", or
# "rollouts/status (API group argoproj.io)" where a subresource would make the dotted form unclear.
RBAC_DOTTED = "{resource}.{group}"
RBAC_GROUP_APART = "{resource} (API group {group})"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Recheck:
    """What to tell a user after a PATCH that got no answer, so it MAY have been applied."""

    now: Callable[[], str]  # re-reads the object: what it says now ("90/10"); may raise
    command: str  # what to run when re-reading fails too ("kubectl get virtualservices")
    look_at: str  # what to look at before acting again ("the weights")


def version_of(obj: dict[str, Any]) -> str:
    """The object's resourceVersion ("" if it has none)."""
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))


class KubeObject:
    """One namespaced custom object `name` of `plural`.`group`, served at one of `versions`."""

    def __init__(
        self,
        kube: KubeConnection,
        *,
        group: str,
        versions: tuple[str, ...],
        plural: str,
        singular: str,
        name: str,
        namespace: str,
        unserved: str,
        recheck: Recheck,
        patch_rbac: str = RBAC_DOTTED,
        informers: InformerPool | None = None,
    ) -> None:
        """`unserved` is the whole message when the cluster serves none of `versions`.
        `informers`: read from (and follow through) the session's shared list+watch of this
        kind instead of a GET per read and a watch per object."""
        self.kube = kube
        self.group = group
        self.versions = versions
        self.plural = plural
        self.name = name
        self.namespace = namespace
        self.what = f"{singular} {name}"
        self.resource = f"{singular} {namespace}/{name}"
        self.rbac = RBAC_DOTTED.format(resource=plural, group=group)
        self.api_version: str | None = None  # chosen on first contact: the first one served
        self._unserved = unserved
        self._recheck = recheck
        self._patch_rbac = patch_rbac
        self._seen: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        # Held while our PATCHes are in flight. The watch may deliver our own write before the
        # PATCH answers, or an older version after it: neither is a change made elsewhere, and an
        # older version must not overwrite the newer one the caller got from the PATCH.
        self._write_lock = threading.RLock()
        self._unseen: dict[str, float] = {}  # versions we wrote, not yet delivered by the watch
        self._cache: CachedObject | None = None
        if informers is not None:
            kind = Kind(group, versions, plural, unserved, self.rbac)
            self._cache = informers.cache(kind, namespace, name)

    # --- reading -------------------------------------------------------------------------------

    def get(self) -> dict[str, Any]:
        """The object now: from the shared informer's cache when there is one (typed errors
        while it is not fresh), else a GET."""
        if self._cache is None:
            return self.fetch()
        obj = self._cache.get(self.what)
        self.api_version = self.api_version or self._cache.version()
        return obj

    def fetch(self) -> dict[str, Any]:
        """GET the object; on first contact, try each API version until one is served.

        With a single version there is nothing to fall back to: its unserved 404 always means the
        API is missing. With several, the version once chosen is kept.
        """
        from kubernetes.client.exceptions import ApiException

        single = len(self.versions) == 1
        for version in (self.api_version,) if self.api_version else self.versions:
            try:
                obj = kube_http.call(
                    self.kube.custom.get_namespaced_custom_object,
                    self.group,
                    version,
                    self.namespace,
                    self.plural,
                    self.name,
                    timeout_s=self.kube.timeout_s,
                    what=f"the API server's answer for {self.resource}",
                )
            except Exception as exc:
                if (self.api_version is None or single) and is_unserved(exc):
                    continue  # this cluster lacks that version: try the next one
                if isinstance(exc, ApiException) and exc.status == 404:
                    self.api_version = version  # served; only the object is missing
                raise self._translate(exc, "get") from None
            self.api_version = version
            if not isinstance(obj, dict):
                raise SourceError(
                    f"{self.resource}: the API answered something that is not an object"
                )
            if self._cache is not None:
                self._cache.offer(obj)
            return obj
        raise NotFoundError(self._unserved)

    def version(self) -> str:
        """The API version in use: the only one, or the first of `versions` the cluster serves."""
        if self.api_version is None and self._cache is not None:
            self.api_version = self._cache.version()
        if self.api_version is None and len(self.versions) > 1:
            self.fetch()
        return self.api_version or self.versions[0]

    def remember(self, obj: dict[str, Any]) -> str:
        """Keep `obj` under its resourceVersion (the last few), so a write needs no extra GET."""
        version = version_of(obj)
        with self._lock:
            self._seen[version] = obj
            self._seen.move_to_end(version)
            while len(self._seen) > _SEEN:
                self._seen.popitem(last=False)
        return version

    def as_read(self, version: str) -> dict[str, Any]:
        """The object as it was read at `version`; ConflictError if it has moved since.

        A version not remembered (e.g. read by another instance) is fetched, and must still be the
        object's version.
        """
        with self._lock:
            obj = self._seen.get(version)
        if obj is None:
            obj = self.get()
            if version_of(obj) != version and self._cache is not None:
                obj = self.fetch()  # the cache may lag a change made a moment ago
            if version_of(obj) != version:
                raise ConflictError(
                    f"{self.resource} changed since it was read (resourceVersion "
                    f"{version} -> {version_of(obj)}); nothing was applied"
                )
        return obj

    # --- writing -------------------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the watch's news back while PATCHes are sent and their answers taken in.

        Take in (`remember`) the answers inside it, so an older version the watch delivers
        meanwhile cannot overtake them.
        """
        with self._write_lock:
            yield

    def patch(self, ops: list[jsonpatch.Op], *, status: bool = False) -> dict[str, Any]:
        """Send `ops` as one JSON patch, to the status subresource if `status`; the new object.

        A cluster without a status subresource (its 404 says the path is not served) gets a
        status patch on the object itself. Errors are translated; a PATCH that got no answer says
        it MAY have been applied and what the object reads now.
        """
        custom = self.kube.custom
        args = (self.group, self.version(), self.namespace, self.plural, self.name, ops)
        kwargs: dict[str, Any] = {
            "_content_type": JSON_PATCH,
            "timeout_s": self.kube.timeout_s,
            "what": f"the API server's answer to the patch of {self.resource}",
        }
        with self._write_lock:
            try:
                if status:
                    try:
                        answer = kube_http.call(
                            custom.patch_namespaced_custom_object_status, *args, **kwargs
                        )
                    except Exception as exc:
                        if not is_unserved(exc):
                            raise
                        status = False  # no status subresource: status lives in the object
                        answer = kube_http.call(
                            custom.patch_namespaced_custom_object, *args, **kwargs
                        )
                else:
                    answer = kube_http.call(custom.patch_namespaced_custom_object, *args, **kwargs)
            except Exception as exc:
                raise self._write_failed(exc, status, jsonpatch.dumps(ops)) from None
            if not isinstance(answer, dict):
                raise SourceError(
                    f"{self.resource}: the API answered something that is not an object"
                )
            self._unseen[version_of(answer)] = time.monotonic()
            if self._cache is not None:
                self._cache.offer(answer)  # the next read shows our write, never the version before
        return answer

    def _write_failed(self, exc: BaseException, status: bool, patch: str) -> MonotuiError:
        sub = "/status" if status else ""
        error = self._translate(
            exc,
            "patch",
            what=f"{self.what}{sub}",
            rbac=self._patch_rbac.format(resource=f"{self.plural}{sub}", group=self.group),
        )
        if isinstance(error, ConflictError):
            if self._cache is not None:  # the next read shows their change, not what we had
                with contextlib.suppress(MonotuiError):
                    self.fetch()
            return ConflictError(f"{self.resource} changed since it was read; nothing was applied")
        sent = isinstance(error, BackendUnavailableError) and is_uncertain(exc)
        if sent or isinstance(exc, kube_http.ResponseTooLarge):
            # The request left: the server may have applied it before the answer was lost.
            try:
                now = f"it now reads {self._recheck.now()}"
            except MonotuiError:
                now = f"re-reading failed too: check with '{self._recheck.command}'"
            return UncertainWriteError(
                f"the patch of {self.resource} got no answer, so it MAY have been applied; "
                f"{now}. Look at {self._recheck.look_at} before acting again",
                patch,
            )
        return error

    # --- watching ------------------------------------------------------------------------------

    def watch(
        self,
        parse: Callable[[dict[str, Any]], T],
        on_change: Callable[[T], None],
        on_error: Callable[[MonotuiError], None] | None = None,
    ) -> Callable[[], None]:
        """Follow the object; `on_change(parse(obj))` for every version that is not our own write,
        `on_error(typed error)` each time the watch fails (it is retried with backoff).

        Starts after the newest version remembered (list-then-watch). An object `parse` refuses
        is skipped: the next poll shows its error. Returns the stop function.
        """
        version = self.version()  # choose it now, in the caller's thread, with its errors

        def changed(obj: dict[str, Any]) -> None:
            if not self._news(version_of(obj)):
                return
            try:
                state = parse(obj)
            except MonotuiError:
                return
            on_change(state)

        def failed(exc: BaseException) -> None:
            if on_error is not None:
                on_error(self._translate(exc, "watch"))

        if self._cache is not None:
            return self._cache.subscribe(changed, on_error)
        with self._lock:
            newest = next(reversed(self._seen), None)
        watcher = ObjectWatch(
            self.kube.custom.list_namespaced_custom_object,
            (self.group, version, self.namespace, self.plural),
            self.name,
            changed,
            on_error=failed,
            resource_version=newest,
            thread_name=f"watch {self.resource}",
        )
        return watcher.start()

    def _news(self, version: str) -> bool:
        """Whether a version the watch delivers is news: not our own write, nor older than one.

        Watch events come in order: until the watch delivers a write of ours, what it delivers
        is older than that write, which the caller already has from the PATCH.
        """
        with self._write_lock:
            if self._unseen.pop(version, None) is not None:
                return False  # our own write
            now = time.monotonic()
            for mine, at in list(self._unseen.items()):
                if now - at > _UNSEEN_S:  # the watch skipped it (restarted past it): forget it
                    del self._unseen[mine]
            return not self._unseen

    def _translate(
        self, exc: BaseException, verb: str, *, what: str | None = None, rbac: str | None = None
    ) -> MonotuiError:
        return translate(
            exc,
            verb=verb,
            what=what or self.what,
            namespace=self.namespace,
            resource=rbac or self.rbac,
            server=self.kube.server,
        )
