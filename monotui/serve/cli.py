"""`monotui serve-demo --ssh [HOST:]PORT`: the subcommand's arguments and its run.

Kept apart from monotui/cli.py so the CLI only registers it (`add_parser`) and dispatches to it
(`run`); asyncssh is imported only when the server really starts.
"""

from __future__ import annotations

import argparse
import errno
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from monotui.errors import (
    BackendUnavailableError,
    ConfigError,
    MonotuiError,
    PermissionDeniedError,
)

DEFAULT_MAX_SESSIONS = 8
DEFAULT_MAX_PER_CLIENT = 2
DEFAULT_SESSION_MINUTES = 15.0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `serve-demo` on the CLI's subparsers (the object `add_subparsers` returned)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "serve-demo",
        help="a demo host: every ssh connection gets its own demo",
        description="An SSH server where every connection gets its own fresh demo world and "
        "cockpit. Visitors pick a scenario by user name (ssh -p 2222 healthy@HOST) or command "
        "(ssh -t -p 2222 HOST healthy --speed 20). Nothing but the demo runs: no shell, no "
        "other command, no SFTP, no forwarding.",
    )
    p.add_argument(
        "--ssh",
        metavar="[HOST:]PORT",
        type=listen_address,
        required=True,
        help="where to listen; HOST defaults to 127.0.0.1 (0.0.0.0 or [::] to let others in), "
        "PORT 0 picks a free one",
    )
    p.add_argument(
        "--host-key",
        metavar="FILE",
        type=Path,
        help="the server's ed25519 key, generated there on first use (default: "
        "$XDG_STATE_HOME/monotui/ssh_host_ed25519_key)",
    )
    p.add_argument(
        "--max-sessions",
        metavar="N",
        type=_count,
        default=DEFAULT_MAX_SESSIONS,
        help=f"sessions at once in total (default: {DEFAULT_MAX_SESSIONS})",
    )
    p.add_argument(
        "--max-per-client",
        metavar="N",
        type=_count,
        default=DEFAULT_MAX_PER_CLIENT,
        help=f"sessions at once from one client address (default: {DEFAULT_MAX_PER_CLIENT})",
    )
    p.add_argument(
        "--session-minutes",
        metavar="M",
        type=_minutes,
        default=DEFAULT_SESSION_MINUTES,
        help=f"a session ends after M minutes (default: {DEFAULT_SESSION_MINUTES:g})",
    )
    return p


def listen_address(text: str) -> tuple[str, int]:
    """[HOST:]PORT, [V6]:PORT or PORT as (host, port)."""
    host, port_text = "127.0.0.1", text
    if text.startswith("["):
        inside, bracket, rest = text[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise argparse.ArgumentTypeError(f"'{text}' is not [IPv6]:PORT")
        host, port_text = inside, rest[1:]
    elif ":" in text:
        host, _, port_text = text.rpartition(":")
    if not port_text.isascii() or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise argparse.ArgumentTypeError(f"'{text}': the port must be a number within 0..65535")
    return host or "127.0.0.1", int(port_text)


def _count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f"must be a whole number within 1..1000, got '{text}'")
    return int(text)


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of minutes") from None
    if not 0 < value <= 24 * 60:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 1440, got '{text}'")
    return value


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; 0 then, else the error's exit code with one line on stderr."""
    try:
        import asyncio  # here: `monotui status` and the rest never start an event loop

        return asyncio.run(_serve(args))
    except MonotuiError as exc:
        print(f"monotui: {exc}", file=sys.stderr)
        return exc.exit_code


async def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from monotui.serve import hostkey
    from monotui.serve.policy import DemoHost, HostSettings
    from monotui.serve.ssh_server import listen, stop_all

    host_name, port = args.ssh
    key_path = args.host_key or hostkey.default_path()
    key, created = hostkey.load_or_create(key_path)
    settings = HostSettings(
        max_sessions=args.max_sessions,
        max_per_client=args.max_per_client,
        session_s=args.session_minutes * 60,
    )
    host = DemoHost(settings, out=sys.stdout)
    try:
        acceptor = await listen(host_name, port, key, host)
    except OSError as exc:
        raise _listen_error(host_name, port, exc) from None
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    where = f"[{host_name}]" if ":" in host_name else host_name
    host.log(
        f"monotui serve-demo: listening on {where}:{host.port}, host key "
        f"{hostkey.fingerprint(key)} ({'new' if created else 'kept'}: {key_path}); "
        f"at most {settings.max_sessions} sessions, {settings.max_per_client} per client, "
        f"{args.session_minutes:g} min each; try: ssh -t -p {host.port} {where}"
    )
    await stopped.wait()
    acceptor.close()
    await stop_all(host)
    host.log("monotui serve-demo: stopped")
    return 0


def _listen_error(host_name: str, port: int, exc: OSError) -> MonotuiError:
    where = f"{host_name}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return BackendUnavailableError(
            f"cannot listen on {where}: the port is in use; choose another with --ssh HOST:PORT"
        )
    if exc.errno == errno.EACCES:
        return PermissionDeniedError(
            f"cannot listen on {where}: permission denied (ports below 1024 need privileges); "
            "choose a port above 1024"
        )
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return ConfigError(
            f"cannot listen on {where}: not an address of this machine; "
            "use --ssh 127.0.0.1:PORT, or 0.0.0.0:PORT for every interface"
        )
    return BackendUnavailableError(f"cannot listen on {where}: {exc.strerror or exc}")
