"""Events: one stored object shown as a core ``v1`` Event or an ``events.k8s.io/v1`` Event.

The apiserver stores both as one type, so an Event posted through either API is listed by both.
Validation follows ``ValidateEventCreate``/``ValidateEventUpdate``: through core v1 only the
"legacy" rules apply (without ``eventTime`` hardly anything is required; with it
``reportingComponent``, ``reportingInstance``, ``action`` and ``reason`` are); through
events.k8s.io also ``eventTime``, a ``type`` of Normal or Warning, and unset deprecated fields.
"""

from __future__ import annotations

import re

from tests.fakekube.status import FieldError, JsonObj

__all__ = ["WIRE_DEFAULTS", "event_errors", "from_core", "qualified_name_errors", "to_core"]

# What a core Event shows for fields left empty: a zero time is ``null``, not absent.
WIRE_DEFAULTS: JsonObj = {
    "eventTime": None,
    "firstTimestamp": None,
    "lastTimestamp": None,
    "reportingComponent": "",
    "reportingInstance": "",
    "source": {},
}

# events.k8s.io/v1 field -> core v1 field
_RENAMED = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reportingController": "reportingComponent",
}
_TO_EVENTS_V1 = {core: v1 for v1, core in _RENAMED.items()}
_LIMITS = {"reportingInstance": 128, "action": 128, "reason": 128}
_NOTE_LIMIT = 1024
_NAME_PART = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_NAME_PART_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
    f"for validation is '{_NAME_PART}')"
)
_DNS1123 = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    f"for validation is '{_DNS1123}')"
)


def to_core(obj: JsonObj) -> JsonObj:
    """An events.k8s.io Event as the core v1 Event it is stored as."""
    out = {_RENAMED.get(k, k): v for k, v in obj.items()}
    out["apiVersion"] = "v1"
    return out


def from_core(obj: JsonObj, version: str) -> JsonObj:
    """A stored core v1 Event as served by events.k8s.io at ``version``."""
    out = {_TO_EVENTS_V1.get(k, k): v for k, v in obj.items()}
    out["apiVersion"] = f"events.k8s.io/{version}"
    return out


def qualified_name_errors(value: str, field: str) -> list[FieldError]:
    """``ValidateQualifiedName``: ``[prefix/]name`` with a DNS prefix and a 63-character name."""
    if value.count("/") > 1:
        example = "(e.g. 'example.com/MyName')"
        detail = f"a qualified {_NAME_PART_MSG[5:]} with an optional DNS subdomain prefix and '/' "
        return [FieldError("Invalid", field, value, detail + example)]
    prefix, _, name = value.rpartition("/")
    errors = []
    if not name:
        errors.append(FieldError("Invalid", field, value, "name part must be non-empty"))
    elif len(name) > 63:
        errors.append(
            FieldError("Invalid", field, value, "name part must be no more than 63 characters")
        )
    if not re.fullmatch(_NAME_PART, name):
        errors.append(FieldError("Invalid", field, value, _NAME_PART_MSG))
    if "/" in value and not re.fullmatch(_DNS1123, prefix):
        errors.append(FieldError("Invalid", field, value, "prefix part " + _DNS1123_MSG))
    return errors


def event_errors(event: JsonObj, *, strict: bool) -> list[FieldError]:
    """What the apiserver refuses in a core-shaped Event (``strict`` through events.k8s.io)."""
    errors: list[FieldError] = []
    meta = event.get("metadata") or {}
    namespace = meta.get("namespace") or ""
    involved = event.get("involvedObject") or {}
    involved_ns = involved.get("namespace") or ""
    mismatch = FieldError(
        "Invalid", "involvedObject.namespace", involved_ns, "does not match event.namespace"
    )
    controller_field = "reportingController" if strict else "reportingComponent"
    if not event.get("eventTime"):
        if (involved_ns and namespace != involved_ns) or (
            not involved_ns and namespace not in ("", "default")
        ):
            errors.append(mismatch)
    else:
        if not involved_ns and namespace not in ("default", "kube-system"):
            errors.append(mismatch)
        controller = event.get("reportingComponent") or ""
        if not controller:
            errors.append(FieldError("Required", controller_field))
        errors += qualified_name_errors(controller, controller_field)
        for field_name in ("reportingInstance", "action", "reason"):
            value = event.get(field_name) or ""
            if not value:
                errors.append(FieldError("Required", field_name))
            if len(value) > _LIMITS[field_name]:
                limit = f"can have at most {_LIMITS[field_name]} characters"
                errors.append(FieldError("Invalid", field_name, "", limit))
        if len(event.get("message") or "") > _NOTE_LIMIT:
            limit = f"can have at most {_NOTE_LIMIT} characters"
            errors.append(FieldError("Invalid", "message", "", limit))
    if not re.fullmatch(_DNS1123, namespace) or len(namespace) > 253:
        errors.append(FieldError("Invalid", "namespace", namespace, _DNS1123_MSG))
    if strict:
        errors += _strict_errors(event)
    return errors


def _strict_errors(event: JsonObj) -> list[FieldError]:
    errors: list[FieldError] = []
    series = event.get("series")
    if series:
        if (series.get("count") or 0) < 2:
            errors.append(FieldError("Invalid", "series.count", "", "should be at least 2"))
        if not series.get("lastObservedTime"):
            errors.append(FieldError("Required", "series.lastObservedTime"))
    if not event.get("eventTime"):
        errors.append(FieldError("Required", "eventTime"))
    if event.get("type") not in ("Normal", "Warning"):
        detail = f"has invalid value: {event.get('type') or ''}"
        errors.append(FieldError("Invalid", "type", "", detail))
    for field_name in ("firstTimestamp", "lastTimestamp", "count"):
        if event.get(field_name):
            errors.append(FieldError("Invalid", field_name, "", "needs to be unset"))
    source = event.get("source") or {}
    if source.get("component") or source.get("host"):
        errors.append(FieldError("Invalid", "source", "", "needs to be unset"))
    return errors
