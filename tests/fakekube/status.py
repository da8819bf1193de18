"""``Status`` failure bodies as the apiserver writes them, and the exception that carries one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["NOT_FOUND", "PATCH_TYPES", "REJECTED_PATCH", "ApiError", "JsonObj", "status_body"]

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
