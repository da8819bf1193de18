"""RFC 6902 JSON Patch and RFC 7386 JSON Merge Patch, for the fake Kubernetes API server.

Error messages follow github.com/evanphx/json-patch (v4), the library the real apiserver uses,
e.g. ``testing value /spec/x failed: test failed``. The real apiserver does not send these
messages to the client (a failed patch is a bare 422 "the server rejected our request due to an
error in our request"); the fake keeps them for test assertions.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = [
    "JsonPatchError",
    "JsonPatchFormatError",
    "JsonPatchTestFailed",
    "apply_json_patch",
    "apply_merge_patch",
    "json_equal",
]


class JsonPatchError(Exception):
    """The patch is well-formed but cannot be applied to this document (apiserver: 422)."""


class JsonPatchTestFailed(JsonPatchError):
    """A ``test`` operation did not match."""


class JsonPatchFormatError(Exception):
    """The patch is not a JSON array of operations (apiserver: 400)."""


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: no ``True == 1``, but ``1 == 1.0``, ordered arrays."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _split_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise JsonPatchError(f"JSON pointer must start with '/': {pointer!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


def _array_index(token: str, length: int, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return length
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise JsonPatchError(f"Unable to access invalid index: {token}: invalid index referenced")
    index = int(token)
    if index > length or (index == length and not allow_end):
        raise JsonPatchError(f"Unable to access invalid index: {index}: invalid index referenced")
    return index


def _parent(doc: Any, pointer: str, op: str) -> tuple[Any, str]:
    """The container that holds the last token of ``pointer``, and that token."""
    tokens = _split_pointer(pointer)
    if not tokens:
        raise JsonPatchError(f"{op} operation does not apply: doc is missing path: {pointer!r}")
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise JsonPatchError(
                f'{op} operation does not apply: doc is missing path: "{pointer}": missing value'
            )
    if not isinstance(node, dict | list):
        raise JsonPatchError(
            f'{op} operation does not apply: doc is missing path: "{pointer}": missing value'
        )
    return node, tokens[-1]


_MISSING = object()


def _get(doc: Any, pointer: str) -> Any:
    node = doc
    for token in _split_pointer(pointer):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return _MISSING
    return node


def _add(doc: Any, pointer: str, value: Any) -> Any:
    if pointer == "":
        return value
    container, key = _parent(doc, pointer, "add")
    if isinstance(container, dict):
        container[key] = value
    else:
        container.insert(_array_index(key, len(container), allow_end=True), value)
    return doc


def _remove(doc: Any, pointer: str) -> tuple[Any, Any]:
    container, key = _parent(doc, pointer, "remove")
    if isinstance(container, dict):
        if key not in container:
            raise JsonPatchError(f"Unable to remove nonexistent key: {key}: missing value")
        return doc, container.pop(key)
    return doc, container.pop(_array_index(key, len(container), allow_end=False))


def _replace(doc: Any, pointer: str, value: Any) -> Any:
    if pointer == "":
        return value
    container, key = _parent(doc, pointer, "replace")
    if isinstance(container, dict):
        if key not in container:
            raise JsonPatchError(
                f"replace operation does not apply: doc is missing key: {pointer}: missing value"
            )
        container[key] = value
    else:
        container[_array_index(key, len(container), allow_end=False)] = value
    return doc


def _field(op: dict[str, Any], name: str) -> Any:
    if name not in op:
        raise JsonPatchError(f"{op.get('op')} operation: missing {name!r}")
    return op[name]


def apply_json_patch(doc: Any, patch: Any) -> Any:
    """Apply an RFC 6902 patch to a deep copy of ``doc``; all or nothing."""
    if not isinstance(patch, list):
        raise JsonPatchFormatError(
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
        )
    result = copy.deepcopy(doc)
    for op in patch:
        if not isinstance(op, dict):
            raise JsonPatchFormatError(
                "json: cannot unmarshal into Go value of type jsonpatch.Operation"
            )
        kind = op.get("op")
        path = _field(op, "path")
        if not isinstance(path, str):
            raise JsonPatchError(f"{kind} operation: path must be a string")
        if kind == "add":
            result = _add(result, path, copy.deepcopy(_field(op, "value")))
        elif kind == "remove":
            result, _ = _remove(result, path)
        elif kind == "replace":
            result = _replace(result, path, copy.deepcopy(_field(op, "value")))
        elif kind == "move":
            source = _field(op, "from")
            if path != source and path.startswith(source + "/"):
                raise JsonPatchError("move operation does not apply: from is a prefix of path")
            if _get(result, source) is _MISSING:
                raise JsonPatchError(
                    f"move operation does not apply: doc is missing from path: {source}: missing value"
                )
            result, value = _remove(result, source)
            result = _add(result, path, value)
        elif kind == "copy":
            source = _field(op, "from")
            value = _get(result, source)
            if value is _MISSING:
                raise JsonPatchError(
                    f"copy operation does not apply: doc is missing from path: {source}: missing value"
                )
            result = _add(result, path, copy.deepcopy(value))
        elif kind == "test":
            expected = op.get("value")
            actual = _get(result, path)
            # evanphx/json-patch: testing a missing member against null succeeds.
            ok = expected is None if actual is _MISSING else json_equal(actual, expected)
            if not ok:
                raise JsonPatchTestFailed(f"testing value {path} failed: test failed")
        else:
            raise JsonPatchError(f"Unexpected kind: {kind}")
    return result


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result
