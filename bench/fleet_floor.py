"""The floors of bench/fleet_scale.py, measured in the same run against the same servers: the
batched queries timed directly, `kubectl get virtualservices -A -o json`, and a minimal Textual
DataTable of N rows doing the same I/O as the fleet (one query per count and one list of the
VirtualServices per interval) with a `/` key that shows a line, as the fleet's filter does."""

from __future__ import annotations

import json
import sys
import time

import httpx

from bench.fleet_world import INTERVAL_S, FleetWorld
from monotui.sources.promql import COUNT_TEMPLATES, interval_text
from monotui.sources.promql_batch import Member, batched_template, render_batch
from tests.fakekube import kubectl
from tests.fleet_helpers import fleet

FLOOR_APP = '''
import json, sys, threading, time
import httpx
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Static

SPEC = json.loads(open(sys.argv[1]).read())


class Floor(App[None]):
    """N rows refreshed every interval from the batched queries and one list."""

    BINDINGS = [("slash", "show", "filter"), ("escape", "hide", "hide")]
    CSS = "DataTable { height: 1fr; } Static { height: 1; }"

    def compose(self) -> ComposeResult:
        yield Static("waiting", id="ready")
        yield Static("", id="marker")
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in ("rollout", "weight", "requests", "5xx"):
            table.add_column(column, key=column)
        for name in SPEC["names"]:
            table.add_row(name, "", "", "", key=name)
        self.first = True
        threading.Thread(target=self.poll, daemon=True).start()

    def poll(self) -> None:
        prom = httpx.Client(base_url=SPEC["prometheus"], timeout=10)
        api = httpx.Client(base_url=SPEC["api"], timeout=10)
        while True:
            began = time.monotonic()
            answers = [prom.post("/api/v1/query", data={"query": q, "time": str(time.time())}).json()
                       for q in SPEC["queries"]]
            items = api.get("/apis/networking.istio.io/v1/virtualservices").json()["items"]
            self.call_from_thread(self.show, answers, items)
            time.sleep(max(0.0, SPEC["interval_s"] - (time.monotonic() - began)))

    def show(self, answers, items) -> None:
        table = self.query_one(DataTable)
        counts = {}
        for k, answer in enumerate(answers[:2]):
            for s in answer["data"]["result"]:
                name = s["metric"].get("destination_service_name")
                if name in SPEC["names"] and s["metric"].get("destination_version") == "v2":
                    counts.setdefault(name, ["", ""])[k] = s["value"][1][:8]
        for obj in items:
            name = obj["metadata"]["name"]
            if name in SPEC["names"]:
                weight = obj["spec"]["http"][0]["route"][1]["weight"]
                table.update_cell(name, "weight", f"{weight} % canary")
                req, err = counts.get(name, ["", ""])
                table.update_cell(name, "requests", req)
                table.update_cell(name, "5xx", err)
        if self.first:
            self.first = False
            self.query_one("#ready", Static).update(f"floor-ready {len(SPEC['names'])}")

    def action_show(self) -> None:
        self.query_one("#marker", Static).update("filter: a regular expression")

    def action_hide(self) -> None:
        self.query_one("#marker", Static).update("floor-idle")


Floor().run()
'''


def batched_queries(n: int) -> list[str]:
    """The fleet's three batched queries at one poll's span (what monotui sends)."""
    members = [Member(ns, name, ("v1", "v2")) for name, ns in fleet(n, namespaces=min(n, 10))]
    out = []
    for name in ("requests", "errors", "latency_buckets"):
        template = batched_template(COUNT_TEMPLATES[name])
        assert template is not None
        out.append(
            render_batch(
                template,
                members,
                version_label="destination_version",
                selector="",
                window="1m",
                interval=interval_text(INTERVAL_S),
            )
        )
    return out


def query_floor_s(world: FleetWorld, runs: int = 5) -> float:
    """The median time of the three batched queries, sent one after another."""
    assert world.prometheus is not None
    queries = batched_queries(world.n)
    times = []
    with httpx.Client(base_url=world.prometheus.url, timeout=30) as client:
        for _ in range(runs):
            began = time.perf_counter()
            for q in queries:
                client.post("/api/v1/query", data={"query": q, "time": str(time.time())})
            times.append(time.perf_counter() - began)
    return sorted(times)[len(times) // 2]


def kubectl_floor_s(world: FleetWorld, runs: int = 3) -> float:
    """The median wall time of `kubectl get virtualservices -A -o json` (its cache warmed)."""
    assert world.kubeconfig is not None
    kubectl(world.kubeconfig, "get", "virtualservices", "-A", "-o", "json")  # discovery cache
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        done = kubectl(world.kubeconfig, "get", "virtualservices", "-A", "-o", "json")
        times.append(time.perf_counter() - began)
        assert done.returncode == 0, done.stderr
    return sorted(times)[len(times) // 2]


def floor_argv(world: FleetWorld) -> list[str]:
    """The DataTable floor app for `world`, as a command line."""
    assert world.prometheus is not None
    spec = {
        "prometheus": world.prometheus.url,
        "api": world.fake.url,
        "queries": batched_queries(world.n),
        "names": [name for name, _ in fleet(world.n, namespaces=min(world.n, 10))],
        "interval_s": INTERVAL_S,
    }
    path = world.root / "floor.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    script = world.root / "floor.py"
    script.write_text(FLOOR_APP, encoding="utf-8")
    return [sys.executable, str(script), str(path)]
