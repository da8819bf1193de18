"""Where a command's rollouts come from: the config file, discovery, or discovery with the file
over it.

Discovery runs when there is no config file (none given and none at the default paths), when the
file has no `[[rollouts]]`, or with `--discover` or `-A`; it looks in `-n NS`, else the context's
namespace, or in all namespaces with `-A`. The file's entries then override or add to what it
found. Without discovery, the file alone, as always (`--namespace` overrides its rollouts'
namespace). Prometheus: `--prometheus URL` (or MONOTUI_PROMETHEUS__URL, or `[prometheus] url`)
wins; with discovery and no URL, the usual Services are asked through the API server's proxy.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monotui.errors import ConfigError, MonotuiError

if TYPE_CHECKING:
    from monotui.config import Config
    from monotui.sources.discovery import Discovery, PrometheusFinding
    from monotui.sources.kube import KubeConnection
    from monotui.sources.prometheus_proxy import ServiceRef


@dataclass
class Loaded:
    """A command's configuration and, when discovery ran, what it found."""

    config: Config
    file: Path | None
    """The config file read (None: none)."""
    sources: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per rollout name, how each value was inferred ({} for a rollout of the file only)."""
    notes: list[str] = field(default_factory=list)
    """Lines for the user: kinds skipped for RBAC, discarded finds, the Prometheus found."""
    discovery: Discovery | None = None
    finding: PrometheusFinding | None = None
    kube: KubeConnection | None = None
    """The connection discovery used (the session's routers share it)."""
    tables: list[dict[str, Any]] = field(default_factory=list)
    """The `[[rollouts]]` tables as merged, before validation turned them into models."""
    prometheus: dict[str, Any] = field(default_factory=dict)
    """The `[prometheus]` table as set (file, environment, --prometheus, discovery)."""
    inferred_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per rollout, the Prometheus settings discovery inferred (shown even with metrics off)."""


def load(
    args: argparse.Namespace, *, force_discovery: bool = False, default_file: bool = True
) -> Loaded:
    """The configuration of one command (see the module docstring for where it comes from).
    `default_file` False: only a file given with -c is read."""
    from monotui import config

    explicit = args.config is not None
    file = Path(args.config) if explicit else config.default_path()
    have_file = explicit or (default_file and file.exists())
    raw = config.read(file) if have_file else config.apply_env({})
    if getattr(args, "prometheus", None):
        raw["prometheus"] = {**(raw.get("prometheus") or {}), "url": args.prometheus}
    entries = raw.get("rollouts") or []
    if not isinstance(entries, list):
        entries = []
    if args.namespace and entries:  # the old meaning: the file's rollouts, in that namespace
        entries = [
            {**e, "namespace": args.namespace} if isinstance(e, dict) else e for e in entries
        ]
        raw["rollouts"] = entries
    discovering = force_discovery or args.discover or args.all_namespaces or not entries
    source = str(file) if have_file else "the command line"
    if not discovering:
        cfg = _parse(raw, source)
        return Loaded(cfg, file, tables=list(entries), prometheus=dict(raw.get("prometheus") or {}))
    return _discovered(args, raw, entries, file if have_file else None, source)


def _discovered(
    args: argparse.Namespace,
    raw: dict[str, Any],
    entries: list[Any],
    file: Path | None,
    source: str,
) -> Loaded:
    from monotui.sources.discovery import discover, find_prometheus, merge
    from monotui.sources.kube import connect

    base = _parse({k: v for k, v in raw.items() if k != "rollouts"}, source)
    if args.context and "," in args.context:
        # A fleet across clusters is made of the file's rollouts (monotui.clusters).
        raise ConfigError(
            f"--context {args.context}: discovery looks in one cluster; for several, list the "
            "rollouts in a config file (-c FILE)"
        )
    try:
        kube = connect(base.kubernetes, context=args.context or None)
    except ConfigError as exc:
        if file is not None:
            raise
        raise ConfigError(
            f"no config file ({_default()}) and no cluster to discover rollouts in: {exc} "
            "(pass -c FILE, or run 'monotui demo' to try without a cluster)"
        ) from None
    try:
        namespace = None if args.all_namespaces else (args.namespace or kube.namespace)
        found = discover(kube, namespace)
        notes = found.lines()
        prometheus = dict(raw.get("prometheus") or {})
        finding = None
        if not prometheus.get("url") and not prometheus.get("kubernetes_service"):
            finding = find_prometheus(kube)
            notes.append(finding.line())
            if finding.service is not None:
                prometheus["kubernetes_service"] = str(finding.service)
                notes += _scrape_interval(kube, finding.service, found, prometheus)
        with_metrics = finding is None or finding.service is not None
        kept = _valid(found.found, notes, with_metrics)
        tables, sources = merge(kept, entries, file=str(file or ""), metrics=with_metrics)
        merged = {**raw, "prometheus": prometheus, "rollouts": tables}
        if not prometheus:
            merged.pop("prometheus")
        where = f"{source} and what discovery found in {found.scope}"
        cfg = _parse(merged, where)
    except BaseException:
        kube.close()
        raise
    if not cfg.rollouts:
        kube.close()
        why = "; ".join(found.lines()) or "nothing of Argo Rollouts, Flagger, Istio or Gateway API"
        raise ConfigError(
            f"discovery found no rollouts in {found.scope} (context {kube.context}): {why}. "
            "Try -A (all namespaces), -n NS, --context, or a config file (-c FILE)"
        )
    return Loaded(
        cfg,
        file,
        sources=sources,
        notes=notes,
        discovery=found,
        finding=finding,
        kube=kube,
        tables=tables,
        prometheus=prometheus,
        inferred_metrics={f.name: f.metrics for f in kept},
    )


def _scrape_interval(
    kube: KubeConnection, service: ServiceRef, found: Discovery, prometheus: dict[str, Any]
) -> list[str]:
    """Sets `scrape_interval_s` in `prometheus` when the Prometheus discovery found scrapes
    Istio's counters less often than the default assumes (a poll would count one scrape: NO
    DATA); the line that says so, if it did."""
    from monotui.config import PrometheusConfig
    from monotui.sources.discovery.prometheus import scraped_every_s

    if "scrape_interval_s" in prometheus:
        return []
    namespaces = sorted({f.namespace for f in found.found})
    seen = scraped_every_s(kube, service, namespaces)
    default = PrometheusConfig.model_fields["scrape_interval_s"].default
    if seen is None or seen <= default * 1.25:
        return []
    # Counted samples say 28.6-31.6 s for 30 s as a window's ends fall; intervals are set in
    # round numbers.
    every = min(600, 5 * round(seen / 5))
    prometheus["scrape_interval_s"] = every
    return [
        f"prometheus: Istio's series are scraped every {every}s there: scrape_interval_s = "
        f"{every} (each poll counts two scrapes)"
    ]


def _valid(found: list[Any], notes: list[str], with_metrics: bool) -> list[Any]:
    """The discovered rollouts whose tables the config schema accepts; the others are a note."""
    from monotui import config
    from monotui.registry import PRODUCTION

    kept = []
    for rollout in found:
        try:
            config.parse({"rollouts": [rollout.table(metrics=with_metrics)]}, kinds=PRODUCTION)
        except MonotuiError as exc:
            notes.append(f"{rollout.owner}: not taken, its inferred settings are refused: {exc}")
            continue
        kept.append(rollout)
    return kept


def _parse(data: dict[str, Any], source: str) -> Config:
    from monotui import config
    from monotui.registry import PRODUCTION

    return config.parse(data, source=source, kinds=PRODUCTION)


def _default() -> Path:
    from monotui import config

    return config.default_path()
