"""List requests as the apiserver answers them: resourceVersion semantics and pagination.

``resourceVersion`` unset is a consistent read (now); ``0`` is "any" (the fake answers now);
``N`` is "not older than N" (now, or 504 when N is in the future) unless ``limit`` is set or
``resourceVersionMatch=Exact``, which read exactly at N (410 when N was compacted away).
``limit``/``continue`` pages are consistent: every page is read at the first page's
resourceVersion; a continue token whose resourceVersion was compacted answers 410 with a fresh
token for an inconsistent remainder, as etcd does. ``metadata.resourceVersion`` is the one read
at; ``remainingItemCount`` is set when there is no selector. Items of built-in kinds carry no
apiVersion/kind, as the real typed lists do (custom resources' items keep them).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from tests.fakekube.apis import Target
from tests.fakekube.selectors import object_filter
from tests.fakekube.status import ApiError, FieldError, JsonObj, invalid, status_body
from tests.fakekube.store import ObjectStore, render

__all__ = ["list_body", "list_response", "too_large"]

_LIST_TOO_OLD = "The resourceVersion for the provided list is too old."
_CONTINUE_TOO_OLD = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)


def list_body(
    t: Target, items: list[JsonObj], rv: int, continue_token: str = "", remaining: int | None = None
) -> JsonObj:
    """A ``<Kind>List`` of already rendered items."""
    if t.resource.builtin:
        items = [{k: v for k, v in i.items() if k not in ("apiVersion", "kind")} for i in items]
    meta: JsonObj = {"resourceVersion": str(rv)}
    if continue_token:
        meta["continue"] = continue_token
        if remaining is not None:
            meta["remainingItemCount"] = remaining
    return {
        "apiVersion": t.group_version,
        "kind": f"{t.resource.kind}List",
        "metadata": meta,
        "items": items,
    }


def too_large(rv: int, current: int) -> ApiError:
    """The 504 for a resourceVersion the store has not reached yet."""
    return ApiError(
        504,
        f"Too large resource version: {rv}, current: {current}",
        reason="Timeout",
        details={
            "causes": [
                {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
            ],
            "retryAfterSeconds": 1,
        },
    )


def _encode_continue(rv: int, key: tuple[str, str]) -> str:
    start = f"{key[0]}/{key[1]}\x00" if key[0] else f"{key[1]}\x00"
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        rv, start = int(data["rv"]), str(data["start"]).rstrip("\x00")
        if data.get("v") != "meta.k8s.io/v1" or rv == 0:
            raise ValueError("unknown or invalid continue token version")
    except (binascii.Error, ValueError, KeyError, TypeError) as e:
        raise ApiError(400, f"invalid continue token: {e}") from None
    ns, _, name = start.rpartition("/")
    return rv, (ns, name)


def _options_error(errors: list[FieldError]) -> ApiError:
    return invalid("meta.k8s.io", "ListOptions", "", errors)


def _read_at(store: ObjectStore, query: Mapping[str, str], limit: int) -> tuple[int | None, str]:
    """(the RV to read exactly at, or None for now; "exact", "continue" or "") from the query."""
    rv_param = query.get("resourceVersion") or ""
    match = query.get("resourceVersionMatch") or ""
    token = query.get("continue") or ""
    errors = []
    if "sendInitialEvents" in query:
        detail = "sendInitialEvents is forbidden for list"
        errors.append(FieldError("Forbidden", "sendInitialEvents", detail=detail))
    if match:
        if not rv_param:
            detail = "resourceVersionMatch is forbidden unless resourceVersion is provided"
            errors.append(FieldError("Forbidden", "resourceVersionMatch", detail=detail))
        if token:
            detail = "resourceVersionMatch is forbidden when continue is provided"
            errors.append(FieldError("Forbidden", "resourceVersionMatch", detail=detail))
        if match not in ("Exact", "NotOlderThan"):
            detail = 'supported values: "Exact", "NotOlderThan", ""'
            errors.append(FieldError("NotSupported", "resourceVersionMatch", match, detail))
        if match == "Exact" and rv_param == "0":
            detail = 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'
            errors.append(FieldError("Forbidden", "resourceVersionMatch", detail=detail))
    if errors:
        raise _options_error(errors)
    if token:
        if rv_param not in ("", "0"):
            raise ApiError(400, "specifying resource version is not allowed when using continue")
        return None, "continue"
    if not rv_param:
        return None, ""
    if not rv_param.isdigit():
        raise ApiError(
            400,
            f'resourceVersion: Invalid value: "{rv_param}": strconv.ParseUint: parsing '
            f'"{rv_param}": invalid syntax',
        )
    rv = int(rv_param)
    if rv > store.resource_version:
        raise too_large(rv, store.resource_version)
    if match == "Exact" or (not match and limit > 0 and rv != 0):
        return rv, "exact"
    return None, ""


def list_response(store: ObjectStore, t: Target, query: Mapping[str, str]) -> JsonObj:
    """The ``<Kind>List`` (one page of it) a list request for the target answers."""
    selected = object_filter(query, t.resource)
    try:
        limit = int(query.get("limit") or 0)
    except ValueError:
        raise ApiError(400, f"invalid limit {query.get('limit')!r}") from None
    if limit < 0:
        raise ApiError(400, "list limit must not be negative")
    read_rv, why = _read_at(store, query, limit)
    start: tuple[str, str] | None = None
    if why == "continue":
        token_rv, start = _decode_continue(query["continue"])
        read_rv = token_rv if token_rv > 0 else None
    try:
        scoped = store.scoped(t, read_rv)
    except LookupError:
        if why == "exact":
            raise ApiError(410, _LIST_TOO_OLD, reason="Expired") from None
        assert start is not None
        body = status_body(410, _CONTINUE_TOO_OLD, "Expired")
        body["metadata"] = {"continue": _encode_continue(-1, start)}
        error = ApiError(410)
        error.body = body
        raise error from None
    rv = store.resource_version if read_rv is None else read_rv
    rendered = [
        ((k[2], k[3]), render(o, t)) for k, o in scoped if start is None or (k[2], k[3]) > start
    ]
    matching = [(k, o) for k, o in rendered if selected(o)]
    if not limit or len(matching) <= limit:
        return list_body(t, [o for _, o in matching], rv)
    page = matching[:limit]
    unfiltered = not query.get("labelSelector") and not query.get("fieldSelector")
    remaining = len(matching) - limit if unfiltered else None
    token = _encode_continue(rv, page[-1][0])
    return list_body(t, [o for _, o in page], rv, token, remaining)
