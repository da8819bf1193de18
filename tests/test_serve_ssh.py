"""`monotui serve-demo --ssh`: a real OpenSSH client, on a pty, against the server on loopback."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ssh_helpers import (
    SFTP,
    DemoHostProcess,
    SshTerminal,
    client_env,
    client_key,
    ssh_argv,
)

COCKPIT = rb"checkout"
"""A row of the demo's fleet screen: the world was built, polled and drawn."""
HELP = rb"Panels"
"""A heading of the help screen."""
SECRET = "hunter2-not-for-visitors"
CSI = re.compile(rb"\x1b\[[0-9;?<>=]*[A-Za-z]")
MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("visitor")


@pytest.fixture(scope="module")
def key(home: Path) -> Path:
    return client_key(home)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHostProcess]:
    folder = tmp_path_factory.mktemp("host")
    (folder / "tmp").mkdir()
    env = {
        **os.environ,
        "MONOTUI_TEST_SECRET": SECRET,
        "SSH_AUTH_SOCK": "/nonexistent",
        "TMPDIR": str(folder / "tmp"),
    }
    server = DemoHostProcess(
        folder / "host_key", "--max-sessions", "6", "--max-per-client", "6", env=env
    )
    server.tmp = folder / "tmp"
    yield server
    assert server.stop() == 0
    server.wait_for_line(r"serve-demo: stopped")


def open_cockpit(
    host: DemoHostProcess,
    key: Path,
    home: Path,
    *args: str,
    user: str | None = None,
    size: tuple[int, int] = (100, 30),
    env: dict[str, str] | None = None,
) -> SshTerminal:
    term = SshTerminal(
        ssh_argv(host.port, key, "-tt", *args, user=user), env or client_env(home), size
    )
    term.expect(COCKPIT)
    return term


def child_of(host: DemoHostProcess, before: list[int]) -> int:
    (pid,) = sorted(set(host.children()) - set(before))
    return pid


def column_at(output: bytes, at: int) -> int:
    """The screen column of the glyph at byte `at`, from the cursor move before it."""
    moves = list(MOVE.finditer(output, 0, at))
    assert moves, "no cursor positioning before the glyph"
    last = moves[-1]
    between = CSI.sub(b"", output[last.end() : at]).decode("utf-8")
    return int(last.group(2)) + len(between)


def wait_for_right_edge(term: SshTerminal, columns: int, after: int) -> None:
    """Wait until the fleet panel's bottom-right corner is drawn in the last of `columns`."""
    corner = "╯".encode()
    seen = []
    while True:
        found = term.expect(re.escape(corner), after=after)
        seen.append(column_at(bytes(term.output), found.start()))
        if seen[-1] == columns:
            return
        assert len(seen) < 50, f"the corner was drawn at columns {seen}, never at {columns}"
        after = found.end()


def test_the_cockpit_appears_a_key_works_and_q_quits_with_status_0(
    host: DemoHostProcess, key: Path, home: Path
) -> None:
    before = host.children()
    term = open_cockpit(host, key, home)
    try:
        pid = child_of(host, before)
        mark = term.mark
        term.send(b"?")
        term.expect(HELP, after=mark)
        mark = term.mark
        term.send(b"\x1b")  # back to the fleet
        term.expect(COCKPIT, after=mark)
        term.send(b"q")
        assert term.wait_exit() == 0
    finally:
        term.close()
    line = host.wait_for_line(rf"pid={pid} ended=quit status=0").string
    assert "client=127.0.0.1:" in line and "scenario=bad-canary" in line
    assert re.search(r"duration=\d+\.\ds", line)
    assert not os.path.exists(f"/proc/{pid}")


def test_user_name_or_command_picks_the_scenario(
    host: DemoHostProcess, key: Path, home: Path
) -> None:
    by_name = open_cockpit(host, key, home, user="healthy")
    try:
        by_name.expect(rb"monotui demo: healthy")
    finally:
        by_name.close()
    command = SshTerminal(
        ssh_argv(host.port, key, "-tt") + ["latency-regression", "--speed", "20", "--seed", "3"],
        client_env(home),
        (100, 30),
    )
    try:
        command.expect(rb"monotui demo: latency-regression")
    finally:
        command.close()
    host.wait_for_line(
        r'command="latency-regression --speed 20 --seed 3" .*scenario=latency-regression'
    )


