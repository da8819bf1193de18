"""The command line as a script sees it: exit codes, one-line errors, status --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monotui", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def test_unknown_scenario_is_one_line_and_exit_2() -> None:
    out = run("demo", "--scenario", "chaos", "--headless")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "invalid choice: 'chaos'" in out.stderr


def test_bad_flag_value_is_one_line_and_exit_2() -> None:
    out = run("demo", "--speed", "-3")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "greater than 0" in out.stderr


def test_every_command_has_help() -> None:
    for command in (
        "demo",
        "watch",
        "status",
        "advance",
        "pause",
        "resume",
        "rollback",
        "promote",
        "set-weight",
        "check-config",
    ):
        out = run(command, "--help")
        assert out.returncode == 0, command
        assert "usage: monotui" in out.stdout


def test_missing_config_says_what_to_do(tmp_path: Path) -> None:
    out = run("status", "-c", str(tmp_path / "none.toml"))
    assert out.returncode == 2
    assert "no such file" in out.stderr and "monotui demo" in out.stderr
    assert "Traceback" not in out.stderr


def test_promote_refuses_without_yes(tmp_path: Path) -> None:
    out = run("promote", "-c", str(tmp_path / "x.toml"), "--rollout", "reviews")
    assert out.returncode == 2
    assert "--yes" in out.stderr


UNMANAGED = """
[[rollouts]]
name = "reviews"
namespace = "bookinfo"
[rollouts.router]
kind = "none"
[rollouts.metrics]
kind = "none"
[audit]
path = "{audit}"
"""


def test_status_json_shape_without_backends(tmp_path: Path) -> None:
    cfg = tmp_path / "monotui.toml"
    cfg.write_text(UNMANAGED.format(audit=tmp_path / "audit.jsonl"))
    out = run("status", "-c", str(cfg), "--json")
    assert out.returncode == 0, out.stderr
    (r,) = json.loads(out.stdout)["rollouts"]
    assert r["name"] == "reviews" and r["namespace"] == "bookinfo"
    assert r["weights"] == {"stable": 100, "canary": 0}
    assert r["observed_split"] is None
    assert r["error_rate"] == {"baseline": None, "canary": None}
    assert r["verdict"]["result"] == "NODATA"
    # It says why there is nothing to judge, not that the metrics are still to come.
    assert r["verdict"]["reason"] == 'no metrics to judge: [rollouts.metrics] kind is "none"'
    assert r["step"] == {"index": -1, "of": 6}
    assert r["sources"]["router"]["state"] == "ok"


def test_a_refused_write_is_audited_and_exits_4(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    cfg = tmp_path / "monotui.toml"
    cfg.write_text(UNMANAGED.format(audit=audit))
    out = run("advance", "-c", str(cfg), "--rollout", "reviews", "--read-only")
    assert out.returncode == 4
    assert "read-only" in out.stderr
    (line,) = audit.read_text().splitlines()
    record = json.loads(line)
    assert record["action"] == "advance" and record["result"] == "refused"
    assert record["origin"] == "cli" and record["rollout"] == "reviews"


def test_status_prints_the_snapshot_and_exits_5_when_a_backend_is_down(tmp_path: Path) -> None:
    cfg = tmp_path / "monotui.toml"
    text = UNMANAGED.format(audit=tmp_path / "audit.jsonl").replace(
        '[rollouts.metrics]\nkind = "none"', '[rollouts.metrics]\nkind = "prometheus"'
    )
    cfg.write_text('[prometheus]\nurl = "http://127.0.0.1:9"\ntimeout_s = 1\n' + text)
    out = run("status", "-c", str(cfg), "--json")
    assert out.returncode == 5, out.stderr
    (r,) = json.loads(out.stdout)["rollouts"]
    assert r["sources"]["metrics"]["state"] == "error"
    assert r["error_rate"] == {"baseline": None, "canary": None}  # never 0
    assert "metrics:" in out.stderr and "Traceback" not in out.stderr
    lines = run("status", "-c", str(cfg)).stdout.splitlines()
    (line,) = [x for x in lines if x.startswith("reviews")]
    assert line.count("cannot reach Prometheus") == 1, line  # once, not as reason and again


@pytest.mark.parametrize("unbuffered", [True, False], ids=["unbuffered", "buffered"])
def test_a_reader_that_went_away_or_a_full_disk_keeps_the_errors_and_the_exit_code(
    tmp_path: Path, unbuffered: bool
) -> None:
    # `monotui status | head` in a script: the reader closes before monotui writes (unbuffered
    # the write fails at once, buffered only at the exit's flush). The failed source must still
    # be said on stderr and in the exit code; no Python error text, no exit code 120.
    cfg = tmp_path / "monotui.toml"
    text = UNMANAGED.format(audit=tmp_path / "audit.jsonl").replace(
        '[rollouts.metrics]\nkind = "none"', '[rollouts.metrics]\nkind = "prometheus"'
    )
    cfg.write_text('[prometheus]\nurl = "http://127.0.0.1:9"\ntimeout_s = 1\n' + text)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"

    def writing_to(stdout: int, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "monotui", *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=60,
        )

    def closed_reader(*args: str) -> subprocess.CompletedProcess[str]:
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            return writing_to(write_end, *args)
        finally:
            os.close(write_end)

    for args in (("status", "-c", str(cfg)), ("status", "--json", "-c", str(cfg))):
        out = closed_reader(*args)
        assert out.returncode == 5, out.stderr
        assert "cannot reach Prometheus" in out.stderr
        assert "BrokenPipe" not in out.stderr and "Exception" not in out.stderr
    out = closed_reader("--help")
    assert (out.returncode, out.stderr) == (0, "")
    # check-config's lines are its report: gone with the reader, but every check still runs
    # and the exit code is the failed one's.
    assert closed_reader("check-config", "-c", str(cfg)).returncode == 5
    # A full disk is not a reader that went away: the lost output is said, in one line.
    with open("/dev/full", "w") as full:
        out = writing_to(full.fileno(), "status", "-c", str(cfg))
    assert out.returncode == 5, out.stderr
    assert "cannot write the output: No space left on device" in out.stderr
    assert "cannot reach Prometheus" in out.stderr and "unexpected" not in out.stderr


def test_version_and_top_level_help() -> None:
    out = run("--version")
    assert out.returncode == 0 and out.stdout.startswith("monotui ")
    out = run("--help")
    assert out.returncode == 0 and "Exit codes" in out.stdout and "monotui demo" in out.stdout
