"""Adversarial: every bad configuration is one line on stderr and exit code 2, never a traceback
and never a surprise at the first poll (a value that cannot work is refused when loaded)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monotui import cli

ROOT = Path(__file__).resolve().parent.parent

BASE = """
[[rollouts]]
name = "reviews"
namespace = "bookinfo"
{rollout}
[rollouts.metrics]
kind = "none"
{metrics}
"""


def config(tmp_path: Path, *, top: str = "", rollout: str = "", metrics: str = "") -> Path:
    path = tmp_path / "monotui.toml"
    path.write_text(top + BASE.format(rollout=rollout, metrics=metrics))
    return path


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(args)
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    assert "Traceback" not in err, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert all(ch.isprintable() for ch in err[:-1]), err
    return err


BAD_FILES = {
    "fractional step": ({"rollout": "steps = [1.5, 10]"}, "steps"),
    "text step": ({"rollout": 'steps = [1, "x"]'}, "steps"),
    "boolean step": ({"rollout": "steps = [true]"}, "steps"),
    "infinite interval": ({"rollout": "interval_s = inf"}, "interval_s"),
    "huge hold": ({"rollout": "hold_s = 1e300"}, "hold_s"),
    "huge history": ({"metrics": "history_s = 1e300"}, "history_s"),
    "zero window": ({"metrics": 'window = "0s"'}, "longer than 0"),
    "huge lookback": ({"rollout": "[rollouts.judge]\nlookback = 1e11\n"}, "lookback"),
    "huge timeout": ({"top": "[prometheus]\ntimeout_s = 1e308\n"}, "timeout_s"),
    "empty url": ({"top": '[prometheus]\nurl = ""\n'}, "url is empty"),
    "ftp url": ({"top": '[prometheus]\nurl = "ftp://prom:21"\n'}, "ftp:// is not supported"),
    "no scheme": ({"top": '[prometheus]\nurl = "prom:9090"\n'}, "add http:// or https://"),
    "CRLF header": (
        {"top": '[prometheus]\nheaders = { "X-A" = "a\\r\\nInjected: 1" }\n'},
        "line break",
    ),
    "ofrep ftp": (
        {"rollout": '[rollouts.flags]\nkind = "ofrep"\nurl = "ftp://flags"\n'},
        "not supported",
    ),
    "ofrep huge timeout": (
        {"rollout": '[rollouts.flags]\nkind = "ofrep"\nurl = "http://f"\ntimeout_s = 1e308\n'},
        "timeout_s",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_value_is_one_line_and_exit_2(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parts, words = BAD_FILES[case]
    path = config(tmp_path, **parts)
    code, err = run_main(["status", "-c", str(path)], capsys)
    assert code == 2, err
    assert words in one_line(err)
    assert str(path) in err  # names the file


def test_a_password_in_a_bad_url_is_not_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, top='[prometheus]\nurl = "ftp://bob:hunter2@prom"\n')
    code, err = run_main(["check-config", "-c", str(path)], capsys)
    assert code == 2 and "hunter2" not in one_line(err) and "***@prom" in err


def test_a_rollout_that_is_not_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "monotui.toml"
    path.write_text("rollouts = [1]\n")
    code, err = run_main(["status", "-c", str(path)], capsys)
    assert code == 2 and "rollouts[0]" in one_line(err)


def test_a_section_that_is_not_a_table_with_an_env_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "monotui.toml"
    path.write_text("prometheus = 5\n" + BASE.format(rollout="", metrics=""))
    monkeypatch.setenv("MONOTUI_PROMETHEUS__URL", "http://prom:9090")
    code, err = run_main(["status", "-c", str(path)], capsys)
    assert code == 2 and "[prometheus] is a int, not a table" in one_line(err)


def test_a_bad_number_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONOTUI_PROMETHEUS__TIMEOUT_S", "inf")
    code, err = run_main(["status", "-c", str(config(tmp_path))], capsys)
    assert code == 2 and "timeout_s" in one_line(err)


KUBECONFIGS = {
    "yaml syntax error": ("apiVersion: v1\nclusters: [\n  - {name: a\n", "not valid YAML"),
    "clusters is a number": ("apiVersion: v1\nclusters: 5\n", "'clusters' must be a list"),
    "context without a name": (
        "apiVersion: v1\ncontexts:\n- context: {cluster: a}\n",
        "contexts[0] needs a 'name'",
    ),
    "a yaml bomb": (
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "clusters: []\n",
        "alias",
    ),
    "not a mapping": ("- just\n- a list\n", "not a mapping"),
}


@pytest.mark.parametrize("case", sorted(KUBECONFIGS))
def test_a_broken_kubeconfig_is_one_line_and_exit_2(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text, words = KUBECONFIGS[case]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(text)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    code, err = run_main(["status", "-c", str(config(tmp_path))], capsys)
    assert code == 2, err
    assert words in one_line(err) and "kubeconfig" in err
    # check-config says the same on the rollout's line, and exits with the same code
    code = cli.main(["check-config", "-c", str(config(tmp_path))])
    shown = capsys.readouterr()
    assert code == 2 and "Traceback" not in shown.err and words in shown.out


def test_the_real_command_line_too(tmp_path: Path) -> None:
    # A subprocess, as a user runs it: the same line, the same exit code.
    path = config(tmp_path, rollout="steps = [1.5, 10]")
    out = subprocess.run(
        [sys.executable, "-m", "monotui", "advance", "-c", str(path), "--rollout", "reviews"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 2
    assert "steps" in one_line(out.stderr) and out.stdout == ""
