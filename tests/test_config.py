"""monotui.toml: the documented keys load, mistakes name the file and the key, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from monotui import config
from monotui.errors import ConfigError
from monotui.sources.metrics_prometheus import PrometheusMetricsSettings
from tests.configs import load

GOOD = """
[prometheus]
url = "http://127.0.0.1:9090"
timeout_s = 2

[[rollouts]]
name = "reviews"
namespace = "bookinfo"
steps = [1, 5, 10, 25, 50]
policy = "auto"

[rollouts.router]
kind = "istio"
route = "primary"
stable = "v1"
canary = "v2"

[rollouts.metrics]
version_label = "destination_version"
window = "2m"

[rollouts.flags]
kind = "flagd-file"
path = "flags.flagd.json"
kill_switches = ["new-checkout"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monotui.toml"
    path.write_text(text)
    return path


def test_documented_keys_load(tmp_path: Path) -> None:
    cfg = load(_write(tmp_path, GOOD), env={})
    (r,) = cfg.rollouts
    assert r.steps == (1, 5, 10, 25, 50, 100)  # 100 appended
    assert r.router_name == "reviews"
    assert isinstance(r.metrics, PrometheusMetricsSettings) and r.metrics.service == ""
    assert cfg.prometheus.timeout_s == 2
    assert config.duration_s(r.metrics.window) == 120


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    cfg = load(_write(tmp_path, GOOD), env={"MONOTUI_PROMETHEUS__URL": "http://other:9090"})
    assert cfg.prometheus.url == "http://other:9090"


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('kind = "linkerd"', "rollouts[0] (reviews).router.kind"),
        ('colour = "blue"', "rollouts[0] (reviews).router.colour: unknown key"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, snippet: str, expected: str) -> None:
    text = GOOD.replace('kind = "istio"', snippet)
    with pytest.raises(ConfigError) as err:
        load(_write(tmp_path, text), env={})
    assert str(tmp_path / "monotui.toml") in str(err.value)
    assert expected in str(err.value)
    assert err.value.exit_code == 2


def test_bad_steps_and_window_are_explained(tmp_path: Path) -> None:
    text = GOOD.replace("[1, 5, 10, 25, 50]", "[5, 1]").replace('"2m"', '"two minutes"')
    with pytest.raises(ConfigError) as err:
        load(_write(tmp_path, text), env={})
    assert "strictly increasing" in str(err.value)
    assert "not a Prometheus duration" in str(err.value)


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(_write(tmp_path, "[prometheus\n"), env={})


def test_the_scrape_interval_defaults_to_istios_and_a_wrong_one_is_refused(
    tmp_path: Path,
) -> None:
    assert load(_write(tmp_path, GOOD), env={}).prometheus.scrape_interval_s == 15
    slower = GOOD.replace("timeout_s = 2", "timeout_s = 2\nscrape_interval_s = 30")
    assert load(_write(tmp_path, slower), env={}).prometheus.scrape_interval_s == 30
    for wrong in ("0", "601", '"15s"'):
        text = GOOD.replace("timeout_s = 2", f"timeout_s = 2\nscrape_interval_s = {wrong}")
        with pytest.raises(ConfigError) as err:
            load(_write(tmp_path, text), env={})
        assert "prometheus.scrape_interval_s" in str(err.value), str(err.value)
        assert err.value.exit_code == 2
