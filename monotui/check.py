"""`monotui check-config`: the file is valid (it was loaded), then every backend is reached once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from monotui.audit import AuditError, AuditLog, default_path
from monotui.config import Config
from monotui.errors import MonotuiError
from monotui.registry import PRODUCTION, BuildContext
from monotui.sources.base import FlagSource, MetricsSource, Router


def check_config(config: Config, *, context: str | None, out: TextIO) -> int:
    """Print one line per backend; the exit code of the first failure, 0 when all answered."""
    ctx = BuildContext(config, context=context)
    worst = 0
    print(f"config: ok, {len(config.rollouts)} rollout(s)", file=out)
    try:
        print(AuditLog(config.audit.path or default_path()).check(), file=out)
    except AuditError as exc:
        # Every write would be refused: say so now, not at 3 a.m.
        print(f"audit: FAILED: {exc}", file=out)
        worst = exc.exit_code
    try:
        for rollout in config.rollouts:
            checks: list[tuple[str, Callable[[], object]]] = []
            try:
                router = PRODUCTION.get("router", rollout.router.kind).build(
                    rollout.router, rollout, ctx
                )
                metrics = PRODUCTION.get("metrics", rollout.metrics.kind).build(
                    rollout.metrics, rollout, ctx
                )
                flags = PRODUCTION.get("flags", rollout.flags.kind).build(
                    rollout.flags, rollout, ctx
                )
            except MonotuiError as exc:
                print(f"{rollout.name}: cannot build its sources: {exc}", file=out)
                worst = worst or exc.exit_code
                continue
            if isinstance(router, Router):
                checks.append((f"router {rollout.router.kind}", router.read))
            if isinstance(metrics, MetricsSource):
                check = getattr(metrics, "check", metrics.fetch)
                checks.append((f"metrics {rollout.metrics.kind}", check))
            if isinstance(flags, FlagSource):
                checks.append((f"flags {rollout.flags.kind}", flags.read))
            for name, call in checks:
                try:
                    answer = call()
                except MonotuiError as exc:
                    print(f"{rollout.name}: {name}: FAILED: {exc}", file=out)
                    worst = worst or exc.exit_code
                else:
                    detail = answer if isinstance(answer, str) else "ok"
                    print(f"{rollout.name}: {name}: {detail}", file=out)
            for source in (router, metrics, flags):
                if isinstance(source, Router | MetricsSource | FlagSource):
                    source.close()
    finally:
        ctx.close()
    return worst
