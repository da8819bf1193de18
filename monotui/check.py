"""`monotui check-config`: the file is valid (it was loaded), the audit log can be written, every
backend is reached once, the kube user may do what the tool needs (SelfSubjectAccessReview,
as `kubectl auth can-i`): each missing verb is a line of its own and exit code 4; and each
notification sink's secret can be read.

Every line is literal: a server's version string or error message cannot style the terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from monotui.audit import AuditError, AuditLog, default_path
from monotui.config import Config, RolloutConfig
from monotui.errors import ConfigError, MonotuiError, PermissionDeniedError
from monotui.outside_text import literal, redact_urls_in
from monotui.registry import PRODUCTION, BuildContext
from monotui.sources.base import FlagSet, FlagSource, MetricsSource, Router

LINE_MAX = 600


class Lines(Protocol):
    """Where the report's lines go (standard output, as a command guards it)."""

    def write(self, text: str, /) -> object: ...


class _Report:
    """The lines printed, and the exit code of the first failure."""

    def __init__(self, out: Lines) -> None:
        self.out = out
        self.worst = 0

    def line(self, text: str) -> None:
        # A URL's password (the Prometheus url as its client reports it) is never printed.
        print(literal(redact_urls_in(text), max_len=LINE_MAX), file=self.out)

    def failed(self, text: str, code: int) -> None:
        self.line(text)
        self.worst = self.worst or code


def check_config(
    config: Config, *, context: str | None, out: Lines, read_only: bool = False
) -> int:
    """Print one line per check; the exit code of the first failure, 0 when all passed."""
    ctx = BuildContext(config, context=context, read_only=read_only)
    report = _Report(out)
    report.line(f"config: ok, {len(config.rollouts)} rollout(s)")
    try:
        report.line(AuditLog(config.audit.path or default_path()).check())
    except AuditError as exc:
        # Every write would be refused: say so now, not at 3 a.m.
        report.failed(f"audit: FAILED: {exc}", exc.exit_code)
    try:
        for rollout in config.rollouts:
            _check_rollout(report, rollout, ctx, read_only)
    finally:
        ctx.close()
    _check_sinks(report, config)
    return report.worst


def _check_sinks(report: _Report, config: Config) -> None:
    """Each `[[notify]]` sink's secret reads (nothing is sent: a test message would page)."""
    from monotui.notify.build import check_sink

    for sink in config.notify:
        try:
            report.line(check_sink(sink))
        except ConfigError as exc:
            said = str(exc).removeprefix(f"{sink.label}: ")
            report.failed(f"{sink.label}: FAILED: {said}", exc.exit_code)


def _check_rollout(
    report: _Report, rollout: RolloutConfig, ctx: BuildContext, read_only: bool
) -> None:
    name = rollout.name
    try:
        router = PRODUCTION.get("router", rollout.router.kind).build(rollout.router, rollout, ctx)
        metrics = PRODUCTION.get("metrics", rollout.metrics.kind).build(
            rollout.metrics, rollout, ctx
        )
        flags = PRODUCTION.get("flags", rollout.flags.kind).build(rollout.flags, rollout, ctx)
    except MonotuiError as exc:
        report.failed(f"{name}: cannot build its sources: {exc}", exc.exit_code)
        return
    checks: list[tuple[str, Callable[[], object]]] = []
    if isinstance(router, Router):
        # A router that reads a second object (Argo's traffic route, Flagger's) checks it too.
        checks.append((f"router {rollout.router.kind}", _own_check(router, router.read)))
    if isinstance(metrics, MetricsSource):
        call = _own_check(metrics, partial(metrics.fetch, None))
        checks.append((f"metrics {rollout.metrics.kind}", call))
    if isinstance(flags, FlagSource):
        checks.append((f"flags {rollout.flags.kind}", flags.read))
    try:
        for what, call in checks:
            try:
                answer = call()
            except MonotuiError as exc:
                report.failed(f"{name}: {what}: FAILED: {exc}", exc.exit_code)
            else:
                if isinstance(answer, FlagSet):
                    _check_flags(report, rollout, flags, answer, what)
                    continue
                report.line(f"{name}: {what}: {answer if isinstance(answer, str) else 'ok'}")
        _check_access(report, rollout, router, flags, read_only)
    finally:
        for source in (router, metrics, flags):
            if isinstance(source, Router | MetricsSource | FlagSource):
                source.close()


