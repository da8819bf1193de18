"""One rollout's Lease on the API server: read, created and replaced compare-and-set on its
resourceVersion, as plain JSON objects.

Through the generic custom-objects client on purpose: the typed Lease client turns the body into
datetimes and writes them back with `isoformat()`, which the API server refuses for a whole
second (see monotui.autopilot.microtime). Every write is a PUT of the object as read, so a Lease
changed by anyone since is a 409 (ConflictError) and nothing is written.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from monotui.autopilot.microtime import format_micro, parse_time
from monotui.autopilot.names import GROUP, MANAGED_BY, PLURAL, RBAC, ROLLOUT_KEY, STATE_KEY, VERSION
from monotui.errors import MonotuiError, SourceError
from monotui.sources import kube_http
from monotui.sources.kube import KubeConnection, translate


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """A Lease as read: the election record, the stored automation state, and the object."""

    holder: str
    duration_s: int
    acquire_t: float | None
    renew_t: float | None
    renew_time: str  # as stored, so a holder can recognise its own renewals
    transitions: int
    version: str
    state: str  # the STATE_KEY annotation, "" when there is none
    obj: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def of(cls, obj: Any) -> LeaseRecord:
        if not isinstance(obj, dict):
            raise SourceError("the API answered a Lease that is not an object")
        meta = _table(obj.get("metadata"))
        spec = _table(obj.get("spec"))
        notes = _table(meta.get("annotations"))
        duration = spec.get("leaseDurationSeconds")
        transitions = spec.get("leaseTransitions")
        renew = spec.get("renewTime")
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            duration_s=duration if isinstance(duration, int) and duration > 0 else 1,
            acquire_t=parse_time(spec.get("acquireTime")),
            renew_t=parse_time(renew),
            renew_time=renew if isinstance(renew, str) else "",
            transitions=transitions if isinstance(transitions, int) else 0,
            version=str(meta.get("resourceVersion", "")),
            state=str(notes.get(STATE_KEY, "")),
            obj=obj,
        )


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def lease_spec(
    holder: str, duration_s: int, acquire_t: float, renew_t: float, transitions: int
) -> dict[str, Any]:
    """The spec of an election record, times as MicroTime strings."""
    return {
        "holderIdentity": holder,
        "leaseDurationSeconds": duration_s,
        "acquireTime": format_micro(acquire_t),
        "renewTime": format_micro(renew_t),
        "leaseTransitions": transitions,
    }


class LeaseLock:
    """The Lease `namespace/name` of rollout `rollout`, over a shared Kubernetes connection."""

    def __init__(
        self, kube: KubeConnection, namespace: str, name: str, rollout: str, *, timeout_s: float
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.rollout = rollout
        self.timeout_s = timeout_s
        self.path = f"{namespace}/{name}"

    def get(self) -> LeaseRecord | None:
        """The Lease now; None when it does not exist."""
        from kubernetes.client.exceptions import ApiException

        try:
            obj = kube_http.call(
                self.kube.custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                self.name,
                timeout_s=self.timeout_s,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise self._error(exc, "get") from None
        except Exception as exc:
            raise self._error(exc, "get") from None
        return LeaseRecord.of(obj)

    def create(self, spec: dict[str, Any], state: str | None = None) -> LeaseRecord:
        """Create the Lease with `spec` (and `state`); ConflictError when someone created it
        first."""
        notes = {ROLLOUT_KEY: self.rollout, **({STATE_KEY: state} if state is not None else {})}
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Lease",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": dict(MANAGED_BY),
                "annotations": notes,
            },
            "spec": spec,
        }
        try:
            obj = kube_http.call(
                self.kube.custom.create_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                body,
                timeout_s=self.timeout_s,
            )
        except Exception as exc:
            raise self._error(exc, "create") from None
        return LeaseRecord.of(obj)

    def update(
        self, record: LeaseRecord, spec: dict[str, Any], state: str | None = None
    ) -> LeaseRecord:
        """Replace the Lease as it was in `record` (its resourceVersion) with `spec` and, unless
        None, `state`; ConflictError when it changed since."""
        body = copy.deepcopy(record.obj)
        body["spec"] = spec
        meta = body.setdefault("metadata", {})
        meta["labels"] = {**(meta.get("labels") or {}), **MANAGED_BY}
        notes = meta.get("annotations") or {}
        notes[ROLLOUT_KEY] = self.rollout
        if state is not None:
            notes[STATE_KEY] = state
        meta["annotations"] = notes
        try:
            obj = kube_http.call(
                self.kube.custom.replace_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                self.name,
                body,
                timeout_s=self.timeout_s,
            )
        except Exception as exc:
            raise self._error(exc, "update") from None
        return LeaseRecord.of(obj)

    def _error(self, exc: BaseException, verb: str) -> MonotuiError:
        return translate(
            exc,
            verb=verb,
            what=f"lease {self.name}",
            namespace=self.namespace,
            resource=RBAC,
            server=self.kube.server,
        )
