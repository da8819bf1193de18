"""Real `monotui autopilot` processes for tests: each with its own kubeconfig user (so a fault can
cut one off the fake API server), config file, audit log and JSON event lines read as they come."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from monotui.audit import read_audit
from tests.fakekube import FakeKube
from tests.prometheus_server import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
NS = "bookinfo"
LEASE = "monotui-istio-reviews"
STARTUP_S = 30.0  # imports and the first cycle on two shared cores


@dataclass(frozen=True)
class Timing:
    lease_s: int = 2
    renew_s: float = 1.5
    retry_s: float = 0.3

    def args(self) -> list[str]:
        return [
            "--lease-duration",
            str(self.lease_s),
            "--renew-deadline",
            str(self.renew_s),
            "--retry-period",
            str(self.retry_s),
        ]


def config_text(
    audit: Path,
    *,
    prometheus: str | None = None,
    hold_s: float = 10.0,
    interval_s: float = 0.5,
    nodata_limit: int = 1000,
) -> str:
    """One istio rollout on auto; metrics from `prometheus` (the sim exporter's Istio series) or
    none. The judge is set for a short window and a healthy canary (no false alarm in a run)."""
    metrics = (
        '[rollouts.metrics]\nkind = "prometheus"\nwindow = "4s"\nhistory_s = 120\n'
        if prometheus
        else '[rollouts.metrics]\nkind = "none"\n'
    )
    top = f'[prometheus]\nurl = "{prometheus}"\ntimeout_s = 2\n' if prometheus else ""
    return (
        f'{top}[audit]\npath = "{audit}"\n\n[[rollouts]]\nname = "reviews"\nnamespace = "{NS}"\n'
        f'policy = "auto"\nhold_s = {hold_s}\ninterval_s = {interval_s}\n'
        "steps = [1, 5, 10, 25, 50, 100]\n"
        '[rollouts.router]\nkind = "istio"\nroute = "primary"\n'
        f"{metrics}"
        f"[rollouts.judge]\nnodata_limit = {nodata_limit}\nlatency = false\nconfidence = 0.9999\n"
        "min_requests = 10\n"
    )


class Autopilot:
    """One `monotui autopilot` subprocess."""

    def __init__(
        self,
        fake: FakeKube,
        root: Path,
        identity: str,
        *,
        timing: Timing = Timing(),
        prometheus: str | None = None,
        hold_s: float = 10.0,
        port: int | None = None,
        nodata_limit: int = 1000,
        extra: str = "",
        discover: bool = False,
        args: tuple[str, ...] = (),
    ) -> None:
        """`extra`: TOML appended to the config (e.g. a [[notify]] table); `discover`: no config
        file, `-A` (discovery in every namespace); `args`: more of the command line."""
        self.identity = identity
        self.root = root / identity
        self.root.mkdir(parents=True, exist_ok=True)
        self.audit = self.root / "audit.jsonl"
        self.config = self.root / "monotui.toml"
        self.config.write_text(
            config_text(self.audit, prometheus=prometheus, hold_s=hold_s, nodata_limit=nodata_limit)
            + extra,
            encoding="utf-8",
        )
        self.kubeconfig = fake.write_kubeconfig(self.root / "kubeconfig", user=identity)
        self.port = port if port is not None else free_port()
        self.lines: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._lock = threading.Lock()
        self.started_at = time.time()
        self.stderr = (self.root / "stderr.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monotui", "autopilot"]
            + (["-A"] if discover else ["-c", str(self.config)])
            + ["--listen", f"127.0.0.1:{self.port}", "--identity", identity, *timing.args(), *args],
            cwd=ROOT,
            env={
                **os.environ,
                "KUBECONFIG": str(self.kubeconfig),
                "POD_NAME": "ignored",
                "XDG_STATE_HOME": str(self.root / "state"),  # each pod its own disk
                "XDG_CONFIG_HOME": str(self.root / "config"),  # no config file but ours
            },
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            stdin=subprocess.DEVNULL,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            text = raw.decode("utf-8")
            with self._lock:
                self.raw.append(text)
                self.lines.append(json.loads(text))

    def events(self, predicate: Callable[[dict[str, Any]], bool] = lambda e: True) -> list[Any]:
        with self._lock:
            return [e for e in self.lines if predicate(e)]

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float, what: str
    ) -> dict[str, Any]:
        def found() -> bool:
            if self.process.poll() is not None and not self.events(predicate):
                raise AssertionError(f"{self.identity} exited: {self.stderr_text()}")
            return bool(self.events(predicate))

        wait_until(found, timeout_s, f"{self.identity}: {what}", 0.05)
        return self.events(predicate)[0]

    def leads(self) -> list[float]:
        """When this process started leading (its own event times)."""
        return [at(e) for e in self.events(leading(True))]

    def stops(self) -> list[float]:
        return [at(e) for e in self.events(leading(False))]

    def actions(self) -> list[dict[str, Any]]:
        """Its audit records (an intent and its outcome as one), oldest first."""
        if not self.audit.exists():
            return []
        return list(read_audit(self.audit))

    def kill(self) -> float:
        """SIGKILL, as a crash: no clean shutdown. Returns when it was sent."""
        t = time.time()
        self.process.kill()
        self.process.wait(timeout=10)
        return t

    def terminate(self, timeout_s: float = 20.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout_s)
        self._reader.join(timeout=5)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.stderr.close()

    def stderr_text(self) -> str:
        self.stderr.flush()
        return (self.root / "stderr.log").read_text(errors="replace")[-2000:]


def acted_only_while_leading(*pilots: Autopilot) -> None:
    """Every automatic action of each process falls within one of its own leaderships (from the
    line saying it leads to the next one saying it stopped)."""
    for pilot in pilots:
        leads, stops = pilot.leads(), pilot.stops()
        for record in pilot.actions():
            if record.get("origin") != "automation":
                continue
            t = at(record)
            began = [x for x in leads if x <= t]
            assert began, f"{pilot.identity} acted at {t} before it ever led"
            assert not [x for x in stops if began[-1] <= x <= t], (
                f"{pilot.identity} acted at {t} after it stopped leading"
            )


def leading(flag: bool) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e.get("event") == "LeadershipChanged" and e.get("leading") is flag


def at(record: dict[str, Any]) -> float:
    """The POSIX time of a JSON line or an audit record."""
    return datetime.fromisoformat(str(record["time"])).timestamp()


def holder(fake: FakeKube) -> str:
    try:
        lease = fake.get_object("coordination.k8s.io", "v1", "leases", NS, LEASE)
    except KeyError:
        return ""
    return str(lease["spec"].get("holderIdentity") or "")


def stored_state(fake: FakeKube) -> dict[str, Any]:
    try:
        lease = fake.get_object("coordination.k8s.io", "v1", "leases", NS, LEASE)
    except KeyError:
        return {}
    text = (lease["metadata"].get("annotations") or {}).get("monotui.dev/autopilot-state")
    return json.loads(text) if text else {}


def canary(fake: FakeKube) -> int:
    obj = fake.get_object("networking.istio.io", "v1", "virtualservices", NS, "reviews")
    weight: int = obj["spec"]["http"][0]["route"][1]["weight"]
    return weight


def advances(*pilots: Autopilot) -> list[dict[str, Any]]:
    """Every automatic advance that was applied, by any process, oldest first."""
    found = [
        r
        for p in pilots
        for r in p.actions()
        if r.get("origin") == "automation" and r.get("action") == "advance" and r["result"] == "ok"
    ]
    return sorted(found, key=at)
