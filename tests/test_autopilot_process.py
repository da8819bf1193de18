"""One `monotui autopilot` process against the fake API server: it takes the Lease, serves
/healthz, /readyz and /metrics, logs outside text as escaped JSON, and its command line refuses
what it cannot do with one line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.autopilot_helpers import NS, ROOT, STARTUP_S, Autopilot, holder
from tests.fakekube import FakeKube
from tests.prometheus_server import wait_until
from tests.router_helpers import virtual_service

EVIL = "mallory: \x1b[31mred\x1b[0m \u2028 \x7f [b]bold[/b]"


def answers(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def test_it_leads_serves_its_endpoints_and_logs_outside_text_as_data(
    fake_kube: FakeKube, tmp_path: Path
) -> None:
    vs = virtual_service(10)
    vs["metadata"]["annotations"].update(
        {"monotui.dev/automation-paused": "true", "monotui.dev/paused-by": EVIL}
    )
    fake_kube.put_object(vs)
    pilot = Autopilot(fake_kube, tmp_path, "pod-a")
    try:
        wait_until(lambda: answers(f"{pilot.url}/readyz") == 200, STARTUP_S, "ready", 0.1)
        assert answers(f"{pilot.url}/healthz") == 200
        assert answers(f"{pilot.url}/nothing") == 404
        pilot.wait_for(lambda e: e.get("leading") is True, 10, "leading")
        assert holder(fake_kube) == "pod-a"
        metrics = httpx.get(f"{pilot.url}/metrics", timeout=2).text
        labels = f'namespace="{NS}",rollout="reviews"'
        assert f"monotui_lease_held{{{labels}}} 1.0" in metrics
        assert f"monotui_canary_weight_percent{{{labels}}} 10.0" in metrics
        assert f"monotui_automation_paused{{{labels}}} 1.0" in metrics
        verdict = f'monotui_verdict{{namespace="{NS}",result="NODATA",rollout="reviews"}} 1.0'
        assert verdict in metrics
        assert "monotui_autopilot_ready 1.0" in metrics
        seen = pilot.wait_for(lambda e: e.get("what") == "pause", 10, "the stored pause")
        assert seen["text"] == f"automation paused elsewhere: {EVIL}"  # the data, intact
        raw = "".join(pilot.raw)
        assert "\\u001b[31mred" in raw and "\\u2028" in raw and "\\u007f" in raw
        assert not any(ord(c) < 0x20 and c != "\n" or ord(c) >= 0x7F for c in raw)
        assert pilot.terminate() == 0
    finally:
        pilot.close()
    assert holder(fake_kube) == ""  # released on SIGTERM


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monotui", "autopilot", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_discovery_without_a_cluster_says_what_to_do(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "KUBECONFIG": "", "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "monotui", "autopilot", "-A"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2
    line = done.stderr.strip()
    assert len(line.splitlines()) == 1 and "no cluster to discover rollouts in" in line


def test_discovered_rollouts_on_manual_are_a_warning_not_silence(
    fake_kube: FakeKube, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    pilot = Autopilot(fake_kube, tmp_path, "pod-a", discover=True)
    try:
        started = pilot.wait_for(lambda e: "started" in e["text"], STARTUP_S, "the start line")
        assert started["rollouts"] == ["reviews"] and started["leases"] == {}
        acts = pilot.wait_for(lambda e: "acts on none" in e["text"], 5, "the warning")
        assert acts["level"] == "warning" and 'policy = "auto"' in acts["text"]
        # Discovery's own notes go to the log too, not to nowhere.
        prom = pilot.wait_for(lambda e: "prometheus: none found" in e["text"], 5, "the note")
        assert prom["level"] == "warning"
        assert pilot.terminate() == 0
    finally:
        pilot.close()


def test_discover_with_policy_auto_steers_what_it_finds(
    fake_kube: FakeKube, tmp_path: Path
) -> None:
    fake_kube.put_object(virtual_service(10))
    pilot = Autopilot(fake_kube, tmp_path, "pod-a", discover=True, args=("--policy", "auto"))
    try:
        started = pilot.wait_for(lambda e: "started" in e["text"], STARTUP_S, "the start line")
        assert started["rollouts"] == ["reviews"] and list(started["leases"]) == ["reviews"]
        pilot.wait_for(lambda e: e.get("leading") is True, 10, "leading")
        assert holder(fake_kube) == "pod-a"
        assert not pilot.events(lambda e: "acts on none" in e["text"])
        assert pilot.terminate() == 0
    finally:
        pilot.close()


def test_a_bad_listen_address_or_timing_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = run("--listen", "localhost", "-c", str(tmp_path / "none.toml"))
    assert done.returncode == 2 and "expected [HOST]:PORT" in done.stderr
    done = run("--lease-duration", "5", "--renew-deadline", "6")
    assert done.returncode == 2
    assert "--lease-duration must be greater than --renew-deadline" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_only_the_lease_holder_notifies(fake_kube: FakeKube, tmp_path: Path) -> None:
    """Two autopilots see the same stored pause; the chat hears of it once, from the holder."""
    from tests.notify_receiver import Receiver

    vs = virtual_service(10)
    vs["metadata"]["annotations"].update(
        {"monotui.dev/automation-paused": "true", "monotui.dev/paused-by": "alice: p"}
    )
    fake_kube.put_object(vs)
    receiver = Receiver()
    receiver.up()
    url_file = tmp_path / "hook-url"
    url_file.write_text(f"{receiver.url}/hook")
    notify = f'\n[[notify]]\nkind = "webhook"\nname = "chat"\nurl_file = "{url_file}"\n'
    pilots = [Autopilot(fake_kube, tmp_path, pod, extra=notify) for pod in ("pod-a", "pod-b")]
    try:
        for pilot in pilots:
            pilot.wait_for(lambda e: e.get("what") == "pause", STARTUP_S, "the stored pause")
        wait_until(lambda: holder(fake_kube) in ("pod-a", "pod-b"), 10, "a holder", 0.1)
        wait_until(
            lambda: any(b.get("event") == "paused" for b in receiver.bodies()), 10, "a message"
        )
        for pilot in pilots:
            assert pilot.terminate() == 0  # both delivered what they had before exiting
        paused = [b for b in receiver.bodies() if b.get("event") == "paused"]
        assert len(paused) == 1, paused  # not once per pod
        assert "alice: p" in paused[0]["message"] + paused[0]["reason"]
    finally:
        for pilot in pilots:
            pilot.close()
        receiver.down()
