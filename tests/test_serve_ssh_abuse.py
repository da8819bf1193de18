"""What a hostile client sends the demo host, and what it costs the host: connections that ask for
nothing, floods of channels and environment, a client that stops reading.

The server runs in the test's event loop (`listen`, as `serve-demo` starts it) with a short idle
time and, where the test needs one, a child other than the demo; visitors are the real OpenSSH
client, or asyncssh's client where the test sends what OpenSSH never does.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncssh
import pytest
from asyncssh.channel import SSHClientChannel
from asyncssh.packet import String, UInt32

from monotui.serve.choices import Choice
from monotui.serve.policy import Caps, DemoHost, HostSettings, client_network, demo_argv
from monotui.serve.ssh_server import CHANNELS_PER_CONNECTION, listen, stop_all
from tests.ssh_helpers import client_env, client_key, ssh_argv

IDLE_S = 1.0


class Server:
    """A demo host in this event loop, and what it logged."""

    def __init__(self, host: DemoHost, acceptor: asyncssh.SSHAcceptor, log: io.StringIO) -> None:
        self.host, self.acceptor, self.log = host, acceptor, log

    @property
    def port(self) -> int:
        return self.host.port

    async def connect(self, **options: object) -> asyncssh.SSHClientConnection:
        """An asyncssh client connection, logged in as `visitor`."""
        return await asyncssh.connect(
            "127.0.0.1",
            self.port,
            username="visitor",
            known_hosts=None,
            client_keys=None,
            agent_path=None,
            **options,
        )


async def serve(child: Callable[[Choice], list[str]] = demo_argv) -> AsyncIterator[Server]:
    log = io.StringIO()
    host = DemoHost(HostSettings(idle_s=IDLE_S, child_argv=child), out=log)
    key = asyncssh.generate_private_key("ssh-ed25519")
    acceptor = await listen("127.0.0.1", 0, key, host)
    try:
        yield Server(host, acceptor, log)
    finally:
        acceptor.close()
        await stop_all(host)
        await acceptor.wait_closed()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async for each in serve():
        yield each


async def run_ssh(argv: list[str], home: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env=client_env(home),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, err.decode("utf-8", "replace")


async def bare_channel(conn: asyncssh.SSHClientConnection) -> SSHClientChannel[bytes]:
    """A session channel opened and then asked for nothing (no pty, no shell, no command):
    OpenSSH never does this, so it takes asyncssh's channel class directly."""
    chan: SSHClientChannel[bytes] = SSHClientChannel(
        conn,
        asyncio.get_running_loop(),
        "strict",
        None,
        "strict",
        2**21,
        32768,
    )
    await chan._open(b"session")
    return chan


async def test_a_connection_that_asks_for_no_demo_is_let_go_and_its_slot_given_back(
    server: Server, tmp_path: Path
) -> None:
    # `ssh -N` logs in and opens no channel: before, it held a connection slot for the length
    # of a session (16 minutes), and eight of them locked the address out.
    status, err = await run_ssh(ssh_argv(server.port, client_key(tmp_path), "-N"), tmp_path)
    assert status == 255
    assert "no demo was asked for; this host only runs the demo: usage: ssh -t" in err
    for _ in range(100):  # the server sees the connection go just after the client does
        if server.host.connections.in_use == 0:
            break
        await asyncio.sleep(0.05)
    assert server.host.connections.in_use == 0


async def test_channels_that_ask_for_nothing_are_closed_and_more_are_refused(
    server: Server,
) -> None:
    conn = await server.connect()
    async with conn:
        opened = [await bare_channel(conn) for _ in range(CHANNELS_PER_CONNECTION)]
        with pytest.raises(asyncssh.ChannelOpenError, match="at most 4 sessions on one connection"):
            await bare_channel(conn)
        for chan in opened:  # closed by the server after the idle time
            await asyncio.wait_for(chan.wait_closed(), 30)
        assert server.host.live == set()
    assert server.log.getvalue().count("ended=refused:no-request") == CHANNELS_PER_CONNECTION


def print_env(choice: Choice) -> list[str]:
    """A child that shows its environment, one NAME=value per line, and exits."""
    code = "import os\nfor k in sorted(os.environ): print(f'{k}={os.environ[k]!r}')"
    return [sys.executable, "-c", code]


@pytest.fixture
async def env_server() -> AsyncIterator[Server]:
    async for each in serve(print_env):
        yield each


