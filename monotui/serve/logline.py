"""The one line the server prints per session: when, who, what they ran, how long, how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from monotui.serve.text import shown


@dataclass(slots=True)
class SessionRecord:
    """What one session's log line says; filled in as the session goes."""

    started: datetime
    client: str
    username: str = ""
    command: str | None = None
    term: str | None = None
    scenario: str = "-"
    child_pid: int | None = None
    ended: str = "never-started"
    """How it ended, one token: quit, disconnected, time-limit, server-stopped, refused:WHY."""
    status: int | None = None

    def line(self, now: datetime) -> str:
        """The log line; client-supplied text quoted, escaped and bounded."""
        duration_s = (now - self.started).total_seconds()
        parts = [
            self.started.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            f"client={self.client}",
            f"user={shown(self.username)}",
        ]
        if self.command is not None:
            parts.append(f"command={shown(self.command)}")
        if self.term is not None:
            parts.append(f"term={shown(self.term, limit=32)}")
        parts += [f"scenario={self.scenario}", f"duration={duration_s:.1f}s"]
        if self.child_pid is not None:
            parts.append(f"pid={self.child_pid}")
        parts.append(f"ended={self.ended}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        return " ".join(parts)


def client_address(peer: object) -> str:
    """host:port of a socket peer name ([v6]:port for IPv6), '?' when there is none."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = str(peer[0]), peer[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return "?"