def test_a_window_resize_lays_the_cockpit_out_again(
    host: DemoHostProcess, key: Path, home: Path
) -> None:
    term = open_cockpit(host, key, home, size=(100, 30))
    try:
        wait_for_right_edge(term, 100, after=0)
        mark = term.mark
        term.resize(140, 30)
        wait_for_right_edge(term, 140, after=mark)
        mark = term.mark
        term.resize(72, 20)
        wait_for_right_edge(term, 72, after=mark)
    finally:
        term.close()


def test_two_sessions_have_separate_worlds(host: DemoHostProcess, key: Path, home: Path) -> None:
    before = host.children()
    first = open_cockpit(host, key, home)
    second = open_cockpit(host, key, home)
    try:
        first_pid, second_pid = sorted(set(host.children()) - set(before))
        assert first_pid != second_pid
        first.expect(rb"1 % canary")
        second.expect(rb"1 % canary")
        mark = first.mark
        first.send(b"a")  # advance the highlighted rollout (checkout) in the first world only
        first.expect(rb"5 % canary", after=mark)
        mark = second.mark
        second.send(b"?")
        second.expect(HELP, after=mark)
        assert b"5 % canary" not in second.output
        assert b"advanced" not in second.output
    finally:
        first.close()
        second.close()


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


def test_a_dropped_client_ends_its_demo(host: DemoHostProcess, key: Path, home: Path) -> None:
    before = host.children()
    term = open_cockpit(host, key, home)
    pid = child_of(host, before)
    term.close()  # SIGKILL: the client vanishes, the TCP connection closes
    host.wait_for_line(rf"pid={pid} ended=disconnected")
    assert not os.path.exists(f"/proc/{pid}")


def test_session_caps_refuse_the_next_one_with_a_message(
    tmp_path: Path, key: Path, home: Path
) -> None:
    host = DemoHostProcess(tmp_path / "key", "--max-sessions", "2", "--max-per-client", "1")
    opened: list[SshTerminal] = []
    try:
        opened.append(open_cockpit(host, key, home))
        per_client = SshTerminal(ssh_argv(host.port, key, "-tt"), client_env(home), (80, 24))
        per_client.expect(rb"1 demo sessions from your address are already running")
        assert per_client.wait_exit() == 1
        per_client.close()
        opened.append(open_cockpit(host, key, home, "-b", "127.0.0.2"))
        total = SshTerminal(
            ssh_argv(host.port, key, "-tt", "-b", "127.0.0.3"), client_env(home), (80, 24)
        )
        total.expect(rb"all 2 demo sessions are taken; try again in a few minutes")
        assert total.wait_exit() == 1
        total.close()
        host.wait_for_line(r"client=127\.0\.0\.3:\d+ .*ended=refused:session-cap")
        host.wait_for_line(r"client=127\.0\.0\.1:\d+ .*ended=refused:per-client-cap")
        # A slot given back is a slot the next visitor gets.
        opened.pop().send(b"q")
        host.wait_for_line(r"client=127\.0\.0\.2:\d+ .*ended=quit")
        opened.append(open_cockpit(host, key, home, "-b", "127.0.0.3"))
    finally:
        for term in opened:
            term.close()
        host.stop()


def test_an_idle_session_ends_at_the_length_cap(tmp_path: Path, key: Path, home: Path) -> None:
    host = DemoHostProcess(tmp_path / "key", "--session-minutes", "0.1")
    try:
        before = host.children()
        term = open_cockpit(host, key, home)
        pid = child_of(host, before)
        term.expect(rb"this session reached its 0\.1-minute limit; ssh in again", timeout_s=60)
        assert term.wait_exit() == 124
        term.close()
        host.wait_for_line(rf"pid={pid} ended=time-limit")
        assert not os.path.exists(f"/proc/{pid}")
        # The terminal is handed back: alternate screen left, cursor shown, mouse off.
        tail = term.output[term.output.rindex(b"\x18") :]
        assert b"\x1b[?1049l" in tail and b"\x1b[?25h" in tail and b"\x1b[?1003l" in tail
    finally:
        host.stop()


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


def test_stopping_the_server_ends_its_sessions_with_a_message(
    tmp_path: Path, key: Path, home: Path
) -> None:
    host = DemoHostProcess(tmp_path / "key")
    before = host.children()
    term = open_cockpit(host, key, home)
    try:
        pid = child_of(host, before)
        assert host.stop() == 0
        term.expect(rb"the demo host is shutting down")
        assert term.wait_exit() != 0
    finally:
        term.close()
    host.wait_for_line(rf"pid={pid} ended=server-stopped")
    assert not os.path.exists(f"/proc/{pid}")
