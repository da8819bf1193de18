"""`/metrics`: what every rollout looks like now, read from its snapshot at each scrape (no I/O),
and what happened, counted from the events.

Gauges per rollout: canary weight, verdict (one series per result, 1 for the current one), the
judge's evidence (the verdict's score until the judge exposes its evidence), automation paused,
Lease held. Counters: actions by kind, origin and outcome; source failures (each new or changed
failure of a source, as the events panel shows them).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monotui.model import ActionEvent, Event, SourceFailed, VerdictResult
from monotui.rollout import Rollout

LABELS = ("rollout", "namespace")


class AutopilotCollector(Collector):
    """Publishes the rollouts' state and the event counts (subscribe it to the EventBus)."""

    def __init__(
        self,
        rollouts: Sequence[Rollout],
        *,
        leading: Callable[[str], bool],
        ready: Callable[[], bool],
    ) -> None:
        self.rollouts = list(rollouts)
        self.leading = leading
        self.ready = ready
        self._namespaces = {r.name: r.config.namespace for r in rollouts}
        self._lock = threading.Lock()
        self._actions: Counter[tuple[str, str, str, str, str]] = Counter()
        self._source_errors: Counter[tuple[str, str, str]] = Counter()

    def __call__(self, event: Event) -> None:
        """Count one event (an EventBus subscriber: quick, no I/O)."""
        namespace = self._namespaces.get(event.rollout, "")
        if isinstance(event, ActionEvent) and event.result is not None:
            action = event.result.action
            key = (event.rollout, namespace, action.kind.value, action.origin, event.outcome)
            with self._lock:
                self._actions[key] += 1
        elif isinstance(event, SourceFailed) and event.source is not None:
            with self._lock:
                self._source_errors[(event.rollout, namespace, event.source.name)] += 1

    def describe(self) -> Iterator[Metric]:
        return iter(())  # the families come from the rollouts at each scrape

    def collect(self) -> Iterator[Metric]:
        weight = GaugeMetricFamily(
            "monotui_canary_weight_percent",
            "Canary route weight, as the router says.",
            labels=LABELS,
        )
        verdict = GaugeMetricFamily(
            "monotui_verdict",
            "The judge's verdict: 1 for the current result, 0 for the others.",
            labels=(*LABELS, "result"),
        )
        evidence = GaugeMetricFamily(
            "monotui_evidence",
            "The judge's evidence for the current verdict (its score, 0..100, for now).",
            labels=LABELS,
        )
        paused = GaugeMetricFamily(
            "monotui_automation_paused", "1 while the automation is paused.", labels=LABELS
        )
        held = GaugeMetricFamily(
            "monotui_lease_held", "1 while this process holds the rollout's Lease.", labels=LABELS
        )
        for rollout in self.rollouts:
            snap = rollout.snapshot()
            labels = [rollout.name, rollout.config.namespace]
            if snap.weights is not None:
                weight.add_metric(labels, snap.weights.canary)
            for result in VerdictResult:
                verdict.add_metric([*labels, result.value], float(snap.verdict.result == result))
            if snap.verdict.score is not None:
                evidence.add_metric(labels, snap.verdict.score)
            paused.add_metric(labels, float(snap.plan.paused))
            held.add_metric(labels, float(self.leading(rollout.name)))
        yield from (weight, verdict, evidence, paused, held)
        actions = CounterMetricFamily(
            "monotui_actions",
            "Actions applied, refused or failed, by kind and origin.",
            labels=(*LABELS, "kind", "origin", "outcome"),
        )
        errors = CounterMetricFamily(
            "monotui_source_errors", "Source failures (new or changed).", labels=(*LABELS, "source")
        )
        with self._lock:
            for key, count in sorted(self._actions.items()):
                actions.add_metric(list(key), count)
            for key3, count in sorted(self._source_errors.items()):
                errors.add_metric(list(key3), count)
        yield actions
        yield errors
        ready = GaugeMetricFamily(
            "monotui_autopilot_ready", "1 once the first cycle of every rollout finished."
        )
        ready.add_metric([], float(self.ready()))
        yield ready
