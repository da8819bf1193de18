"""A config file over what discovery found: its `[[rollouts]]` entries override or add to the
discovered ones, matched by namespace and name (the entry's name, or its router's name, is the
discovered rollout's name or its resource's).

An entry overrides key by key: a table (router, metrics, flags, judge) is merged into the
discovered one when it keeps the same kind, and replaces it when it names another kind. What it
sets is no longer inferred: its provenance names the file.
"""

from __future__ import annotations

import copy
from typing import Any

from monotui.sources.discovery.found import Found

Provenance = dict[str, dict[str, str]]
"""rollout name -> its provenance map (see `monotui.sources.discovery.found`)."""

TABLES = ("router", "metrics", "flags", "judge")


def merge(
    found: list[Found], entries: list[Any], *, file: str, metrics: bool = True
) -> tuple[list[dict[str, Any]], Provenance]:
    """The `[[rollouts]]` tables: the discovered ones with the file's entries over them, then
    the entries that match none; and the provenance of each by its final name."""
    tables: list[dict[str, Any]] = []
    sources: Provenance = {}
    used: set[int] = set()
    for rollout in found:
        table = rollout.table(metrics=metrics)
        source = dict(rollout.source)
        for i, entry in enumerate(entries):
            if i not in used and isinstance(entry, dict) and _matches(entry, rollout):
                used.add(i)
                table, source = _over(table, source, entry, file)
                break
        tables.append(table)
        sources[str(table.get("name"))] = source
    for i, entry in enumerate(entries):
        if i not in used:
            tables.append(entry)
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                sources[entry["name"]] = {}
    return tables, sources


def _matches(entry: dict[str, Any], rollout: Found) -> bool:
    if str(entry.get("namespace", "default")) != rollout.namespace:
        return False
    router = entry.get("router")
    names = {entry.get("name"), router.get("name") if isinstance(router, dict) else None}
    return bool(names & {rollout.name, rollout.router.get("name")})


def _over(
    table: dict[str, Any], source: dict[str, str], entry: dict[str, Any], file: str
) -> tuple[dict[str, Any], dict[str, str]]:
    merged = copy.deepcopy(table)
    source = dict(source)
    for key, value in entry.items():
        found = merged.get(key)
        if key in TABLES and isinstance(value, dict) and isinstance(found, dict):
            if value.get("kind", found.get("kind")) == found.get("kind"):
                merged[key] = _deep(found, value, key, source, file)
                continue
            source = {k: v for k, v in source.items() if not k.startswith(f"{key}.")}
        merged[key] = copy.deepcopy(value)
        source = {k: v for k, v in source.items() if k != key and not k.startswith(f"{key}.")}
        source[key] = f"set in {file}"
    return merged, source


def _deep(
    base: dict[str, Any], over: dict[str, Any], prefix: str, source: dict[str, str], file: str
) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        path = f"{prefix}.{key}"
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            same = value.get("kind", out[key].get("kind")) == out[key].get("kind")
            if same:
                out[key] = _deep(out[key], value, path, source, file)
                continue
        for stale in [k for k in source if k.startswith(f"{path}.")]:
            del source[stale]
        out[key] = copy.deepcopy(value)
        source[path] = f"set in {file}"
    return out
