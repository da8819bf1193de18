"""What create, update, patch and delete do to stored objects, as the apiserver does it.

Called with the store's lock held, in the request's shape (converted to and from the stored
shape by :mod:`.kinds`). Checks the body against the URL, resourceVersion (409 when stale;
required on PUT for custom resources and Leases, optional for other built-in kinds),
generation (custom resources and Deployments; bumped only when something outside
metadata/status changes), the status subresource (the main resource ignores ``.status``;
``/status`` changes only it), finalizers (delete only marks the object), a write that changes
nothing (no new RV), and the per-kind defaults and validation of :func:`.kinds.admit`.
"""

from __future__ import annotations

import copy
import json
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from tests.fakekube.apis import Target
from tests.fakekube.handler import Response
from tests.fakekube.jsonpatch import (
    JsonPatchError,
    JsonPatchFormatError,
    apply_json_patch,
    apply_merge_patch,
)
from tests.fakekube.kinds import admit, to_storage
from tests.fakekube.listing import list_body
from tests.fakekube.selectors import object_filter
from tests.fakekube.status import (
    PATCH_TYPES,
    ApiError,
    FieldError,
    JsonObj,
    Verbatim,
    invalid,
)
from tests.fakekube.store import ObjectStore, now, object_meta, render, without

__all__ = ["check_body", "create", "delete", "delete_collection", "patch", "update"]


def check_body(t: Target, body: Any) -> JsonObj:
    """A copy of the request body, checked against what the URL names (400 otherwise)."""
    if not isinstance(body, dict):
        raise ApiError(400, "the body of the request was not a JSON object")
    obj: JsonObj = copy.deepcopy(body)
    if t.resource.builtin:  # built-in types may omit their TypeMeta
        obj.setdefault("apiVersion", t.group_version)
        obj.setdefault("kind", t.resource.kind)
    if "kind" not in obj or "apiVersion" not in obj:
        raise ApiError(400, f"Object 'Kind' is missing in '{json.dumps(obj)}'")
    if obj["apiVersion"] != t.group_version:
        raise ApiError(
            400,
            f"the API version in the data ({obj['apiVersion']}) does not "
            f"match the expected API version ({t.group_version})",
        )
    if obj["kind"] != t.resource.kind:
        raise ApiError(
            400,
            f"the kind in the data ({obj['kind']}) does not match the "
            f"expected kind ({t.resource.kind})",
        )
    meta = object_meta(obj)
    if t.namespace and meta.setdefault("namespace", t.namespace) != t.namespace:
        raise ApiError(
            400,
            "the namespace of the provided object does not match the namespace sent on the request",
        )
    if t.name is not None and meta.get("name") != t.name:
        raise ApiError(
            400,
            f"the name of the object ({meta.get('name')}) does not match "
            f"the name on the URL ({t.name})",
        )
    return obj


def _invalid(t: Target, name: str, error: FieldError) -> ApiError:
    return invalid(t.resource.group, t.resource.kind, name, [error])


def _conflict(t: Target, why: str) -> ApiError:
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {t.resource.qualified} "{t.name}": {why}',
        details=t.resource.details(t.name),
    )


def create(store: ObjectStore, t: Target, body: Any, dry_run: bool) -> Response:
    """POST: 201 with the new object; 409 AlreadyExists; ``generateName`` honoured."""
    obj = check_body(t, body)
    meta = obj["metadata"]
    if not meta.get("name"):
        if not meta.get("generateName"):
            detail = "name or generateName is required"
            raise _invalid(t, "", FieldError("Required", "metadata.name", detail=detail))
        meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
    key = store.key(t, meta["name"])
    if key in store:
        raise ApiError(
            409,
            f'{t.resource.qualified} "{meta["name"]}" already exists',
            reason="AlreadyExists",
            details=t.resource.details(meta["name"]),
        )
    for k in ("resourceVersion", "deletionTimestamp", "uid", "generation"):
        meta.pop(k, None)
    meta.update(uid=str(uuid.uuid4()), creationTimestamp=now())
    if t.resource.tracks_generation:
        meta["generation"] = 1
    if t.resource.status_subresource:
        obj.pop("status", None)
    admit(t, obj, None)
    stored = to_storage(t.resource, obj)
    if not dry_run:
        store.commit(key, stored, "ADDED")
    return Response(201, render(stored, t))


