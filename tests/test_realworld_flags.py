"""flagd flag files in the shapes real projects ship, re-created with our own keys and values.

The shapes follow flagd's docs and schema tests (open-feature/flagd-schemas), flagd's test harness
(open-feature/flagd-testbed: testing, zero, precision, disabled, edge-case, evaluator-refs,
custom-ops flags), flagd's YAML sample and the OpenTelemetry demo's flag file. Each test asserts
what the flags panel would show, or what a toggle leaves in the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from monotui.errors import SourceError
from monotui.model import Flag
from monotui.sources.flagd_edit import load
from monotui.sources.flags_flagd import FlagdFileFlags
from tests.configs import rollout_config


def source(path: Path) -> FlagdFileFlags:
    rollout = rollout_config({"name": "shop", "flags": {"kind": "flagd-file", "path": str(path)}})
    return FlagdFileFlags(rollout)


def write(tmp_path: Path, text: str, name: str = "flags.flagd.json") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def flags_of(tmp_path: Path, doc: Any) -> dict[str, Flag]:
    src = source(write(tmp_path, json.dumps(doc, indent=2) + "\n"))
    return {f.key: f for f in src.read().flags}


def boolean(default: str | None = "off", **extra: Any) -> dict[str, Any]:
    flag = {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": default}
    return flag | extra


# The OpenTelemetry demo's style: $schema, a description per flag, keys in alphabetical order,
# numeric variants named like "10%" that mix 0, 0.25 and 1, and an if whose branches are equal.
DEMO_STYLE = """{
  "$schema": "https://flagd.dev/schema/v0/flags.json",
  "flags": {
    "basketFailure": {
      "defaultVariant": "off",
      "description": "Fail the basket service n% of the time",
      "state": "ENABLED",
      "variants": { "off": 0, "25%": 0.25, "50%": 0.5, "100%": 1 }
    },
    "quoteOutage": {
      "defaultVariant": "off",
      "description": "The quote service is unreachable",
      "state": "ENABLED",
      "variants": { "off": false, "on": true }
    },
    "skuFailure": {
      "defaultVariant": "off",
      "description": "Fail one SKU",
      "state": "ENABLED",
      "targeting": { "if": [ { "==": [ { "var": "sku" }, "ZX81" ] }, "on", "off" ] },
      "variants": { "off": false, "on": true }
    },
    "workers": {
      "defaultVariant": "4",
      "description": "Worker count",
      "state": "ENABLED",
      "variants": { "1": 1, "4": 4, "16": 16 }
    }
  }
}
"""


def test_demo_style_file_shows_every_flag(tmp_path: Path) -> None:
    src = source(write(tmp_path, DEMO_STYLE))
    flagset = src.read()
    flags = {f.key: f for f in flagset.flags}
    assert flagset.errors == ()
    assert [f.key for f in flagset.flags] == [
        "basketFailure",
        "quoteOutage",
        "skuFailure",
        "workers",
    ]
    assert flags["basketFailure"].value == 0 and flags["basketFailure"].toggle is None
    assert flags["quoteOutage"].toggle == "off -> on"
    assert flags["skuFailure"].targeting == "if sku == ZX81 -> on else off"
    assert flags["skuFailure"].toggle == "off -> on (targeting still applies)"
    assert (flags["workers"].default_variant, flags["workers"].value) == ("4", 4)


def test_toggling_a_demo_style_file_changes_one_line_and_keeps_the_rest(tmp_path: Path) -> None:
    path = write(tmp_path, DEMO_STYLE)
    src = source(path)
    patch = src.toggle("quoteOutage", src.read())
    after = path.read_text(encoding="utf-8")
    changed = [
        (a, b) for a, b in zip(DEMO_STYLE.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert changed == [('      "defaultVariant": "off",', '      "defaultVariant": "on",')]
    assert '-      "defaultVariant": "off",' in patch
    before_doc, after_doc = json.loads(DEMO_STYLE), json.loads(after)
    before_doc["flags"]["quoteOutage"]["defaultVariant"] = "on"
    assert after_doc == before_doc  # descriptions, $schema, the other flags: all kept
    assert {f.key: f.value for f in src.read().flags}["quoteOutage"] is True


def test_falsy_values_show_as_values_not_as_missing(tmp_path: Path) -> None:
    # flagd-testbed zero-flags: the default variant's value is false, "", 0 or 0.0.
    flags = flags_of(tmp_path, {"flags": {
        "b": {"state": "ENABLED", "variants": {"zero": False, "one": True}, "defaultVariant": "zero"},
        "s": {"state": "ENABLED", "variants": {"zero": "", "one": "x"}, "defaultVariant": "zero"},
        "i": {"state": "ENABLED", "variants": {"zero": 0, "one": 1}, "defaultVariant": "zero"},
        "f": {"state": "ENABLED", "variants": {"zero": 0.0, "one": 1.0}, "defaultVariant": "zero"},
    }})  # fmt: skip
    assert flags["b"].value is False and flags["s"].value == ""
    assert flags["i"].value == 0 and isinstance(flags["i"].value, int)
    assert flags["f"].value == 0.0 and isinstance(flags["f"].value, float)
    assert flags["b"].toggle == "zero -> one"
    assert all(f.error is None for f in flags.values())


def test_numbers_keep_their_precision_and_1_0_is_not_1(tmp_path: Path) -> None:
    # flagd-testbed precision-flags and the schema's safe-integer boundary.
    flags = flags_of(tmp_path, {"flags": {
        "big": {"state": "ENABLED", "variants": {"min": -9007199254740991, "max": 9007199254740991},
                "defaultVariant": "max"},
        "ten": {"state": "ENABLED", "variants": {"tenth": 0.1, "ten": 10.0}, "defaultVariant": "ten"},
        "mix": {"state": "ENABLED", "variants": {"off": 0, "half": 0.5, "all": 1}, "defaultVariant": "all"},
    }})  # fmt: skip
    assert flags["big"].value == 9007199254740991
    assert flags["ten"].value == 10.0 and isinstance(flags["ten"].value, float)
    assert flags["mix"].value == 1 and flags["mix"].error is None  # int and float: one type


def test_disabled_flags_of_every_type_offer_enable(tmp_path: Path) -> None:
    flags = flags_of(tmp_path, {"flags": {
        "b": {"state": "DISABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"},
        "s": {"state": "DISABLED", "variants": {"hi": "hello", "bye": "ciao"}, "defaultVariant": "hi"},
        "o": {"state": "DISABLED", "variants": {"none": {}, "tpl": {"cols": 3, "title": "Pics",
              "deep": {"list": [1, {"x": None}]}}}, "defaultVariant": "tpl"},
    }})  # fmt: skip
    assert {k: f.state for k, f in flags.items()} == dict.fromkeys("bso", "DISABLED")
    assert {f.toggle for f in flags.values()} == {"enable"}
    assert flags["o"].value == {"cols": 3, "title": "Pics", "deep": {"list": [1, {"x": None}]}}


def test_omitted_state_empty_and_null_targeting_are_valid(tmp_path: Path) -> None:
    flags = flags_of(tmp_path, {"flags": {
        "no-state": {"variants": {"on": True, "off": False}, "defaultVariant": "on"},
        "empty": boolean("on", targeting={}),
        "null": boolean("on", targeting=None),
        "no-variants": {"state": "ENABLED"},  # flagd loads it: no variants, the code default
    }})  # fmt: skip
    assert flags["no-state"].state == "ENABLED" and flags["no-state"].toggle == "on -> off"
    assert flags["empty"].targeting == "static" and flags["empty"].toggle == "on -> off"
    assert flags["null"].targeting == "static"
    assert (flags["no-variants"].value, flags["no-variants"].toggle) == (None, None)
    assert all(f.error is None for f in flags.values())


def test_default_variant_null_or_omitted_means_the_code_default(tmp_path: Path) -> None:
    flags = flags_of(tmp_path, {"flags": {
        "null": boolean(None), "omitted": {"state": "ENABLED", "variants": {"a": "x", "b": "y"}},
    }})  # fmt: skip
    for flag in flags.values():
        assert (flag.default_variant, flag.value, flag.error) == (None, None, None)
        assert flag.toggle is None  # nothing to switch from


def test_metadata_at_both_levels_and_unknown_keys_survive_a_toggle(tmp_path: Path) -> None:
    doc: dict[str, Any] = {
        "$schema": "https://flagd.dev/schema/v0/flags.json",
        "flags": {"banner": boolean("off", metadata={"version": "17", "owner": "ux", "n": 1.5})},
        "metadata": {"flagSetId": "shop", "team": "checkout"},
        "x-vendor": [{"kept": True}],
    }
    path = write(tmp_path, json.dumps(doc, indent=4))
    src = source(path)
    assert src.read().errors == ()
    src.toggle("banner", src.read())
    after = json.loads(path.read_text(encoding="utf-8"))
    assert after["metadata"] == doc["metadata"] and after["x-vendor"] == doc["x-vendor"]
    assert after["flags"]["banner"]["metadata"] == doc["flags"]["banner"]["metadata"]
    assert after["flags"]["banner"]["defaultVariant"] == "on"
    assert list(after) == list(doc)  # key order kept


def test_unicode_keys_and_values_toggle(tmp_path: Path) -> None:
    doc = {"flags": {"neuer-Bezahlvorgang ✓": {"state": "ENABLED",
           "variants": {"an": True, "aus": False}, "defaultVariant": "aus"},
           "grüße": {"state": "ENABLED", "variants": {"de": "Grüß Gott", "ja": "こんにちは"},
                     "defaultVariant": "ja"}}}  # fmt: skip
    path = write(tmp_path, json.dumps(doc, ensure_ascii=False, indent=2))
    src = source(path)
    flags = {f.key: f for f in src.read().flags}
    assert flags["grüße"].value == "こんにちは"
    src.toggle("neuer-Bezahlvorgang ✓", src.read())
    text = path.read_text(encoding="utf-8")
    assert "こんにちは" in text  # not re-escaped as \\u sequences
    assert json.loads(text)["flags"]["neuer-Bezahlvorgang ✓"]["defaultVariant"] == "an"


def test_shared_evaluators_nested_refs_read_through(tmp_path: Path) -> None:
    # flagd-testbed evaluator-refs: one $ref used by two flags, and a $ref inside an evaluator.
    flags = flags_of(tmp_path, {
        "flags": {
            "greeting": {"state": "ENABLED", "variants": {"hi": "hi", "bye": "bye", "none": "none"},
                         "defaultVariant": "none",
                         "targeting": {"if": [{"$ref": "is_ops"}, "hi", "bye"]}},
            "tier": {"state": "ENABLED", "variants": {"gold": "g", "std": "s", "none": "n"},
                     "defaultVariant": "none",
                     "targeting": {"if": [{"$ref": "is_staff"}, "gold", "std"]}},
            "dangling": {"state": "ENABLED", "variants": {"a": "a", "b": "b"},
                         "defaultVariant": "a", "targeting": {"if": [{"$ref": "nope"}, "b", None]}},
        },
        "$evaluators": {
            "is_ops": {"==": ["ops@shop.example", {"var": ["email"]}]},
            "is_staff": {"or": [{"$ref": "is_ops"}, {"==": ["admin", {"var": ["role"]}]}]},
        },
    })  # fmt: skip
    assert flags["greeting"].targeting == "if ops@shop.example == email -> hi else bye"
    assert flags["tier"].targeting == (
        "if ops@shop.example == email or admin == role -> gold else std"
    )
    assert flags["greeting"].error is None and flags["tier"].error is None
    assert flags["dangling"].error == "$ref 'nope' names no entry of $evaluators (is_ops, is_staff)"


@pytest.mark.parametrize(
    ("targeting", "summary"),
    [
        ({"if": [True, None, "on"]}, "if true -> default else on"),
        ({"if": [{"in": [{"var": "locale"}, ["de", "fr"]]}, "on", None]}, "if locale in [de, fr] -> on"),
        ({"if": [{"sem_ver": [{"var": "version"}, "^", "3.0.0"]}, "on", "off"]},
         "if version ^ 3.0.0 (semver) -> on else off"),
        ({"if": [{"==": [{"lower": [{"var": "email"}]}, "a@b.c"]}, "on", "off"]},
         "if lower(email) == a@b.c -> on else off"),
        ({"fractional": [["on"], ["off", 3]]}, "fractional: on 25 % / off 75 %"),
        ({"fractional": [{"var": "targetingKey"}, [{"if": [{"var": "vip"}, "on", "off"]}, 50],
                         ["off", 50]]},
         "fractional by targetingKey: (if vip -> on else off) 50 % / off 50 %"),
    ],
)  # fmt: skip
def test_targeting_shapes_read_as_one_line(tmp_path: Path, targeting: Any, summary: str) -> None:
    flag = flags_of(tmp_path, {"flags": {"f": boolean("off", targeting=targeting)}})["f"]
    assert flag.targeting == summary
    assert flag.toggle == "off -> on (targeting still applies)"


def test_computed_fractional_weights_are_not_a_zero_sum(tmp_path: Path) -> None:
    # flagd-schemas fractional-dynamic-weights: a time ramp computed from $flagd.timestamp.
    ramp = {"fractional": [
        ["on", {"-": [{"var": "$flagd.timestamp"}, 1740000000]}],
        ["off", {"-": [1800000000, {"var": "$flagd.timestamp"}]}],
    ]}  # fmt: skip
    flag = flags_of(tmp_path, {"flags": {"ramp": boolean("off", targeting=ramp)}})["ramp"]
    assert flag.error is None
    assert flag.targeting == (
        "fractional: on (weight $flagd.timestamp - 1740000000) / "
        "off (weight 1800000000 - $flagd.timestamp)"
    )
    assert flag.toggle == "off -> on (targeting still applies)"


def test_broken_rules_name_the_flag_and_the_problem(tmp_path: Path) -> None:
    flagd = source(write(tmp_path, json.dumps({"flags": {
        "ok": boolean("on"),
        "missing-variant": {"state": "ENABLED", "variants": {"one": 1, "two": 2},
                            "defaultVariant": "two", "targeting": {"if": [True, "three", "one"]}},
        "unknown-op": {"state": "ENABLED", "variants": {"one": 1, "two": 2},
                       "defaultVariant": "two", "targeting": {"invalid": ["not a rule"]}},
        "decimal": boolean("on", targeting={"fractional": [["on", 25.5], ["off", 74.5]]}),
        "negative": boolean("on", targeting={"fractional": [["on", -50], ["off", 150]]}),
        "zero": boolean("on", targeting={"fractional": [["on", 0], ["off", 0]]}),
        "purple": {"state": "ENABLED", "variants": {"red": "f00"}, "defaultVariant": "purple"},
        "lowercase": {"state": "enabled", "variants": {"on": True}, "defaultVariant": "on"},
        "mixed": {"state": "ENABLED", "variants": {"on": True, "off": "false"}, "defaultVariant": "on"},
    }})))  # fmt: skip
    flagset = flagd.read()
    flags = {f.key: f for f in flagset.flags}
    # "purple" makes flagd refuse the whole file: no flag of it can be toggled to effect
    assert flags["ok"].error is None and flags["ok"].toggle is None
    assert flags["missing-variant"].error == "targeting returns 'three', which is not a variant"
    assert (
        flags["unknown-op"].error == "unknown operator 'invalid': flagd cannot evaluate this rule"
    )
    assert "25.5" in str(flags["decimal"].error) and "whole number" in str(flags["decimal"].error)
    assert "-50" in str(flags["negative"].error)
    assert flags["zero"].error == "fractional weights sum to 0: flagd serves the default variant"
    assert "'purple' names no variant (variants: red)" in str(flags["purple"].error)
    assert "'enabled' is not ENABLED or DISABLED" in str(flags["lowercase"].error)
    assert "mix types" in str(flags["mixed"].error) and flags["mixed"].toggle is None
    assert len(flagset.errors) == 9
    assert flagset.errors[0].startswith("flagd refuses this whole flag set (flag purple: ")
    assert all(e.startswith("flag ") for e in flagset.errors[1:])


def test_flags_as_a_list_the_import_shape(tmp_path: Path) -> None:
    doc = {"$schema": "https://flagd.dev/schema/v0/flags.json#flagdImport", "flags": [
        {"key": "first", **boolean("on")},
        {"key": "second", "state": "ENABLED", "variants": {"a": 1.23, "b": 2.34}, "defaultVariant": "b"},
    ]}  # fmt: skip
    path = write(tmp_path, json.dumps(doc, indent=2))
    src = source(path)
    assert [(f.key, f.value) for f in src.read().flags] == [("first", True), ("second", 2.34)]
    src.toggle("first", src.read())
    assert json.loads(path.read_text(encoding="utf-8"))["flags"][0]["defaultVariant"] == "off"


# flagd's YAML: plain on/off keys are strings to flagd (Go yaml.v3 reads YAML 1.2), comments too.
PLAIN_YAML = """\
# checkout flags, owned by payments
flags:
  new-checkout:
    state: ENABLED
    variants:
      on: true    # the new path
      off: false
    defaultVariant: on
  color:
    state: ENABLED
    variants: {yes: "#0f0", no: "#f00"}
    defaultVariant: no
    targeting:
      if:
      - "$ref": staff
      - yes
      - null
