"""`kind = "blackbox"`: blackbox_exporter's results, already in Prometheus, read through the
bounded Prometheus API client. Each track's series are picked by its label matchers.

Per read and track, two instant queries at the read's time: how many probes ran since the last
read and how many passed (`count_over_time` and `sum_over_time` of probe_success over exactly
that span, so reads tile time), with the newest sample's time; and the newest probe_success,
probe_duration_seconds, probe_http_status_code and probe_failed_due_to_regex, for the cell.
"""

from __future__ import annotations

import math

from monotui.errors import MonotuiError
from monotui.outside_text import literal
from monotui.sources.prometheus_api import PrometheusApi, Series
from monotui.sources.synthetics.base import ProbeResult, TrackReading
from monotui.sources.synthetics.settings import BlackboxSettings

_NEWEST = "probe_success|probe_duration_seconds|probe_http_status_code|probe_failed_due_to_regex"


class BlackboxProbe:
    """One blackbox probe's results per track. `close()` closes the API client it was given
    only when it owns it."""

    kind = "blackbox"

    def __init__(
        self, settings: BlackboxSettings, api: PrometheusApi, *, interval_s: float, owns_api: bool
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.tracks: tuple[str, ...] = tuple(settings.tracks)
        self.flag_key = settings.flag.key if settings.flag is not None else None
        self.interval_s = settings.interval_s or interval_s
        self.api = api
        self._owns_api = owns_api
        self._since: float | None = None
        self._match: dict[str, str] = {str(k): v for k, v in settings.match.items()}

    def header_tracks(self) -> tuple[str, ...]:
        return ()

    def curl(self, track: str) -> str | None:
        return None  # blackbox_exporter probes; monotui only reads its results

    def close(self) -> None:
        if self._owns_api:
            self.api.close()

    def read(self, now: float, reachable: frozenset[str]) -> tuple[TrackReading, ...]:
        since = self._since if self._since is not None else now - self.interval_s
        span_ms = max(1000, int(round(1000 * (now - since))))
        readings = tuple(self._track(t, now, span_ms) for t in self.tracks)
        if any(r.error is None for r in readings):
            self._since = now  # a failed read keeps the start: the next one covers the gap
        return readings

    def _track(self, track: str, now: float, span_ms: int) -> TrackReading:
        matchers = self._match[track]
        selector = f"probe_success{{{matchers}}}"
        what = f"probe {self.name} ({track})"
        counts = (
            f'label_replace(sum(count_over_time({selector}[{span_ms}ms])), "q", "probes", "", "")'
            f' or label_replace(sum(sum_over_time({selector}[{span_ms}ms])), "q", "passes", "", "")'
            f' or label_replace(max(timestamp({selector})), "q", "at", "", "")'
        )
        try:
            found = _by(self.api.instant(counts, now, what), "q")
            newest = self.api.instant(f'{{__name__=~"{_NEWEST}", {matchers}}}', now, what)
        except MonotuiError as exc:
            return TrackReading(track, error=str(exc))
        if "at" not in found:
            return TrackReading(
                track,
                error=f"no probe_success series for {{{literal(matchers, max_len=120)}}}: is "
                "blackbox_exporter scraped with these labels?",
            )
        probes = int(found.get("probes") or 0)
        passes = min(probes, int(round(found.get("passes") or 0)))
        return TrackReading(track, passes, probes - passes, _newest(newest, found["at"] or now))


def _by(series: list[Series], label: str) -> dict[str, float | None]:
    """{label value: the value} of an instant vector."""
    return {s.labels.get(label, ""): s.points[-1][1] if s.points else None for s in series}


def _newest(series: list[Series], at: float) -> ProbeResult:
    """The newest probe over every series matched: it passes only when every one passed."""
    values: dict[str, list[float]] = {}
    for s in series:
        value = s.points[-1][1] if s.points else None
        if value is not None and math.isfinite(value):
            values.setdefault(s.labels.get("__name__", ""), []).append(value)
    ok = bool(values.get("probe_success")) and min(values["probe_success"]) >= 1
    durations = values.get("probe_duration_seconds")
    latency = 1000.0 * max(durations) if durations else None
    reason = ""
    if not ok:
        codes = sorted(int(c) for c in values.get("probe_http_status_code", []))
        bad = [c for c in codes if not 200 <= c < 400]
        if any(v >= 1 for v in values.get("probe_failed_due_to_regex", [])):
            reason = "body: a fail_if_body regex matched (or a required one did not)"
        elif bad and bad[0] == 0 or not codes:
            reason = "no answer (timeout, refused or TLS: blackbox_exporter's debug log says)"
        elif bad:
            reason = f"status {bad[-1]}"
        else:
            reason = "probe_success 0 (see blackbox_exporter's module)"
    return ProbeResult(ok, reason, latency, at)
