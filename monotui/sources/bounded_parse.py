"""JSON and YAML from the outside, parsed within limits: size, nesting depth, aliases, duplicates.

The stdlib and PyYAML parsers recurse per nesting level (a 200 KB `[[[[...` is a RecursionError)
and PyYAML shares aliased nodes, so a 731-byte "billion laughs" loads instantly and then hangs
whoever walks it (comparing, copying, summarising). Here the shape is measured first, without
recursion and without building anything:

- JSON: one scan over the text counts bracket depth (strings skipped), then `json.loads` with a
  hook that catches duplicate keys and a refusal of NaN/Infinity (not JSON);
- YAML: one pass over PyYAML's event stream counts depth, aliases and the number of nodes the
  document would have with every alias expanded; a recursive alias is refused. Only then is the
  document constructed (duplicate keys caught in the constructor, merge keys allowed).

Every refusal is a `DocumentError` (a SourceError: exit 5) whose message says what was wrong and
names the document with `what`; callers add where it came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from monotui.errors import SourceError
from monotui.outside_text import literal

DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_ALIASES = 1000
DEFAULT_MAX_NODES = 200_000  # a generous flag file has a few thousand
OnDuplicate = Literal["error", "last"]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_DEFAULT_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DocumentError(SourceError):
    """A document refused (too big, too deep, a bomb, a duplicate key) or not parseable."""


# --- JSON -----------------------------------------------------------------------------------------


def load_json(
    data: bytes | str,
    *,
    max_bytes: int,
    max_depth: int = DEFAULT_MAX_DEPTH,
    on_duplicate: OnDuplicate = "error",
    allow_nan: bool = False,
    what: str = "the JSON document",
) -> Any:
    """Decode JSON within limits; `on_duplicate="last"` keeps the last of a repeated key."""
    text = _text(data, max_bytes, what)
    too_deep_at = _json_too_deep(text, max_depth)
    if too_deep_at is not None:
        line, column = _position(text, too_deep_at)
        raise DocumentError(
            f"{what} is nested deeper than {max_depth} levels (line {line}, column {column})"
        )

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in items:
            if key in obj and on_duplicate == "error":
                raise DocumentError(f"{what} has the key {_quote(key)} twice in one object")
            obj[key] = value
        return obj

    def constant(name: str) -> Any:
        if allow_nan:
            return float(name)
        raise DocumentError(f"{what} contains {name}, which is not a JSON value")

    try:
        if on_duplicate == "last":  # what json's own dicts do: no hook called per object
            return json.loads(text, parse_constant=constant)
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except ValueError as exc:  # e.g. an integer longer than Python converts
        raise DocumentError(f"{what} is not usable JSON: {literal(exc, max_len=120)}") from None
    except RecursionError:  # the depth scan makes this unreachable; a safety net, not a path
        raise DocumentError(f"{what} is nested too deeply to parse") from None


_JSON_STRUCTURE = re.compile(r'[\[\]{}"]')
_JSON_STRING_TAIL = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


_SKELETON = bytes(set(range(256)) - set(b'[]{}"\\'))
"""Every byte but brackets, quotes and backslashes: what the nesting scan can ignore."""
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")


def _json_too_deep(text: str, max_depth: int) -> int | None:
    """Index of the first bracket nested deeper than `max_depth`, or None."""
    if text.count("[") + text.count("{") <= max_depth:
        return None  # cannot be too deep: skip the scan
    if _shallow(text.encode("utf-8", "surrogatepass"), max_depth):
        return None
    return _first_too_deep(text, max_depth)


def _shallow(data: bytes, max_depth: int) -> bool:
    """True when the brackets balance and nest `max_depth` deep at most, none of them inside a
    string; False says nothing (too deep, unbalanced, an escape or a bracket in a string: the
    exact scan decides). In C, not a Python step per bracket (a fleet's range answer has
    millions of them).

    Without backslashes, quotes alternate opening and closing; a string holding no bracket is
    two adjacent quotes once everything else is dropped, and one pass of `replace` removes them
    all, left to right, only when no string holds a bracket. Then each pass removes every
    innermost pair, so a structure `d` deep is gone after `d` passes."""
    skeleton = data.translate(None, _SKELETON)
    if b"\\" in skeleton:
        return False
    brackets = skeleton.replace(b'""', b"")
    if b'"' in brackets:
        return False
    brackets = brackets.translate(_AS_SQUARE)
    for _ in range(max_depth):
        if not brackets:
            return True
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            return False  # unbalanced
        brackets = shorter
    return not brackets


def _first_too_deep(text: str, max_depth: int) -> int | None:
    """The exact scan: where the nesting first passes `max_depth` (None: it never does)."""
    depth = 0
    pos = 0
    while (match := _JSON_STRUCTURE.search(text, pos)) is not None:
        ch, at = match.group(), match.start()
        if ch == '"':
            tail = _JSON_STRING_TAIL.match(text, at + 1)
            if tail is None:
                return None  # an unterminated string: json.loads says where
            pos = tail.end()
            continue
        if ch in "[{":
            depth += 1
            if depth > max_depth:
                return at
        else:
            depth -= 1
        pos = at + 1
    return None


# --- YAML -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A decoded YAML document and what its text used."""

    value: Any
    anchors: tuple[str, ...]  # every anchor defined (&name), in order
    aliases: int  # how many aliases (*name) it uses
    nodes: int  # nodes with every alias expanded
    duplicate_keys: tuple[str, ...]  # keys repeated in one mapping (on_duplicate="last")

    @property
    def uses_aliases(self) -> bool:
        """True when the text shares nodes (anchors or aliases, merge keys included): an editor
        that re-serialises it would expand them and lose the sharing, so it must refuse."""
        return bool(self.anchors) or self.aliases > 0


