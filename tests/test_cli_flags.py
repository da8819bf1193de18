"""`monotui flag toggle`, `status --json` flags and `check-config`, end to end on a flagd file."""

from __future__ import annotations

import json
from pathlib import Path

from monotui.audit import read_audit
from tests.test_cli import run

FLAGS = {
    "$schema": "https://flagd.dev/schema/v0/flags.json",
    "flags": {
        "new-checkout": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "on",
        },
        "banner": {
            "state": "ENABLED",
            "variants": {"blue": "blue", "green": "green"},
            "defaultVariant": "blue",
            "targeting": {"fractional": [["blue", 90], ["green", 10]]},
        },
    },
}

CONFIG = """
[audit]
path = "{audit}"

[[rollouts]]
name = "checkout"
namespace = "shop"
[rollouts.router]
kind = "none"
[rollouts.metrics]
kind = "none"
[rollouts.flags]
kind = "flagd-file"
path = "{flags}"
kill_switches = ["new-checkout"]
"""


def _setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    flags = tmp_path / "flags.flagd.json"
    flags.write_text(json.dumps(FLAGS, indent=2) + "\n")
    audit = tmp_path / "audit.jsonl"
    cfg = tmp_path / "monotui.toml"
    cfg.write_text(CONFIG.format(audit=audit, flags=flags))
    return cfg, flags, audit


def test_flag_toggle_flips_the_default_and_is_audited(tmp_path: Path) -> None:
    cfg, flags, audit = _setup(tmp_path)
    out = run("flag", "toggle", "-c", str(cfg), "--rollout", "checkout", "new-checkout")
    assert out.returncode == 0, out.stderr
    assert "new-checkout: on -> off" in out.stdout
    doc = json.loads(flags.read_text())
    assert doc["flags"]["new-checkout"]["defaultVariant"] == "off"
    assert doc["flags"]["banner"] == FLAGS["flags"]["banner"]  # nothing else moved
    (record,) = read_audit(audit)
    assert record["action"] == "toggle_flag" and record["result"] == "ok"
    assert record["resource"] == "flag new-checkout" and record["origin"] == "cli"


def test_flag_toggle_dry_run_prints_the_change_and_writes_nothing(tmp_path: Path) -> None:
    cfg, flags, _ = _setup(tmp_path)
    before = flags.read_bytes()
    out = run(
        "flag", "toggle", "-c", str(cfg), "--rollout", "checkout", "new-checkout", "--dry-run"
    )
    assert out.returncode == 0, out.stderr
    assert '"defaultVariant": "off"' in out.stdout
    assert flags.read_bytes() == before


def test_flag_toggle_of_an_unknown_key_names_the_known_ones(tmp_path: Path) -> None:
    cfg, flags, _ = _setup(tmp_path)
    out = run("flag", "toggle", "-c", str(cfg), "--rollout", "checkout", "new-chekout")
    assert out.returncode == 2
    assert "no flag 'new-chekout'" in out.stderr and "new-checkout" in out.stderr


def test_flag_toggle_read_only_is_refused(tmp_path: Path) -> None:
    cfg, flags, _ = _setup(tmp_path)
    before = flags.read_bytes()
    out = run(
        "flag", "toggle", "-c", str(cfg), "--rollout", "checkout", "new-checkout", "--read-only"
    )
    assert out.returncode == 4 and "read-only" in out.stderr
    assert flags.read_bytes() == before


def test_status_json_lists_the_flags(tmp_path: Path) -> None:
    cfg, _, _ = _setup(tmp_path)
    out = run("status", "-c", str(cfg), "--json")
    assert out.returncode == 0, out.stderr
    (rollout,) = json.loads(out.stdout)["rollouts"]
    flags = {f["key"]: f for f in rollout["flags"]}
    assert flags["new-checkout"]["state"] == "ENABLED"
    assert flags["new-checkout"]["default_variant"] == "on"
    assert flags["new-checkout"]["value"] is True
    assert flags["banner"]["value"] == "blue"
    assert "90" in flags["banner"]["targeting"]


def test_check_config_reports_every_backend(tmp_path: Path) -> None:
    cfg, flags, _ = _setup(tmp_path)
    out = run("check-config", "-c", str(cfg))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "checkout: flags flagd-file: ok" in out.stdout
    flags.unlink()
    out = run("check-config", "-c", str(cfg))
    assert out.returncode == 2
    assert "checkout: flags flagd-file: FAILED" in out.stdout


def test_check_config_names_broken_flags_and_fails_on_an_unusable_kill_switch(
    tmp_path: Path,
) -> None:
    cfg, flags, _ = _setup(tmp_path)
    broken = json.loads(flags.read_text())
    broken["flags"]["new-checkout"]["defaultVariant"] = "maybe"  # names no variant
    flags.write_text(json.dumps(broken))
    out = run("check-config", "-c", str(cfg))
    assert out.returncode == 2, out.stdout + out.stderr
    assert "flags flagd-file: ok (2 flags; 2 with problems: flagd refuses this whole" in out.stdout
    assert "FAILED: kill switch 'new-checkout' cannot be toggled" in out.stdout
    cfg.write_text(cfg.read_text().replace('["new-checkout"]', '["new-chekout"]'))
    flags.write_text(json.dumps(FLAGS))
    out = run("check-config", "-c", str(cfg))
    assert out.returncode == 2
    assert "FAILED: kill switch 'new-chekout' is not among its flags" in out.stdout
