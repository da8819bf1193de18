"""Error rate, p99 latency and request rate per version from Prometheus, via prometheus-api-client.

Blocking: the controller calls `fetch()` and `history()` from a worker thread. One query per metric
answers for both versions, so a poll costs three queries whatever the number of versions.
Every failure becomes a typed error whose message carries the server's own words; an empty answer
or NaN is None (NO DATA), never zero. prometheus-api-client (and requests) is imported on first use.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from pydantic import field_validator

from monotui.config import PrometheusConfig, RolloutConfig
from monotui.errors import (
    BackendUnavailableError,
    ConfigError,
    MonotuiError,
    SourceError,
    StaleDataError,
)
from monotui.kinds import MetricsSettings
from monotui.model import Pair, Sample
from monotui.sources.promql import (
    DEFAULT_TEMPLATES,
    METRICS,
    QueryContext,
    TemplateError,
    validate_template,
)

if TYPE_CHECKING:
    import requests

Clock = Callable[[], float]
MAX_MESSAGE = 300  # server text shown in a panel: enough to act on, never a page of HTML

_TITLES = {"error_rate": "error-rate", "latency": "latency", "request_rate": "request-rate"}


class PrometheusMetricsSettings(MetricsSettings):
    """`[rollouts.metrics] kind = "prometheus"`: which series tell baseline from canary; the
    defaults are Istio's standard metrics."""

    kind: Literal["prometheus"] = "prometheus"
    service: str = ""
    """destination_service_name; default: the rollout's name."""
    version_label: str = "destination_version"
    """The label that tells baseline from canary."""
    baseline: str = "v1"
    """The version label's value for the baseline."""
    canary: str = "v2"
    """The version label's value for the canary."""
    selector: str = ""
    """Extra label matchers for this rollout's traffic, e.g. 'reporter="destination"'."""
    error_rate_query: str | None = None
    """Override of the error-rate template, a fraction 0..1 per version. Placeholders such as
    $filter, $version_label, $window: see the README's Prometheus section."""
    latency_query: str | None = None
    """Override of the p99 latency template, in milliseconds."""
    request_rate_query: str | None = None
    """Override of the request-rate template (the observed split)."""

    @field_validator("version_label")
    @classmethod
    def _label(cls, value: str) -> str:
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", value):
            raise ValueError(
                f"'{value}' is not a Prometheus label name such as destination_version"
            )
        return value

    @field_validator("error_rate_query", "latency_query", "request_rate_query")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        # An override that cannot tell the versions apart or select this rollout is a config error
        # now, not a silent NO DATA later.
        if value is None:
            return None
        try:
            return validate_template(value)
        except TemplateError as exc:
            raise ValueError(str(exc)) from None