"$evaluators":
  staff:
    ends_with: [{var: email}, "@shop.example"]
"""


def test_yaml_plain_on_off_are_variant_names_not_booleans(tmp_path: Path) -> None:
    src = source(write(tmp_path, PLAIN_YAML, "flags.flagd.yaml"))
    flagset = src.read()
    flags = {f.key: f for f in flagset.flags}
    assert flagset.errors == ()
    assert flags["new-checkout"].variants == (("on", True), ("off", False))
    assert (flags["new-checkout"].default_variant, flags["new-checkout"].value) == ("on", True)
    assert flags["color"].value == "#f00"
    assert flags["color"].targeting == "if email ends with @shop.example -> yes"


def test_yaml_toggle_keeps_comments_and_reads_back_in_any_yaml_reader(tmp_path: Path) -> None:
    path = write(tmp_path, PLAIN_YAML, "flags.flagd.yaml")
    src = source(path)
    src.toggle("new-checkout", src.read())
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# checkout flags, owned by payments\n")
    assert "on: true    # the new path" in text
    assert load(text, "yaml")["flags"]["new-checkout"]["defaultVariant"] == "off"
    # the new value is quoted, so even a YAML 1.1 reader (PyYAML) sees the string "off"
    assert yaml.safe_load(text)["flags"]["new-checkout"]["defaultVariant"] == "off"
    assert {f.key: f.value for f in src.read().flags}["new-checkout"] is False


def test_flagd_sample_yaml_with_quoted_keys(tmp_path: Path) -> None:
    text = (
        "flags:\n  myBool:\n    state: ENABLED\n    variants:\n      'on': true\n"
        "      'off': false\n    defaultVariant: 'off'\n    targeting:\n      if:\n"
        '      - "==":\n        - var:\n          - color\n        - yellow\n'
        "      - 'on'\n      - 'off'\n"
    )
    path = write(tmp_path, text, "sample.yml")
    src = source(path)
    flag = src.read().flags[0]
    assert (flag.key, flag.value, flag.targeting) == (
        "myBool",
        False,
        "if color == yellow -> on else off",
    )
    src.toggle("myBool", src.read())
    assert "    defaultVariant: 'on'\n" in path.read_text(encoding="utf-8")  # same quoting style


def test_not_a_flag_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not valid JSON"):
        source(write(tmp_path, '{"flags": {"a": }')).read()
    with pytest.raises(SourceError, match="has no 'flags'"):
        source(write(tmp_path, '{"foo": "bar"}')).read()
