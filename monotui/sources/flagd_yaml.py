"""YAML read the way flagd reads it: gopkg.in/yaml.v3 into Go maps, then JSON.

flagd (core/pkg/utils/yaml.go) decodes a YAML flag file with yaml.v3 and marshals it to JSON, and
only then reads the flags. PyYAML follows YAML 1.1, which reads many plain scalars differently, so
a file that flagd serves would show different values here, or none at all:

- booleans are only true/false (1.1 also takes on/off/yes/no), so `{on: true, off: false}` keeps
  the variant names "on" and "off";
- a mapping key that is not a string becomes its Go `%v` text, as flagd's convertMapKeys does:
  `variants: {true: true, false: false}` has the variants "true" and "false" (not Python's True and
  False, which no defaultVariant can name);
- timestamps stay text (yaml.v3 keeps a timestamp read into an interface as its string), so
  `old: 2024-01-01` is the string variant "2024-01-01", not a date;
- numbers are YAML 1.2's with yaml.v3's extras: `1e6` is a number (1.1: a string), `12:00` is a
  string (1.1: the sexagesimal 720), `0o17` and `017` are 15, `0x1F` is 31, underscores are ignored;
- a plain `=` is the string "=" (1.1's value tag made the whole file unreadable).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

import yaml

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_VALUE = "tag:yaml.org,2002:value"  # YAML 1.1's plain "=", which the safe loader cannot build
_NUMBER = "tag:monotui,2026:go-number"  # our own: resolved here, decided by _go_number

# A plain scalar that may be a yaml.v3 number; _go_number decides, and gives the text back if not.
_MAYBE_NUMBER = re.compile(r"^[-+]?[0-9.][0-9a-fA-F_.xXoObBeE+-]*$")
_GO_INT = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF_NAN = re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_BASES = {"x": 16, "o": 8, "b": 2}


class FlagdYamlLoader(_Base):  # type: ignore[misc]
    """PyYAML's safe loader resolving plain scalars and keys as flagd does (see the module doc)."""

    yaml_implicit_resolvers = {
        first: [
            (tag, rx)
            for tag, rx in resolvers
            if tag not in (_BOOL, _INT, _FLOAT, _TIMESTAMP, _VALUE)
        ]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        """The mapping with every key as flagd's JSON has it (a string)."""
        raw = super().construct_mapping(node, deep=deep)
        if all(isinstance(key, str) for key in raw):
            return raw
        out: dict[str, Any] = {}
        for key, value in raw.items():
            text = go_text(key)
            if text in out:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key {text!r} appears twice (once as a string)",
                    node.start_mark,
                )
            out[text] = value
        return out


def _construct_number(loader: Any, node: yaml.ScalarNode) -> Any:
    return _go_number(loader.construct_scalar(node))


def _construct_text(loader: Any, node: yaml.ScalarNode) -> Any:
    return loader.construct_scalar(node)


FlagdYamlLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
FlagdYamlLoader.add_implicit_resolver(_NUMBER, _MAYBE_NUMBER, list("-+0123456789."))
FlagdYamlLoader.add_implicit_resolver(_FLOAT, _INF_NAN, list("-+."))
FlagdYamlLoader.add_constructor(_NUMBER, _construct_number)
# An explicit !!timestamp is text too: yaml.v3 gives an interface the string.
FlagdYamlLoader.add_constructor(_TIMESTAMP, _construct_text)


def _go_number(text: str) -> int | float | str:
    """yaml.v3's reading of a plain scalar: Go's ParseInt/ParseUint (base 0), then its float
    pattern, after dropping underscores; anything else stays the text it was."""
    plain = text.replace("_", "")
    match = _GO_INT.fullmatch(plain)
    if match:
        sign, digits = match.groups()
        base = _BASES.get(digits[1:2].lower(), 10) if len(digits) > 1 else 10
        if base == 10 and digits.startswith("0"):
            base = 8  # Go reads a leading 0 as octal (YAML 1.1 style), and yaml.v3 keeps it
        body = digits[2:] if base != 10 and digits[1:2].lower() in _BASES else digits
        value = int(body, base) * (-1 if sign == "-" else 1)
        if -(2**63) <= value < 2**64:
            return value
    if _GO_FLOAT.fullmatch(plain):
        return float(plain)
    return text


def go_text(key: object) -> str:
    """A decoded YAML key as Go's fmt `%v` writes it (what flagd's convertMapKeys makes of it)."""
    if isinstance(key, str):
        return key
    if key is None:
        return "<nil>"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return _go_float(key)
    return str(key)


def _go_float(value: float) -> str:
    """Go's `%v` of a float64 (strconv's 'g' with the shortest digits): %e from exponent 6 up
    or below -4, e.g. 1.5 -> "1.5", 1e6 -> "1e+06"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    point = len(text) + exponent  # where the decimal point falls in `text`
    lead = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{lead}{mantissa}e{'+' if point - 1 >= 0 else '-'}{abs(point - 1):02d}"
    if point <= 0:
        return f"{lead}0.{'0' * -point}{text}"
    if point >= len(text):
        return lead + text + "0" * (point - len(text))
    return f"{lead}{text[:point]}.{text[point:]}"
