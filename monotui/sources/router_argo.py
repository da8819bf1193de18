"""Argo Rollouts as the router (`[rollouts.router] kind = "argo"`): one Rollout, read and watched,
steered by its own verbs (promote, promote --full, abort, retry, pause, resume).

Argo Rollouts owns its steps, so this router takes verbs, not weights (`StepRouter.act`); a weight
write is refused. What the weights and the verbs are: `monotui.sources.argo_rollout`. Status fields
(step index, pause conditions, abort, promoteFull) go through the status subresource, spec.paused
through the main resource, as `kubectl argo rollouts` sends them; a cluster whose Rollout CRD has no
status subresource (Argo Rollouts < 0.10) gets the status patch on the main resource instead.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from monotui.config import RolloutConfig
from monotui.errors import (
    BackendUnavailableError,
    ConflictError,
    MonotuiError,
    NotFoundError,
    ReadOnlyError,
    SourceError,
)
from monotui.model import ActionKind, Phase, Weights
from monotui.sources import jsonpatch
from monotui.sources.argo_rollout import Patch, RolloutView
from monotui.sources.base import RouteState, WriteResult
from monotui.sources.kube import JSON_PATCH, KubeConnection, is_uncertain, is_unserved, translate
from monotui.sources.kube_watch import ObjectWatch

_SEEN = 8  # objects remembered by resourceVersion, so an action needs no extra GET
_UNSEEN_S = 5.0  # how long a write of ours may take to come back through the watch


class ArgoRouter:
    """One Argo Rollouts canary Rollout: its weights, steps and phase; its verbs, compare-and-set."""

    kind = "argo"
    group = "argoproj.io"
    version = "v1alpha1"
    plural = "rollouts"

    def __init__(
        self, kube: KubeConnection, rollout: RolloutConfig, *, can_write: bool = True
    ) -> None:
        self.kube = kube
        self.rollout = rollout
        self.name = rollout.router_name
        self.namespace = rollout.namespace
        self.can_write = can_write
        self.what = f"rollout {self.name}"
        self.resource = f"rollout {self.namespace}/{self.name}"
        self._seen: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._last: RolloutView | None = None
        self._lock = threading.Lock()
        # Held while our PATCHes are in flight: the watch may deliver our own write, or an older
        # version, around then; neither is news, and an older one must not replace what act()
        # returned to the controller.
        self._write_lock = threading.Lock()
        self._unseen: dict[str, float] = {}  # versions we wrote, not yet delivered by the watch

    # --- reading -------------------------------------------------------------------------------

    def read(self) -> RouteState:
        """The weights, steps and phase now; version is the Rollout's resourceVersion."""
        return self._state(self._get())

    def steps(self) -> tuple[int, ...]:
        """The setWeight percentages as last read, ending at 100 (empty before the first read)."""
        with self._lock:
            return self._last.plan_steps() if self._last else ()

    def phase(self) -> Phase | None:
        """The phase as last read (None before the first read)."""
        with self._lock:
            return self._last.phase() if self._last else None

    def message(self) -> str:
        """The current step and Argo's own phase and message, as last read."""
        with self._lock:
            return self._last.message() if self._last else ""

    # --- writing -------------------------------------------------------------------------------

    def write(self, target: Weights, expected: RouteState, *, dry_run: bool = False) -> WriteResult:
        """Refused: Argo Rollouts moves the weights by its steps."""
        return self.act(ActionKind.SET_WEIGHT, expected, dry_run=dry_run)

    def act(self, kind: ActionKind, expected: RouteState, *, dry_run: bool = False) -> WriteResult:
        """Promote/abort/retry/pause/resume the Rollout as read in `expected`, compare-and-set."""
        if not self.can_write:
            raise ReadOnlyError(f"read-only: {self.resource} cannot be written, nothing was sent")
        obj = self._seen_object(expected.version)
        if obj is None:  # a state from another router instance: fetch it, it must not have moved
            obj = self._get()
            if _version(obj) != expected.version:
                raise ConflictError(
                    f"{self.resource} changed since it was read (resourceVersion "
                    f"{expected.version} -> {_version(obj)}); nothing was applied",
                    current=self._state(obj),
                )
        verb = RolloutView.parse(obj, self.resource).plan(kind)
        text = "\n".join(self._describe(p) for p in verb.patches)
        if not verb.patches:
            return WriteResult(None if dry_run else self._state(obj), text, verb.note)
        if dry_run:
            return WriteResult(None, text, verb.note)
        answer: dict[str, Any] = obj
        with self._write_lock:
            for i, patch in enumerate(verb.patches):
                try:
                    answer = self._send(patch)
                except MonotuiError as exc:
                    if i == 0:
                        raise
                    # Half applied: say so. Not a ConflictError, whose handler says "nothing
                    # applied". The rollout stays paused (spec.paused), which is the safe side.
                    cls = MonotuiError if isinstance(exc, ConflictError) else type(exc)
                    raise cls(
                        f"{self.resource}: the status patch was applied, but unpausing "
                        f"spec.paused was not, so the rollout is still paused: {exc}"
                    ) from None
                self._unseen[_version(answer)] = time.monotonic()
            state = self._state(answer)
        return WriteResult(state, text, verb.note)

    def _describe(self, patch: Patch) -> str:
        """What goes on the wire: the endpoint, then the JSON patch byte for byte."""
        where = f"{self.plural}/{self.name}{'/status' if patch.status else ''}"
        return f"{where} {jsonpatch.dumps(patch.ops)}"

    def _send(self, patch: Patch) -> dict[str, Any]:
        custom = self.kube.custom
        args = (self.group, self.version, self.namespace, self.plural, self.name, patch.ops)
        kwargs: dict[str, Any] = {
            "_content_type": JSON_PATCH,
            "_request_timeout": self.kube.timeout_s,
        }
        status = patch.status
        try:
            if status:
                try:
                    answer = custom.patch_namespaced_custom_object_status(*args, **kwargs)
                except Exception as exc:
                    if not is_unserved(exc):
                        raise
                    # No status subresource (Argo Rollouts < 0.10): status lives in the object.
                    status = False
                    answer = custom.patch_namespaced_custom_object(*args, **kwargs)
            else:
                answer = custom.patch_namespaced_custom_object(*args, **kwargs)
        except Exception as exc:
            raise self._write_failed(exc, status) from None
        if not isinstance(answer, dict):
            raise SourceError(f"{self.resource}: the API answered something that is not an object")
        return answer

    def _write_failed(self, exc: BaseException, status: bool) -> MonotuiError:
        error = translate(
            exc,
            verb="patch",
            what=f"{self.what}{'/status' if status else ''}",
            namespace=self.namespace,
            resource=f"{self.plural}{'/status' if status else ''} (API group {self.group})",
            server=self.kube.server,
        )
        if isinstance(error, ConflictError):
            return ConflictError(
                f"{self.resource} changed since it was read; nothing was applied", current=None
            )
        if isinstance(error, BackendUnavailableError) and is_uncertain(exc):
            # The request left: the server may have applied it before the answer was lost.
            try:
                now = f"it now reads {self.read().weights}, {self.message()}"
            except MonotuiError:
                now = "re-reading failed too: check with 'kubectl argo rollouts get rollout'"
            return BackendUnavailableError(
                f"the patch of {self.resource} got no answer, so it MAY have been applied; "
                f"{now}. Look at the rollout before acting again"
            )
        return error

    # --- watching ------------------------------------------------------------------------------

    def watch(self, on_change: Callable[[RouteState], None]) -> Callable[[], None] | None:
        """Follow the Rollout; `on_change` gets every version the Argo controller (or anyone) makes."""

        def changed(obj: dict[str, Any]) -> None:
            if not self._news(_version(obj)):
                return
            try:
                state = self._state(obj)
            except MonotuiError:
                return  # an unreadable object: the next poll shows the error
            on_change(state)

        with self._lock:
            newest = next(reversed(self._seen), None)  # list-then-watch: start after our read
        watcher = ObjectWatch(
            self.kube.custom.list_namespaced_custom_object,
            (self.group, self.version, self.namespace, self.plural),
            self.name,
            changed,
            resource_version=newest,
            thread_name=f"watch {self.resource}",
        )
        return watcher.start()

    def _news(self, version: str) -> bool:
        """Whether a watched version is news: not our own write, nor older than one of ours."""
        with self._write_lock:
            if self._unseen.pop(version, None) is not None:
                return False
            now = time.monotonic()
            for mine, at in list(self._unseen.items()):
                if now - at > _UNSEEN_S:  # the watch skipped it (restarted past it): forget it
                    del self._unseen[mine]
            return not self._unseen

    # --- internals -----------------------------------------------------------------------------

    def _state(self, obj: dict[str, Any]) -> RouteState:
        view = RolloutView.parse(obj, self.resource)
        weights, _ = view.weights()
        version = _version(obj)
        progress = view.progress()
        with self._lock:
            self._last = view
            self._seen[version] = obj
            self._seen.move_to_end(version)
            while len(self._seen) > _SEEN:
                self._seen.popitem(last=False)
        return RouteState(weights, version, self.resource, progress)

    def _seen_object(self, version: str) -> dict[str, Any] | None:
        with self._lock:
            return self._seen.get(version)

    def _get(self) -> dict[str, Any]:
        try:
            obj = self.kube.custom.get_namespaced_custom_object(
                self.group,
                self.version,
                self.namespace,
                self.plural,
                self.name,
                _request_timeout=self.kube.timeout_s,
            )
        except Exception as exc:
            if is_unserved(exc):
                raise NotFoundError(
                    f"the cluster serves no {self.plural}.{self.group}/{self.version} API: are "
                    "Argo Rollouts' CRDs installed, and is --context the right cluster?"
                ) from None
            raise translate(
                exc,
                verb="get",
                what=self.what,
                namespace=self.namespace,
                resource=f"{self.plural}.{self.group}",
                server=self.kube.server,
            ) from None
        if not isinstance(obj, dict):
            raise SourceError(f"{self.resource}: the API answered something that is not an object")
        return obj


def _version(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))
