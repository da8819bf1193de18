"""What discovery found as a monotui.toml to start from (each inferred value with a comment saying
where it came from), or as JSON. Outside text in comments goes through `literal`; in values it is
a TOML basic string (JSON escapes are valid TOML escapes), so no name can break the file."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from monotui.outside_text import literal
from monotui.sources.discovery.found import Discovery
from monotui.sources.discovery.prometheus import PrometheusFinding

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_ORDER = ("kind", "name", "namespace", "route", "stable", "canary")


def to_toml(
    tables: list[dict[str, Any]],
    sources: Mapping[str, Mapping[str, str]],
    *,
    discovery: Discovery,
    prometheus: Mapping[str, Any],
    finding: PrometheusFinding | None,
    inferred_metrics: Mapping[str, Mapping[str, Any]],
    context: str,
) -> str:
    """The config as TOML. `inferred_metrics`: per rollout, the Prometheus settings discovery
    inferred, shown commented out where metrics are off (no Prometheus found)."""
    out = [
        f"# monotui.toml from 'monotui discover' ({_comment(context)}, {discovery.scope}): "
        f"{len(tables)} rollout(s).",
        "# Each inferred value says where it came from: fix what is wrong, delete what you do",
        "# not need. Entries here override what discovery finds (matched by namespace and name).",
    ]
    out += [f"# {_comment(line)}" for line in discovery.lines()]
    if discovery.absent_line():
        out.append(f"# {_comment(discovery.absent_line())}")
    if finding is not None:
        out.append(f"# {_comment(finding.line())}")
    if prometheus:
        out += ["", "[prometheus]"]
        for key, value in prometheus.items():
            out.append(f"{_key(key)} = {_value(value)}")
    for table in tables:
        name = str(table.get("name"))
        source = sources.get(name, {})
        after: dict[str, list[str]] = {}
        if (table.get("metrics") or {}).get("kind") == "none" and name in inferred_metrics:
            after["metrics"] = ["# with a Prometheus, discovery would read these metrics:"] + [
                f"# {_key(key)} = {_value(value)}" for key, value in inferred_metrics[name].items()
            ]
        out += ["", "[[rollouts]]"]
        _body(out, table, source, "", "rollouts", after)
    return "\n".join(out) + "\n"


def _body(
    out: list[str],
    table: Mapping[str, Any],
    source: Mapping[str, str],
    prefix: str,
    header: str,
    after: Mapping[str, list[str]],
) -> None:
    keys = sorted(table, key=lambda k: (_ORDER.index(k) if k in _ORDER else len(_ORDER), 0))
    nested = [k for k in keys if isinstance(table[k], dict)]
    for key in keys:
        if key in nested:
            continue
        how = source.get(f"{prefix}{key}")
        if how:
            out.append(f"# {_comment(how)}")
        out.append(f"{_key(key)} = {_value(table[key])}")
    for path, how in source.items():  # what was looked for and not set ("traffic: none: ...")
        rest = path[len(prefix) :] if path.startswith(prefix) else None
        if rest and "." not in rest and rest not in table:
            out.append(f"# {_key(rest)}: {_comment(how)}")
    out += after.get(prefix.rstrip("."), []) if prefix else []
    for key in nested:
        out += ["", f"[{header}.{_key(key)}]"]
        how = source.get(f"{prefix}{key}")
        if how:
            out.append(f"# {_comment(how)}")
        _body(out, table[key], source, f"{prefix}{key}.", f"{header}.{_key(key)}", after)


def _key(key: str) -> str:
    return key if _BARE.fullmatch(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))  # a JSON string is a TOML basic string


def _comment(text: str) -> str:
    return literal(text, max_len=400)


def to_json(
    tables: list[dict[str, Any]],
    sources: Mapping[str, Mapping[str, str]],
    *,
    discovery: Discovery,
    prometheus: Mapping[str, Any],
    finding: PrometheusFinding | None,
    context: str,
) -> str:
    """The config as JSON, with the provenance and what discovery could not read beside it."""
    found = None
    if finding is not None:
        found = {
            "service": str(finding.service) if finding.service else None,
            "version": finding.version,
            "tried": finding.tried,
            "line": finding.line(),
        }
    data = {
        "prometheus": dict(prometheus),
        "rollouts": tables,
        "discovery": {
            "context": context,
            "scope": discovery.scope,
            "source": {name: dict(source) for name, source in sources.items()},
            "skipped": discovery.skipped,
            "absent": discovery.absent,
            "passed": discovery.passed,
            "prometheus": found,
        },
    }
    return json.dumps(data, indent=2)
