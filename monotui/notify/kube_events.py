"""Each action also as a Kubernetes Event on the resource it changed, so `kubectl describe` and
the cluster's event pipeline see it: a core v1 Event (involvedObject with the object's uid,
reason `MonotuiRollback`..., a message with the judge's numbers, type Normal or Warning, source
and reportingComponent `monotui`), posted through the rollout's own Kubernetes connection (the
one its router or flag source shares, `BuildContext.kube()`), on a thread of its own.

Posting never stands in an action's way: when RBAC forbids creating Events the action has
already succeeded, and the rollout's events panel says once that Kubernetes Events are off
there. Resources that are not Kubernetes objects (a flagd file, the demo's world) get none.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monotui.model import ActionEvent, ActionKind, Event, EventLevel
from monotui.notify.message import numbers_of
from monotui.notify.wording import facts_line
from monotui.outside_text import literal

if TYPE_CHECKING:
    from monotui.rollout import Rollout
    from monotui.sources.kube import KubeConnection

log = logging.getLogger(__name__)

KINDS = {
    "virtualservices": "VirtualService",
    "httproutes": "HTTPRoute",
    "grpcroutes": "GRPCRoute",
    "rollouts": "Rollout",
    "featureflags": "FeatureFlag",
}
"""The kind of each resource monotui changes, by its plural."""
MESSAGE_MAX = 1024
WARNING = frozenset({ActionKind.ROLLBACK, ActionKind.PAUSE})


@dataclass(frozen=True, slots=True)
class Target:
    """The object an Event is about, and the connection to post it with."""

    kube: KubeConnection
    api_version: str
    kind: str
    name: str
    namespace: str
    uid: str = ""
    resource_version: str = ""


def target_of(rollout: Rollout, event: ActionEvent) -> Target | None:
    """The Kubernetes object the action changed (None when it is not one)."""
    assert event.result is not None
    if event.result.action.kind == ActionKind.TOGGLE_FLAG:
        flags = rollout.actuator.flags
        from monotui.sources import flags_featureflag as ff

        if isinstance(flags, ff.FeatureFlagFlags):
            return Target(
                flags.kube, f"{ff.GROUP}/{ff.VERSION}", "FeatureFlag", flags.name, flags.namespace
            )
        return None
    obj = getattr(rollout.actuator.router, "object", None)
    kube = getattr(obj, "kube", None)
    if obj is None or kube is None or obj.plural not in KINDS:
        return None
    route = rollout.actuator.state.route
    uid = ""
    if route is not None:
        try:
            uid = str(obj.as_read(route.version).get("metadata", {}).get("uid") or "")
        except Exception:  # moved since, or unreachable: the Event goes without the uid
            uid = ""
    version = obj.api_version or obj.versions[0]
    return Target(
        kube,
        f"{obj.group}/{version}",
        KINDS[obj.plural],
        obj.name,
        obj.namespace,
        uid,
        route.version if route else "",
    )


def event_body(target: Target, event: ActionEvent, numbers: str, host: str) -> dict[str, Any]:
    """The core v1 Event for one applied action."""
    assert event.result is not None
    action = event.result.action
    verb = "".join(part.capitalize() for part in action.kind.value.split("_"))
    who = "the automation" if event.automatic else f"{action.origin}"
    message = literal(f"{event.result.message} (by {who}); {numbers}", max_len=MESSAGE_MAX)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    involved = {
        "apiVersion": target.api_version,
        "kind": target.kind,
        "name": target.name,
        "namespace": target.namespace,
    }
    if target.uid:
        involved["uid"] = target.uid
    if target.resource_version:
        involved["resourceVersion"] = target.resource_version
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{target.name}.", "namespace": target.namespace},
        "involvedObject": involved,
        "reason": f"Monotui{verb}",
        "message": message,
        "type": "Warning" if action.kind in WARNING or not event.result.ok else "Normal",
        "action": verb,
        "source": {"component": "monotui", "host": host},
        "reportingComponent": "monotui",
        "reportingInstance": literal(f"monotui-{host}", max_len=128),
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


class KubeEvents:
    """A subscriber of the event bus: applied actions become Kubernetes Events. Thread-safe."""

    def __init__(self, rollouts: Sequence[Rollout], *, host: str | None = None) -> None:
        self.rollouts = {r.name: r for r in rollouts}
        self.host = host or socket.gethostname()
        self.posted = 0
        self._off: set[tuple[str, str]] = set()  # (context, namespace) where RBAC said no
        self._queue: queue.Queue[tuple[ActionEvent, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="monotui kube events", daemon=True)

    def start(self) -> KubeEvents:
        self._thread.start()
        return self

    def __call__(self, event: Event) -> None:
        if not isinstance(event, ActionEvent) or event.result is None:
            return
        result = event.result
        if not (result.ok and result.changed):
            return  # nothing changed (a dry-run, "already at")
        rollout = self.rollouts.get(event.rollout)
        if rollout is not None:
            self._queue.put((event, numbers_of(rollout.snapshot())))

    def close(self, timeout_s: float = 5.0) -> None:
        """Post what is queued (within `timeout_s`), then stop."""
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._post(*item)
            except Exception:  # an Event must never take the notifier down
                log.exception("posting a Kubernetes Event failed")
            finally:
                self._queue.task_done()

    def _post(self, event: ActionEvent, numbers: Any) -> None:
        rollout = self.rollouts[event.rollout]
        target = target_of(rollout, event)
        if target is None:
            return
        where = (target.kube.context, target.namespace)
        if where in self._off:
            return
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        from monotui.sources.kube import translate

        body = event_body(target, event, facts_line(numbers), self.host)
        api = client.CoreV1Api(target.kube.api_client)
        try:
            api.create_namespaced_event(  # the client sends a dict body as it is
                target.namespace,
                body,  # type: ignore[arg-type]
                _request_timeout=target.kube.timeout_s,
            )
        except ApiException as exc:
            if exc.status in (401, 403):
                self._off.add(where)
                rollout.observer.told.tell(
                    Event,
                    f"kubernetes events are off in namespace {target.namespace}: the API "
                    "refused to create events (grant 'create' on events there); the actions "
                    "themselves still work",
                    EventLevel.WARN,
                )
                return
            error = translate(
                exc, verb="create", what="an event", namespace=target.namespace, resource="events"
            )
            log.warning("%s", error)
            return
        except Exception as exc:
            log.warning("kubernetes event not posted: %s", literal(exc))
            return
        self.posted += 1
