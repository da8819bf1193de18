"""flagd targeting as flagd evaluates it (core/pkg/evaluator: fractional.go, json.go), in the
shapes of flagd's docs and flagd-testbed's custom-ops and edge-case flags: fractional's weightless
shorthand, a negative weight (clamped to 0), weights past flagd's int32 limit, and the boolean
shorthand (a rule's true/false selects the variant named "true"/"false"). Keys are our own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.test_realworld_flags import flags_of


def colours(*entries: Any) -> dict[str, Any]:
    return {
        "state": "ENABLED",
        "variants": {"red": "#c00", "blue": "#00c", "grey": "#888"},
        "defaultVariant": "grey",
        "targeting": {"fractional": [{"var": "targetingKey"}, *entries]},
    }


def test_the_documented_weightless_shorthand_is_an_even_split_not_a_warning(
    tmp_path: Path,
) -> None:
    flag = flags_of(tmp_path, {"flags": {"header": colours(["red"], ["blue"])}})["header"]
    assert flag.targeting == "fractional by targetingKey: red 50 % / blue 50 %"
    assert flag.error is None


def test_a_negative_weight_counts_as_zero_and_the_flag_still_toggles(tmp_path: Path) -> None:
    # flagd-testbed: ["one", -50] is treated as ["one", 0]; "two" gets every evaluation.
    flags = flags_of(tmp_path, {"flags": {
        "header": colours(["red", -50], ["blue", 100]),
        "kill": {"state": "ENABLED", "variants": {"on": True, "off": False},
                 "defaultVariant": "on", "targeting": {"fractional": [["on", -1], ["off", 1]]}},
    }})  # fmt: skip
    assert flags["header"].targeting == "fractional by targetingKey: red 0 % / blue 100 %"
    assert "counts as 0" in str(flags["header"].error)
    assert flags["kill"].toggle == "on -> off (targeting still applies)"


def test_weights_past_flagds_int32_limit_are_an_error(tmp_path: Path) -> None:
    flags = flags_of(tmp_path, {"flags": {
        "one": colours(["red", 2**31], ["blue", 1]),
        "sum": colours(["red", 2**31 - 1], ["blue", 1]),
    }})  # fmt: skip
    assert "above flagd's 2147483647" in str(flags["one"].error)
    assert "add up to 2147483648, above flagd's limit" in str(flags["sum"].error)


def test_a_boolean_rule_needs_variants_named_true_and_false(tmp_path: Path) -> None:
    on_off = {"on": True, "off": False}
    flags = flags_of(tmp_path, {"flags": {
        # flagd's docs: the shorthand with "true"/"false" variants is fine
        "shorthand": {"state": "ENABLED", "variants": {"true": True, "false": False},
                      "defaultVariant": "false",
                      "targeting": {"ends_with": [{"var": "email"}, "@example.com"]}},
        # the same rule on "on"/"off" variants: every evaluation is a GENERAL error in flagd
        "on-off": {"state": "ENABLED", "variants": on_off, "defaultVariant": "off",
                   "targeting": {"$ref": "staff"}},
        # flagd-testbed's non-string-variant-targeting-flag: true picks the variant "true"
        "numbers": {"state": "ENABLED", "variants": {"false": 1, "true": 2},
                    "defaultVariant": "false", "targeting": {"if": [True, True, False]}},
        "json-true": {"state": "ENABLED", "variants": on_off, "defaultVariant": "off",
                      "targeting": {"if": [{"var": "beta"}, True, "off"]}},
    }, "$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@example.com"]}}})  # fmt: skip
    assert flags["shorthand"].error is None and flags["numbers"].error is None
    assert flags["shorthand"].targeting == "if email ends with @example.com -> true else false"
    assert flags["shorthand"].toggle == "false -> true (targeting still applies)"
    assert "variant named 'true' (the boolean shorthand)" in str(flags["on-off"].error)
    assert "variant named 'false'" in str(flags["on-off"].error)
    assert "variant named 'true'" in str(flags["json-true"].error)
