"""A small JSONPath for body checks: `$`, `.name`, `['name']` / `["name"]`, `[N]` (negative from
the end). No wildcards, filters or recursion: a probe checks one value.

    parse("$.order.items[0]['sku']") == ("order", "items", 0, "sku")
    find({"order": {"items": [{"sku": "A"}]}}, parse("$.order.items[0].sku")) == (True, "A")
"""

from __future__ import annotations

import re
from typing import Any

Step = str | int
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")
_QUOTED = re.compile(r"""\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\]""")
MAX_STEPS = 64


def parse(path: str) -> tuple[Step, ...]:
    """The steps of `path`; ValueError saying where it is not this subset of JSONPath."""
    if not path.startswith("$"):
        raise ValueError(f"JSONPath {path!r} must start with $")
    steps: list[Step] = []
    i = 1
    while i < len(path):
        rest = path[i:]
        if rest.startswith("."):
            name = _NAME.match(path, i + 1)
            if name is None:
                raise ValueError(f"JSONPath {path!r}: expected a name after '.' at {i}")
            steps.append(name.group(0))
            i = name.end()
        elif (index := _INDEX.match(path, i)) is not None:
            steps.append(int(index.group(1)))
            i = index.end()
        elif (quoted := _QUOTED.match(path, i)) is not None:
            raw = quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
            steps.append(re.sub(r"\\(.)", r"\1", raw))
            i = quoted.end()
        else:
            raise ValueError(
                f"JSONPath {path!r}: unexpected {rest[:10]!r} at {i} (this subset knows .name, "
                "['name'] and [index])"
            )
        if len(steps) > MAX_STEPS:
            raise ValueError(f"JSONPath {path!r} is deeper than {MAX_STEPS} steps")
    return tuple(steps)


def find(document: Any, steps: tuple[Step, ...]) -> tuple[bool, Any]:
    """(True, the value) at `steps` in a decoded JSON `document`, or (False, None)."""
    node = document
    for step in steps:
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                return False, None
            node = node[step]
        else:
            if not isinstance(node, dict) or step not in node:
                return False, None
            node = node[step]
    return True, node
