"""`[[notify]]` in monotui.toml: every key validated, secrets only from files or the environment
(a URL in the TOML is refused with a line that says where it goes, and is never echoed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monotui.errors import ConfigError
from monotui.notify.build import build_notifier
from tests.configs import load

ROLLOUT = """
[[rollouts]]
name = "checkout"
[rollouts.router]
kind = "none"
[rollouts.metrics]
kind = "none"
"""


def _config(tmp_path: Path, notify: str) -> Path:
    path = tmp_path / "monotui.toml"
    path.write_text(ROLLOUT + notify)
    return path


def test_a_full_sink_is_read(tmp_path: Path) -> None:
    cfg = load(
        _config(
            tmp_path,
            """
[[notify]]
kind = "slack"
name = "oncall"
url_env = "SLACK_HOOK"
events = ["finished", "verdict"]
rollouts = ["checkout"]
per_minute = 10
burst = 2
batch_s = 1.5
nodata_after_s = 60
source_error_after_s = 30
timeout_s = 5
queue_max = 50
failing_after = 4

[[notify]]
kind = "slack"
token_file = "slack.token"
channel = "C0123456789"
""",
        )
    )
    hook, bot = cfg.notify
    assert (hook.label, hook.events, hook.rollouts) == (
        "notify oncall",
        ["finished", "verdict"],
        ["checkout"],
    )
    assert hook.wants("finished", "checkout") and not hook.wants("action", "checkout")
    assert bot.bot and bot.channel == "C0123456789"


@pytest.mark.parametrize(
    ("table", "says"),
    [
        (
            'kind = "slack"\nurl = "https://hooks.slack.com/services/T/B/SECRET"',
            "'url' is a secret and is not read from monotui.toml: use url_file",
        ),
        ('kind = "slack"\ntoken = "xoxb-SECRET"', "'token' is a secret"),
        ('kind = "teams"', "teams: set url_file or url_env"),
        ('kind = "slack"\ntoken_env = "T"', "needs channel"),
        ('kind = "discord"\ntoken_env = "T"', "token_file/token_env are for kind slack"),
        ('kind = "pager"\nurl_env = "X"', "notify[0].kind"),
        ('kind = "webhook"\nurl_env = "X"\nevents = ["everything"]', "notify[0].events"),
    ],
)
def test_mistakes_are_one_clear_line(tmp_path: Path, table: str, says: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load(_config(tmp_path, f"[[notify]]\n{table}\n"))
    message = str(exc.value)
    assert says in message and "SECRET" not in message


def test_a_missing_secret_is_a_config_error_at_start(tmp_path: Path) -> None:
    cfg = load(_config(tmp_path, '[[notify]]\nkind = "webhook"\nurl_env = "NO_SUCH_VARIABLE"\n'))
    with pytest.raises(ConfigError, match="environment variable NO_SUCH_VARIABLE is not set"):
        build_notifier(cfg.notify, [], persist=False)
    cfg = load(_config(tmp_path, f'[[notify]]\nkind = "webhook"\nurl_file = "{tmp_path}/nope"\n'))
    with pytest.raises(ConfigError, match="does not exist"):
        build_notifier(cfg.notify, [], persist=False)


def test_check_config_reads_each_sinks_secret_and_never_shows_it(tmp_path: Path) -> None:
    from tests.test_cli import run
    from tests.test_cli_flags import _setup

    cfg, _, _ = _setup(tmp_path)
    hook = tmp_path / "hook"
    hook.write_text("https://bot:pa55@hooks.slack.com/services/T0/B0/SECRETKEY1234567890abcd\n")
    sinks = f'\n[[notify]]\nkind = "slack"\nurl_file = "{hook}"\n'
    cfg.write_text(cfg.read_text() + sinks)
    out = run("check-config", "-c", str(cfg))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "notify slack: webhook URL ok (https://hooks.slack.com, kind slack" in out.stdout
    for secret in ("SECRETKEY", "pa55", "/services/"):
        assert secret not in out.stdout + out.stderr
    cfg.write_text(cfg.read_text() + '\n[[notify]]\nkind = "teams"\nurl_env = "NO_SUCH_HOOK"\n')
    out = run("check-config", "-c", str(cfg))
    assert out.returncode == 2
    assert "notify teams: FAILED: the webhook URL environment variable NO_SUCH_HOOK" in out.stdout


def test_an_action_is_not_held_back_by_a_sinks_missing_secret(tmp_path: Path) -> None:
    from tests.test_cli import run
    from tests.test_cli_flags import _setup

    cfg, flags, _ = _setup(tmp_path)
    cfg.write_text(cfg.read_text() + '\n[[notify]]\nkind = "slack"\nurl_file = "/run/gone"\n')
    out = run("flag", "toggle", "-c", str(cfg), "--rollout", "checkout", "new-checkout")
    assert out.returncode == 0, out.stderr
    assert "new-checkout: on -> off" in out.stdout
    assert '"defaultVariant": "off"' in flags.read_text()
    (line,) = out.stderr.splitlines()
    assert line == (
        "monotui: notifications are off for this action: "
        "notify slack: webhook URL file /run/gone does not exist"
    )
