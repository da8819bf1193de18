"""flagd targeting (JsonLogic plus flagd's operators) as one line a human reads, and its problems.

`summarize` turns a rule into e.g. "fractional: on 10 % / off 90 %" or "if email in @faas.com -> binet".
`problems` lists what flagd would reject or what would surprise a reader (unknown `$ref`, fractional
weights that are not whole non-negative numbers, variants the rule names but the flag lacks, weights
that do not add up to 100).

flagd's `fractional` weights are relative: flagd (core/pkg/evaluator/fractional.go) accepts any
whole weights and splits by weight / sum (a missing weight counts as 1, a negative one as 0, and
when all are 0 the default variant is served); a weight or a sum above 2^31 - 1 fails. Only the
deprecated `fractionalEvaluation` required a sum of 100. We still report a sum of written weights
other than 100, since "on 10 / off 80" reads like percentages, and say what flagd will really do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STATIC = "static"
MAX_WEIGHT = 2**31 - 1
"""flagd's limit for one fractional weight and for their sum (math.MaxInt32)."""

_INFIX = {
    "==": "==",
    "===": "==",
    "!=": "!=",
    "!==": "!=",
    "<": "<",
    ">": ">",
    "<=": "<=",
    ">=": ">=",
    "in": "in",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "+": "+",
    "-": "-",
    "*": "*",
    "/": "/",
    "%": "%",
}


# JsonLogic's operations plus flagd's own (fractional, sem_ver, starts_with/ends_with, $ref, the
# string casing and time-based rollout operations, the deprecated fractionalEvaluation).
KNOWN_OPERATORS = frozenset(
    {"==", "===", "!=", "!==", "<", ">", "<=", ">=", "!", "!!", "and", "or", "if", "?:"}
    | {"var", "missing", "missing_some", "in", "cat", "substr", "+", "-", "*", "/", "%"}
    | {"min", "max", "merge", "map", "filter", "reduce", "all", "none", "some", "log"}
    | {"fractional", "fractionalEvaluation", "starts_with", "ends_with", "sem_ver", "$ref"}
    | {"lower", "upper", "rollout"}
)

# Operations that always give true/false: a rule that is one of them selects the variant named
# "true" or "false" (flagd's boolean shorthand), so the summary says so.
_BOOLEAN = frozenset(_INFIX) - {"+", "-", "*", "/", "%"} | {"!", "!!", "sem_ver"}


def summarize(targeting: Any, evaluators: Mapping[str, Any] | None = None) -> str:
    """One line that says what the rule does; "static" when there is none."""
    if targeting is None or targeting == {}:
        return STATIC
    return _Summary(evaluators or {}).rule(targeting)


def problems(
    targeting: Any, variants: Mapping[str, Any], evaluators: Mapping[str, Any] | None = None
) -> list[str]:
    """What is wrong with a rule, each as a short sentence (empty when nothing is)."""
    found: list[str] = []
    _check(targeting, variants, evaluators or {}, found, set())
    found.extend(_shorthand_problems(targeting, variants, evaluators or {}))
    return found


def _shorthand_problems(
    targeting: Any, variants: Mapping[str, Any], evaluators: Mapping[str, Any]
) -> list[str]:
    """A rule that is a comparison returns true/false, which flagd reads as the variant named
    "true" or "false" (the boolean shorthand); without that variant every evaluation errors."""
    rule = targeting
    for _ in range(8):  # a top-level $ref to a $ref ...: follow it as flagd inlines it
        ref = rule.get("$ref") if isinstance(rule, dict) and len(rule) == 1 else None
        if not isinstance(ref, str) or ref not in evaluators:
            break
        rule = evaluators[ref]
    if not (isinstance(rule, dict) and len(rule) == 1 and next(iter(rule)) in _BOOLEAN):
        return []
    return [
        _no_bool_variant(name) for name in ("true", "false") if variants and name not in variants
    ]


def _no_bool_variant(name: str) -> str:
    return (
        f"targeting returns {name}, so flagd looks for a variant named '{name}' (the boolean "
        "shorthand), and there is none"
    )


def fractional_shares(args: list[Any]) -> tuple[str | None, list[tuple[Any, float]]]:
    """The bucketing expression (None: flagd's default, flagKey + targetingKey) and each
    variant's share in percent, computed the way flagd does (relative weights)."""
    bucket: str | None = None
    entries = args
    if args and not isinstance(args[0], list):
        bucket = _Summary({}).operand(args[0]) if args[0] is not None else None
        entries = args[1:]
    weights = [
        (_entry_variant(e), _clamped(_entry_weight(e))) for e in entries if isinstance(e, list)
    ]
    total = sum(w for _, w in weights if isinstance(w, int | float))
    shares = [
        (v, 100.0 * w / total if total and isinstance(w, int | float) else 0.0) for v, w in weights
    ]
    return bucket, shares