def update(
    store: ObjectStore, t: Target, new: JsonObj, dry_run: bool, *, from_patch: bool = False
) -> Response:
    """PUT (or the write after a patch): ``new`` replaces the object, within the rules above."""
    current = render(store.current(t), t)
    cur_meta, new_meta = current["metadata"], new["metadata"]
    rv = new_meta.get("resourceVersion")
    if not rv and not from_patch and not t.resource.unconditional_update:
        detail = "must be specified for an update"
        error = FieldError("Invalid", "metadata.resourceVersion", Verbatim("0x0"), detail)
        raise _invalid(t, t.name or "", error)
    if rv and rv != cur_meta["resourceVersion"]:
        raise _conflict(
            t,
            "the object has been modified; please apply your changes "
            "to the latest version and try again",
        )
    if t.subresource == "status":
        obj = copy.deepcopy(current)
        obj.pop("status", None)
        if "status" in new:
            obj["status"] = new["status"]
    else:
        obj = new
        if t.resource.status_subresource:
            obj.pop("status", None)
            if "status" in current:
                obj["status"] = copy.deepcopy(current["status"])
        for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
            obj["metadata"].pop(k, None)
            if k in cur_meta:
                obj["metadata"][k] = cur_meta[k]
        ignored = ("metadata", "apiVersion", "kind") + (
            ("status",) if t.resource.status_subresource else ()
        )
        changed = without(obj, *ignored) != without(current, *ignored)
        if t.resource.tracks_generation and changed:
            obj["metadata"]["generation"] = cur_meta.get("generation", 1) + 1
    obj["apiVersion"] = t.group_version
    obj["metadata"]["resourceVersion"] = cur_meta["resourceVersion"]
    admit(t, obj, current)
    if without(obj, "apiVersion") == without(current, "apiVersion"):
        return Response(200, current)  # no-op: no new RV
    stored = to_storage(t.resource, obj)
    if not dry_run:
        gone = "deletionTimestamp" in cur_meta and not obj["metadata"].get("finalizers")
        store.commit(store.key(t), stored, "DELETED" if gone else "MODIFIED")
    return Response(200, render(stored, t))


def patch(
    store: ObjectStore,
    t: Target,
    content_type: str | None,
    body: Any,
    dry_run: bool,
    errors: list[str],
) -> Response:
    """PATCH: JSON patch or merge patch; a failed JSON patch op is a bare 422, why in ``errors``."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if t.resource.builtin and kind == "application/strategic-merge-patch+json":
        kind = "application/merge-patch+json"  # close enough for the built-in types used here
    if kind not in ("application/json-patch+json", "application/merge-patch+json"):
        raise ApiError(
            415,
            f"the body of the request was in an unknown format - accepted "
            f"media types include: {PATCH_TYPES}",
        )
    current = render(store.current(t), t)
    if kind == "application/merge-patch+json":
        if not isinstance(body, dict):
            raise ApiError(
                400,
                "json: cannot unmarshal array into Go value of type map[string]interface {}",
            )
        patched = apply_merge_patch(current, body)
    else:
        try:
            patched = apply_json_patch(current, body)
        except JsonPatchFormatError as e:
            raise ApiError(400, str(e)) from None
        except JsonPatchError as e:
            errors.append(str(e))
            raise ApiError(422) from None
    if not isinstance(patched, dict):
        raise ApiError(422)
    return update(store, t, check_body(t, patched), dry_run, from_patch=True)


def delete(store: ObjectStore, t: Target, options: Any, dry_run: bool) -> Response:
    """DELETE: preconditions (409), finalizers (202, only marked), else gone (200 Status)."""
    current = store.current(t)
    meta = current["metadata"]
    pre = (options.get("preconditions") if isinstance(options, dict) else None) or {}
    for field_name, label in (("resourceVersion", "ResourceVersion"), ("uid", "UID")):
        if pre.get(field_name) and pre[field_name] != meta.get(field_name):
            raise _conflict(
                t,
                f"Precondition failed: {label} in precondition: "
                f"{pre[field_name]}, {label} in object meta: "
                f"{meta.get(field_name)}",
            )
    if meta.get("finalizers"):
        obj = copy.deepcopy(current)
        if "deletionTimestamp" not in meta and not dry_run:
            obj["metadata"]["deletionTimestamp"] = now()
            store.commit(store.key(t), obj, "MODIFIED")
        return Response(202, render(obj, t))
    if not dry_run:
        store.commit(store.key(t), copy.deepcopy(current), "DELETED")
    return Response(
        200,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {**t.resource.details(t.name), "uid": meta.get("uid")},
        },
    )


def delete_collection(
    store: ObjectStore, t: Target, query: Mapping[str, str], options: Any, dry_run: bool
) -> Response:
    """DELETE on a collection: each selected object as :func:`delete`; the list as it was."""
    selected = object_filter(query, t.resource)
    items = []
    for (_, _, ns, name), obj in store.scoped(t):
        shown = render(obj, t)
        if selected(shown):
            items.append(shown)
            delete(store, Target(t.resource, t.version, ns or None, name, None), options, dry_run)
    return Response(200, list_body(t, items, store.resource_version))
