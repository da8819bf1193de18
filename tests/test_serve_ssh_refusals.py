"""`monotui serve-demo --ssh` runs the demo and nothing else: what it refuses, and how it says so."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from pathlib import Path

from tests import ssh_helpers
from tests.ssh_helpers import (
    SECRET,
    SFTP,
    DemoHostProcess,
    SshTerminal,
    child_of,
    client_env,
    open_cockpit,
    ssh_argv,
)

# The shared fixtures: one demo host per test module.
home, key, host = ssh_helpers.home, ssh_helpers.key, ssh_helpers.host


def test_exec_of_anything_else_is_refused_with_a_message(
    host: DemoHostProcess, key: Path, home: Path
) -> None:
    before = host.children()
    for command in ("id", "healthy; id", "scp -t /tmp", "bash -i"):
        done = subprocess.run(
            ssh_argv(host.port, key) + [command],
            env=client_env(home),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 2, done
        assert "is not a demo choice" in done.stderr
        assert "healthy|bad-canary|latency-regression|flaky-metrics" in done.stderr
        assert "uid=" not in done.stdout
    assert set(host.children()) <= set(before)  # no demo was started for any of them
    line = host.wait_for_line(r'command="bash -i" scenario=- .*ended=refused:command').string
    assert "pid=" not in line


def test_a_session_without_a_terminal_is_told_to_add_t(
    host: DemoHostProcess, key: Path, home: Path
) -> None:
    done = subprocess.run(
        ssh_argv(host.port, key, "-T"),
        env=client_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "needs a terminal (add -t)" in done.stderr


def test_a_dumb_terminal_is_told_what_to_do_here(
    host: DemoHostProcess, key: Path, home: Path
) -> None:
    before = host.children()
    term = SshTerminal(ssh_argv(host.port, key, "-tt"), client_env(home, TERM="dumb"), (80, 24))
    try:
        assert term.wait_exit() == 2
    finally:
        term.close()
    said = term.text()
    assert "monotui demo host: TERM=dumb cannot show the cockpit: ssh from a terminal" in said
    assert "--headless" not in said  # the demo's own advice, which a visitor cannot follow
    assert set(host.children()) <= set(before)
    host.wait_for_line(r'term="dumb" .*ended=refused:dumb-terminal')


def test_remote_forwarding_is_refused(host: DemoHostProcess, key: Path, home: Path) -> None:
    done = subprocess.run(
        ssh_argv(host.port, key, "-N", "-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:9"),
        env=client_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 255
    assert "remote port forwarding failed" in done.stderr


def test_local_forwarding_is_refused(host: DemoHostProcess, key: Path, home: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        local_port = probe.getsockname()[1]
    # The target is the demo host's own port: were it forwarded, its SSH banner would come back.
    forward = f"{local_port}:127.0.0.1:{host.port}"
    argv = ssh_argv(host.port, key, "-N", "-o", "LogLevel=DEBUG1", "-L", forward)
    client = subprocess.Popen(argv, env=client_env(home), stderr=subprocess.PIPE, text=True)
    try:
        assert client.stderr is not None
        seen: list[str] = []
        for line in client.stderr:
            seen.append(line)
            # ssh says "listening" before it listens; the channel it then makes comes after.
            if "new port-listener" in line and any("on 127.0.0.1 port" in s for s in seen):
                break
        else:
            raise AssertionError(f"ssh never set up the local forward: {seen!r}")
        with socket.create_connection(("127.0.0.1", local_port), timeout=20) as conn:
            assert conn.recv(100) == b""  # closed without a byte from the target
        for line in client.stderr:
            seen.append(line)
            if "open failed" in line:
                break
        assert "administratively prohibited" in seen[-1] or "open failed" in seen[-1]
    finally:
        client.kill()
        client.wait()


def test_agent_and_x11_forwarding_are_refused_and_the_child_sees_a_scrubbed_environment(
    host: DemoHostProcess, key: Path, home: Path, tmp_path: Path
) -> None:
    agent_sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(agent_sock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert agent.stdout is not None and "SSH_AUTH_SOCK" in agent.stdout.readline()
        before = host.children()
        env = client_env(home, SSH_AUTH_SOCK=str(agent_sock), DISPLAY="127.0.0.1:0")
        term = open_cockpit(host, key, home, "-A", "-X", env=env)
        try:
            pid = child_of(host, before)
            child_env = dict(
                entry.split("=", 1)
                for entry in Path(f"/proc/{pid}/environ").read_text().split("\0")
                if entry
            )
            limits = Path(f"/proc/{pid}/limits").read_text()
            # An agent listener would be a socket in an asyncssh-* folder of the server's TMPDIR.
            assert host.tmp is not None
            agent_dirs = list(host.tmp.glob("asyncssh-*"))
        finally:
            term.close()
    finally:
        agent.kill()
        agent.wait()
    assert "X11 forwarding request failed" in term.text()
    assert "SSH_AUTH_SOCK" not in child_env
    assert agent_dirs == []
    assert "DISPLAY" not in child_env
    assert SECRET not in "".join(child_env.values())
    assert set(child_env) == {
        "TERM",
        "LANG",
        "LC_ALL",
        "PATH",
        "HOME",
        "MONOTUI_MOUSE",
        "PYTHONPATH",
        "PYTHONDONTWRITEBYTECODE",
    }
    assert child_env["MONOTUI_MOUSE"] == "off"
    assert child_env["TERM"] == "xterm-256color"
    assert child_env["HOME"] != os.environ.get("HOME")
    assert re.search(r"Max core file size\s+0\s+0", limits)
    assert re.search(r"Max cpu time\s+\d+\s+\d+\s+seconds", limits)
    assert re.search(r"Max address space\s+\d+\s+\d+\s+bytes", limits)
    assert re.search(r"Max open files\s+256\s+256", limits)


def test_sftp_is_refused(host: DemoHostProcess, key: Path, home: Path) -> None:
    done = subprocess.run(
        ssh_argv(host.port, key, "-b", "-", program=SFTP),
        input="ls\n",
        env=client_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "subsystem request failed" in done.stderr
    host.wait_for_line(r'command="subsystem sftp" .*ended=refused:subsystem')


def test_hostile_text_is_logged_literally(
    host: DemoHostProcess, key: Path, home: Path, tmp_path: Path
) -> None:
    long_name = "x" * 300
    hostile = "id\x1b[2J\x1b]0;owned\x07\u202e"
    for user, command in ((long_name, "id"), ("back\\slash", hostile)):
        subprocess.run(
            ssh_argv(host.port, key, user=user) + [command],
            env=client_env(home),
            capture_output=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    bounded = host.wait_for_line(r'user="x{64}"…').string
    assert long_name not in bounded
    line = host.wait_for_line(r'user="back\\\\slash"').string
    assert 'command="id\\x1b[2J\\x1b]0;owned\\x07\\u202e"' in line
    # A user name with control characters never gets in: ssh or asyncssh turn it away first.
    config = tmp_path / "ssh_config"
    config.write_text("Host evil\n  HostName 127.0.0.1\n  User \x1b[31mred\n")
    argv = ssh_argv(host.port, key, config=str(config), host="evil")
    done = subprocess.run([*argv, "id"], env=client_env(home), capture_output=True, timeout=60)
    assert done.returncode == 255
    assert not any("\x1b" in line for line in host.lines)


def test_a_flood_of_connections_that_never_log_in_is_capped(
    tmp_path: Path, key: Path, home: Path
) -> None:
    host = DemoHostProcess(tmp_path / "key", "--max-sessions", "1", "--max-per-client", "1")
    idle: list[socket.socket] = []
    try:
        # Per client address: 2 x --max-per-client + 4 connections may be logging in at once.
        for _ in range(6):
            conn = socket.create_connection(("127.0.0.1", host.port), timeout=20)
            assert conn.recv(64).startswith(b"SSH-2.0-monotui_demo")
            idle.append(conn)
        done = subprocess.run(
            ssh_argv(host.port, key, "-tt"),
            env=client_env(home),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 255
        assert "too many connections are logging in; try again in a minute" in done.stderr
        for conn in idle:
            conn.close()
        idle.clear()
        # Their slots are given back (once the server has seen them close): visitors get in.
        deadline = time.monotonic() + 20
        while True:
            done = subprocess.run(
                [*ssh_argv(host.port, key), "help"],
                env=client_env(home),
                capture_output=True,
                text=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
            )
            if done.returncode == 0 or time.monotonic() > deadline:
                break
        assert done.returncode == 0, done.stderr
        assert "usage: ssh -t -p" in done.stderr
    finally:
        for conn in idle:
            conn.close()
        host.stop()
