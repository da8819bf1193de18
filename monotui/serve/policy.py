"""The demo host's policy: what a session runs, and the caps shared by all its connections."""

from __future__ import annotations

import asyncio
import ipaddress
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from monotui.serve.choices import Choice
from monotui.serve.sandbox import Limits, limits_for


class LiveSession(Protocol):
    """What the host needs of a running session: a way to end it."""

    def stop(self) -> None: ...


def demo_argv(choice: Choice) -> list[str]:
    """`monotui demo` with this interpreter and the visitor's choice."""
    return [sys.executable, "-m", "monotui", *choice.demo_args()]


@dataclass(frozen=True, slots=True)
class HostSettings:
    """The host's caps and what each session runs."""

    max_sessions: int = 8
    max_per_client: int = 2
    session_s: float = 900.0
    idle_s: float = 30.0
    """A connection without a session channel, or a channel that asked for neither a shell nor a
    command, is closed after this: otherwise `ssh -N` holds a connection slot for as long as a
    session may last, and a few of them lock every visitor out."""
    child_argv: Callable[[Choice], list[str]] = demo_argv
    """What a session runs; the byte-rate benchmark swaps in its floor app here."""


IPV6_SITE_PREFIX = 64
"""One IPv6 site gets a /64 (RFC 6177), so one visitor can send from 2**64 addresses."""


def client_network(address: str) -> str:
    """What the per-client caps count by: an IPv4 address (also one mapped into IPv6, as a
    dual-stack listener on [::] sees it), or the /64 an IPv6 address is in."""
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_SITE_PREFIX), strict=False))
    return str(ip)


class Caps:
    """A count in total and per client address, each with a ceiling."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total, self.per_client = total, per_client
        self._by_client: Counter[str] = Counter()

    @property
    def in_use(self) -> int:
        """Slots taken, all clients together."""
        return sum(self._by_client.values())

    def take(self, client: str) -> str | None:
        """Take a slot for `client` and return None, or return which cap is full: "total" or
        "per-client" (and take nothing)."""
        if self.in_use >= self.total:
            return "total"
        if self._by_client[client] >= self.per_client:
            return "per-client"
        self._by_client[client] += 1
        return None

    def give_back(self, client: str) -> None:
        """Give back a slot `take` gave `client`."""
        self._by_client[client] -= 1
        if self._by_client[client] <= 0:
            del self._by_client[client]


@dataclass
class DemoHost:
    """What every connection of one server shares: settings, caps, limits, the log, live sessions."""

    settings: HostSettings
    out: TextIO
    port: int = 0
    limits: Limits = field(init=False)
    sessions: Caps = field(init=False)
    connections: Caps = field(init=False)
    refusing: int = 0
    """Connections over the connection caps, waiting to be told so."""
    live: set[LiveSession] = field(default_factory=set)
    all_gone: asyncio.Event = field(default_factory=asyncio.Event)
    """Set whenever the last live session has finished."""

    def __post_init__(self) -> None:
        s = self.settings
        self.limits = limits_for(s.session_s, s.max_sessions)
        self.sessions = Caps(s.max_sessions, s.max_per_client)
        # Connections are capped too (logged in or not, with room for each visitor's sessions
        # and a few logging in), so a flood of connections that never log in cannot pile up.
        self.connections = Caps(2 * s.max_sessions + 8, 2 * s.max_per_client + 4)

    def log(self, line: str) -> None:
        """One line on the server's output, at once (it is often a pipe to a log collector)."""
        print(line, file=self.out, flush=True)
