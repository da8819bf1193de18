"""The flagd flag-definition document (https://flagd.dev/schema/v0/flags.json) as `Flag` values.

Shared by the flagd file source and the OpenFeature FeatureFlag resource (whose `spec.flagSpec` is
the same document). Validation is per flag: a broken flag carries `error` and the others still show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from monotui.model import Flag
from monotui.sources import flagd_targeting

STATES = ("ENABLED", "DISABLED")
REFUSED = "flagd refuses this whole flag set"
"""How the error of a document flagd will not load at all begins (FlagSet.errors[0])."""


@dataclass(frozen=True, slots=True)
class Change:
    """What toggling one flag does: set `field` of the flag from `old` to `new`."""

    key: str
    path: tuple[str | int, ...]  # of the flag object inside the flagd document
    field: str  # "defaultVariant" or "state"
    old: str
    new: str
    text: str  # what the user reads: "on -> off", "enable"


@dataclass(frozen=True, slots=True)
class Parsed:
    """The flags of a document, their problems, and how each toggleable flag toggles."""

    flags: tuple[Flag, ...]
    errors: tuple[str, ...]
    changes: Mapping[str, Change]
    refused: str | None = None  # why flagd will not load the document at all (no toggle works)


def flag_entries(doc: Mapping[str, Any]) -> list[tuple[str, tuple[str | int, ...], Any]]:
    """(key, path, definition) of every flag; `flags` may be a map or (flagd only) a list."""
    flags = doc.get("flags")
    if isinstance(flags, Mapping):
        return [(str(k), ("flags", str(k)), v) for k, v in flags.items()]
    if isinstance(flags, list):
        entries: list[tuple[str, tuple[str | int, ...], Any]] = []
        for i, item in enumerate(flags):
            key = item.get("key") if isinstance(item, Mapping) else None
            entries.append((str(key) if key is not None else f"#{i}", ("flags", i), item))
        return entries
    return []


def parse(doc: Any) -> Parsed:
    """Every flag of a decoded flagd document; raises ValueError when it is not one at all."""
    if not isinstance(doc, Mapping):
        raise ValueError(f"the document is a {_kind(doc)}, not an object with 'flags'")
    if "flags" not in doc:
        raise ValueError("the document has no 'flags'")
    if not isinstance(doc["flags"], Mapping | list):
        raise ValueError(f"'flags' is a {_kind(doc['flags'])}, not an object")
    raw_evaluators = doc.get("$evaluators")
    evaluators: Mapping[str, Any] = raw_evaluators if isinstance(raw_evaluators, Mapping) else {}
    flags: dict[str, Flag] = {}
    errors: list[str] = []
    changes: dict[str, Change] = {}
    refusals: list[str] = []
    for key, path, definition in flag_entries(doc):
        why = refusal(definition)
        if why is not None:
            refusals.append(f"flag {key}: {why}")
        if key in flags:
            # A list may name one key twice: which one flagd serves is not ours to guess, so the
            # flag shows once, as an error, and cannot be toggled until the file is fixed.
            twice = f"is defined twice (again at {'/'.join(map(str, path))}): fix the file"
            flags[key] = replace(flags[key], error=twice, toggle=None)
            changes.pop(key, None)
            errors.append(f"flag {key}: {twice}")
            continue
        flag, change = parse_flag(key, path, definition, evaluators)
        flags[key] = flag
        if flag.error:
            errors.append(f"flag {key}: {flag.error}")
        if change is not None:
            changes[key] = change
    if not refusals:
        return Parsed(tuple(flags.values()), tuple(errors), changes)
    # flagd loads a flag set whole or not at all (evaluator/json.go: SetState): it keeps serving
    # the last one it accepted, so a toggle of any flag here would be written and never served.
    more = f" and {len(refusals) - 1} more" if len(refusals) > 1 else ""
    refused = (
        f"{REFUSED} ({refusals[0]}{more}) and keeps serving the last one it accepted, so no "
        "toggle here would take effect: fix that first"
    )
    unusable = tuple(replace(flag, toggle=None) for flag in flags.values())
    return Parsed(unusable, (refused, *errors), {}, refused)


def refusal(definition: Any) -> str | None:
    """Why flagd would refuse the whole document for this one flag definition (None: it loads):
    a field of the wrong JSON type, or a defaultVariant that names none of the flag's variants
    (flagd's json.Unmarshal into model.Flag and validateDefaultVariants)."""
    if definition is None:
        return None
    if not isinstance(definition, Mapping):
        return f"is a {_kind(definition)}, not an object"
    for field, kind in (("state", str), ("defaultVariant", str), ("variants", Mapping)):
        value = definition.get(field)
        if value is not None and not isinstance(value, kind):
            return f"{field} is a {_kind(value)}"
    if definition.get("metadata") is not None and not isinstance(definition["metadata"], Mapping):
        return f"metadata is a {_kind(definition['metadata'])}, not an object"
    default, variants = definition.get("defaultVariant"), definition.get("variants")
    if default and variants is None:
        # The schema allows omitted variants, but flagd's loader reads them as none at all.
        return f"defaultVariant '{default}' names no variant (the flag has no variants)"
    if default and isinstance(variants, Mapping) and default not in variants:
        return f"defaultVariant '{default}' names no variant"
    return None


def parse_flag(
    key: str, path: tuple[str | int, ...], definition: Any, evaluators: Mapping[str, Any]
) -> tuple[Flag, Change | None]:
    """One flag and how it toggles (None: it cannot be toggled)."""
    if not isinstance(definition, Mapping):
        return Flag(key, "UNKNOWN", None, error=f"is a {_kind(definition)}, not an object"), None
    problems: list[str] = []
    # flagd treats a missing state as ENABLED (schema test positive/omitted-state.json), and
    # any other string but exactly "DISABLED" too: its schema check only warns, and it disables
    # on `flag.State == "DISABLED"` alone (core/pkg/evaluator/json.go). So "disabled" is served
    # enabled: show what flagd serves, and the spelling as the error (no toggle: fix it first).
    raw_state = definition.get("state", "ENABLED")
    if not isinstance(raw_state, str):
        state = "UNKNOWN"
    else:
        state = "DISABLED" if raw_state == "DISABLED" else "ENABLED"
    if raw_state not in STATES:
        served = (
            ': flagd serves it as ENABLED (only "DISABLED" disables a flag); write ENABLED or '
            "DISABLED"
            if isinstance(raw_state, str)
            else ""
        )
        problems.append(f"state {raw_state!r} is not ENABLED or DISABLED{served}")
    # The schema's default for omitted variants is a boolean pair (its positive test
    # omitted-variants.json), but flagd's loader reads omitted variants as none (its
    # convertToModelFlag), and refuses the whole set when a defaultVariant is set (`refusal`).
    raw_variants = definition.get("variants", {})
    variants: Mapping[str, Any] = raw_variants if isinstance(raw_variants, Mapping) else {}
    if not isinstance(raw_variants, Mapping):
        problems.append(f"variants is a {_kind(raw_variants)}, not an object")
    kinds = sorted({_kind(v) for v in variants.values()})
    if len(kinds) > 1:
        problems.append(f"variants mix types ({', '.join(kinds)}); flagd needs one type per flag")
    default = definition.get("defaultVariant")
    if default == "":
        # flagd reads "" as no default variant (the code default), and the operator's FeatureFlag
        # writes "" when none is set (its Go field has no omitempty): not a missing variant.
        default = None
    if default is not None and not isinstance(default, str):
        problems.append(f"defaultVariant {default!r} is not a string")
        default = str(default)
    elif default is not None and default not in variants:
        known = ", ".join(variants) or "none"
        problems.append(f"defaultVariant '{default}' names no variant (variants: {known})")
    targeting = definition.get("targeting")
    problems.extend(flagd_targeting.problems(targeting, variants, evaluators))
    summary = flagd_targeting.summarize(targeting, evaluators)
    fatal = _fatal(problems)
    change = None if fatal else toggle_change(key, path, state, default, variants, summary)
    flag = Flag(
        key=key,
        state=state,
        default_variant=default,
        value=variants.get(default) if default is not None else None,
        variants=tuple(variants.items()),
        targeting=summary,
        toggle=change.text if change else None,
        error="; ".join(problems) or None,
    )
    return flag, change


def _fatal(problems: list[str]) -> bool:
    # A fractional sum other than 100 is legal flagd (relative weights), so is a negative weight
    # (counted as 0), and an operator we do not know may be one flagd added after us: warn, but
    # keep toggling offered.
    warnings = ("fractional weights sum to", "unknown operator", "negative fractional weight")
    return any(not p.startswith(warnings) for p in problems)


def toggle_change(
    key: str,
    path: tuple[str | int, ...],
    state: str,
    default: str | None,
    variants: Mapping[str, Any],
    summary: str,
) -> Change | None:
    """How `enter` toggles a flag: enable a DISABLED one, or switch a boolean flag's
    defaultVariant to the variant of the other value; None when neither applies."""
    if state == "DISABLED":
        return Change(key, path, "state", "DISABLED", "ENABLED", "enable")
    if default is None or not variants or not all(isinstance(v, bool) for v in variants.values()):
        return None
    current = variants[default]
    target = next((name for name, value in variants.items() if value is not current), None)
    if target is None:
        return None
    # A rule's result wins over defaultVariant in flagd: say so rather than promise a full switch.
    tail = "" if summary == flagd_targeting.STATIC else " (targeting still applies)"
    return Change(key, path, "defaultVariant", default, target, f"{default} -> {target}{tail}")


def apply(doc: Any, change: Change) -> Any:
    """A deep copy of `doc` with `change` made (for checking an edit)."""
    import copy

    new = copy.deepcopy(doc)
    node = new
    for part in change.path:
        node = node[part]
    node[change.field] = change.new
    return new


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"
