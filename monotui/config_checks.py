"""Checks of configuration values that several sections share: HTTP(S) URLs, HTTP headers, and
the ranges of times (documented in the README's "Ranges" table).

A value that cannot work is a config error at load time (exit 2) with a sentence that says what
to write instead, never a surprise at the first poll. Pure standard library: the config stays
cheap to import.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from monotui.outside_text import literal, redact_url

MAX_TIMEOUT_S = 300.0
"""A request that may take longer than 5 minutes is a hang, not a timeout."""
MAX_INTERVAL_S = 3600.0
"""Polls at least once an hour: a rollout watched less often is not watched."""
MAX_HOLD_S = 7 * 86400.0
"""A step held for more than a week is a stuck rollout."""
MAX_HISTORY_S = 31 * 86400.0
"""Charts start at most a month back (one range query at start)."""
MAX_WINDOW_S = 86400.0
"""A rate window of more than a day hides every regression."""

_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def http_url(value: str, what: str = "url") -> str:
    """`value` if it is an http:// or https:// URL with a host; ValueError saying what to fix.

    The URL is shown with its credentials redacted: a password in it must not reach an error.
    """
    shown = literal(redact_url(value), max_len=200, spell_breaks=True)
    if not value:
        raise ValueError(f"{what} is empty: set it to http://host:port or https://host:port")
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError(f"{what} {shown} contains a space or a control character")
    if "://" not in value:
        raise ValueError(f"{what} {shown} has no scheme: add http:// or https://")
    scheme = value.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise ValueError(
            f"{what} {shown}: {literal(scheme, max_len=20)}:// is not supported: "
            "use http:// or https://"
        )
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValueError(f"{what} {shown} is not a valid URL (check the host and port)") from None
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        text = parts.netloc.rpartition(":")[2]
        if text.isdigit():
            raise ValueError(f"{what} {shown} has port {text}: ports run from 1 to 65535") from None
        raise ValueError(
            f"{what} {shown} has port {literal(text, max_len=20)}: a port is a number "
            "from 1 to 65535"
        ) from None
    if not parts.hostname:
        raise ValueError(f"{what} {shown} has no host")
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{what} {shown} has port {port}: ports run from 1 to 65535")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError(f"{what} {shown} must not have a ?query or #fragment")
    return value


def http_headers(headers: Mapping[str, str], what: str = "headers") -> dict[str, str]:
    """`headers` if every one can be sent as it is; ValueError naming the header, never its value
    (it is usually a credential)."""
    for key, value in headers.items():
        if not key or not set(key) <= _TOKEN:
            raise ValueError(f"{what}: {literal(key, max_len=60)!r} is not a valid header name")
        if any(ch in value for ch in "\r\n\0"):
            raise ValueError(
                f"{what}: header {key} contains a line break or NUL, which would split the request"
            )
        if not value.isascii() or any(not ch.isprintable() and ch != "\t" for ch in value):
            raise ValueError(f"{what}: header {key} may hold only printable ASCII")
    return dict(headers)
