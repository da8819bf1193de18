"""The Prometheus HTTP API, as monotui uses it: instant and range queries and the build info, over
the bounded client (one deadline per request, a size cap, redacted URLs). Every failure is one
typed line with the server's own words; an answer that is not the API's JSON says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monotui.config import PrometheusConfig
from monotui.errors import BackendUnavailableError, ConfigError, MonotuiError, SourceError
from monotui.outside_text import literal, redact, redact_urls_in
from monotui.sources.http_client import BoundedClient
from monotui.sources.http_response import BoundedResponse

if TYPE_CHECKING:
    from monotui.sources.prometheus_proxy import PrometheusConnection

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
"""The largest answer read (a 60 MB error page costs no more than this)."""
RESULT_TYPES = frozenset({"vector", "matrix", "scalar", "string"})
"""The result types of the Prometheus query API."""
POST_FROM_CHARS = 2000
"""A longer query (a fleet's batched one) is POSTed as a form: a URL that long may be refused
by a proxy on the way."""
_OVERLOADED = frozenset({"timeout", "canceled", "unavailable", "internal"})
"""Prometheus' errorTypes of a query it failed to run (HTTP 503 or 500), not one it refused."""


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a query's answer: its labels and its points [(time, value or None)];
    NaN and ±Inf are None (no data is not a number to use)."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float | None], ...]


class PrometheusApi:
    """One Prometheus server. Thread-safe; `close()` when done."""

    def __init__(
        self, prom: PrometheusConfig, connection: PrometheusConnection | None = None
    ) -> None:
        """`connection`: reach Prometheus through the Kubernetes API server's service proxy (its
        URL, TLS context and credentials, read fresh per request) instead of `prom.url`."""
        self.prom = prom
        self.connection = connection
        if connection is not None:
            self._client = connection.client(timeout_s=prom.timeout_s, max_bytes=DEFAULT_MAX_BYTES)
        else:
            self._client = BoundedClient(
                prom.url,
                timeout_s=prom.timeout_s,
                max_bytes=DEFAULT_MAX_BYTES,
                headers=prom.headers,
                verify_tls=prom.verify_tls,
                name="Prometheus",
                secrets=tuple(prom.headers.values()),
            )
        self.source = self._client.source
        """"Prometheus at <url>", credentials redacted: how messages name the server."""

    def close(self) -> None:
        self._client.close()

    def instant(self, query: str, at: float, what: str) -> list[Series]:
        """The vector `query` evaluates to at time `at` (`what` names it in messages)."""
        data = self._get("/api/v1/query", {"query": query, "time": f"{at:.3f}"}, what)
        return self._result(data, what, matrix=False)

    def range(self, query: str, start: float, end: float, step_s: float, what: str) -> list[Series]:
        """The matrix of `query` from `start` to `end` every `step_s` seconds."""
        params = {
            "query": query,
            "start": f"{start:.3f}",
            "end": f"{end:.3f}",
            "step": f"{step_s:.3f}",
        }
        return self._result(self._get("/api/v1/query_range", params, what), what, matrix=True)

    def build_version(self) -> str:
        """The server's version as it says it (outside text, made literal), for check-config."""
        data = self._get("/api/v1/status/buildinfo", {}, "the build info request")
        version = data.get("version") if isinstance(data, dict) else None
        return literal(version, max_len=40) if isinstance(version, str) else "unknown"

    # --- internals -----------------------------------------------------------------------------

    def _get(self, path: str, params: Mapping[str, str], what: str) -> Any:
        try:
            if sum(len(v) for v in params.values()) > POST_FROM_CHARS:
                answer = self._client.post(path, data=dict(params), headers=self._token())
            else:
                answer = self._client.get(path, params, headers=self._token())
        except (BackendUnavailableError, SourceError) as exc:
            # Which query did not get through: the on-call engineer's first question.
            exc.args = (f"{exc} (sending {what})",)
            raise
        body = _decoded(answer)
        if isinstance(body, dict) and body.get("status") == "error":
            # A proxy in front may echo the token it refused: its words are redacted like any.
            kind = _told(body.get("errorType", "error"), answer.secrets, 40)
            said = _told(body.get("error"), answer.secrets, 300)
            if answer.status >= 500 or kind in _OVERLOADED:
                # A query that timed out or a server shutting down did not refuse the query: it
                # failed to answer it (the next poll may get through).
                raise BackendUnavailableError(
                    f"{self.source} could not answer {what} (HTTP {answer.status}, {kind}: {said})"
                )
            raise SourceError(f"{self.source} rejected {what}: {kind}: {said}")
        if answer.status == 404 and self.connection is None:  # the proxy's 404 says its own
            # A Prometheus with --web.route-prefix (behind a path-routing ingress) serves its
            # API under that path only: a url without it finds nothing there.
            raise SourceError(
                f"{self.source} has no {path} (HTTP 404, sending {what}): set [prometheus] url "
                "to the API's base, with the server's route prefix if it has one "
                "(http://host:9090/prometheus)"
            )
        answer.raise_for_status()
        if not isinstance(body, dict) or body.get("status") != "success" or "data" not in body:
            shown = answer.summary(80)
            raise SourceError(
                f"{self.source} answered {what} with something that is not the Prometheus API's "
                f"JSON ({shown!r}); is [prometheus] url a Prometheus API?"
            )
        return body["data"]

    def _token(self) -> dict[str, str]:
        """The bearer token, read fresh for every request (it may rotate)."""
        if self.connection is not None:
            return self.connection.request_headers()
        path: Path | None = self.prom.bearer_token_file
        if path is None:
            return {}
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"[prometheus] bearer_token_file {path}: cannot read it ({exc.strerror})"
            ) from None
        return {"Authorization": f"Bearer {token}"}

    def _result(self, data: Any, what: str, *, matrix: bool) -> list[Series]:
        kind = "matrix" if matrix else "vector"
        got = data.get("resultType") if isinstance(data, dict) else None
        if got in RESULT_TYPES and got != kind:
            # The API answered; the query is what gives another type (an override's scalar()).
            raise SourceError(
                f"{self.source} answered {what} with a {got}, not a {kind} of one series per "
                "version: check the query (an override must give an instant vector, grouped by "
                "$version_label)"
            )
        if got != kind:
            raise self._garbage(what, f"a result that is not a {kind}")
        result = data.get("result")
        if not isinstance(result, list):
            raise self._garbage(what, "a result that is not a list")
        out = []
        for series in result:
            labels = series.get("metric") if isinstance(series, dict) else None
            if not isinstance(labels, dict):
                raise self._garbage(what, "a series without labels")
            raw = series.get("values") if matrix else [series.get("value")]
            if not isinstance(raw, list):
                raise self._garbage(what, "a series without values")
            points = tuple(self._point(p, what) for p in raw)
            # JSON keys are strings; a fleet's answer has thousands of label sets to copy
            # only when a value is not one.
            if not all(type(v) is str for v in labels.values()):
                labels = {str(k): str(v) for k, v in labels.items()}
            out.append(Series(labels, points))
        return out

    def _point(self, point: Any, what: str) -> tuple[float, float | None]:
        if not (isinstance(point, list) and len(point) == 2):
            raise self._garbage(what, "a sample without [time, value]")
        try:
            stamp, number = float(point[0]), float(point[1])
        except (TypeError, ValueError):
            raise SourceError(
                f"{self.source} answered {what} with a sample that is not a number: "
                f"{literal(point, max_len=80)}"
            ) from None
        return stamp, number if math.isfinite(number) else None

    def _garbage(self, what: str, detail: str) -> SourceError:
        return SourceError(
            f"{self.source} answered {what} with {detail}; is [prometheus] url a Prometheus API?"
        )


def _told(value: object, secrets: tuple[str, ...], max_len: int) -> str:
    """A server's own words for a message: secrets and URL credentials redacted, then literal
    (redacted before it is cut short, so no part of a secret is left)."""
    text = value if isinstance(value, str) else str(value)
    return literal(redact(redact_urls_in(text), secrets), max_len=max_len)


def _decoded(answer: BoundedResponse) -> Any:
    try:
        return answer.json(on_duplicate="last")
    except MonotuiError:
        return None
