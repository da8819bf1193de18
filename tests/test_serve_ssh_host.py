"""`monotui serve-demo`: its host key, and its exit codes for a port in use and bad arguments."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests import ssh_helpers
from tests.ssh_helpers import (
    DemoHostProcess,
)

# The shared fixtures: one demo host per test module.
host = ssh_helpers.host


def host_key_seen_by_clients(port: int) -> str:
    done = subprocess.run(
        ["ssh-keyscan", "-p", str(port), "-t", "ed25519", "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    (line,) = [line for line in done.stdout.splitlines() if "ssh-ed25519" in line]
    return line.split()[-1]


def test_the_host_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    key_path = tmp_path / "state" / "monotui" / "ssh_host_ed25519_key"
    first = DemoHostProcess(key_path)
    try:
        first.wait_for_line(r"\(new: ")
        seen = host_key_seen_by_clients(first.port)
    finally:
        assert first.stop() == 0
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    public = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(key_path)], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert public == seen
    again = DemoHostProcess(key_path)
    try:
        again.wait_for_line(r"\(kept: ")
        assert host_key_seen_by_clients(again.port) == seen
    finally:
        assert again.stop() == 0


def test_a_host_key_others_can_read_is_refused_with_exit_2(tmp_path: Path) -> None:
    key_path = tmp_path / "key"
    first = DemoHostProcess(key_path)
    first.stop()
    key_path.chmod(0o644)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "monotui",
            "serve-demo",
            "--ssh",
            "127.0.0.1:0",
            "--host-key",
            str(key_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"chmod 600 {key_path}" in done.stderr


def test_a_port_in_use_exits_5_with_a_clear_line(host: DemoHostProcess, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "monotui",
            "serve-demo",
            "--ssh",
            f"127.0.0.1:{host.port}",
            "--host-key",
            str(tmp_path / "key"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 5
    assert done.stderr.strip().splitlines() == [
        f"monotui: cannot listen on 127.0.0.1:{host.port}: the port is in use; "
        "choose another with --ssh HOST:PORT"
    ]


@pytest.mark.parametrize("address", ["host:", "99999", "x:-1", "[::1]2222"])
def test_a_bad_listen_address_exits_2(address: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "monotui", "serve-demo", "--ssh", address],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--ssh" in done.stderr