async def test_of_the_visitors_environment_only_colour_settings_reach_the_child(
    env_server: Server, tmp_path: Path
) -> None:
    sent = (
        "NO_COLOR=yes COLORTERM=TrueColor LD_PRELOAD=/tmp/evil.so PYTHONPATH=/tmp "
        "LANG=xx_XX.EVIL MONOTUI_MOUSE=on"
    )
    argv = ssh_argv(env_server.port, client_key(tmp_path), "-tt", "-o", f"SetEnv={sent}")
    env = {**client_env(tmp_path), "TERM": "screen\x1b]0;owned\x07"}
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    shown = dict(
        line.split("=", 1) for line in out.decode().splitlines() if "=" in line and "'" in line
    )
    assert shown["NO_COLOR"] == "'1'" and shown["COLORTERM"] == "'truecolor'"
    assert shown["TERM"] == "'xterm-256color'"  # not a terminal name: the fallback
    assert shown["MONOTUI_MOUSE"] == "'off'" and shown["LANG"] == "'C.UTF-8'"
    assert "LD_PRELOAD" not in shown
    assert shown["PYTHONPATH"] != "'/tmp'"


async def test_a_flood_of_environment_requests_is_refused_not_kept(server: Server) -> None:
    conn = await server.connect()
    async with conn:
        chan = await bare_channel(conn)
        # OpenSSH sends env without asking for a reply; asked, the server says what it did.
        for number in range(50):
            answer = await chan._make_request(b"env", String(f"X{number}"), String(b"x" * 30000))
            assert answer is False
        assert await chan._make_request(b"env", String("NO_COLOR"), String("1")) is True


FLOOD_BYTES = 48 * 2**20


def flood(choice: Choice) -> list[str]:
    """A child that draws FLOOD_BYTES as fast as it can, then exits."""
    code = f"import os\nfor _ in range({FLOOD_BYTES // 65536}): os.write(1, b'x' * 65536)"
    return [sys.executable, "-c", code]


@pytest.fixture
async def flood_server() -> AsyncIterator[Server]:
    async for each in serve(flood):
        yield each


def my_children() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.append(int(entry.name))
    return found


def bytes_written(pid: int) -> int | None:
    """What the process has written so far, or None once it has gone."""
    try:
        io_lines = Path(f"/proc/{pid}/io").read_text().splitlines()
    except OSError:
        return None
    return int(next(line for line in io_lines if line.startswith("wchar:")).split()[1])


class Received(asyncssh.SSHClientSession[bytes]):
    def __init__(self) -> None:
        self.count = 0

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        self.count += data.count(b"x")


async def test_a_client_that_stops_reading_stalls_its_own_demo_not_the_servers_memory(
    flood_server: Server,
) -> None:
    conn = await flood_server.connect()
    async with conn:
        # A 2 GB window: the channel never tells the server to wait; only the socket can.
        chan, received = await conn.create_session(
            Received, term_type="xterm", window=2**31 - 1, encoding=None
        )
        assert isinstance(received, Received)
        transport = conn._transport
        assert transport is not None
        transport.pause_reading()  # the client reads nothing more from its socket
        (pid,) = my_children()
        # Until the child stops getting anywhere (blocked on its pty) or is done.
        written, still = bytes_written(pid), 0
        while written is not None and still < 10:
            await asyncio.sleep(0.1)
            now = bytes_written(pid)
            still = still + 1 if now == written else 0
            written = now
        assert written is not None, "the child drew everything into the server's memory"
        assert written < FLOOD_BYTES // 2
        transport.resume_reading()  # and it all arrives, only later
        await asyncio.wait_for(chan.wait_closed(), 60)
        assert chan.get_exit_status() == 0
        assert received.count == FLOOD_BYTES


def test_the_per_client_caps_count_an_ipv6_site_as_one_client() -> None:
    # A visitor on IPv6 has a /64 of addresses: counted per address, a cap is no cap.
    caps = Caps(total=10, per_client=2)
    assert caps.take(client_network("2001:db8:1:2::1")) is None
    assert caps.take(client_network("2001:db8:1:2:ffff::9")) is None
    assert caps.take(client_network("2001:db8:1:2::3")) == "per-client"
    assert caps.take(client_network("2001:db8:1:3::1")) is None  # the next site is another
    # A dual-stack listener sees IPv4 visitors as ::ffff:a.b.c.d: each is still its own.
    assert caps.take(client_network("::ffff:192.0.2.1")) is None
    assert caps.take(client_network("::ffff:192.0.2.2")) is None
    assert caps.take(client_network("192.0.2.1")) is None
    assert caps.take(client_network("::ffff:192.0.2.1")) == "per-client"


class Said(asyncssh.SSHClientSession[bytes]):
    def __init__(self) -> None:
        self.stderr = b""

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if datatype == asyncssh.EXTENDED_DATA_STDERR:
            self.stderr += data


async def test_a_window_change_without_a_pty_request_is_no_terminal(server: Server) -> None:
    conn = await server.connect()
    async with conn:
        chan = await bare_channel(conn)
        said = Said()
        chan._session = said
        chan.resume_reading()  # asyncssh's own sessions start reading at this point
        chan._send_request(b"window-change", UInt32(80), UInt32(24), UInt32(0), UInt32(0))
        assert await chan._make_request(b"shell") is True
        await asyncio.wait_for(chan.wait_closed(), 30)
    assert chan.get_exit_status() == 2
    assert b"the cockpit needs a terminal (add -t)" in said.stderr
    assert my_children() == []