class PrometheusMetrics:
    """The metrics of one rollout, read from a Prometheus HTTP API.

    `clock`, when given, fixes the evaluation time of instant queries (and the end of history):
    tests use it on backfilled data. Without it Prometheus evaluates at its own "now".
    """

    name = "prometheus"

    def __init__(
        self, prom: PrometheusConfig, rollout: RolloutConfig, *, clock: Clock | None = None
    ) -> None:
        self.prom = prom
        self.rollout = rollout
        self.clock = clock
        m = PrometheusMetricsSettings.of(rollout.metrics, f"rollout {rollout.name} metrics")
        self.context = QueryContext(
            namespace=rollout.namespace,
            service=m.service or rollout.name,
            version_label=m.version_label,
            baseline=m.baseline,
            canary=m.canary,
            window=m.window,
            selector=m.selector,
        )
        overrides = {
            "error_rate": m.error_rate_query,
            "latency": m.latency_query,
            "request_rate": m.request_rate_query,
        }
        self.queries: dict[str, str] = {
            metric: self.context.render(overrides[metric] or DEFAULT_TEMPLATES[metric])
            for metric in METRICS
        }
        self.queries_per_poll = len(self.queries)
        self._client: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._last = threading.local()  # the last HTTP response of this thread, for error text

    # --- the MetricsSource protocol -------------------------------------------------------------

    def fetch(self) -> Sample:
        """The current values of both versions; None where Prometheus has no (finite) value."""
        at = self.clock() if self.clock is not None else None
        asked = at if at is not None else time.time()
        params = {"time": f"{at:.3f}"} if at is not None else None
        results = self._all(lambda query: partial(self._instant_query, query, params))
        values: dict[str, Pair] = {}
        oldest: float | None = None
        for metric, result in results.items():
            pair, stamp = self._instant(metric, result)
            values[metric] = pair
            if stamp is not None:
                oldest = stamp if oldest is None else min(oldest, stamp)
        # A proxy or a lagging remote store can answer with an old evaluation: older than two
        # intervals is STALE, with its age, not healthy.
        if oldest is not None and asked - oldest > 2 * self.rollout.interval_s:
            age = asked - oldest
            raise StaleDataError(
                f"Prometheus at {self.prom.url} answered with data {age:.0f}s old "
                f"(more than two {self.rollout.interval_s:g}s intervals)",
                age,
            )
        return Sample(
            t=asked,
            error_rate=values["error_rate"],
            latency_p99_ms=values["latency"],
            request_rate=values["request_rate"],
        )

    def history(self, span_s: float, points: int) -> tuple[Sample, ...]:
        """One range query per metric over the last `span_s` s, step span/points; gaps are None."""
        points = max(points, 2)
        end = round(self.clock() if self.clock is not None else time.time())
        step = max(span_s / points, 0.001)
        start = end - step * (points - 1)
        begin = datetime.fromtimestamp(start, UTC)
        finish = datetime.fromtimestamp(end, UTC)
        results = self._all(
            lambda query: partial(self._range_query, query, begin, finish, f"{step:.3f}")
        )
        by_metric = {metric: self._matrix(metric, result) for metric, result in results.items()}
        # The client rounds start/end to whole seconds: rebuild the grid Prometheus evaluated.
        first = round(start)
        grid = [first + k * step for k in range(points) if first + k * step <= end + 1e-6]
        samples = []
        for t in grid:
            key = round(t * 1000)
            pairs = {metric: Pair(*by_metric[metric].get(key, (None, None))) for metric in METRICS}
            samples.append(
                Sample(
                    t=t,
                    error_rate=pairs["error_rate"],
                    latency_p99_ms=pairs["latency"],
                    request_rate=pairs["request_rate"],
                )
            )
        return tuple(samples)

    def check(self) -> str:
        """One cheap query to prove Prometheus answers (for `monotui check-config`)."""
        info = self._call("build-info", self._build_info)
        version = info.get("version") if isinstance(info, dict) else None
        found = f"Prometheus {version}" if isinstance(version, str) else "Prometheus"
        return f"{found} answers at {self.prom.url}"

    def close(self) -> None:
        """Release the HTTP connection pool and the query threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def _all(self, request: Callable[[str], Callable[[], Any]]) -> dict[str, Any]:
        """Every metric's query at once: a poll costs one round trip, not three, on a far server.

        Errors surface in metric order, so the same fault always reads the same way.
        """
        if self._pool is None:
            self._pool = ThreadPoolExecutor(len(METRICS), thread_name_prefix="prometheus")
        futures = {
            metric: self._pool.submit(self._call, metric, request(query))
            for metric, query in self.queries.items()
        }
        wait(futures.values())  # no query outlives its poll, even when an earlier one failed
        return {metric: future.result() for metric, future in futures.items()}

    # --- parsing --------------------------------------------------------------------------------

    def _instant(self, metric: str, result: Any) -> tuple[Pair, float | None]:
        """A vector result -> (baseline, canary) and the oldest sample timestamp."""
        found: dict[str, float | None] = {}
        oldest: float | None = None
        for series in self._series(metric, result):
            value = series.get("value")
            if not (isinstance(value, list) and len(value) == 2):
                raise self._garbage(metric, "a vector sample without [time, value]")
            stamp, number = _number(metric, value)
            version = series["metric"].get(self.context.version_label)
            if version in (self.context.baseline, self.context.canary):
                found[version] = number
                oldest = stamp if oldest is None else min(oldest, stamp)
        return Pair(found.get(self.context.baseline), found.get(self.context.canary)), oldest

    def _matrix(self, metric: str, result: Any) -> dict[int, tuple[float | None, float | None]]:
        """A matrix result -> {time in ms: (baseline, canary)}."""
        base: dict[int, float | None] = {}
        can: dict[int, float | None] = {}
        for series in self._series(metric, result):
            values = series.get("values")
            if not isinstance(values, list):
                raise self._garbage(metric, "a range series without values")
            version = series["metric"].get(self.context.version_label)
            target = (
                base
                if version == self.context.baseline
                else can
                if version == self.context.canary
                else None
            )
            if target is None:
                continue
            for point in values:
                if not (isinstance(point, list) and len(point) == 2):
                    raise self._garbage(metric, "a range point without [time, value]")
                stamp, number = _number(metric, point)
                target[round(stamp * 1000)] = number
        return {k: (base.get(k), can.get(k)) for k in base.keys() | can.keys()}

    def _series(self, metric: str, result: Any) -> list[dict[str, Any]]:
        if not isinstance(result, list):
            raise self._garbage(metric, "a result that is not a list")
        for series in result:
            if not (isinstance(series, dict) and isinstance(series.get("metric"), dict)):
                raise self._garbage(metric, "a series without labels")
        return result

    def _garbage(self, metric: str, what: str) -> SourceError:
        return SourceError(
            f"Prometheus at {self.prom.url} answered the {_TITLES.get(metric, metric)} query "
            f"with {what}; is [prometheus] url a Prometheus API?"
        )

    # --- HTTP -----------------------------------------------------------------------------------

    def _instant_query(self, query: str, params: dict[str, str] | None = None) -> Any:
        return self._conn().custom_query(query, params)

    def _range_query(self, query: str, start: datetime, end: datetime, step: str) -> Any:
        return self._conn().custom_query_range(query, start, end, step)

    def _build_info(self) -> Any:
        from prometheus_api_client.exceptions import PrometheusApiClientException

        client = self._conn()
        response = client._session.get(
            f"{client.url}/api/v1/status/buildinfo",
            headers=client.headers,
            timeout=self.prom.timeout_s,
            verify=client._session.verify,
        )
        if response.status_code != 200:
            raise PrometheusApiClientException(f"HTTP {response.status_code}")
        return response.json()["data"]

    def _conn(self) -> Any:
        """The client, made on first use; headers are rebuilt per call (the token may rotate)."""
        if self._client is None:
            from prometheus_api_client import PrometheusConnect
            from urllib3.util.retry import Retry

            # No retries: the poll itself is the retry, and a retried 500 with backoff would hold a
            # poll for seconds past the timeout the user configured. total=0 turns a refused
            # connection into requests' ConnectionError; read=False a slow answer into ReadTimeout.
            self._client = PrometheusConnect(
                url=self.prom.url.rstrip("/"),
                disable_ssl=not self.prom.verify_tls,
                retry=Retry(total=0, read=False, redirect=0),
                timeout=self.prom.timeout_s,
            )
            self._client._session.hooks["response"].append(self._remember)
        self._client.headers = self._headers()
        return self._client

    def _remember(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        self._last.response = response

    def _headers(self) -> dict[str, str]:
        headers = dict(self.prom.headers)
        path = self.prom.bearer_token_file
        if path is not None:
            try:
                token = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"[prometheus] bearer_token_file {path}: cannot read it ({exc.strerror})"
                ) from None
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _call(self, metric: str, request: Callable[[], Any]) -> Any:
        """Run one client call; every failure becomes a typed error with the server's words."""
        import requests
        import urllib3
        from prometheus_api_client.exceptions import PrometheusApiClientException

        url, what = self.prom.url, f"the {_TITLES.get(metric, metric)} query"
        self._last.response = None
        try:
            return request()
        except requests.Timeout:
            raise BackendUnavailableError(
                f"Prometheus at {url} did not answer {what} within {self.prom.timeout_s:g}s "
                "(raise [prometheus] timeout_s or check the server's load)"
            ) from None
        except requests.exceptions.ChunkedEncodingError as exc:
            raise SourceError(
                f"Prometheus at {url} cut {what}'s answer short ({_clean(str(exc))})"
            ) from None
        except requests.ConnectionError as exc:
            raise BackendUnavailableError(
                f"cannot reach Prometheus at {url} ({_reason(exc)}); check [prometheus] url "
                "and that the server is up"
            ) from None
        except (PrometheusApiClientException, ValueError, KeyError, TypeError):
            # Non-200, or a 200 whose body is not the API's JSON (requests' JSONDecodeError is a
            # ValueError too): explain from the response itself.
            raise self._explain(what, getattr(self._last, "response", None)) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise BackendUnavailableError(
                f"Prometheus at {url} failed {what}: {_clean(str(exc))}"
            ) from None

    def _explain(self, what: str, response: requests.Response | None) -> MonotuiError:
        url = self.prom.url
        if response is None:
            return SourceError(f"Prometheus at {url} gave an unusable answer to {what}")
        body = _decode(response)
        if isinstance(body, dict) and body.get("status") == "error":
            kind = body.get("errorType", "error")
            return SourceError(
                f"Prometheus rejected {what}: {_clean(str(kind))}: {_clean(str(body.get('error')))}"
            )
        code = response.status_code
        if code != 200:
            text = _clean(response.text) or response.reason or ""
            cls = BackendUnavailableError if code >= 500 else SourceError
            hint = " (check the token and headers)" if code in (401, 403) else ""
            return cls(f"Prometheus at {url} answered {what} with HTTP {code}: {text}{hint}")
        if body is None:
            return SourceError(
                f"Prometheus at {url} answered {what} with a body that is not JSON "
                f"({_clean(response.text[:80])!r}...); is [prometheus] url a Prometheus API?"
            )
        return SourceError(
            f"Prometheus at {url} answered {what} with JSON that is not a query result; "
            "is [prometheus] url a Prometheus API?"
        )


def _number(metric: str, point: list[Any]) -> tuple[float, float | None]:
    """[time, "value"] -> (time, value or None for NaN/Inf: no data is not a number to draw)."""
    try:
        stamp, number = float(point[0]), float(point[1])
    except (TypeError, ValueError):
        raise SourceError(
            f"Prometheus answered the {_TITLES.get(metric, metric)} query with a sample that is "
            f"not a number: {_clean(str(point))}"
        ) from None
    return stamp, number if math.isfinite(number) else None


def _decode(response: requests.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def _reason(exc: Exception) -> str:
    """The innermost reason of a connection error ("Connection refused"), not urllib3's essay."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host"):
        if marker in text:
            return marker.lower()
    return _clean(text.rsplit(":", 1)[-1].strip(" )'\"")) or "connection failed"


def _clean(text: str) -> str:
    """Outside text, one line, printable, bounded: it is data, never a terminal instruction."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text.replace("\n", " "))
    flat = " ".join(flat.split())
    return flat if len(flat) <= MAX_MESSAGE else flat[: MAX_MESSAGE - 1] + "…"
