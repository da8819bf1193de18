"""What went wrong with an HTTP request, in one line a person can act on.

Transport failures (httpcore's exceptions, with the OS or TLS error underneath) become
BackendUnavailableError, SourceError or ConfigError with the usual words: "connection refused",
"does not speak TLS: use http://", "cut its answer short (12 KB received)", instead of
"[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)".
"""

from __future__ import annotations

import errno
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import httpcore

from monotui.errors import BackendUnavailableError, ConfigError, MonotuiError, SourceError
from monotui.outside_text import literal
from monotui.sources.http_deadline import ResolveError

if TYPE_CHECKING:
    from monotui.sources.http_response import BoundedResponse

_E = TypeVar("_E", bound=BaseException)
# OpenSSL's reasons when the other side answers a TLS hello with something that is not TLS.
_NOT_TLS = {
    "WRONG_VERSION_NUMBER",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
    "UNKNOWN_PROTOCOL",
}
_UNREACHABLE = {
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "the network is unreachable",
    errno.ECONNRESET: "the connection was reset",
    errno.ETIMEDOUT: "the connection timed out",
}


@dataclass(slots=True)
class Progress:
    """How far a request got, for the message when it fails."""

    answered: bool = False  # the status line and headers arrived
    received: int = 0  # body bytes received


def size_text(n: int) -> str:
    """A byte count for people: 16 MB, 512 KB, 10 bytes."""
    if n >= 1 << 20:
        return f"{n / (1 << 20):.3g} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.3g} KB"
    return f"{n} bytes"


def timeout(
    source: str, timeout_s: float, progress: Progress, exc: Exception | None = None
) -> BackendUnavailableError:
    """The deadline passed: say in which phase."""
    if isinstance(exc, httpcore.ConnectTimeout):
        what = "did not complete a connection"
    elif isinstance(exc, httpcore.PoolTimeout):
        what = "had no free connection (every one busy)"
    elif progress.answered:
        what = f"did not finish its answer ({size_text(progress.received)} received)"
    else:
        what = "did not answer"
    return BackendUnavailableError(
        f"{source} {what} within {timeout_s:g} s (the whole request): the server is slow or "
        "stuck, or far; raise timeout_s if it is only slow"
    )


def classify(exc: Exception, source: str, scheme: str, progress: Progress) -> MonotuiError:
    """A transport failure as a typed one-line error."""
    tls_hint = " (if it speaks TLS, use https://)" if scheme == "http" else ""
    tls = _first(exc, ssl.SSLError)
    if isinstance(tls, ssl.SSLCertVerificationError):
        why = literal(tls.verify_message or tls.reason or "verification failed", max_len=120)
        return BackendUnavailableError(
            f"{source}: its TLS certificate is not trusted ({why}): add its CA to SSL_CERT_FILE, "
            "or set verify_tls = false if you trust the network"
        )
    if tls is not None and (tls.reason or "") in _NOT_TLS:
        return ConfigError(f"{source} does not speak TLS: use http:// instead of https://")
    if tls is not None:
        why = literal(tls.reason or tls, max_len=120)
        return BackendUnavailableError(
            f"{source}: the TLS handshake failed ({why}): check the scheme and port of the url"
        )
    if isinstance(exc, ResolveError):
        return BackendUnavailableError(
            f"cannot reach {source}: its host name does not resolve "
            f"({literal(exc.reason, max_len=80)}); check the url"
        )
    if isinstance(exc, httpcore.ConnectError):
        return BackendUnavailableError(
            f"cannot reach {source}: {_reason(exc)}; check the url and that the server is up"
        )
    if isinstance(exc, httpcore.WriteError):
        return BackendUnavailableError(
            f"{source} dropped the connection while the request was sent ({_reason(exc)})"
        )
    if progress.answered and isinstance(exc, httpcore.RemoteProtocolError | httpcore.ReadError):
        return SourceError(
            f"{source} cut its answer short ({size_text(progress.received)} received): "
            "the server or a proxy broke off"
        )
    if isinstance(exc, httpcore.RemoteProtocolError):
        if "disconnected" in str(exc).lower():
            return BackendUnavailableError(
                f"{source} closed the connection without answering{tls_hint}"
            )
        return SourceError(
            f"{source} does not answer in HTTP ({literal(exc, max_len=120)}){tls_hint}"
        )
    if isinstance(exc, httpcore.ReadError):
        return BackendUnavailableError(
            f"{source} dropped the connection before answering ({_reason(exc)}){tls_hint}"
        )
    return BackendUnavailableError(
        f"{source} failed: {literal(exc, max_len=160) or type(exc).__name__}"
    )


def refuse_tls_mismatch(answer: BoundedResponse, scheme: str) -> None:
    """Go's TLS servers answer plain HTTP with a 400 that says so: make that the config error."""
    if (
        scheme == "http"
        and answer.status == 400
        and b"HTTP request to an HTTPS server" in answer.body[:512]
    ):
        raise ConfigError(f"{answer.source} speaks TLS: use https:// instead of http://")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _first(exc: BaseException, kind: type[_E]) -> _E | None:
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def _reason(exc: BaseException) -> str:
    """The OS's words for the innermost error: "connection refused", "no route to host"."""
    os_error = _first(exc, OSError)
    if isinstance(os_error, ConnectionRefusedError):
        return "connection refused"
    if os_error is not None and os_error.errno in _UNREACHABLE:
        return _UNREACHABLE[os_error.errno]
    if os_error is not None and os_error.strerror:
        return literal(os_error.strerror.lower(), max_len=120)
    return literal(exc, max_len=120) or type(exc).__name__
