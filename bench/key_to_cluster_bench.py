"""From an action to the write being visible on the API server, against kubectl and raw HTTP.

One fake Kubernetes API server (tests/fakekube/) on 127.0.0.1 holds a VirtualService; every
variant sends the same compare-and-set JSON patch (test ops + replace) to it, in the same run:
  in-app     `Rollout.apply(set-weight)` on the sync kubernetes client, called from a worker
             thread as a key press is (`asyncio.to_thread`), until the write is on the server;
  direct     the same, called directly (what the CLI does);
  aio        `kubernetes.aio` patch_namespaced_custom_object awaited on the event loop;
  raw        one HTTP PATCH by httpx on a kept-alive connection: the floor;
  kubectl    `kubectl patch --type=json` with the same kubeconfig: the peer.
Goals: in-app at least 20x faster than kubectl, and within 3x of the raw PATCH.

    python -m bench.key_to_cluster_bench [--repeat 60] [--kubectl-repeat 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from monotui.audit import AuditLog
from monotui.config import KubernetesConfig, MetricsConfig, RolloutConfig, RouterConfig
from monotui.model import Action, ActionKind, Weights
from monotui.rollout import assemble
from monotui.sources.kube import JSON_PATCH, connect
from monotui.sources.router_istio import IstioRouter
from tests.fakekube import FakeKube

GROUP, VERSION, PLURAL, NS, NAME = (
    "networking.istio.io",
    "v1",
    "virtualservices",
    "bench",
    "reviews",
)
PATH = f"/apis/{GROUP}/{VERSION}/namespaces/{NS}/{PLURAL}/{NAME}"


def virtual_service() -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "VirtualService",
        "metadata": {"name": NAME, "namespace": NS},
        "spec": {
            "hosts": ["reviews"],
            "http": [
                {
                    "name": "primary",
                    "route": [
                        {"destination": {"host": "reviews", "subset": "v1"}, "weight": 90},
                        {"destination": {"host": "reviews", "subset": "v2"}, "weight": 10},
                    ],
                }
            ],
        },
    }


class Bench:
    """The fake server, a kubeconfig, and helpers that make the next CAS patch."""

    def __init__(self, tmp: Path) -> None:
        self.fake = FakeKube().start()
        self.fake.put_object(virtual_service())
        self.kubeconfig = self.fake.write_kubeconfig(tmp / "kubeconfig", namespace=NS)
        self.token = "fake-token-alice"
        self.kube = connect(KubernetesConfig(kubeconfig=self.kubeconfig))
        self.rollout = RolloutConfig(
            name=NAME,
            namespace=NS,
            router=RouterConfig(kind="istio", route="primary"),
            metrics=MetricsConfig(kind="none"),
        )
        self.router = IstioRouter(self.kube, self.rollout)
        self.controller = assemble(self.rollout, router=self.router, audit=AuditLog(None))
        self.controller.cycle()
        self.pct = 10

    def canary(self) -> int:
        obj = self.fake.get_object(GROUP, VERSION, PLURAL, NS, NAME)
        weight: int = obj["spec"]["http"][0]["route"][1]["weight"]
        return weight

    def next_pct(self) -> int:
        self.pct = 11 if self.pct != 11 else 12
        return self.pct

    def next_patch(self) -> tuple[int, str]:
        """The patch monotui would send for the next weight, from a fresh read (not timed)."""
        pct = self.next_pct()
        state = self.router.read()
        return pct, self.router.write(Weights.canary_at(pct), state, dry_run=True).patch

    def close(self) -> None:
        self.kube.close()
        self.fake.stop()


def timed(n: int, prepare: Callable[[], Any], run: Callable[[Any], None]) -> list[float]:
    out = []
    for _ in range(n):
        arg = prepare()
        t0 = time.perf_counter()
        run(arg)
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.key_to_cluster_bench")
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--kubectl-repeat", type=int, default=8)
    args = parser.parse_args(argv or [])  # `python -m bench` calls main() with no arguments
    with tempfile.TemporaryDirectory() as tmp:
        b = Bench(Path(tmp))
        try:
            results = measure(b, args.repeat, args.kubectl_repeat)
        finally:
            b.close()
    report(results)


def measure(b: Bench, repeat: int, kubectl_repeat: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}

    def apply(pct: int) -> None:
        result = b.controller.apply(Action(ActionKind.SET_WEIGHT, NAME, weight_pct=pct))
        assert result.ok, result.message
        assert b.canary() == pct  # visible on the server

    # Warm up every path once (connection pools, imports, kubectl's discovery cache).
    apply(b.next_pct())

    async def in_app() -> list[float]:
        out = []
        for _ in range(repeat):
            pct = b.next_pct()
            t0 = time.perf_counter()
            await asyncio.to_thread(apply, pct)
            out.append(time.perf_counter() - t0)
        return out

    results["in-app (worker thread)"] = asyncio.run(in_app())
    results["direct (CLI path)"] = timed(repeat, b.next_pct, apply)
    results["aio client"] = asyncio.run(aio_patches(b, repeat))

    with httpx.Client(base_url=b.fake.url, headers={"Authorization": f"Bearer {b.token}"}) as http:

        def raw(arg: tuple[int, str]) -> None:
            pct, patch = arg
            answer = http.patch(PATH, content=patch, headers={"Content-Type": JSON_PATCH})
            assert answer.status_code == 200, answer.text
            assert b.canary() == pct

        raw(b.next_patch())
        results["raw HTTP PATCH"] = timed(repeat, b.next_patch, raw)

    kubectl = shutil.which("kubectl")
    if kubectl:

        def run_kubectl(arg: tuple[int, str]) -> None:
            pct, patch = arg
            subprocess.run(
                [kubectl, "--kubeconfig", str(b.kubeconfig), "-n", NS, "patch",
                 f"{PLURAL}.{GROUP}", NAME, "--type=json", "-p", patch],
                check=True, capture_output=True,
            )  # fmt: skip
            assert b.canary() == pct

        run_kubectl(b.next_patch())
        results["kubectl patch"] = timed(kubectl_repeat, b.next_patch, run_kubectl)
    return results


async def aio_patches(b: Bench, repeat: int) -> list[float]:
    from kubernetes.aio import client as aio_client
    from kubernetes.aio import config as aio_config

    api_client = await aio_config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(b.kubeconfig)
    )
    try:
        api = aio_client.CustomObjectsApi(api_client)
        out = []
        for i in range(repeat + 1):
            pct, patch = b.next_patch()
            body = json.loads(patch)
            t0 = time.perf_counter()
            await api.patch_namespaced_custom_object(
                GROUP, VERSION, NS, PLURAL, NAME, body, _content_type=JSON_PATCH
            )
            elapsed = time.perf_counter() - t0
            assert b.canary() == pct
            if i:  # the first one opens the connection
                out.append(elapsed)
        return out
    finally:
        await api_client.close()


def report(results: dict[str, list[float]]) -> None:
    med = {name: statistics.median(times) * 1000 for name, times in results.items()}
    for name, ms in med.items():
        p90 = statistics.quantiles([t * 1000 for t in results[name]], n=10)[-1]
        print(f"{name:26s} median {ms:8.2f} ms   p90 {p90:8.2f} ms   (n={len(results[name])})")
    app = med["in-app (worker thread)"]
    raw = med["raw HTTP PATCH"]
    print(f"in-app / raw PATCH        {app / raw:6.2f}x   (goal <= 3x)")
    if "kubectl patch" in med:
        print(f"kubectl / in-app          {med['kubectl patch'] / app:6.1f}x   (goal >= 20x)")
    else:
        print("kubectl not found: no peer ratio")
    print(f"aio / sync worker thread  {med['aio client'] / app:6.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
