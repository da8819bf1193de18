"""What the apiserver does per kind on a write, beyond the generic verbs in :mod:`.verbs`.

:func:`admit` runs on every create and update in the request's shape: time fields decoded and
re-encoded (:mod:`.times`, a 400 like the real decoder's), defaults (a Namespace is ``Active``,
a Service gets a clusterIP, TCP and a targetPort), and validation (422 :func:`~.status.invalid`):
object names, Events (:mod:`.events`), Lease durations, Service ports. :func:`to_storage` and
:func:`from_storage` convert events.k8s.io Events to and from the core Events they are stored as.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from tests.fakekube import events
from tests.fakekube.apis import Resource, Target, group_version
from tests.fakekube.status import ApiError, FieldError, JsonObj, invalid
from tests.fakekube.times import TimeFormatError, normalize_time

__all__ = ["admit", "from_storage", "to_storage"]

_DNS1123 = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    f"for validation is '{_DNS1123}')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    f"used for validation is '{_DNS_LABEL}')"
)
# (group, plural) -> (time fields, micro-time fields), as dotted paths in the stored shape
_TIME_FIELDS: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("", "events"): (("firstTimestamp", "lastTimestamp"), ("eventTime", "series.lastObservedTime")),
    ("events.k8s.io", "events"): (
        ("deprecatedFirstTimestamp", "deprecatedLastTimestamp"),
        ("eventTime", "series.lastObservedTime"),
    ),
    ("coordination.k8s.io", "leases"): ((), ("spec.acquireTime", "spec.renewTime")),
}
_LEASE_INTS = ("leaseDurationSeconds", "leaseTransitions")


def to_storage(res: Resource, obj: JsonObj) -> JsonObj:
    """``obj`` (in the resource's shape) as it is stored."""
    return events.to_core(obj) if res.storage_group != res.group else obj


def from_storage(res: Resource, obj: JsonObj, version: str) -> JsonObj:
    """A stored object (a copy the caller owns) as the resource serves it at ``version``."""
    if res.storage_group != res.group:
        return events.from_core(obj, version)
    obj["apiVersion"] = group_version(res.group, version)
    return obj


def admit(t: Target, obj: JsonObj, old: JsonObj | None) -> None:
    """Decode, default and validate a create (``old`` None) or an update, in place."""
    res = t.resource
    if res.builtin:
        _decode_times(t, obj)
    name = obj["metadata"].get("name") or ""
    errors: list[FieldError] = []
    if old is None:
        errors += _name_errors(name, label=res.plural == "namespaces")
    check = _RULES.get((res.storage_group, res.plural))
    if check is not None:
        errors += check(t, obj, old)
    if errors:
        raise invalid(res.group, res.kind, name, errors)


def _decode_error(t: Target, why: str) -> ApiError:
    kind = t.resource.kind
    return ApiError(400, f'{kind} in version "{t.version}" cannot be handled as a {kind}: {why}')


def _decode_times(t: Target, obj: JsonObj) -> None:
    times, micro_times = _TIME_FIELDS.get((t.resource.group, t.resource.plural), ((), ()))
    for path, micro in [(p, False) for p in times] + [(p, True) for p in micro_times]:
        *parents, leaf = path.split(".")
        node: Any = obj
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(leaf) is not None:
            try:
                node[leaf] = normalize_time(node[leaf], micro=micro)
            except TimeFormatError as e:
                raise _decode_error(t, str(e)) from None


def _name_errors(name: str, *, label: bool) -> list[FieldError]:
    pattern, message, limit = (
        (_DNS_LABEL, _LABEL_MSG, 63) if label else (_DNS1123, _SUBDOMAIN_MSG, 253)
    )
    if not name:
        return []  # create() already answered "name or generateName is required"
    errors = []
    if len(name) > limit:
        errors.append(
            FieldError("Invalid", "metadata.name", name, f"must be no more than {limit} characters")
        )
    if not re.fullmatch(pattern, name):
        errors.append(FieldError("Invalid", "metadata.name", name, message))
    return errors


def _event_rules(t: Target, obj: JsonObj, old: JsonObj | None) -> list[FieldError]:
    core = to_storage(t.resource, dict(obj))
    errors = events.event_errors(core, strict=t.resource.group == "events.k8s.io")
    # Fields Go writes even when empty (no omitempty, or a zero time that marshals as null).
    shown = (
        events.from_core(events.WIRE_DEFAULTS, "v1") if t.resource.group else events.WIRE_DEFAULTS
    )
    for key, value in shown.items():
        if key != "apiVersion":
            obj.setdefault(key, value)
    return errors


def _lease_rules(t: Target, obj: JsonObj, old: JsonObj | None) -> list[FieldError]:
    spec = obj.get("spec") or {}
    for field_name in _LEASE_INTS:
        value = spec.get(field_name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise _decode_error(
                t,
                f"json: cannot unmarshal {type(value).__name__} into Go struct field "
                f"LeaseSpec.spec.{field_name} of type int32",
            )
    holder = spec.get("holderIdentity")
    if holder is not None and not isinstance(holder, str):
        raise _decode_error(
            t,
            "json: cannot unmarshal number into Go struct field LeaseSpec.spec.holderIdentity "
            "of type string",
        )
    errors = []
    duration, transitions = spec.get("leaseDurationSeconds"), spec.get("leaseTransitions")
    if duration is not None and duration <= 0:
        errors.append(
            FieldError("Invalid", "spec.leaseDurationSeconds", duration, "must be greater than 0")
        )
    if transitions is not None and transitions < 0:
        errors.append(
            FieldError(
                "Invalid",
                "spec.leaseTransitions",
                transitions,
                "must be greater than or equal to 0",
            )
        )
    return errors


def _namespace_rules(t: Target, obj: JsonObj, old: JsonObj | None) -> list[FieldError]:
    if old is None:
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
    return []


def _service_rules(t: Target, obj: JsonObj, old: JsonObj | None) -> list[FieldError]:
    spec = obj.setdefault("spec", {})
    kind = spec.setdefault("type", "ClusterIP")
    if old is not None:  # clusterIP is immutable and kept from the stored Service
        for k in ("clusterIP", "clusterIPs"):
            if k in (old.get("spec") or {}):
                spec.setdefault(k, old["spec"][k])
    elif kind != "ExternalName" and not spec.get("clusterIP"):
        digest = hashlib.sha256(f"{t.namespace}/{obj['metadata'].get('name')}".encode()).digest()
        spec["clusterIP"] = f"10.96.{digest[0]}.{digest[1] or 1}"
    if spec.get("clusterIP"):
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
    spec.setdefault("sessionAffinity", "None")
    ports = spec.get("ports") or []
    errors = []
    if not ports and kind != "ExternalName" and spec.get("clusterIP") != "None":
        errors.append(FieldError("Required", "spec.ports"))
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        port.setdefault("protocol", "TCP")
        if "port" in port:
            port.setdefault("targetPort", port["port"])
        if len(ports) > 1 and not port.get("name"):
            errors.append(FieldError("Required", f"spec.ports[{i}].name"))
    if old is None:
        obj["status"] = {"loadBalancer": {}}
    return errors


_RULES: dict[tuple[str, str], Callable[[Target, JsonObj, JsonObj | None], list[FieldError]]] = {
    ("", "events"): _event_rules,
    ("coordination.k8s.io", "leases"): _lease_rules,
    ("", "namespaces"): _namespace_rules,
    ("", "services"): _service_rules,
}