def load_yaml(
    text: bytes | str,
    *,
    max_bytes: int,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_aliases: int = DEFAULT_MAX_ALIASES,
    max_nodes: int = DEFAULT_MAX_NODES,
    on_duplicate: OnDuplicate = "last",
    loader: type[Any] | None = None,
    what: str = "the YAML document",
) -> Any:
    """The decoded value of `parse_yaml(...)`."""
    return parse_yaml(
        text,
        max_bytes=max_bytes,
        max_depth=max_depth,
        max_aliases=max_aliases,
        max_nodes=max_nodes,
        on_duplicate=on_duplicate,
        loader=loader,
        what=what,
    ).value


def parse_yaml(
    text: bytes | str,
    *,
    max_bytes: int,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_aliases: int = DEFAULT_MAX_ALIASES,
    max_nodes: int = DEFAULT_MAX_NODES,
    on_duplicate: OnDuplicate = "last",
    loader: type[Any] | None = None,
    what: str = "the YAML document",
) -> YamlDocument:
    """Decode one YAML document with a safe loader (default: yaml.CSafeLoader), within limits.

    `loader` may be any subclass of PyYAML's (C)SafeLoader, e.g. one with YAML 1.2 booleans.
    Refused before anything is built: more than `max_bytes`, nesting deeper than `max_depth`
    (aliases count at the depth they expand to), more than `max_aliases` aliases, more than
    `max_nodes` nodes once aliases are expanded, an alias inside the node it names.
    """
    source = _text(text, max_bytes, what)
    base = loader or _DEFAULT_LOADER
    shape = _Shape(what, max_depth, max_aliases, max_nodes)
    try:
        for event in yaml.parse(source, Loader=base):
            shape.see(event)
        checked = _checking_loader(base)(source)
        try:
            checked.on_duplicate = on_duplicate
            checked.what = what
            value = checked.get_single_data()
            duplicates = tuple(checked.duplicates)
        finally:
            checked.dispose()
    except yaml.YAMLError as exc:
        raise DocumentError(f"{what} is not valid YAML: {_one_line(exc)}") from None
    except RecursionError:  # the shape pass makes this unreachable; a safety net, not a path
        raise DocumentError(f"{what} is nested too deeply to parse") from None
    return YamlDocument(value, tuple(shape.anchors), shape.aliases, shape.nodes, duplicates)


@dataclass(slots=True)
class _Open:
    """A collection whose end we have not seen yet."""

    anchor: str | None
    nodes_before: int
    mapping: bool
    children: int = 0
    height: int = 1  # 1 + the height of its tallest child