def _entry_variant(entry: list[Any]) -> Any:
    return entry[0] if entry else None


def _entry_weight(entry: list[Any]) -> Any:
    # flagd: a distribution entry without a weight weighs 1.
    return entry[1] if len(entry) >= 2 and entry[1] is not None else 1


def _clamped(weight: Any) -> Any:
    # flagd counts a negative weight as 0 (it may come from a rollout calculation).
    is_number = isinstance(weight, int | float) and not isinstance(weight, bool)
    return max(weight, 0) if is_number else weight


def _pct(share: float) -> str:
    text = f"{share:.1f}".removesuffix(".0")
    return f"{text} %"


class _Summary:
    def __init__(self, evaluators: Mapping[str, Any]) -> None:
        self.evaluators = evaluators
        self.depth = 0

    def rule(self, node: Any) -> str:
        """A rule in result position: its value is a variant name (or null: the default)."""
        if isinstance(node, dict) and len(node) == 1:
            ((op, args),) = node.items()
            if op == "if" and isinstance(args, list):
                return self._if(args)
            if op == "fractional" and isinstance(args, list):
                return self._fractional(args)
            if op == "$ref" and isinstance(args, str):
                return self._ref(args, self.rule)
            if op in _BOOLEAN:
                return f"if {self.operand(node)} -> true else false"
        if node is None:
            return "default"
        return self.operand(node)

    def _if(self, args: list[Any]) -> str:
        parts: list[str] = []
        i = 0
        while i + 1 < len(args):
            word = "if" if i == 0 else "elif"
            parts.append(f"{word} {self.operand(args[i])} -> {self.rule(args[i + 1])}")
            i += 2
        if i < len(args) and args[i] is not None:
            rest = args[i]
            nested = isinstance(rest, dict) and len(rest) == 1 and isinstance(rest.get("if"), list)
            # An if in the else branch reads as a chain: "if a -> x elif b -> y".
            tail = self._if(rest["if"]) if nested else f"else {self.rule(rest)}"
            parts.append(tail.replace("if ", "elif ", 1) if nested else tail)
        return " ".join(parts) if parts else "if (empty)"

    def _fractional(self, args: list[Any]) -> str:
        bucket, shares = fractional_shares(args)
        by = f" by {bucket}" if bucket else ""
        rest = args[1:] if args and not isinstance(args[0], list) else args
        entries = [e for e in rest if isinstance(e, list)]
        weights = [_entry_weight(e) for e in entries]
        if any(isinstance(w, dict) for w in weights):
            # A weight computed at evaluation (e.g. from $flagd.timestamp) has no fixed share.
            split = " / ".join(
                f"{self.operand(_entry_variant(e))} (weight {self.operand(w)})"
                for e, w in zip(entries, weights, strict=True)
            )
            return f"fractional{by}: {split}"
        split = " / ".join(f"{self.operand(v)} {_pct(s)}" for v, s in shares)
        return f"fractional{by}: {split}"

    def _ref(self, name: str, then: Any) -> str:
        target = self.evaluators.get(name)
        if target is None or self.depth > 8:
            return f"${name}"
        self.depth += 1
        try:
            text: str = then(target)
            return text
        finally:
            self.depth -= 1

    def operand(self, node: Any) -> str:
        """A rule in condition or value position."""
        if isinstance(node, dict) and len(node) == 1:
            ((op, args),) = node.items()
            return self._op(str(op), args)
        if isinstance(node, list):
            return "[" + ", ".join(self.operand(x) for x in node) + "]"
        if isinstance(node, dict):
            return "{" + ", ".join(f"{k}: {self.operand(v)}" for k, v in node.items()) + "}"
        if node is None:
            return "null"
        if isinstance(node, bool):
            return "true" if node else "false"
        return str(node)

    def _op(self, op: str, args: Any) -> str:
        seq = args if isinstance(args, list) else [args]
        if op == "var":
            return str(seq[0]) if seq else "data"
        if op == "$ref" and isinstance(args, str):
            return self._ref(args, self.operand)
        if op == "if":
            return "(" + self._if(seq) + ")"
        if op == "fractional":
            return self._fractional(seq)
        if op in ("and", "or"):
            return f" {op} ".join(self._group(a) for a in seq)
        if op in ("!", "!!"):
            return ("not " if op == "!" else "") + self._group(seq[0] if seq else None)
        if op == "sem_ver" and len(seq) == 3:
            return f"{self.operand(seq[0])} {self.operand(seq[1])} {self.operand(seq[2])} (semver)"
        if op == "cat":
            return "+".join(self.operand(a) for a in seq)
        if op == "in" and len(seq) == 2 and isinstance(seq[0], str) and _is_var(seq[1]):
            # {"in": ["@faas.com", {"var": "email"}]} is a substring test; people say
            # "email in @faas.com" (the domain), so read it that way round.
            return f"{self.operand(seq[1])} in {seq[0]}"
        if op in ("<", "<=") and len(seq) == 3:
            sign = _INFIX[op]
            a, b, c = (self.operand(x) for x in seq)
            return f"{a} {sign} {b} {sign} {c}"
        if op in _INFIX and len(seq) == 2:
            return f"{self.operand(seq[0])} {_INFIX[op]} {self.operand(seq[1])}"
        return f"{op}(" + ", ".join(self.operand(a) for a in seq) + ")"

    def _group(self, node: Any) -> str:
        text = self.operand(node)
        is_bool_op = isinstance(node, dict) and len(node) == 1 and next(iter(node)) in ("and", "or")
        return f"({text})" if is_bool_op else text


