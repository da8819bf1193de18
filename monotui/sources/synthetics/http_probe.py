"""`kind = "http"`: a request monotui sends itself, once per track every `interval_s`, over the
bounded client (one deadline for the whole request, a size cap, no redirects, no proxy).

A track's request goes to its own URL (`urls`) or to `url` with `x-monotui-track: canary` (or
`baseline`), which the route monotui adds ahead of the weighted one sends to that version; the
canary+flag track adds the flag's headers and cookies. A probe fails on a status not expected, a
body without the substring, a JSONPath missing or not equal, a timeout, a refused connection, a
TLS error: each is the failure's reason. A secret header that cannot be read is an ERROR (not
the target's failure). Secret values are read fresh for each probe and never appear in a
reason, the curl line or a message.
"""

from __future__ import annotations

import json
import os
import shlex
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from monotui.daemon_pool import DaemonPool
from monotui.errors import ConfigError, MonotuiError
from monotui.outside_text import literal, redact
from monotui.sources.http_client import BoundedClient
from monotui.sources.http_response import BoundedResponse
from monotui.sources.synthetics.base import ProbeResult, TrackReading
from monotui.sources.synthetics.jsonpath import find, parse
from monotui.sources.synthetics.settings import TRACK_HEADER, HttpProbeSettings, header_value

LatencyOf = Callable[[str, float], float]
"""(track, measured ms) -> the ms shown; the demo's simulated network replaces the measurement."""
_CREDENTIAL_WORDS = ("authorization", "cookie", "token", "key", "secret", "auth", "password")


class SecretUnreadable(MonotuiError):
    """A secret header's file or variable cannot be read: the probe cannot run (ERROR)."""


