"""flagd flag-definition files: what the panel shows, what a toggle writes, and what it refuses."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from monotui.errors import (
    ConflictError,
    MonotuiError,
    NotFoundError,
    SourceError,
    UnsafeEditError,
)
from monotui.model import Flag
from monotui.sources.base import FlagSource
from monotui.sources.flags_flagd import FlagdFileFlags
from tests.configs import rollout_config

EXAMPLE: dict[str, Any] = {
    "$schema": "https://flagd.dev/schema/v0/flags.json",
    "metadata": {"flagSetId": "shop", "version": "7"},
    "flags": {
        "new-checkout": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "on",
            "metadata": {"owner": "payments"},
        },
        "checkout-rollout": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "off",
            "targeting": {"fractional": [["on", 10], ["off", 90]]},
        },
        "fibAlgo": {
            "variants": {"recursive": "recursive", "memo": "memo", "binet": "binet"},
            "defaultVariant": "recursive",
            "state": "ENABLED",
            "targeting": {"if": [{"$ref": "emailWithFaas"}, "binet", None]},
        },
        "headerColor": {
            "variants": {"red": "#FF0000", "blue": "#0000FF"},
            "defaultVariant": "red",
            "state": "DISABLED",
            "targeting": {
                "fractional": [
                    {"cat": [{"var": "$flagd.flagKey"}, {"var": "email"}]},
                    ["red", 50],
                    ["blue", 50],
                ]
            },
        },
        "retries": {
            "state": "ENABLED",
            "variants": {"low": 1, "high": 2.5},
            "defaultVariant": "high",
        },
        "limits": {
            "state": "ENABLED",
            "variants": {"small": {"rps": 10}, "large": {"rps": 100, "burst": [1, 2]}},
            "defaultVariant": "large",
            "targeting": {
                "if": [
                    {
                        "and": [
                            {"sem_ver": [{"var": "version"}, ">=", "2.0.0"]},
                            {"starts_with": [{"var": "id"}, "eu-"]},
                        ]
                    },
                    "small",
                    {"if": [{"==": [{"var": "tier"}, "gold"]}, "large", None]},
                ]
            },
        },
    },
    "$evaluators": {"emailWithFaas": {"in": ["@faas.com", {"var": ["email"]}]}},
    "x-unknown": {"kept": [1, 2, 3]},
}


def source(path: Path) -> FlagdFileFlags:
    rollout = rollout_config({"name": "shop", "flags": {"kind": "flagd-file", "path": str(path)}})
    return FlagdFileFlags(rollout)


def write_json(tmp_path: Path, doc: Any, name: str = "flags.flagd.json", indent: Any = 2) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=indent) + "\n", encoding="utf-8")
    return path


def by_key(flags: tuple[Flag, ...]) -> dict[str, Flag]:
    return {f.key: f for f in flags}


def test_every_variant_type_shows_its_default_value(tmp_path: Path) -> None:
    src = source(write_json(tmp_path, EXAMPLE))
    assert isinstance(src, FlagSource)
    flags = by_key(src.read().flags)
    assert flags["new-checkout"].value is True
    assert flags["fibAlgo"].value == "recursive"
    assert flags["retries"].value == 2.5
    assert flags["limits"].value == {"rps": 100, "burst": [1, 2]}
    assert flags["headerColor"].state == "DISABLED"
    assert flags["retries"].variants == (("low", 1), ("high", 2.5))
    assert src.read().errors == ()


def test_targeting_summaries_read_like_sentences(tmp_path: Path) -> None:
    flags = by_key(source(write_json(tmp_path, EXAMPLE)).read().flags)
    assert flags["new-checkout"].targeting == "static"
    assert flags["checkout-rollout"].targeting == "fractional: on 10 % / off 90 %"
    assert flags["fibAlgo"].targeting == "if email in @faas.com -> binet"
    assert flags["headerColor"].targeting == (
        "fractional by $flagd.flagKey+email: red 50 % / blue 50 %"
    )
    assert flags["limits"].targeting == (
        "if version >= 2.0.0 (semver) and id starts with eu- -> small elif tier == gold -> large"
    )


def test_toggle_text_says_what_enter_will_do(tmp_path: Path) -> None:
    flags = by_key(source(write_json(tmp_path, EXAMPLE)).read().flags)
    assert flags["new-checkout"].toggle == "on -> off"
    assert flags["checkout-rollout"].toggle == "off -> on (targeting still applies)"
    assert flags["headerColor"].toggle == "enable"
    assert flags["fibAlgo"].toggle is None  # a string flag has no on/off


def test_broken_flags_are_reported_and_the_valid_ones_still_show(tmp_path: Path) -> None:
    doc = {
        "flags": {
            "good": {
                "state": "ENABLED",
                "variants": {"on": True, "off": False},
                "defaultVariant": "on",
            },
            "typo": {
                "state": "ENABLED",
                "variants": {"on": True, "off": False},
                "defaultVariant": "of",
            },
            "split": {
                "state": "ENABLED",
                "variants": {"a": "A", "b": "B"},
                "defaultVariant": "a",
                "targeting": {"fractional": [["a", 10], ["b", 80]]},
            },
            "decimal": {
                "state": "ENABLED",
                "variants": {"a": "A", "b": "B"},
                "defaultVariant": "a",
                "targeting": {"fractional": [["a", 10.5], ["b", 89.5]]},
            },
            "lower": {"state": "enabled", "variants": {"on": True}, "defaultVariant": "on"},
            "dangling": {
                "state": "ENABLED",
                "variants": {"on": True, "off": False},
                "defaultVariant": "on",
                "targeting": {"if": [{"$ref": "missing"}, "on", "off"]},
            },
        }
    }
    flagset = source(write_json(tmp_path, doc)).read()
    flags = by_key(flagset.flags)
    # "typo" makes flagd refuse the whole file: "good" shows, but a toggle would never be served
    assert flags["good"].error is None and flags["good"].toggle is None
    assert flags["typo"].error == "defaultVariant 'of' names no variant (variants: on, off)"
    assert flags["typo"].toggle is None
    split_error = flags["split"].error or ""
    assert "sum to 90, not 100" in split_error and "relative" in split_error
    assert "a 11.1 % / b 88.9 %" in split_error  # what flagd will really do
    assert flags["split"].targeting == "fractional: a 11.1 % / b 88.9 %"
    assert "must be a whole number" in (flags["decimal"].error or "")
    assert flags["lower"].error == (
        "state 'enabled' is not ENABLED or DISABLED: flagd serves it as ENABLED "
        '(only "DISABLED" disables a flag); write ENABLED or DISABLED'
    )
    assert "$ref 'missing' names no entry of $evaluators" in (flags["dangling"].error or "")
    assert len(flagset.errors) == 6
    assert flagset.errors[0].startswith("flagd refuses this whole flag set (flag typo: ")
    assert all(e.startswith("flag ") for e in flagset.errors[1:])


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("flags.json", '{"flags": {"a": {"state": "ENABLED",}}}', "not valid JSON: Expecting"),
        ("flags.yaml", "flags:\n  a: [unclosed\n", "not valid YAML"),
        ("flags.json", "[1, 2]", "is a list, not an object with 'flags'"),
        ("flags.json", '{"flag": {}}', "has no 'flags'"),
    ],
)
def test_a_file_that_is_not_a_flag_definition_is_one_error(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError, match=expected) as info:
        source(path).read()
    assert str(path) in str(info.value)


def test_toggle_round_trip_changes_only_the_default_variant(tmp_path: Path) -> None:
    path = write_json(tmp_path, EXAMPLE, indent="\t")
    before_text = path.read_text()
    src = source(path)
    patch = src.toggle("new-checkout", src.read())
    after_text = path.read_text()
    after = json.loads(after_text)
    expected = json.loads(before_text)
    expected["flags"]["new-checkout"]["defaultVariant"] = "off"
    assert after == expected
    assert list(after) == list(EXAMPLE)  # key order kept, unknown keys and $evaluators too
    assert list(after["flags"]) == list(EXAMPLE["flags"])
    changed = [
        (a, b)
        for a, b in zip(before_text.splitlines(), after_text.splitlines(), strict=True)
        if a != b
    ]
    assert changed == [('\t\t\t"defaultVariant": "on",', '\t\t\t"defaultVariant": "off",')]
    assert '-\t\t\t"defaultVariant": "on",' in patch and '+\t\t\t"defaultVariant": "off",' in patch
    assert by_key(src.read().flags)["new-checkout"].value is False


def test_toggling_a_disabled_flag_enables_it(tmp_path: Path) -> None:
    path = write_json(tmp_path, EXAMPLE)
    src = source(path)
    src.toggle("headerColor", src.read())
    flag = by_key(src.read().flags)["headerColor"]
    assert flag.state == "ENABLED"
    assert flag.default_variant == "red"
    assert (
        json.loads(path.read_text())["flags"]["headerColor"]["targeting"]
        == (EXAMPLE["flags"]["headerColor"]["targeting"])
    )


def test_yaml_toggle_keeps_comments_and_quoting(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    text = (
        "# the shop's flags\n"
        "flags:\n"
        "  new-checkout:  # kill switch for the canary\n"
        "    state: ENABLED\n"
        "    variants: {'on': true, 'off': false}\n"
        "    defaultVariant: 'on'   # flip me\n"
        "  dark-mode:\n"
        "    state: DISABLED\n"
        "    variants:\n"
        "      yes-please: true\n"
        "      no-thanks: false\n"
        "    defaultVariant: no-thanks\n"
        "$evaluators:\n"
        "  x: {in: ['@a.com', {var: email}]}\n"
    )
    path.write_text(text, encoding="utf-8")
    src = source(path)
    src.toggle("new-checkout", src.read())
    src.toggle("dark-mode", src.read())
    after = path.read_text()
    assert after == text.replace("defaultVariant: 'on'", "defaultVariant: 'off'").replace(
        "state: DISABLED", "state: ENABLED"
    )
    doc = yaml.safe_load(after)
    assert doc["flags"]["new-checkout"]["defaultVariant"] == "off"


def test_yaml_plain_scalars_that_yaml_would_misread_get_quoted(tmp_path: Path) -> None:
    path = tmp_path / "flags.yml"
    path.write_text(
        "flags:\n  f:\n    state: ENABLED\n    variants: {x: false, 'yes': true}\n"
        "    defaultVariant: x\n",
        encoding="utf-8",
    )
    src = source(path)
    src.toggle("f", src.read())
    assert yaml.safe_load(path.read_text())["flags"]["f"]["defaultVariant"] == "yes"
    assert 'defaultVariant: "yes"' in path.read_text()


def test_dry_run_returns_the_diff_and_writes_nothing(tmp_path: Path) -> None:
    path = write_json(tmp_path, EXAMPLE)
    before = path.read_bytes()
    src = source(path)
    patch = src.toggle("new-checkout", src.read(), dry_run=True)
    assert path.read_bytes() == before
    assert patch.startswith(f"--- {path}\n+++ {path}\n")
    assert '+      "defaultVariant": "off",' in patch


def test_a_concurrent_edit_is_refused_and_nothing_is_lost(tmp_path: Path) -> None:
    path = write_json(tmp_path, EXAMPLE)
    src = source(path)
    seen = src.read()
    theirs = json.loads(path.read_text())
    theirs["flags"]["new-checkout"]["defaultVariant"] = "off"
    theirs["flags"]["fibAlgo"]["defaultVariant"] = "memo"
    path.write_text(json.dumps(theirs, indent=2))
    their_bytes = path.read_bytes()
    with pytest.raises(ConflictError, match="changed since it was read") as info:
        src.toggle("new-checkout", seen)
    assert path.read_bytes() == their_bytes
    assert "'new-checkout' is now enabled, default off" in str(info.value)
    assert by_key(src.read().flags)["fibAlgo"].value == "memo"  # their edit, kept


def test_a_crash_before_the_rename_leaves_the_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_json(tmp_path, EXAMPLE)
    before = path.read_bytes()
    src = source(path)
    seen = src.read()

    def crash(src_path: Any, dst_path: Any) -> None:
        raise KeyboardInterrupt  # the process dies between the fsync and the rename

    monkeypatch.setattr(os, "rename", crash)
    with pytest.raises(KeyboardInterrupt):
        src.toggle("new-checkout", seen)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flags.flagd.json"]  # no temp file left
    assert by_key(src.read().flags)["new-checkout"].value is True


def test_toggle_keeps_the_file_mode_and_a_symlink(tmp_path: Path) -> None:
    real = write_json(tmp_path, EXAMPLE, name="real.json")
    os.chmod(real, 0o640)
    link = tmp_path / "flags.json"
    link.symlink_to(real)
    src = source(link)
    src.toggle("new-checkout", src.read())
    assert link.is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert json.loads(real.read_text())["flags"]["new-checkout"]["defaultVariant"] == "off"


def test_the_file_is_re_read_when_it_changes_on_disk(tmp_path: Path) -> None:
    path = write_json(tmp_path, EXAMPLE)
    src = source(path)
    first = src.read()
    assert src.read() is first  # unchanged on disk: no re-parse
    doc = json.loads(path.read_text())
    doc["flags"]["retries"]["defaultVariant"] = "low"
    path.write_text(json.dumps(doc))
    second = src.read()
    assert second.version != first.version
    assert by_key(second.flags)["retries"].value == 1


def test_flags_that_cannot_toggle_leave_the_file_alone(tmp_path: Path) -> None:
    path = write_json(tmp_path, EXAMPLE)
    before = path.read_bytes()
    src = source(path)
    with pytest.raises(MonotuiError, match="no on/off toggle"):
        src.toggle("fibAlgo", src.read())
    with pytest.raises(NotFoundError, match="no flag 'ghost'"):
        src.toggle("ghost", src.read())
    assert path.read_bytes() == before


def test_markup_and_escapes_in_keys_and_values_come_through_unchanged(tmp_path: Path) -> None:
    key = "[red]x[/red]\x1b[2J"
    doc = {
        "flags": {
            key: {
                "state": "ENABLED",
                "variants": {"[b]on[/b]": "\x1b[31mred", "off": "[link=http://x]y[/link]"},
                "defaultVariant": "[b]on[/b]",
            }
        }
    }
    path = write_json(tmp_path, doc)
    flag = source(path).read().flags[0]
    assert flag.key == key
    assert flag.default_variant == "[b]on[/b]"
    assert flag.value == "\x1b[31mred"


def test_omitted_variants_with_a_default_variant_are_refused_as_flagd_refuses_them(
    tmp_path: Path,
) -> None:
    # The schema's default for omitted variants is {"true": true, "false": false}, but flagd's
    # loader reads them as none and refuses the whole file: no toggle would ever be served.
    path = write_json(tmp_path, {"flags": {"f": {"defaultVariant": "true"}}})
    before = path.read_bytes()
    src = source(path)
    flagset = src.read()
    assert flagset.errors[0].startswith(
        "flagd refuses this whole flag set (flag f: defaultVariant 'true' names no variant (the "
        "flag has no variants)"
    )
    assert flagset.flags[0].toggle is None
    with pytest.raises(UnsafeEditError):
        src.toggle("f", flagset)
    assert path.read_bytes() == before


def test_the_flagd_list_form_reads_and_toggles(tmp_path: Path) -> None:
    doc = {
        "flags": [
            {"key": "a", "state": "DISABLED", "variants": {"on": True}, "defaultVariant": "on"}
        ]
    }
    path = write_json(tmp_path, doc)
    src = source(path)
    assert src.read().flags[0].toggle == "enable"
    src.toggle("a", src.read())
    assert json.loads(path.read_text())["flags"][0]["state"] == "ENABLED"


def test_the_controller_toggles_audits_and_reports_a_conflict(tmp_path: Path) -> None:
    from monotui.audit import AuditLog, read_audit
    from monotui.model import Action, ActionKind
    from monotui.rollout import assemble
    from monotui.sources.router_static import StaticRouter

    path = write_json(tmp_path, EXAMPLE)
    rollout = rollout_config(
        {
            "name": "shop",
            "metrics": {"kind": "none"},
            "flags": {"kind": "flagd-file", "path": str(path)},
        }
    )
    audit = tmp_path / "audit.jsonl"
    ctl = assemble(
        rollout, router=StaticRouter(), flags=source(path), audit=AuditLog(audit, user="op")
    )
    ctl.start(history=False)
    toggle = Action(ActionKind.TOGGLE_FLAG, "shop", flag_key="new-checkout", reason="kill switch")
    result = ctl.apply(toggle)
    assert result.ok and result.message == "flag new-checkout: on -> off (kill switch)"
    assert by_key(ctl.snapshot().flags)["new-checkout"].value is False
    line = list(read_audit(audit))[-1]
    assert (
        line["resource"] == "flag new-checkout"
        and '+      "defaultVariant": "off",' in line["patch"]
    )

    doc = json.loads(path.read_text())
    doc["flags"]["new-checkout"]["defaultVariant"] = "on"  # someone turns it back on by hand
    path.write_text(json.dumps(doc, indent=2))
    refused = ctl.apply(toggle)  # the controller still holds the flags it read before the edit
    assert not refused.ok and refused.exit_code == 3
    assert "flags.flagd.json changed since it was read" in refused.message
    assert json.loads(path.read_text())["flags"]["new-checkout"]["defaultVariant"] == "on"


def test_a_yaml_alias_shared_by_two_flags_is_not_toggled_for_both(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text(
        "common: &dv 'on'\n"
        "flags:\n"
        "  a: {state: ENABLED, variants: {'on': true, 'off': false}, defaultVariant: *dv}\n"
        "  b: {state: ENABLED, variants: {'on': true, 'off': false}, defaultVariant: *dv}\n",
        encoding="utf-8",
    )
    src = source(path)
    before = path.read_bytes()
    # Editing the anchor's text would flip b too, and re-serialising would drop the file's
    # comments and its anchors: refused, with the reason, and nothing written.
    with pytest.raises(UnsafeEditError, match="shared through a YAML anchor and alias"):
        src.toggle("a", src.read())
    assert path.read_bytes() == before


def test_a_state_flagd_does_not_disable_shows_as_enabled(tmp_path: Path) -> None:
    # flagd disables a flag on exactly "DISABLED" only (its schema check merely warns), so a
    # kill switch written "disabled" is served on: it must not read as off. (The FeatureFlag
    # CRD's enum refuses such a state; a flagd file, or a ConfigMap of one, does not.)
    doc = {
        "flags": {
            "kill-new-checkout": {
                "state": "disabled",
                "variants": {"on": True, "off": False},
                "defaultVariant": "on",
            },
            "shouty": {"state": "Enabled", "variants": {"on": True}, "defaultVariant": "on"},
        }
    }
    flags = by_key(source(write_json(tmp_path, doc)).read().flags)
    kill = flags["kill-new-checkout"]
    assert (kill.state, kill.value, kill.is_on) == ("ENABLED", True, True)
    assert "state 'disabled' is not ENABLED or DISABLED" in str(kill.error)
    assert 'flagd serves it as ENABLED (only "DISABLED" disables a flag)' in str(kill.error)
    assert kill.toggle is None  # fix the spelling first: a toggle would pin the wrong state
    assert flags["shouty"].state == "ENABLED"
