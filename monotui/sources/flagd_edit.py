"""Minimal textual edits of a flagd document: change one scalar, keep every other byte.

A toggle replaces exactly one existing string value (`defaultVariant` or `state`), so we locate
that value's span in the text (JSON: a small scanner over the stdlib decoder; YAML: PyYAML's node
marks), splice in the new value in the same quoting style, and then prove the edit by parsing the
result and comparing it with the parsed original plus the change. When the proof fails, JSON is
re-serialised (with the original indentation; JSON has no comments to lose) and proven too. YAML
is never re-serialised: that would drop every comment and expand every alias, so a toggle that
cannot be spliced is refused with a sentence that says why (a value shared through an anchor or
a merge key is the usual reason).

Every parse is bounded (`bounded_parse`): a 731-byte alias bomb or a 200 KB `[[[[...` is one
DocumentError (a SourceError), never a spin or a RecursionError.
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

from monotui.outside_text import literal
from monotui.sources.bounded_parse import DocumentError, load_json, parse_yaml
from monotui.sources.flagd_doc import Change, apply
from monotui.sources.flagd_yaml import FlagdYamlLoader

MAX_BYTES = 4 << 20
"""A flag file larger than 4 MB is refused: the biggest real ones are a few hundred KB."""
MAX_DEPTH = 64
_MERGE_TAG = "tag:yaml.org,2002:merge"

# How flagd reads YAML (yaml.v3 then JSON), not YAML 1.1: see flagd_yaml.
_Loader = FlagdYamlLoader
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = JSONDecoder()
# The stdlib's string scanner (typeshed does not declare it): returns (string, end index).
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


class EditError(Exception):
    """The document could not be edited without changing more than the one value."""


def load(text: str, fmt: str, *, what: str = "the flags file") -> Any:
    """Decode `text` as "json" or "yaml" within the limits; DocumentError when it is not.

    A key repeated in one object is refused in both: flagd's YAML reader refuses it too, and in
    JSON it is a flag defined twice, one of which nobody sees.
    """
    if fmt == "json":
        return load_json(text, max_bytes=MAX_BYTES, max_depth=MAX_DEPTH, what=what)
    return yaml_document(text, what=what).value


def yaml_document(text: str, *, what: str = "the flags file") -> Any:
    """The bounded YAML parse of `text` with flagd's booleans (its value and what it used)."""
    return parse_yaml(
        text,
        max_bytes=MAX_BYTES,
        max_depth=MAX_DEPTH,
        on_duplicate="error",
        loader=_Loader,
        what=what,
    )


def edit(text: str, fmt: str, change: Change) -> str:
    """`text` with `change` made; raises EditError when no edit can be proven correct."""
    before = load(text, fmt)
    wanted = apply(before, change)
    path = (*change.path, change.field)
    if fmt == "yaml":
        _refuse_shared_yaml(text, path, change)
    splice = _splice_json if fmt == "json" else _splice_yaml
    # If the splice fails we fall back (JSON only) to re-serialising, proven like the splice.
    with contextlib.suppress(ValueError, IndexError, KeyError, yaml.YAMLError, DocumentError):
        candidate = splice(text, path, change.new)
        if load(candidate, fmt) == wanted:
            return candidate
    if fmt == "yaml":
        raise EditError(
            f"'{literal(change.key, max_len=80)}' cannot be changed by editing one value, and "
            "rewriting the whole YAML file would drop its comments: edit it by hand"
        )
    with contextlib.suppress(ValueError, DocumentError):
        candidate = _reserialise(text, fmt, wanted)
        if load(candidate, fmt) == wanted:
            return candidate
    raise EditError("the edited document would not parse back to the intended change")


def _refuse_shared_yaml(text: str, path: tuple[str | int, ...], change: Change) -> None:
    """EditError when the value to change, or a node above it, is shared through a YAML anchor
    and alias, or comes from a merge key: one edit would change every place that shares it."""
    root = yaml.compose(text, Loader=_Loader)
    shared = _shared_nodes(root)
    key = literal(change.key, max_len=80)
    node = root
    for part in path:
        if id(node) in shared:
            break
        if isinstance(node, yaml.MappingNode) and _merged_only(node, part):
            raise EditError(
                f"'{key}' takes {literal(part, max_len=40)} from a YAML merge key (<<): "
                "toggling it here would change every flag that merges it; edit the file by hand"
            )
        try:
            node = _yaml_child(node, part)
        except (KeyError, IndexError):
            return  # not where the change says: the splice fails and says so
    if id(node) in shared:
        raise EditError(
            f"'{key}' is shared through a YAML anchor and alias (&name / *name): toggling it "
            "would change every place that uses it; edit the file by hand"
        )


def _shared_nodes(root: Any) -> set[int]:
    """Ids of the nodes reached more than once (through aliases), found without recursion."""
    seen: set[int] = set()
    shared: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            shared.add(id(node))
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                stack.extend((key_node, value_node))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return shared


def _merged_only(node: yaml.MappingNode, part: str | int) -> bool:
    """`part` is not a key of `node` itself, but `node` has a merge key that may bring it."""
    keys = [k for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
    has_merge = any(k.tag == _MERGE_TAG or k.value == "<<" for k in keys)
    return has_merge and not any(k.value == part for k in keys)


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
    # libyaml does not count a leading byte order mark in its marks (a file saved by a Windows
    # editor): compose without it and shift the marks back, or the splice lands one off.
    bom = 1 if text.startswith("\ufeff") else 0
    node = yaml.compose(text[bom:], Loader=_Loader)
    for part in path:
        node = _yaml_child(node, part)
    if not isinstance(node, yaml.ScalarNode) or node.style in ("|", ">"):
        raise ValueError("not a one-line scalar")
    start, end = node.start_mark.index + bom, node.end_mark.index + bom
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
    """JSON only: the document re-encoded with the original indentation."""
    newline = "\n" if text.endswith("\n") else ""
    indent = _json_indent(text)
    return json.dumps(doc, indent=indent, ensure_ascii=text.isascii()) + newline


def _json_indent(text: str) -> str | None:
    match = re.search(r"[{\[][ \t]*\r?\n([ \t]+)\S", text)
    return match.group(1) if match else None