def _is_var(node: Any) -> bool:
    return isinstance(node, dict) and len(node) == 1 and "var" in node


def _check(
    node: Any,
    variants: Mapping[str, Any],
    evaluators: Mapping[str, Any],
    found: list[str],
    seen_refs: set[str],
) -> None:
    if isinstance(node, list):
        for item in node:
            _check(item, variants, evaluators, found, seen_refs)
        return
    if not isinstance(node, dict):
        return
    if len(node) == 1 and next(iter(node)) not in KNOWN_OPERATORS:
        found.append(f"unknown operator '{next(iter(node))}': flagd cannot evaluate this rule")
    for op, args in node.items():
        if op == "$ref":
            if not isinstance(args, str) or args not in evaluators:
                known = ", ".join(evaluators) or "none defined"
                found.append(f"$ref '{args}' names no entry of $evaluators ({known})")
            elif args not in seen_refs:
                _check(evaluators[args], variants, evaluators, found, seen_refs | {args})
            continue
        if op == "fractional" and isinstance(args, list):
            found.extend(_fractional_problems(args, variants))
        if op == "if" and isinstance(args, list):
            # Results (odd positions and the else) are variant names when they are strings.
            for i, branch in enumerate(args):
                is_result = i % 2 == 1 or i == len(args) - 1
                if is_result and isinstance(branch, str) and variants and branch not in variants:
                    found.append(f"targeting returns '{branch}', which is not a variant")
                elif is_result and isinstance(branch, bool) and variants:
                    name = "true" if branch else "false"
                    if name not in variants:
                        found.append(_no_bool_variant(name))
        _check(args, variants, evaluators, found, seen_refs)


def _fractional_problems(args: list[Any], variants: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    entries = args[1:] if args and not isinstance(args[0], list) else args
    if not entries:
        return ["fractional has no variants to split between"]
    total = 0
    computed = False
    warnings: list[str] = []
    # The documented shorthand [["heads"], ["tails"]] writes no weight: equal shares, no surprise.
    written = any(isinstance(e, list) and len(e) >= 2 and e[1] is not None for e in entries)
    for entry in entries:
        if not isinstance(entry, list) or not entry:
            found.append(f"fractional entry {entry!r} is not [variant, weight]")
            continue
        variant, weight = _entry_variant(entry), _entry_weight(entry)
        if isinstance(variant, str) and variants and variant not in variants:
            found.append(f"fractional names '{variant}', which is not a variant")
        if isinstance(weight, dict):
            computed = True  # a JsonLogic expression: its value is only known at evaluation
            continue
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            found.append(f"fractional weight {weight!r} of '{variant}' is not a number")
        elif weight != int(weight):
            found.append(f"fractional weight {weight!r} of '{variant}' must be a whole number")
        elif weight > MAX_WEIGHT:
            found.append(
                f"fractional weight {weight!r} of '{variant}' is above flagd's {MAX_WEIGHT}"
            )
        elif weight < 0:
            warnings.append(
                f"negative fractional weight {weight!r} of '{variant}' counts as 0 (flagd clamps it)"
            )
        else:
            total += int(weight)
    if found or computed:
        return found + warnings
    if total > MAX_WEIGHT:
        return [f"the fractional weights add up to {total}, above flagd's limit of {MAX_WEIGHT}"]
    if total == 0:
        return [*warnings, "fractional weights sum to 0: flagd serves the default variant"]
    if total != 100 and written:
        _, shares = fractional_shares(args)
        real = " / ".join(f"{v} {_pct(s)}" for v, s in shares)
        found.append(
            f"fractional weights sum to {total}, not 100; flagd treats them as relative "
            f"shares ({real}): write percentages that add up to 100 to avoid surprises"
        )
    return warnings + found
