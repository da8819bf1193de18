"""``Status`` failure bodies as the apiserver writes them, and the exception that carries one.

:class:`FieldError` and :func:`invalid` build the 422 ``Invalid`` answers exactly as the
apiserver's ``field.Error`` and ``NewInvalid`` format them (``Kind.group "name" is invalid:
[spec.x: Required value, ...]`` with one ``cause`` per error).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "NOT_FOUND",
    "PATCH_TYPES",
    "REJECTED_PATCH",
    "ApiError",
    "FieldError",
    "JsonObj",
    "Verbatim",
    "invalid",
    "status_body",
]

JsonObj = dict[str, Any]

REJECTED_PATCH = "the server rejected our request due to an error in our request"
NOT_FOUND = "the server could not find the requested resource"
PATCH_TYPES = (
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
    """Raised anywhere while handling a request; the handler answers ``code`` with ``body``."""

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


_NO_VALUE = object()


class Verbatim(str):
    """A field error value printed as is (Go's ``%#v`` of some types, e.g. ``0x0``)."""


# field.ErrorType -> (cause reason, how the error body starts)
_FIELD_TYPES = {
    "Required": ("FieldValueRequired", "Required value"),
    "Invalid": ("FieldValueInvalid", "Invalid value"),
    "Forbidden": ("FieldValueForbidden", "Forbidden"),
    "NotSupported": ("FieldValueNotSupported", "Unsupported value"),
    "TooLong": ("FieldValueTooLong", "Too long"),
}


@dataclass(frozen=True)
class FieldError:
    """One ``field.Error``: ``kind`` is Required, Invalid, Forbidden, NotSupported or TooLong."""

    kind: str
    field: str
    value: Any = _NO_VALUE
    detail: str = ""

    @property
    def body(self) -> str:
        """``field.Error.ErrorBody()``: the message without the field path."""
        text = _FIELD_TYPES[self.kind][1]
        if self.kind in ("Invalid", "NotSupported") and self.value is not _NO_VALUE:
            text += f": {_go_value(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.field}: {self.body}"


def _go_value(value: Any) -> str:
    if isinstance(value, Verbatim):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # Go's %q for the strings met here
    return json.dumps(value, separators=(",", ":"))


def invalid(group: str, kind: str, name: str, errors: Sequence[FieldError]) -> ApiError:
    """``NewInvalid``: 422 ``Kind.group "name" is invalid: ...`` with one cause per error."""
    qualified = f"{kind}.{group}" if group else kind
    listed = [str(e) for e in dict.fromkeys(errors)]
    summary = listed[0] if len(listed) == 1 else "[" + ", ".join(listed) + "]"
    causes = [
        {"reason": _FIELD_TYPES[e.kind][0], "message": e.body, "field": e.field} for e in errors
    ]
    return ApiError(
        422,
        f"{qualified} {json.dumps(name)} is invalid: {summary}",
        details={"name": name, "group": group, "kind": kind, "causes": causes},
    )
