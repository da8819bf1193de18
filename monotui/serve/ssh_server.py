"""The ssh demo host: asyncssh's listener and one visitor's connection, with the host's policy.

Every session channel gets its own `monotui demo` child on its own pty (ssh_session.py, session.py),
so visitors never share a world. What the host allows is the demo and nothing else: no shell, no
other command, no SFTP or other subsystem, no port, agent or X11 forwarding. Authentication accepts
anyone; caps on sessions (in total and per client address), on channels per connection, on idle
connections, on their length and on each child's resources keep one visitor from taking the
machine.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncssh

from monotui.serve.choices import usage
from monotui.serve.logline import client_address
from monotui.serve.policy import DemoHost, client_network
from monotui.serve.ssh_session import DemoSession

LOGIN_TIMEOUT_S = 30
REFUSING_MAX = 32
"""Connections over the cap that are told so after the key exchange; past this, closed at once."""
KEEPALIVE_S = 30
"""A vanished client (no FIN) is noticed after ~3 keepalives and its child ended."""
CHANNELS_PER_CONNECTION = 4
"""Session channels open at once on one connection (OpenSSH's sshd allows 10): asyncssh itself
takes any number, each one costing the server memory until it closes."""


class DemoConnection(asyncssh.SSHServer):
    """One visitor's connection: anyone may log in, and may open demo sessions only."""

    def __init__(self, host: DemoHost) -> None:
        self.host = host
        self.client = "?"
        self.client_host = "?"
        self.username = ""
        self._conn: asyncssh.SSHServerConnection | None = None
        self._counted = False
        self._refusing = False
        self._lifetime: asyncio.TimerHandle | None = None
        self._idle: asyncio.TimerHandle | None = None
        self.channels: set[DemoSession] = set()
        self.transport_full = False
        """The socket's send buffer is over its high-water mark: the client is not reading."""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        # asyncssh ignores the transport's flow control (SSHConnection.pause_writing does
        # nothing): a client that opens a huge channel window and stops reading would have the
        # server buffer everything its demo draws. The connection is the transport's protocol,
        # so its own pause/resume calls reach the sessions here.
        setattr(conn, "pause_writing", self._transport_paused)  # noqa: B010
        setattr(conn, "resume_writing", self._transport_resumed)  # noqa: B010
        peer = conn.get_extra_info("peername")
        self.client = client_address(peer)
        self.client_host = client_network(str(peer[0])) if isinstance(peer, tuple) else "?"
        if self.host.connections.take(self.client_host) is None:
            self._counted = True
        elif self.host.refusing < REFUSING_MAX:
            # Told why once the keys are exchanged: before that the client reads no message.
            self._refusing = True
            self.host.refusing += 1
        else:
            conn.abort()
            return
        # A connection lives a little longer than its sessions may, however it is used.
        self._lifetime = asyncio.get_running_loop().call_later(
            self.host.settings.session_s + 60, conn.close
        )
        self._wait_for_a_channel()

    def connection_lost(self, exc: Exception | None) -> None:
        self._conn = None  # sessions may finish later (their children exit): no timer then
        for timer in (self._lifetime, self._idle):
            if timer is not None:
                timer.cancel()
        if self._counted:
            self.host.connections.give_back(self.client_host)
            self._counted = False
        if self._refusing:
            self.host.refusing -= 1
            self._refusing = False

    def begin_auth(self, username: str) -> bool:
        self.username = username
        if self._refusing and self._conn is not None:
            self._conn.disconnect(
                asyncssh.DISC_TOO_MANY_CONNECTIONS,
                "too many connections are logging in; try again in a minute",
            )
            return True
        return False  # the demo is for anyone: no key, no password

    def session_requested(self) -> DemoSession:
        if len(self.channels) >= CHANNELS_PER_CONNECTION:
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_RESOURCE_SHORTAGE,
                f"at most {CHANNELS_PER_CONNECTION} sessions on one connection",
            )
        return DemoSession(self)

    def channel_opened(self, session: DemoSession) -> None:
        """A session channel of this connection opened: the connection is in use."""
        self.channels.add(session)
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def channel_closed(self, session: DemoSession) -> None:
        """A session channel closed; without any, the connection may wait only so long."""
        self.channels.discard(session)
        if not self.channels and self._conn is not None:
            self._wait_for_a_channel()

    def _wait_for_a_channel(self) -> None:
        if self._idle is None:
            self._idle = asyncio.get_running_loop().call_later(
                self.host.settings.idle_s, self._close_idle
            )

    def _close_idle(self) -> None:
        self._idle = None
        if self._conn is not None and not self.channels:
            self._conn.disconnect(
                asyncssh.DISC_BY_APPLICATION,
                f"no demo was asked for; this host only runs the demo: {usage(self.host.port)}",
            )

    def _transport_paused(self) -> None:
        self.transport_full = True
        for session in self.channels:
            session.output_may_flow()

    def _transport_resumed(self) -> None:
        self.transport_full = False
        for session in self.channels:
            session.output_may_flow()

    # Port forwarding (-L, -R): refused, as asyncssh's defaults do; said here so it stays so.
    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> bool:
        return False

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        return False


async def listen(
    host_name: str, port: int, host_key: asyncssh.SSHKey, host: DemoHost
) -> asyncssh.SSHAcceptor:
    """Start accepting visitors; `host.port` is set to the port really bound (for port 0)."""
    acceptor = await asyncssh.listen(
        host_name,
        port,
        server_factory=lambda: DemoConnection(host),
        server_host_keys=[host_key],
        server_version="monotui_demo",
        encoding=None,  # raw bytes both ways: the pty speaks bytes
        line_editor=False,
        allow_pty=True,
        agent_forwarding=False,
        x11_forwarding=False,
        login_timeout=LOGIN_TIMEOUT_S,
        keepalive_interval=KEEPALIVE_S,
    )
    host.port = acceptor.get_port()
    return acceptor


async def stop_all(host: DemoHost, deadline_s: float = 5.0) -> None:
    """End every live session (children SIGTERM, then SIGKILL) and wait until they have gone."""
    if not host.live:
        return
    for session in list(host.live):
        session.stop()
    # Past the deadline the process exits anyway; the children were sent SIGKILL by then.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(host.all_gone.wait(), deadline_s)
