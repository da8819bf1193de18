"""Adversarial: flag files that attack the parser or the rewrite.

A YAML alias bomb and a deeply nested JSON file are one clean SourceError and never spin; a
toggle keeps the file's owner, group, mode and extended attributes; a YAML value shared through
an anchor or a merge key is refused with a clear line, and the file (comments and all) stays as
it was. Through the CLI as a user runs it, too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from monotui.errors import MonotuiError, SourceError, UnsafeEditError
from monotui.sources.base import FlagSet
from monotui.sources.flags_flagd import FlagdFileFlags
from tests.configs import rollout_config

ROOT = Path(__file__).resolve().parent.parent
NOBODY, NOGROUP = 65534, 65534

FLAG = "  new-checkout:\n    state: ENABLED\n    variants: {'on': true, 'off': false}\n"


def yaml_bomb() -> str:
    """The classic "billion laughs": nine levels of nine aliases, 9^9 strings once expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\nflags: {}\n"


def source(path: Path) -> FlagdFileFlags:
    cfg = rollout_config(
        {
            "name": "checkout",
            "metrics": {"kind": "none"},
            "flags": {"kind": "flagd-file", "path": str(path)},
        }
    )
    return FlagdFileFlags(cfg)


def finishes(call: Callable[[], Any], within_s: float = 10.0) -> Any:
    """`call()` in a thread; fails if it is still running at the deadline (a spin), else returns
    its result or raises its exception."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(within_s)
    assert not thread.is_alive(), "the parse did not finish: it spins"
    if "error" in box:
        raise box["error"]
    return box["value"]


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and all(ch.isprintable() for ch in text), text
    return text


def test_the_731_byte_yaml_bomb_is_one_clean_error(tmp_path: Path) -> None:
    bomb = yaml_bomb()
    assert len(bomb.encode()) < 800
    path = tmp_path / "flags.yaml"
    path.write_text(bomb)
    with pytest.raises(SourceError) as caught:
        finishes(source(path).read)
    assert "alias" in one_line(caught.value) and str(path) in str(caught.value)


def test_a_200_kb_nested_json_is_one_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    path.write_text('{"flags": {}, "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert path.stat().st_size > 200_000
    with pytest.raises(SourceError) as caught:
        finishes(source(path).read)
    assert "nested deeper" in one_line(caught.value)


def test_a_deeply_nested_yaml_is_one_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text("flags: {}\nx: " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(SourceError) as caught:
        finishes(source(path).read)
    assert "nest" in one_line(caught.value)  # libyaml's own limit, or ours: one line either way


def test_a_file_that_never_ends_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    with path.open("w") as f:
        f.write('{"flags": {}, "pad": "')
        f.write("x" * (5 << 20))
        f.write('"}')
    with pytest.raises(SourceError) as caught:
        finishes(source(path).read)
    assert "larger than 4 MB" in one_line(caught.value)


def test_a_key_defined_twice_is_shown_once_as_an_error(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    flag = {"key": "a", "state": "ENABLED", "variants": {"on": True, "off": False}}
    path.write_text(json.dumps({"flags": [{**flag, "defaultVariant": "on"}, flag]}))
    src = source(path)
    flagset = src.read()
    (shown,) = flagset.flags
    assert shown.key == "a" and shown.error and "defined twice" in shown.error
    assert shown.toggle is None
    with pytest.raises(MonotuiError):
        src.toggle("a", flagset)
    json_twice = tmp_path / "twice.json"
    json_twice.write_text('{"flags": {"a": {"state": "ENABLED"}, "a": {"state": "DISABLED"}}}')
    with pytest.raises(SourceError, match="has the key 'a' twice"):
        source(json_twice).read()


def _toggle(path: Path) -> tuple[FlagdFileFlags, FlagSet]:
    src = source(path)
    seen = src.read()
    src.toggle("new-checkout", seen)
    return src, seen


def test_a_toggle_keeps_owner_group_mode_and_xattrs(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text("# owned by flagd\nflags:\n" + FLAG + "    defaultVariant: 'on'\n")
    os.chown(path, NOBODY, NOGROUP)
    os.chmod(path, 0o640)
    os.setxattr(path, "user.owner-team", b"payments")
    src, _ = _toggle(path)
    st = path.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (NOBODY, NOGROUP, 0o640)
    assert os.getxattr(path, "user.owner-team") == b"payments"
    text = path.read_text()
    assert text.startswith("# owned by flagd\n") and "defaultVariant: 'off'" in text
    assert src.read().flags[0].value is False


def test_a_yaml_alias_on_the_toggled_value_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    text = (
        "# the default both flags share\n"
        "default: &dv 'on'\n"
        "flags:\n" + FLAG + "    defaultVariant: *dv\n"
        "  other:\n    variants: {'on': true, 'off': false}\n    defaultVariant: *dv\n"
    )
    path.write_text(text)
    with pytest.raises(UnsafeEditError) as caught:
        _toggle(path)
    assert "anchor and alias" in one_line(caught.value) and "nothing was written" in str(
        caught.value
    )
    assert path.read_text() == text  # comments and all


def test_a_yaml_alias_above_the_toggled_value_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    text = (
        "shared: &flag\n  state: ENABLED\n  variants: {'on': true, 'off': false}\n"
        "  defaultVariant: 'on'\n"
        "flags:\n  new-checkout: *flag\n"
    )
    path.write_text(text)
    with pytest.raises(UnsafeEditError, match="anchor and alias"):
        _toggle(path)
    assert path.read_text() == text


def test_a_value_from_a_merge_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    text = (
        "base: &base\n  state: ENABLED\n  variants: {'on': true, 'off': false}\n"
        "  defaultVariant: 'on'\n"
        "flags:\n  new-checkout:\n    <<: *base\n"
    )
    path.write_text(text)
    with pytest.raises(UnsafeEditError, match="merge key"):
        _toggle(path)
    assert path.read_text() == text


def test_an_unrelated_anchor_does_not_block_a_toggle(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text(
        "# comment kept\n$evaluators:\n  team: &team {in: ['ops', {var: team}]}\n"
        "flags:\n" + FLAG + "    defaultVariant: 'on'\n"
        "  other:\n    variants: {'on': true, 'off': false}\n    defaultVariant: 'on'\n"
        "    targeting: {if: [*team, 'on', 'off']}\n"
    )
    _toggle(path)
    assert "# comment kept" in path.read_text()
    assert "defaultVariant: 'off'" in path.read_text()


CONFIG = """
[audit]
path = "{audit}"

[[rollouts]]
name = "checkout"
[rollouts.router]
kind = "none"
[rollouts.metrics]
kind = "none"
[rollouts.flags]
kind = "flagd-file"
path = "{flags}"
"""


def cli(tmp_path: Path, flags: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "monotui.toml"
    cfg.write_text(CONFIG.format(audit=tmp_path / "audit.jsonl", flags=flags))
    return subprocess.run(
        [sys.executable, "-m", "monotui", *args, "-c", str(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_the_cli_says_one_line_for_a_bomb_and_for_a_shared_value(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(yaml_bomb())
    out = cli(tmp_path, bomb, "flag", "toggle", "--rollout", "checkout", "new-checkout")
    assert out.returncode == 5 and out.stderr.count("\n") == 1 and "alias" in out.stderr
    assert "Traceback" not in out.stderr
    shared = tmp_path / "shared.yaml"
    shared.write_text("dv: &dv 'on'\nflags:\n" + FLAG + "    defaultVariant: *dv\n")
    before = shared.read_text()
    out = cli(tmp_path, shared, "flag", "toggle", "--rollout", "checkout", "new-checkout")
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "anchor and alias" in out.stderr
    assert shared.read_text() == before
