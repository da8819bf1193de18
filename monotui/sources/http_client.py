"""A bounded HTTP client for every HTTP source: one deadline for the whole request, a size cap.

httpx's timeouts are per operation: a server that sends one byte every half second never trips
a 2 s read timeout and holds a request for minutes. Here every request has an absolute deadline
(`timeout_s` after it starts) that bounds each socket operation (DNS, connect, TLS, every send
and every read, headers included: see `http_deadline`), so no phase, not even a blocked read,
outlives it. The body is streamed and refused as soon as it passes `max_bytes` (a 60 MB error
page costs at most `max_bytes` of memory, an endless one too); an announced Content-Length over
the cap is refused before a byte of it is read; a compressed body is inflated within the cap.

Every failure is a typed one-line error: BackendUnavailableError (exit 5) for timeouts and
unreachable servers, SourceError (exit 5) for answers we cannot use, ConfigError (exit 2) for a
URL or header that cannot work (no scheme, ftp://, https to a plain-http server, CR/LF in a
header). Messages name the server by its URL with credentials redacted, and outside text passes
through `outside_text.literal`. No retries, no redirects followed, no proxy from the environment.
"""

from __future__ import annotations

import base64
import json as jsonlib
import math
import ssl
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpcore
import httpx

from monotui.config_checks import http_url
from monotui.errors import ConfigError, MonotuiError, SourceError
from monotui.outside_text import literal, redact, redact_url, redact_urls_in
from monotui.sources import http_errors
from monotui.sources.http_deadline import DeadlineBackend, DeadlineTransport
from monotui.sources.http_errors import size_text
from monotui.sources.http_response import BoundedResponse

MAX_TIMEOUT_S = 3600.0
Params = Mapping[str, str] | Sequence[tuple[str, str]]
# Header names whose values are credentials: redacted from every message.
_SECRET_HEADER_WORDS = ("authorization", "cookie", "token", "key", "secret", "auth", "password")
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


