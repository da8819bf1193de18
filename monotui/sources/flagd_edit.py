"""Minimal textual edits of a flagd document: change one scalar, keep every other byte.

A toggle replaces exactly one existing string value (`defaultVariant` or `state`), so we locate
that value's span in the text (JSON: a small scanner over the stdlib decoder; YAML: PyYAML's node
marks), splice in the new value in the same quoting style, and then prove the edit by parsing the
result and comparing it with the parsed original plus the change. Only when that proof fails do we
re-serialise the whole document (JSON with the original indentation; YAML in key order, which loses
comments) and prove that too.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import re
from collections.abc import Callable
from json.decoder import JSONDecoder
from typing import Any

import yaml

from monotui.sources.flagd_doc import Change, apply

# libyaml is ~10x faster than the pure-Python parser; both give character indexes in marks.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOOL = "tag:yaml.org,2002:bool"


class _Loader(_Base):  # type: ignore[misc]
    """PyYAML's safe loader with YAML 1.2 booleans, as flagd reads YAML (Go's yaml.v3).

    PyYAML follows YAML 1.1, where a plain `on`/`off`/`yes`/`no` is a boolean: the common
    `variants: {on: true, off: false}` with `defaultVariant: on` would read as True/False keys and a
    boolean default, and a file flagd serves would show as broken. Only true/false are booleans here.
    """

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = JSONDecoder()
# The stdlib's string scanner (typeshed does not declare it): returns (string, end index).
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


class EditError(Exception):
    """The document could not be edited without changing more than the one value."""


def load(text: str, fmt: str) -> Any:
    """Decode `text` as "json" or "yaml" (ValueError/yaml.YAMLError on bad input)."""
    if fmt == "json":
        return json.loads(text)
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader


def edit(text: str, fmt: str, change: Change) -> str:
    """`text` with `change` made; raises EditError when no edit can be proven correct."""
    before = load(text, fmt)
    wanted = apply(before, change)
    path = (*change.path, change.field)
    splice = _splice_json if fmt == "json" else _splice_yaml
    # If the splice fails we fall back to re-serialising, proven like the splice.
    with contextlib.suppress(ValueError, IndexError, KeyError, yaml.YAMLError):
        candidate = splice(text, path, change.new)
        if load(candidate, fmt) == wanted:
            return candidate
    with contextlib.suppress(ValueError, yaml.YAMLError):
        candidate = _reserialise(text, fmt, wanted)
        if load(candidate, fmt) == wanted:
            return candidate
    raise EditError("the edited document would not parse back to the intended change")


def diff(old: str, new: str, name: str) -> str:
    """A unified diff of the edit, for dry-run and the audit trail."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), name, name, n=2
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _splice_json(text: str, path: tuple[str | int, ...], new: str) -> str:
    start, end = _json_span(text, path)
    return text[:start] + json.dumps(new, ensure_ascii=text.isascii()) + text[end:]


def _json_span(text: str, path: tuple[str | int, ...]) -> tuple[int, int]:
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    for part in path:
        pos = _json_child(text, pos, part)
    _, end = _DECODER.raw_decode(text, pos)
    return pos, end


def _json_child(text: str, pos: int, part: str | int) -> int:
    """Start of the value `part` inside the object/array at `pos` (the last one, as json does)."""
    opener = text[pos]
    closer = "}" if opener == "{" else "]"
    if opener not in "{[":
        raise ValueError(f"no container at {pos}")
    found: int | None = None
    index = 0
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text[pos] == closer:
        raise KeyError(part)
    while True:
        if opener == "{":
            key, pos = _scanstring(text, pos + 1)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos] != ":":
                raise ValueError(f"expected ':' at {pos}")
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            if key == part:
                found = pos
        elif index == part:
            found = pos
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        index += 1
        if text[pos] == closer:
            break
        if text[pos] != ",":
            raise ValueError(f"expected ',' at {pos}")
        pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    if found is None:
        raise KeyError(part)
    return found


def _splice_yaml(text: str, path: tuple[str | int, ...], new: str) -> str:
    node = yaml.compose(text, Loader=_Loader)
    for part in path:
        node = _yaml_child(node, part)
    if not isinstance(node, yaml.ScalarNode) or node.style in ("|", ">"):
        raise ValueError("not a one-line scalar")
    start, end = node.start_mark.index, node.end_mark.index
    return text[:start] + _yaml_scalar(new, node.style) + text[end:]


def _yaml_child(node: Any, part: str | int) -> Any:
    if isinstance(node, yaml.MappingNode):
        found = None
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == part:
                found = value_node
        if found is None:
            raise KeyError(part)
        return found
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        return node.value[part]
    raise KeyError(part)


def _yaml_scalar(value: str, style: str | None) -> str:
    # Plain style is None from the Python parser and "" from libyaml.
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    # Plain only when YAML reads it back as the same string (not true/null/yes/1.0).
    plain_ok = not style and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-/]*", value)
    if plain_ok and yaml.safe_load(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


def _reserialise(text: str, fmt: str, doc: Any) -> str:
    newline = "\n" if text.endswith("\n") else ""
    if fmt == "json":
        indent = _json_indent(text)
        return json.dumps(doc, indent=indent, ensure_ascii=text.isascii()) + newline
    dumped: str = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return dumped


def _json_indent(text: str) -> str | None:
    match = re.search(r"[{\[][ \t]*\r?\n([ \t]+)\S", text)
    return match.group(1) if match else None
