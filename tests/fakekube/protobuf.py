"""Just enough of the Kubernetes protobuf encoding to read what kubectl posts as protobuf.

kubectl sends built-in kinds it creates through typed clients (``kubectl auth can-i``'s
SelfSubjectAccessReview) as ``application/vnd.kubernetes.protobuf``: the ``k8s\\x00`` magic, a
``runtime.Unknown`` envelope (typeMeta, raw), and the object's generated protobuf message in
``raw``. :func:`decode` turns the kinds listed in ``_SCHEMAS`` into the JSON the fake handles;
the answer goes back as JSON, which every client accepts.
"""

from __future__ import annotations

from typing import Any

from tests.fakekube.status import ApiError, JsonObj

__all__ = ["PROTOBUF", "decode"]

PROTOBUF = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"
Schema = dict[int, tuple[str, "Schema | None"]]  # field number -> (JSON name, sub-message)

_RESOURCE_ATTRIBUTES: Schema = {
    1: ("namespace", None),
    2: ("verb", None),
    3: ("group", None),
    4: ("version", None),
    5: ("resource", None),
    6: ("subresource", None),
    7: ("name", None),
}
_NON_RESOURCE_ATTRIBUTES: Schema = {1: ("path", None), 2: ("verb", None)}
_SCHEMAS: dict[tuple[str, str], Schema] = {
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): {
        2: (
            "spec",
            {
                1: ("resourceAttributes", _RESOURCE_ATTRIBUTES),
                2: ("nonResourceAttributes", _NON_RESOURCE_ATTRIBUTES),
            },
        )
    }
}
_ENVELOPE: Schema = {
    1: ("typeMeta", {1: ("apiVersion", None), 2: ("kind", None)}),
    2: ("raw", None),
}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            value, pos = int.from_bytes(data[pos : pos + width], "little"), pos + width
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.append((number, value))
    return out


def _message(data: bytes, schema: Schema, keep_bytes: bool = False) -> JsonObj:
    obj: JsonObj = {}
    for number, value in _fields(data):
        if number not in schema:
            continue
        name, sub = schema[number]
        parsed: Any
        if sub is not None and isinstance(value, bytes):
            parsed = _message(value, sub)
        elif isinstance(value, bytes) and not keep_bytes:
            parsed = value.decode("utf-8")
        else:
            parsed = value
        if parsed not in ("", {}):
            obj[name] = parsed
    return obj


def decode(raw: bytes) -> JsonObj:
    """The JSON object a protobuf body stands for; 415 for kinds the fake cannot read."""
    if not raw.startswith(_MAGIC):
        raise ApiError(400, "provided data does not have the protobuf prefix")
    try:
        envelope = _message(raw[len(_MAGIC) :], _ENVELOPE, keep_bytes=True)
        type_meta = envelope.get("typeMeta") or {}
        key = (type_meta.get("apiVersion", ""), type_meta.get("kind", ""))
        schema = _SCHEMAS.get(key)
        if schema is None:
            raise ApiError(
                415,
                f"fakekube reads protobuf only for {sorted(_SCHEMAS)}, not {key}; "
                "send JSON (Content-Type: application/json)",
            )
        body = _message(bytes(envelope.get("raw", b"")), schema)
    except ValueError as e:
        raise ApiError(
            400, f"the body of the request could not be decoded as protobuf: {e}"
        ) from None
    return {"apiVersion": key[0], "kind": key[1], "metadata": {}, **body}