def _own_check(source: object, read: Callable[[], object]) -> Callable[[], object]:
    """The source's own `check()` when it has one (it says more than a read), else `read`."""
    check = getattr(source, "check", None)
    return check if callable(check) else read


def _check_flags(
    report: _Report, rollout: RolloutConfig, source: Any, flagset: FlagSet, what: str
) -> None:
    """The flags were read: say how many and what is wrong with them, and fail when a kill
    switch is not there, or cannot be turned where monotui may write (it is the emergency exit)."""
    name = rollout.name
    problems = flagset.errors
    said = f"; {len(problems)} with problems: {'; '.join(problems)}" if problems else ""
    report.line(f"{name}: {what}: ok ({len(flagset.flags)} flags{said})")
    flags = {flag.key: flag for flag in flagset.flags}
    writable = bool(getattr(source, "can_write", False))
    for key in rollout.flags.kill_switches:
        flag = flags.get(key)
        shown = literal(key, max_len=80)
        if flag is None:
            why = "is not among its flags: check [rollouts.flags] kill_switches"
        elif writable and flag.toggle is None:
            issues = f"; its problems: {flag.error}" if flag.error else ""
            why = (
                "cannot be toggled (a kill switch is a boolean flag with a valid default "
                f"variant, or a disabled flag){issues}"
            )
        else:
            continue
        report.failed(f"{name}: {what}: FAILED: kill switch '{shown}' {why}", ConfigError.exit_code)


def _routed(router: Any) -> tuple[str, str] | None:
    """(group, plural) of what the router reads and writes in the cluster; None outside it. A
    router on one object says so itself; Flagger's writes its Canary (`object`)."""
    if getattr(router, "kube", None) is None:
        return None
    target = router if hasattr(router, "plural") else getattr(router, "object", None)
    group, plural = getattr(target, "group", None), getattr(target, "plural", None)
    return (group, plural) if isinstance(group, str) and isinstance(plural, str) else None


def _check_access(
    report: _Report, rollout: RolloutConfig, router: Any, flags: Any, read_only: bool
) -> None:
    """One SelfSubjectAccessReview per verb the rollout's Kubernetes sources use."""
    from monotui.sources.flags_featureflag import FeatureFlagFlags

    kube = getattr(router, "kube", None) or getattr(flags, "kube", None)
    if kube is None:
        return  # nothing of this rollout lives in the cluster
    from monotui.sources.kube_access import Need, can_i, needs

    routed = _routed(router)
    featureflag = isinstance(flags, FeatureFlagFlags)
    wanted = needs(
        routed, argo=rollout.router.kind == "argo", featureflag=featureflag, read_only=read_only
    )
    namespace = rollout.namespace
    asked = [
        (need, flags.namespace, flags.name)
        if need.resource == "featureflags"
        else (need, namespace, rollout.router_name)
        for need in wanted
    ]
    # An Argo Rollout's traffic route (`[rollouts.router.traffic]`) is read for its weights.
    traffic = getattr(router, "traffic", None)  # an ArgoRouter's: an Istio or Gateway router
    if traffic is not None:
        why = "show the weights of the route the Rollout's traffic router steers"
        need = Need("get", traffic.plural, traffic.group, why=why)
        asked.append((need, traffic.namespace, traffic.name))
    missing = 0
    for need, where, target in asked:
        try:
            allowed, _reason = can_i(kube, need, where, target)
        except MonotuiError as exc:
            report.failed(f"{rollout.name}: rbac: cannot ask the API server: {exc}", exc.exit_code)
            return
        if not allowed:
            missing += 1
            report.failed(
                f"{rollout.name}: rbac: {kube.user or 'this user'} cannot {need} in namespace "
                f"{where} (needed to {need.why}): ask for a Role granting it",
                PermissionDeniedError.exit_code,
            )
    if not missing:
        verbs = ", ".join(str(need) for need, _, _ in asked)
        report.line(f"{rollout.name}: rbac: ok ({verbs} in namespace {namespace})")
