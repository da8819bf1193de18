"""A fleet across clusters: `--context a,b` (or `[[clusters]]`) places every rollout in each
cluster with its own connection, informers and Prometheus; two fake API servers, one of them
down: `status` says so per rollout and exits 5, the fleet shows that cluster as one ERROR line
and the other cluster's rollouts as usual."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.color import Color

from monotui.app import MonotuiApp
from monotui.clusters import badges, fleet_of, for_session
from monotui.commands.common import session, with_defaults
from monotui.errors import ConfigError
from monotui.model import Weights
from monotui.screens.fleet import FleetScreen
from tests.configs import parse
from tests.fakekube import FakeKube, KubeContext
from tests.fleet_helpers import fleet, virtual_service
from tests.test_app_support import screen_text, settle
from widgets import FleetTable
from widgets.fleet_summary import badge_style

ROOT = Path(__file__).resolve().parent.parent
N = 10


def _tables(n: int = 2) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "namespace": ns,
            "router": {"kind": "istio", "name": name, "route": "primary"},
            "metrics": {"kind": "none"},
        }
        for name, ns in fleet(n, namespaces=2)
    ]


def test_several_contexts_put_every_rollout_in_each_cluster() -> None:
    cfg = parse({"rollouts": _tables()})
    placed, context = for_session(cfg, "prod-eu,staging")
    assert context is None  # each cluster has its own
    assert [(r.name, r.cluster) for r in placed.rollouts] == [
        ("svc-000@prod-eu", "prod-eu"),
        ("svc-000@staging", "staging"),
        ("svc-001@prod-eu", "prod-eu"),
        ("svc-001@staging", "staging"),
    ]
    # Renamed, they still name the same objects: the route and the metrics service.
    assert {r.router_name for r in placed.rollouts[:2]} == {"svc-000"}
    assert [(b.name, b.color) for b in badges(placed)] == [("prod-eu", "red"), ("staging", "cyan")]
    alone, context = for_session(cfg, "kind-dev")
    assert alone == cfg and context == "kind-dev"  # one context: as before


def test_configured_clusters_keep_their_prometheus_and_colour_and_pins() -> None:
    cfg = parse(
        {
            "clusters": [
                {
                    "name": "prod",
                    "prometheus": {"url": "http://prom-prod:9090"},
                    "color": "#ff8800",
                },
                {"name": "dev", "context": "kind-dev"},
            ],
            "rollouts": [*_tables(1), {**_tables(2)[1], "cluster": "dev"}],
        }
    )
    placed = fleet_of(cfg)
    assert [(r.name, r.cluster) for r in placed.rollouts] == [
        ("svc-000@prod", "prod"),
        ("svc-000@dev", "dev"),
        ("svc-001", "dev"),  # pinned: in its cluster only, under its own name
    ]
    assert [(b.name, b.color) for b in badges(placed)] == [("prod", "#ff8800"), ("dev", "cyan")]
    only_dev = fleet_of(cfg, ["kind-dev"])  # one of them, by its context
    assert {r.cluster for r in only_dev.rollouts} == {"dev"}
    with pytest.raises(ConfigError, match="not one of the configured clusters"):
        fleet_of(cfg, ["qa"])
    with pytest.raises(ConfigError, match="cluster 'qa' is not configured"):
        parse({"rollouts": [{**_tables(1)[0], "cluster": "qa"}]})
    with pytest.raises(ConfigError, match="not a colour"):
        parse({"clusters": [{"name": "x", "color": "reddish"}]})


@pytest.mark.parametrize(
    ("cluster", "says"),
    [
        ({"name": "x", "color": "default"}, "'default' is no colour for a badge"),
        ({"name": "prod eu"}, "'prod eu' is not a cluster name"),
        ({"name": "a,b"}, "no commas"),
    ],
)
def test_a_cluster_the_fleet_cannot_show_is_one_line_saying_why(
    cluster: dict[str, str], says: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)) as caught:
        parse({"clusters": [cluster]})
    assert "\n" not in str(caught.value)


def test_context_names_as_cloud_providers_write_them_make_a_fleet() -> None:
    eks = "arn:aws:eks:eu-west-1:123456789012:cluster/prod"
    cfg, _ = for_session(parse({"rollouts": _tables(1)}), f"{eks},alice@dev.eu-west-1.eksctl.io")
    assert [r.name for r in cfg.rollouts] == [
        f"svc-000@{eks}",
        "svc-000@alice@dev.eu-west-1.eksctl.io",
    ]
    assert badges(cfg)[0].color == "red"  # "prod" in its name
    with pytest.raises(ConfigError, match="'my cluster': not a context name"):
        for_session(parse({"rollouts": _tables(1)}), "my cluster,dev")


def test_a_badge_keeps_its_name_readable_on_any_colour() -> None:
    # Black on light badges, white on dark ones (a configured yellow or #ffd700 included).
    for light in ("cyan", "bright_cyan", "yellow", "white", "#ffd700", "#ff8800"):
        assert badge_style(light).color == Color.parse("black"), light
    for dark in ("red", "blue", "magenta", "bright_magenta", "#003366"):
        assert badge_style(dark).color == Color.parse("bright_white"), dark


@pytest.fixture
def two_clusters(tmp_path: Path) -> Iterator[dict[str, Any]]:
    eu, us = FakeKube().start(), FakeKube().start()
    for fake, canary in ((eu, 10), (us, 30)):
        for name, ns in fleet(N, namespaces=2):
            fake.put_object(virtual_service(name, ns, canary))
    kubeconfig = eu.write_kubeconfig(
        tmp_path / "kubeconfig",
        context="prod-eu",
        extra_contexts=[KubeContext("staging", server=us.url)],
    )
    lines = ["[audit]", f'path = "{tmp_path / "audit.jsonl"}"', "[kubernetes]"]
    lines.append(f'kubeconfig = "{kubeconfig}"')
    for table in _tables(N):
        lines += [
            "[[rollouts]]",
            f'name = "{table["name"]}"',
            f'namespace = "{table["namespace"]}"',
        ]
        lines += ["[rollouts.router]", 'kind = "istio"', 'route = "primary"']
        lines += ["[rollouts.metrics]", 'kind = "none"']
    config = tmp_path / "monotui.toml"
    config.write_text("\n".join(lines) + "\n")
    try:
        yield {"eu": eu, "us": us, "config": config, "tmp": tmp_path}
    finally:
        eu.stop()
        us.stop()


def test_status_reads_each_cluster_and_says_which_one_is_down(
    two_clusters: dict[str, Any],
) -> None:
    two_clusters["us"].down()
    done = subprocess.run(
        [sys.executable, "-m", "monotui", "status", "--json", "-c", str(two_clusters["config"])]
        + ["--context", "prod-eu,staging"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 5, done.stderr
    rollouts = json.loads(done.stdout)["rollouts"]
    assert len(rollouts) == 2 * N
    eu = [r for r in rollouts if r["name"].endswith("@prod-eu")]
    us = [r for r in rollouts if r["name"].endswith("@staging")]
    assert {r["weights"]["canary"] for r in eu} == {10}
    assert all(r["sources"]["router"]["state"] == "ok" for r in eu)
    assert all(r["sources"]["router"]["state"] == "error" for r in us)
    assert "unreachable" in us[0]["sources"]["router"]["message"]
    # One list per namespace per cluster, not a GET per rollout.
    assert two_clusters["eu"].count_requests("get", path="virtualservices") == 0
    assert two_clusters["eu"].count_requests("list", path="virtualservices") == 2


async def test_the_fleet_shows_a_cluster_that_is_down_as_one_error_line(
    two_clusters: dict[str, Any],
) -> None:
    two_clusters["us"].down()
    args = argparse.Namespace(config=two_clusters["config"], context="prod-eu,staging")
    built = session(with_defaults(args), shared_reads=True)
    app = MonotuiApp(built.rollouts, title="fleet", poll=False)
    app.fleet.badges = {b.name: b.color for b in badges(built.config)}
    app.fleet.close = built.context.close
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, FleetScreen)
            screen.flush()
            await settle(pilot)
            lines = screen.query_one(FleetTable).lines
            down = [x for x in lines if x.kind == "down"]
            assert len(down) == 1 and down[0].title.startswith(f"staging: ERROR, {N} rollouts")
            assert "unreachable" in down[0].title
            rows = [x.row for x in lines if x.kind == "row" and x.row is not None]
            assert len(rows) == N and {r.cluster for r in rows} == {"prod-eu"}
            assert {r.canary_pct for r in rows} == {10}
            text = screen_text(app)
            assert " staging  ERROR" in text and " prod-eu  10" in text
            assert app.store.get("svc-000@prod-eu").weights == Weights(90, 10)
    finally:
        app.shutdown()