class HttpProbe:
    """One `http` probe on its tracks. Thread-safe enough for one poll at a time."""

    kind = "http"

    def __init__(
        self,
        settings: HttpProbeSettings,
        *,
        interval_s: float,
        env: Mapping[str, str] | None = None,
        latency_ms: LatencyOf | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.tracks: tuple[str, ...] = tuple(settings.tracks)
        self.flag_key = settings.flag.key if settings.flag is not None else None
        self.interval_s = settings.interval_s or interval_s
        self._env = env
        self._latency = latency_ms
        self._json = parse(settings.expect_json) if settings.expect_json else None
        self._last: dict[str, float] = {}
        self._urls: dict[str, str] = {str(k): v for k, v in settings.urls.items()}
        self._clients: dict[str, BoundedClient] = {}
        self._lock = threading.Lock()
        self._pool: DaemonPool | None = None

    # --- the SyntheticSource protocol ----------------------------------------------------------

    def header_tracks(self) -> tuple[str, ...]:
        return tuple(t for t in self.tracks if self.settings.reached_by_header(t))

    def read(self, now: float, reachable: frozenset[str]) -> tuple[TrackReading, ...]:
        """Probe every track whose interval is over (at once, each within its timeout)."""
        due = [
            t
            for t in self.tracks
            if self._reachable(t, reachable)
            and (t not in self._last or now - self._last[t] >= 0.99 * self.interval_s)
        ]
        if not due:
            return ()
        for track in due:
            self._last[track] = now
        if self._pool is None:
            self._pool = DaemonPool(len(self.tracks), thread_name_prefix=f"probe {self.name}")
        futures = [(t, self._pool.submit(self.probe, t, now)) for t in due]
        return tuple(future.result() for _, future in futures)

    def curl(self, track: str) -> str | None:
        """The request of `track` as a curl command line; secrets as $(cat FILE) or $NAME."""
        s = self.settings
        words = ["curl", "-sS", "--max-time", f"{s.timeout_s:g}"]
        if not s.verify_tls:
            words.append("-k")
        words += ["--head"] if s.method == "HEAD" else ["-X", s.method] if s.method != "GET" else []
        line = " ".join(words)
        for key, value in self._plain_headers(track).items():
            shown = "***" if _credential(key) and key not in self._flag_headers(track) else value
            line += f" -H {shlex.quote(f'{key}: {shown}')}"
        for key, ref in s.secret_headers.items():
            kind, _, where = ref.partition(":")
            source = f"$(cat {shlex.quote(where)})" if kind == "file" else f"${{{where}}}"
            line += f' -H "{_dq(key)}: {source}"'
        if s.body is not None:
            line += f" --data-raw {shlex.quote(s.body)}"
        return f"{line} {shlex.quote(self._url(track))}"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    # --- one probe -----------------------------------------------------------------------------

    def probe(self, track: str, now: float) -> TrackReading:
        """Send the request of `track` once and judge the answer."""
        s = self.settings
        try:
            secrets = self._secret_values()
        except SecretUnreadable as exc:
            return TrackReading(track, error=str(exc))
        url = httpx.URL(self._url(track))
        base = f"{url.scheme}://{url.netloc.decode('ascii')}"
        headers = {**self._plain_headers(track), **secrets}
        hidden = tuple(secrets.values())
        try:
            client = self._client(base)
        except ConfigError as exc:
            return TrackReading(track, error=redact(str(exc), hidden))
        started = time.monotonic()
        try:
            answer = client.request(
                s.method,
                url.raw_path.decode("ascii") or "/",
                data=s.body.encode() if s.body is not None else None,
                headers=headers,
            )
        except MonotuiError as exc:
            reason = _failure(exc, s.timeout_s)
            if reason is None:  # not the target's doing: a header that cannot be sent
                return TrackReading(track, error=literal(redact(str(exc), hidden), max_len=200))
            return self._result(track, now, started, reason, hidden)
        return self._result(track, now, started, self._check(answer), hidden)

    def _result(
        self, track: str, now: float, started: float, reason: str, hidden: tuple[str, ...]
    ) -> TrackReading:
        measured = 1000.0 * (time.monotonic() - started)
        latency = self._latency(track, measured) if self._latency else measured
        reason = literal(redact(reason, hidden), max_len=160)
        result = ProbeResult(not reason, reason, latency, now)
        return TrackReading(track, int(not reason), int(bool(reason)), result)

    def _check(self, answer: BoundedResponse) -> str:
        """ "" when the answer passes, else why not."""
        s = self.settings
        if answer.status not in s.expect_status:
            want = ", ".join(map(str, s.expect_status))
            return f"status {answer.status} (expected {want})"
        if s.expect_body is not None and s.expect_body not in answer.text:
            return f"body: no {s.expect_body!r} in {len(answer.body)} bytes"
        if self._json is not None:
            try:
                document = answer.json(on_duplicate="last")
            except MonotuiError:
                return "body: not JSON"
            found, value = find(document, self._json)
            if not found:
                return f"body: no {s.expect_json}"
            if "expect_json_equals" in s.model_fields_set and value != s.expect_json_equals:
                got = json.dumps(value)[:40]
                return (
                    f"body: {s.expect_json} is {got}, expected {json.dumps(s.expect_json_equals)}"
                )
        return ""

    # --- requests ------------------------------------------------------------------------------

    def _reachable(self, track: str, reachable: frozenset[str]) -> bool:
        if not self.settings.reached_by_header(track):
            return True
        return header_value(track) in reachable

    def _url(self, track: str) -> str:
        return self._urls.get(track, self.settings.url)

    def _flag_headers(self, track: str) -> dict[str, str]:
        flag = self.settings.flag
        if track != "canary+flag" or flag is None:
            return {}
        headers = dict(flag.headers)
        if flag.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in flag.cookies.items())
        return headers

    def _plain_headers(self, track: str) -> dict[str, str]:
        headers = dict(self.settings.headers)
        if self.settings.reached_by_header(track):
            headers[TRACK_HEADER] = header_value(track)
        return {**headers, **self._flag_headers(track)}

    def _secret_values(self) -> dict[str, str]:
        env = os.environ if self._env is None else self._env
        values = {}
        for key, ref in self.settings.secret_headers.items():
            kind, _, where = ref.partition(":")
            if kind == "env":
                value = env.get(where)
                if value is None:
                    raise SecretUnreadable(f"secret header {key}: ${where} is not set")
            else:
                try:
                    value = Path(where).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise SecretUnreadable(
                        f"secret header {key}: cannot read {literal(where)} ({exc.strerror})"
                    ) from None
            values[key] = value
        return values

    def _client(self, base: str) -> BoundedClient:
        with self._lock:
            client = self._clients.get(base)
            if client is None:
                s = self.settings
                client = BoundedClient(
                    base,
                    timeout_s=s.timeout_s,
                    max_bytes=s.max_bytes,
                    verify_tls=s.verify_tls,
                    name=f"probe {s.name}",
                )
                self._clients[base] = client
            return client


def _credential(key: str) -> bool:
    return any(word in key.lower() for word in _CREDENTIAL_WORDS)


def _dq(text: str) -> str:
    """Text safe inside a shell double-quoted string."""
    return "".join("\\" + ch if ch in '"\\$`' else ch for ch in text)


def _failure(exc: MonotuiError, timeout_s: float) -> str | None:
    """The target's failure in a few words, or None when the request could not be made."""
    text = str(exc)
    if "(the whole request)" in text:
        return f"timeout after {timeout_s:g} s"
    if "connection refused" in text:
        return "connection refused"
    if "not trusted" in text:
        why = text.split("not trusted (", 1)[-1].split(")", 1)[0]
        return f"TLS: certificate not trusted ({why})"
    if "TLS handshake failed" in text:
        why = text.split("failed (", 1)[-1].split(")", 1)[0]
        return f"TLS: handshake failed ({why})"
    if "does not speak TLS" in text:
        return "TLS: the server does not speak TLS (use http://)"
    if "speaks TLS" in text:
        return "TLS: the server speaks TLS (use https://)"
    if "does not resolve" in text:
        return "DNS: the host name does not resolve"
    if "larger than" in text:
        return "body larger than max_bytes"
    if isinstance(exc, ConfigError):
        return None
    return text.split(": ", 1)[-1][:120]
