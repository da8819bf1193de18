"""One Prometheus server as every rollout of a session reads it: one HTTP client, at most
`[prometheus] max_concurrent_queries` queries in flight whatever the number of rollouts (threads
and connections do not grow with the fleet), the query batcher, and what was sent (counted, for
the benchmarks and `check-config`).

Built once per Prometheus by the registry's BuildContext; a PrometheusMetrics built on its own
(tests, the lab) makes a private one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import wait
from typing import TYPE_CHECKING

from monotui.config import PrometheusConfig
from monotui.daemon_pool import DaemonPool
from monotui.errors import MonotuiError
from monotui.sources.prometheus_api import PrometheusApi, Series
from monotui.sources.promql_batch import RECORDED

if TYPE_CHECKING:
    from monotui.sources.prometheus_proxy import PrometheusConnection

log = logging.getLogger(__name__)

Ask = Callable[[str, str], list[Series]]
"""(query, what it is called in messages) -> its answer."""


class SharedPrometheus:
    """One Prometheus server, shared. Thread-safe; `close()` once, at the end."""

    def __init__(
        self, prom: PrometheusConfig, connection: PrometheusConnection | None = None
    ) -> None:
        """`connection`: through the Kubernetes API server's service proxy, not `prom.url`."""
        from monotui.sources.prometheus_batch import QueryBatcher

        self.prom = prom
        self.api = PrometheusApi(prom, connection)
        self.source = self.api.source
        self.max_concurrent = prom.max_concurrent_queries
        self._pool: DaemonPool | None = None
        self._lock = threading.Lock()
        # Every query takes a slot, from the pool or from a caller's thread: never more at once.
        self._slots = threading.BoundedSemaphore(self.max_concurrent)
        self._sent = 0
        self._recording: bool | None = None if prom.recording_rules else False
        self._answered_at: float | None = None  # the evaluation time of the newest answer
        self.batcher = QueryBatcher(self, min_span_s=2 * prom.scrape_interval_s)

    # --- sending -------------------------------------------------------------------------------

    def instant(self, query: str, at: float, what: str) -> list[Series]:
        """One instant query, waiting for a free slot (counted)."""
        with self._slots:
            self._count()
            answer = self.api.instant(query, at, what)
        self._answered(at)
        return answer

    def range(self, query: str, start: float, end: float, step_s: float, what: str) -> list[Series]:
        """One range query, waiting for a free slot (counted)."""
        with self._slots:
            self._count()
            answer = self.api.range(query, start, end, step_s, what)
        self._answered(end)
        return answer

    def alive(self, at: float, within_s: float) -> None:
        """Prove the server answers at `at`: free when a query of any rollout evaluated in the
        last `within_s` seconds before it was answered, else one trivial query; raises that
        query's error when the server does not answer."""
        with self._lock:
            last = self._answered_at
        if last is not None and 0.0 <= at - last < within_s:
            return
        self.instant("vector(1)", at, "the liveness query")

    def all(self, ask: Ask, queries: Mapping[str, str]) -> dict[str, list[Series]]:
        """Every query at once on the shared pool (at most `max_concurrent` in flight): a poll
        costs one round trip, not three. Errors surface in the queries' order, so the same fault
        always reads the same way."""
        if not queries:
            return {}
        if len(queries) == 1:
            ((name, query),) = queries.items()
            return {name: ask(query, _what(name))}
        pool = self._executor()
        futures = {name: pool.submit(ask, query, _what(name)) for name, query in queries.items()}
        wait(futures.values())  # none left in flight behind a returned error
        return {name: future.result() for name, future in futures.items()}

    @property
    def sent(self) -> int:
        """Queries sent so far (the benchmarks' queries per poll)."""
        with self._lock:
            return self._sent

    # --- recording rules -------------------------------------------------------------------------

    def recording_rules(self, at: float) -> bool:
        """Whether to read the recording rules' series: on in the config and present in this
        Prometheus (checked once; a failed check is retried at the next poll)."""
        with self._lock:
            known = self._recording
        if known is not None:
            return known
        series = next(iter(RECORDED.values()))
        try:
            found = bool(self.instant(f"count({series})", at, "the recording rules check"))
        except MonotuiError as exc:
            log.info("recording rules check failed, reading the raw metrics: %s", exc)
            return False
        if not found:
            log.warning("[prometheus] recording_rules is on but %s has no series", series)
        with self._lock:
            self._recording = found
        return found

    def close(self) -> None:
        """Release the pool and the HTTP connections."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self.api.close()

    # --- internals -------------------------------------------------------------------------------

    def _executor(self) -> DaemonPool:
        # Daemon threads: a query stuck on a hanging Prometheus never holds the exit at `q`.
        with self._lock:
            if self._pool is None:
                self._pool = DaemonPool(self.max_concurrent, thread_name_prefix="prometheus")
            return self._pool

    def _answered(self, at: float) -> None:
        with self._lock:
            if self._answered_at is None or at > self._answered_at:
                self._answered_at = at

    def _count(self) -> None:
        with self._lock:
            self._sent += 1


def _what(name: str) -> str:
    return f"the {name.split(':')[0]} query"