class BoundedClient:
    """HTTP to one server (`base_url`), every request within `timeout_s` and `max_bytes`.

    `name` says what the server is in messages ("Prometheus", "OFREP"); `headers` go with every
    request; `verify_tls` is True (the system's CAs), False, or an `ssl.SSLContext` that carries
    its own CA and client certificate (a Kubernetes API server's, for its service proxy); `secrets`
    are redacted from messages besides the URL's password and credential
    headers. Thread-safe: one client may serve several threads at once. `close()` when done.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float,
        max_bytes: int,
        headers: Mapping[str, str] | None = None,
        verify_tls: bool | ssl.SSLContext = True,
        name: str = "the server",
        secrets: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.base_url = _checked_url(base_url, name)
        self.source = f"{name} at {literal(redact_url(self.base_url), max_len=200)}"
        self.timeout_s = _checked_timeout(timeout_s, name)
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ConfigError(f"{name}: max_bytes must be a positive whole number of bytes")
        self.max_bytes = max_bytes
        fixed = _checked_headers(headers or {}, name)
        self._secrets = _secrets_of(self.base_url, fixed, secrets)
        self._backend = DeadlineBackend()
        ssl_context = _ssl_context(self.base_url, verify_tls, self.source)
        self._client = httpx.Client(
            base_url=self.base_url,
            # Identity: we cap what we hold, and an inflating body is one more thing to bound.
            headers={"Accept-Encoding": "identity", **fixed},
            transport=DeadlineTransport(ssl_context, self._backend),
            trust_env=False,
            follow_redirects=False,
            timeout=self.timeout_s,
        )

    def get(
        self, path: str, params: Params | None = None, *, headers: Mapping[str, str] | None = None
    ) -> BoundedResponse:
        """GET `path` (relative to the base URL) with query `params`."""
        return self.request("GET", path, params=params, headers=headers)

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        data: bytes | str | Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> BoundedResponse:
        """POST `json` (encoded as JSON) or `data` (bytes, text, or a form as a mapping)."""
        return self.request("POST", path, json=json, data=data, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        data: bytes | str | Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> BoundedResponse:
        """One request within the deadline and the size cap; any status comes back as a response
        (`raise_for_status()` turns an error status into a typed error)."""
        if "://" in path or path.startswith("//"):
            raise ValueError("path must be relative to the base URL")  # never another host
        extra = _checked_headers(headers or {}, self.name)
        # A per-request credential (a token read fresh for each poll) is as secret as a fixed one.
        secrets = self._secrets + tuple(_header_secrets(extra))
        content, content_type = _body(json, data)
        if content_type:
            extra.setdefault("Content-Type", content_type)
        deadline = time.monotonic() + self.timeout_s
        progress = http_errors.Progress()
        try:
            with self._backend.deadline(deadline):
                request = self._client.build_request(
                    method, path, params=_query(params), content=content, headers=extra
                )
                response = self._client.send(request, stream=True)
                try:
                    progress.answered = True
                    body = self._read(response, deadline, progress)
                finally:
                    response.close()
        except MonotuiError:
            raise
        except (httpcore.TimeoutException, httpx.TimeoutException) as exc:
            late = http_errors.timeout(self.source, self.timeout_s, progress, exc)
            raise _tidy(late, secrets) from None
        except (httpcore.NetworkError, httpx.TransportError, httpcore.ProtocolError) as exc:
            scheme = httpx.URL(self.base_url).scheme
            error = http_errors.classify(exc, self.source, scheme, progress)
            raise _tidy(error, secrets) from None
        except (httpx.InvalidURL, UnicodeEncodeError) as exc:
            raise ConfigError(f"{self.source}: cannot build the request ({literal(exc)})") from None
        answer = BoundedResponse(
            status=response.status_code,
            headers=response.headers,
            body=body,
            source=self.source,
            secrets=secrets,
        )
        if time.monotonic() > deadline:  # the final check: every byte by the deadline
            raise _tidy(http_errors.timeout(self.source, self.timeout_s, progress), secrets)
        http_errors.refuse_tls_mismatch(answer, httpx.URL(self.base_url).scheme)
        return answer

    def close(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        self._client.close()

    def __enter__(self) -> BoundedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(
        self, response: httpx.Response, deadline: float, progress: http_errors.Progress
    ) -> bytes:
        announced = response.headers.get("Content-Length", "")
        if announced.isdigit() and int(announced) > self.max_bytes:
            raise self._too_big(f"announced {size_text(int(announced))}")
        inflate = _inflater(response.headers.get("Content-Encoding", ""), self.source)
        body = bytearray()
        for chunk in response.iter_raw():
            progress.received += len(chunk)
            if inflate is not None:
                chunk = inflate.decompress(chunk, self.max_bytes + 1 - len(body))
                if inflate.unconsumed_tail:
                    raise self._too_big("inflated")
            body += chunk
            if len(body) > self.max_bytes:
                raise self._too_big(None)
            if time.monotonic() > deadline:
                raise httpcore.ReadTimeout("the whole-request deadline passed")
        if inflate is not None:
            body += inflate.flush()
            if len(body) > self.max_bytes:
                raise self._too_big("inflated")
        return bytes(body)

    def _too_big(self, detail: str | None) -> SourceError:
        said = f" ({detail})" if detail else ""
        return SourceError(
            f"{self.source} sent an answer larger than {size_text(self.max_bytes)}{said}; "
            "nothing of it was used: check the url, or narrow what is asked"
        )


def _tidy(error: MonotuiError, secrets: tuple[str, ...]) -> MonotuiError:
    # One line, and no secret even if the server echoed one into an error text.
    error.args = (literal(redact(redact_urls_in(str(error)), secrets), max_len=600),)
    return error


def _ssl_context(base_url: str, verify_tls: bool | ssl.SSLContext, source: str) -> ssl.SSLContext:
    """The TLS settings of a client of `base_url`. A plain-HTTP one never makes a handshake (it
    follows no redirects): it does not read the CA bundle (some 30 ms at every start), and its
    context trusts no certificate at all, so that one could only fail, never go unverified."""
    if verify_tls is True and base_url.split("://", 1)[0].lower() == "http":
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, against no CA
    try:
        return httpx.create_ssl_context(verify=verify_tls)
    except OSError as exc:  # SSL_CERT_FILE pointing nowhere
        raise ConfigError(f"{source}: cannot load the CA certificates ({exc})") from None


def _checked_url(url: object, name: str) -> str:
    if not isinstance(url, str):
        raise ConfigError(f"{name} url must be text like http://host:9090")
    try:
        http_url(url, f"{name} url")  # the same rules, and words, as the config's check
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    try:
        httpx.URL(url)  # what the client itself will make of it
    except httpx.InvalidURL as exc:
        shown = literal(redact_url(url), max_len=200, spell_breaks=True)
        raise ConfigError(f"{name} url {shown} is not a valid URL ({literal(exc)})") from None
    return url


def _checked_timeout(timeout_s: object, name: str) -> float:
    if isinstance(timeout_s, int | float) and not isinstance(timeout_s, bool):
        seconds = float(timeout_s)
        if math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT_S:
            return seconds
    raise ConfigError(
        f"{name}: timeout_s must be a number of seconds above 0 and at most {MAX_TIMEOUT_S:g}"
    )


def _checked_headers(headers: Mapping[str, str], name: str) -> dict[str, str]:
    """The headers if every one can be sent as it is; the value is never echoed (a token)."""
    checked: dict[str, str] = {}
    for key, value in headers.items():
        if not isinstance(key, str) or not key or not set(key) <= _TOKEN_CHARS:
            raise ConfigError(
                f"{name}: header name {literal(key)!r} is not a valid HTTP header name"
            )
        if not isinstance(value, str):
            raise ConfigError(f"{name}: header {key} must be text")
        if any(ch in value for ch in "\r\n\0"):
            raise ConfigError(
                f"{name}: header {key} contains a line break or NUL, which would split the request"
            )
        if not value.isascii() or any(not ch.isprintable() and ch != "\t" for ch in value):
            raise ConfigError(f"{name}: header {key} may hold only printable ASCII")
        checked[key] = value
    return checked


def _secrets_of(url: str, headers: Mapping[str, str], extra: Iterable[str]) -> tuple[str, ...]:
    found = [s for s in extra if s]
    parsed = httpx.URL(url)
    # The password is the secret. A user name is one only when it stands alone (a token as the
    # user, https://TOKEN@host): a short name ("u", "prom") scrubbed from free text would mangle
    # every message ("Promethe***s"); the URL's own userinfo is redacted in `_tidy`.
    found += [parsed.password or parsed.username] if parsed.username or parsed.password else []
    if parsed.username or parsed.password:
        # httpx sends URL credentials as Basic auth: their base64 is as secret as they are.
        pair = f"{parsed.username}:{parsed.password}".encode()
        found.append(base64.b64encode(pair).decode())
    found += _header_secrets(headers)
    return tuple(dict.fromkeys(found))


def _header_secrets(headers: Mapping[str, str]) -> list[str]:
    found: list[str] = []
    for key, value in headers.items():
        if any(word in key.lower() for word in _SECRET_HEADER_WORDS):
            found.append(value)
            scheme, _, credential = value.partition(" ")
            if credential and scheme.isalpha():
                found.append(credential)  # "Bearer xyz": xyz alone is the secret too
    return found


def _query(params: Params | None) -> tuple[tuple[str, str], ...] | None:
    if params is None:
        return None
    return tuple(params.items()) if isinstance(params, Mapping) else tuple(params)


def _body(
    json: Any, data: bytes | str | Mapping[str, str] | None
) -> tuple[bytes | None, str | None]:
    if json is not None and data is not None:
        raise ValueError("give json or data, not both")
    if json is not None:
        return jsonlib.dumps(json, allow_nan=False).encode(), "application/json"
    if isinstance(data, Mapping):
        return str(httpx.QueryParams(dict(data))).encode(), "application/x-www-form-urlencoded"
    if isinstance(data, str):
        return data.encode(), None
    return data, None


def _inflater(encoding: str, source: str) -> Any:
    """A zlib decompressor for a gzip/deflate body, None for identity."""
    coding = encoding.strip().lower()
    if coding in ("", "identity"):
        return None
    if coding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # gzip or zlib header
    raise SourceError(f"{source} answered with content encoding {literal(coding)!r}, not asked for")


__all__ = ["BoundedClient", "BoundedResponse"]