@dataclass(slots=True)
class _Shape:
    """Depth, aliases and expanded size of a YAML event stream, checked as the events come."""

    what: str
    max_depth: int
    max_aliases: int
    max_nodes: int
    nodes: int = 0
    aliases: int = 0
    anchors: list[str] = field(default_factory=list)
    open: list[_Open] = field(default_factory=list)
    # anchor -> (expanded nodes, height) of the node it names, once complete
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)

    def see(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.AliasEvent):
            self._alias(event.anchor or "")
        elif isinstance(event, yaml.ScalarEvent):
            self._anchor(event.anchor)
            self._count(1)
            if event.anchor:
                self.sizes[event.anchor] = (1, 0)
            self._child_done(0)
        elif isinstance(event, yaml.CollectionStartEvent):
            self._anchor(event.anchor)
            if len(self.open) + 1 > self.max_depth:
                raise DocumentError(f"{self.what} is nested deeper than {self.max_depth} levels")
            mapping = isinstance(event, yaml.MappingStartEvent)
            self.open.append(_Open(event.anchor, self.nodes, mapping))
            self._count(1)
        elif isinstance(event, yaml.CollectionEndEvent):
            done = self.open.pop()
            if done.anchor:
                self.sizes[done.anchor] = (self.nodes - done.nodes_before, done.height)
            self._child_done(done.height)

    def _alias(self, anchor: str) -> None:
        if any(frame.anchor == anchor for frame in self.open):
            raise DocumentError(f"{self.what} has an alias *{_plain(anchor)} inside its own anchor")
        self.aliases += 1
        if self.aliases > self.max_aliases:
            raise DocumentError(f"{self.what} uses more than {self.max_aliases} aliases")
        size, height = self.sizes.get(anchor, (1, 0))  # unknown: the composer reports it
        if len(self.open) + height > self.max_depth:
            raise DocumentError(
                f"{self.what} is nested deeper than {self.max_depth} levels once alias "
                f"*{_plain(anchor)} is expanded"
            )
        self._count(size)
        self._child_done(height)

    def _anchor(self, anchor: str | None) -> None:
        if anchor:
            self.anchors.append(anchor)

    def _count(self, nodes: int) -> None:
        self.nodes += nodes
        if self.nodes > self.max_nodes:
            raise DocumentError(
                f"{self.what} expands to more than {self.max_nodes} nodes through its aliases "
                "(an alias bomb?)"
                if self.aliases
                else f"{self.what} has more than {self.max_nodes} nodes"
            )

    def _child_done(self, height: int) -> None:
        if self.open:
            parent = self.open[-1]
            parent.children += 1
            parent.height = max(parent.height, height + 1)


def _checking_loader(base: type[Any]) -> Callable[[str], Any]:
    """`base` with a constructor that notices a key repeated in one mapping (made once per base)."""
    made = _CHECKED.get(base)
    if made is None:
        made = _CHECKED[base] = _make_checking_loader(base)
    return made


_CHECKED: dict[type[Any], Callable[[str], Any]] = {}


def _make_checking_loader(base: type[Any]) -> Callable[[str], Any]:

    class Checked(base):  # type: ignore[misc]
        duplicates: list[str]
        on_duplicate: OnDuplicate = "last"
        what = "the YAML document"

        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.duplicates = []

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                self._check_keys(node)
            return super().construct_mapping(node, deep=deep)

        def _check_keys(self, node: yaml.MappingNode) -> None:
            seen: set[Hashable] = set()
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue  # merged keys may be overridden: that is what merging is for
                key = self.construct_object(key_node)
                if not isinstance(key, Hashable):
                    continue  # the base constructor explains unhashable keys
                if key in seen:
                    if self.on_duplicate == "error":
                        raise DocumentError(f"{self.what} has the key {_quote(key)} twice")
                    self.duplicates.append(literal(key, max_len=80))
                seen.add(key)

    return Checked


# --- shared ---------------------------------------------------------------------------------------


def _text(data: bytes | str, max_bytes: int, what: str) -> str:
    if isinstance(data, str):
        # Characters never outnumber bytes: encode only when the count alone does not decide.
        oversize = len(data) > max_bytes or len(data.encode("utf-8", "replace")) > max_bytes
    else:
        oversize = len(data) > max_bytes
    if oversize:
        raise DocumentError(f"{what} is larger than {_size(max_bytes)}")
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{what} is not UTF-8 (byte {exc.start})") from None


def _size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):g} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):g} KB"
    return f"{n} bytes"


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _quote(key: object) -> str:
    return "'" + literal(key, max_len=80, spell_breaks=True) + "'"


def _plain(name: str) -> str:
    return literal(name, max_len=60, spell_breaks=True)


def _one_line(exc: yaml.YAMLError) -> str:
    return literal(" ".join(str(exc).split()), max_len=240)
