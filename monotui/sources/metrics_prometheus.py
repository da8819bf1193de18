"""A rollout's counts and metric values per version, from Prometheus.

Each poll reads the increase over its span (since the last counted poll: a failed poll costs
nothing, the next one covers it) of each version's requests and, per metric, of what the metric
counts (5xx; the duration histogram's buckets, giving the slow requests and the p99), one query
each whatever the number of versions: two or three queries a poll. A metric whose query is a
rate override (`error_rate_query`, `latency_query`) is read as a value over `window`, not as a
count (its judge is the Mann-Whitney test). Every failure is a typed error with the server's own
words; a version without series, NaN or +Inf is None (NO DATA), never zero; a negative count is
a broken query, not data.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from monotui.config import PrometheusConfig, RolloutConfig
from monotui.errors import ConfigError, StaleDataError
from monotui.metrics import Metric, metrics_for, slow_threshold
from monotui.model import Sample
from monotui.sources.base import NothingNewYet
from monotui.sources.prometheus_api import Series
from monotui.sources.prometheus_batch import Group, batchable
from monotui.sources.prometheus_proxy import PrometheusConnection
from monotui.sources.prometheus_scrape import scrape_advice
from monotui.sources.prometheus_settings import (
    PrometheusMetricsSettings as PrometheusMetricsSettings,
)
from monotui.sources.prometheus_shared import SharedPrometheus
from monotui.sources.prometheus_tally import Grid, Read, Tally, grid, le_of, ordered, samples
from monotui.sources.promql import (
    COUNT_TEMPLATES,
    SELF_SELECTING_LABELS,
    QueryContext,
    interval_text,
)
from monotui.sources.promql_batch import Member
from monotui.timespec import duration_s

Clock = Callable[[], float]

HISTORY_TTL_S = 600.0
"""How long a fleet's batched history serves its members' starts: judging hundreds of histories
takes a while, and a start that came later than this would fetch the whole fleet's history again
(a member that takes it late counts the time since in its first poll)."""

MAX_SPAN_S = 3600.0
"""The longest span one poll counts: after a longer outage the poll counts the last hour (the
rest is a gap in the charts), never one enormous increase that would swamp the judge's evidence
and hide when it happened."""


class PrometheusMetrics:
    """The counts and values of one rollout, read from a Prometheus HTTP API.

    `clock` gives the evaluation time of every query (tests fix it on backfilled history); by
    default the wall clock, sent explicitly, so consecutive polls tile time exactly.

    `shared`: the session's Prometheus (built once by the registry's BuildContext): its counts
    are then read by the batcher with every rollout that shares their template, and its own
    queries (overrides) go through the shared pool. Without it the source has its own pool and
    sends every query itself. `connection` (without `shared`): reach Prometheus through the
    Kubernetes API server's service proxy (a shared one carries its own).
    """

    name = "prometheus"

    def __init__(
        self,
        prom: PrometheusConfig,
        rollout: RolloutConfig,
        *,
        clock: Clock | None = None,
        shared: SharedPrometheus | None = None,
        connection: PrometheusConnection | None = None,
    ) -> None:
        self.prom = prom
        self.rollout = rollout
        self.clock = clock or time.time
        m = PrometheusMetricsSettings.of(rollout.metrics, f"rollout {rollout.name} metrics")
        self.settings = m
        self.context = QueryContext(
            namespace=rollout.namespace,
            service=m.service or rollout.name,
            version_label=m.version_label,
            baseline=m.baseline,
            canary=m.canary,
            window=m.window,
            selector=m.selector,
        )
        self.metrics: tuple[Metric, ...] = metrics_for(rollout.judge)
        self.slow_ms: float | None = rollout.judge.slow_ms
        values = {"errors": m.error_rate_query, "latency_buckets": m.latency_query}
        self._value_queries = {q: t for q, t in values.items() if t}  # read as values, not counts
        counts = {
            "requests": m.requests_query,
            "errors": m.errors_query,
            "latency_buckets": m.latency_buckets_query,
        }
        self._templates = {
            name: counts.get(name) or COUNT_TEMPLATES[name]
            for name in ("requests", *(x.query for x in self.metrics))
            if name not in self._value_queries
        }
        self._le_scale = 1000.0 if m.latency_buckets_unit == "s" else 1.0
        """ms per unit of the buckets' `le` (an override's histogram in seconds)."""
        self._rate_template = m.request_rate_query
        if self._value_queries or self._rate_template:
            _check_window(m.window, prom.scrape_interval_s, rollout.name)
        self.min_span_s = 2 * prom.scrape_interval_s
        """The shortest span a poll counts: increase() needs two scrapes inside its range."""
        self._owns_shared = shared is None
        self.shared = shared or SharedPrometheus(prom, connection)
        self.api = self.shared.api
        # Counts read with the rest of the fleet: the default templates (an override, the
        # requests of a request-rate override, and a version label that names the Services or
        # workloads themselves, whose series a split by service could not find, keep their own
        # query).
        self.batched: frozenset[str] = frozenset(
            name
            for name, template in self._templates.items()
            if shared is not None
            and m.version_label not in SELF_SELECTING_LABELS
            and template == COUNT_TEMPLATES.get(name)
            and batchable(name) is not None
            and not (name == "requests" and self._rate_template)
        )
        self.group = Group(m.version_label, m.selector.strip())
        self.member = Member(self.context.namespace, self.context.service, (m.baseline, m.canary))
        if self.batched:
            self.shared.batcher.join(self.group, self.member, sorted(self.batched))

    @staticmethod
    def history_ttl_s(interval_s: float) -> float:
        """How long the fleet's batched history serves its members' starts (HISTORY_TTL_S)."""
        return max(HISTORY_TTL_S, interval_s)

    @property
    def queries_per_poll(self) -> int:
        return len(self._templates) + len(self._value_queries)

    def queries(self, span_s: float, *, batched: bool = True) -> dict[str, str]:
        """The PromQL a poll covering `span_s` seconds sends, by what it reads (`batched`
        False: only the queries this rollout sends itself, not those the batcher sends)."""
        interval = interval_text(span_s)
        out = {
            name: self.context.render(template, interval=interval)
            for name, template in self._templates.items()
            if batched or name not in self.batched
        }
        if self._rate_template:
            out["requests"] = self.context.render(self._rate_template)
        for name, template in self._value_queries.items():
            out[f"{name}:value"] = self.context.render(template)
        return out

    # --- the MetricsSource protocol -------------------------------------------------------------

    def fetch(self, since: float | None) -> Sample:
        """Both versions' counts over (since, now], one query per count, sent at once (the
        batched ones shared with the rest of the fleet)."""
        now = self.clock()
        if since is not None and now - since < self.min_span_s:
            # Nothing new can be counted yet; prove the server answers (a dead one must still
            # go STALE then ERROR on time), usually for free: another query answered just now.
            self.shared.alive(now, within_s=self.rollout.interval_s / 2)
            raise NothingNewYet(since + self.min_span_s)
        if since is not None and now - since > MAX_SPAN_S:
            since = now - MAX_SPAN_S
        first = max(self.rollout.interval_s, self.min_span_s)  # a first poll: two scrapes too
        span = now - since if since is not None and since < now else first
        answers: dict[str, list[Series]] = {}
        evaluated = now  # when the oldest answer was evaluated (a bridge's end, or now)
        if self.batched:
            share = self.shared.batcher.instant(
                self.group,
                self.member,
                since=since if since is not None and since < now else None,
                now=now,
                span=span,
                # A whole interval: a round of a big fleet takes seconds, and a member that came
                # after the tick expired would start a cohort of its own for good.
                ttl_s=self.rollout.interval_s,
            )
            now, span = share.t, share.span
            evaluated = share.t if share.earliest is None else share.earliest
            answers = {k: v for k, v in share.answers.items() if k in self.batched}
        own = self.queries(span, batched=False)
        answers |= self.shared.all(lambda q, what: self.shared.instant(q, now, what), own)
        oldest = min(
            (p[0] for series in answers.values() for s in series for p in s.points),
            default=evaluated,
        )
        # A proxy or a lagging remote store can answer with an old evaluation: older than two
        # intervals is STALE, with its age, not healthy.
        if min(now, evaluated) - oldest > 2 * self.rollout.interval_s:
            age = now - oldest
            raise StaleDataError(
                f"{self.api.source} answered with data {age:.0f}s old "
                f"(more than two {self.rollout.interval_s:g}s intervals)",
                age,
            )
        return self._samples(self._tally(answers, None), [now], span)[0]

    def history(self, span_s: float, points: int) -> tuple[Sample, ...]:
        """Samples tiling the last `span_s` seconds, `points` of them, each counting its step;
        one range query per count (batched with the fleet's)."""
        step_ms, points, end_ms = self._history_grid(span_s, points)
        answers: dict[str, list[Series]] = {}
        if self.batched:
            share = self.shared.batcher.range(
                self.group,
                self.member,
                step_ms=step_ms,
                points=points,
                end_ms=end_ms,
                ttl_s=self.history_ttl_s(self.rollout.interval_s),
            )
            end_ms = round(share.end * 1000)
            answers = {k: v for k, v in share.answers.items() if k in self.batched}
        start_ms = end_ms - step_ms * (points - 1)
        step, start, end = step_ms / 1000, start_ms / 1000, end_ms / 1000
        own = self.queries(step, batched=False)
        answers |= self.shared.all(
            lambda q, what: self.shared.range(q, start, end, step, what), own
        )
        if self.slow_ms is None:  # from the answers alone, before the samples that use it
            self._derive_slow(answers)
        tally = self._tally(answers, grid(start_ms, step_ms, points))
        times = [(start_ms + k * step_ms) / 1000 for k in range(points)]
        return tuple(self._samples(tally, times, step))

    def prefetch_history(self, span_s: float, points: int) -> None:
        """Ask for the fleet's batched history that `history(span_s, points)` takes its share
        of, in this thread (see QueryBatcher.prefetch_range): `status` has Prometheus work on it
        while it connects to Kubernetes. Nothing when the counts are not batched."""
        if not self.batched:
            return
        step_ms, points, end_ms = self._history_grid(span_s, points)
        self.shared.batcher.prefetch_range(
            self.group,
            step_ms=step_ms,
            points=points,
            end_ms=end_ms,
            ttl_s=self.history_ttl_s(self.rollout.interval_s),
        )

    def _history_grid(self, span_s: float, points: int) -> tuple[int, int, int]:
        """(step, points, end) of a history of `points` over `span_s`, in whole milliseconds as
        Prometheus evaluates a range: the points come back at exactly these times, and each
        counts exactly its step. At least two scrapes a step (increase() needs both), so a long
        scrape means fewer points."""
        points = max(points, 2)
        step_ms = max(round(span_s / points * 1000), 1000, round(self.min_span_s * 1000))
        points = max(2, min(points, int(span_s * 1000 // step_ms)))
        return step_ms, points, round(self.clock() * 1000)

    def check(self) -> str:
        """One cheap request to prove Prometheus answers (for `monotui check-config`)."""
        answers = f"Prometheus {self.api.build_version()} answers at {self.api.source.split(' at ', 1)[-1]}"
        if self._templates.get("requests") != COUNT_TEMPLATES["requests"]:
            return answers  # an override's series are not Istio's: nothing to compare
        advice = scrape_advice(self.shared, self.context, self.prom.scrape_interval_s, self.clock())
        return f"{answers}; {advice}" if advice else answers

    def close(self) -> None:
        """Leave the batch; release the pool and connections if they are this source's own."""
        if self.batched:
            self.shared.batcher.leave(self.group, self.member)
        if self._owns_shared:
            self.shared.close()

    # --- reading the answers -------------------------------------------------------------------

    def _tally(self, answers: dict[str, list[Series]], on: Grid | None) -> Tally:
        counts = {"requests": "requests"}
        histograms = []
        for metric in self.metrics:
            if metric.query in self._value_queries:
                counts[f"{metric.query}:value"] = metric.name
            elif metric.reading == "count":
                counts[metric.query] = metric.name
            else:
                histograms.append(metric.query)
        return Tally(
            answers,
            version_label=self.context.version_label,
            versions=(self.context.baseline, self.context.canary),
            counts=counts,
            histograms=histograms,
            grid=on,
            le_scale=self._le_scale,
        )

    def _samples(self, tally: Tally, times: list[float], span: float) -> list[Sample]:
        reads: list[Read] = []
        for metric in self.metrics:
            if metric.query in self._value_queries:
                reads.append(("value", f"{metric.query}:value"))
            else:
                reads.append(("count" if metric.reading == "count" else "histogram", metric.query))
        return samples(
            tally,
            metrics=self.metrics,
            reads=reads,
            versions=(self.context.baseline, self.context.canary),
            times=times,
            span=span,
            slow_ms=self.slow_ms or math.inf,
            per_second=bool(self._rate_template),
        )

    def _derive_slow(self, answers: dict[str, list[Series]]) -> None:
        """Where slow starts when not configured: the baseline's p99 bucket over the history."""
        buckets = answers.get("latency_buckets")
        if not buckets:
            return
        totals: dict[float, float] = {}
        for s in buckets:
            if s.labels.get(self.context.version_label) != self.context.baseline:
                continue
            le = le_of(s.labels.get("le"), self._le_scale)
            if le is not None:
                totals[le] = totals.get(le, 0.0) + sum(v for _, v in s.points if v is not None)
        hist = ordered(totals)
        if hist is not None:
            self.slow_ms = slow_threshold(*hist)


def _check_window(window: str, scrape_interval_s: float, rollout: str) -> None:
    """A rate override's `$window` must hold two scrapes: rate() over fewer is empty, and the
    rollout would be NO DATA for ever instead of a config error now."""
    if duration_s(window) < 2 * scrape_interval_s:
        raise ConfigError(
            f"rollout {rollout}: metrics window '{window}' holds fewer than two scrapes at "
            f"[prometheus] scrape_interval_s {scrape_interval_s:g}: rate() over it is always "
            f"empty; set window to at least {2 * scrape_interval_s:g}s"
        )
