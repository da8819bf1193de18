"""`monotui check-config`: the file is valid (it was loaded), then every backend is reached once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from monotui.backends import BackendFactory
from monotui.config import Config
from monotui.errors import MonotuiError


def check_config(config: Config, *, context: str | None, out: TextIO) -> int:
    """Print one line per backend; the exit code of the first failure, 0 when all answered."""
    factory = BackendFactory(config, context=context)
    worst = 0
    print(f"config: ok, {len(config.rollouts)} rollout(s)", file=out)
    for rollout in config.rollouts:
        checks: list[tuple[str, Callable[[], object]]] = []
        try:
            backends = factory.build(rollout)
        except MonotuiError as exc:
            print(f"{rollout.name}: cannot build its sources: {exc}", file=out)
            worst = worst or exc.exit_code
            continue
        checks.append((f"router {rollout.router.kind}", backends.router.read))
        if backends.metrics is not None:
            metrics = backends.metrics
            checks.append(
                (f"metrics {rollout.metrics.kind}", getattr(metrics, "check", metrics.fetch))
            )
        if backends.flags is not None:
            checks.append((f"flags {rollout.flags.kind}", backends.flags.read))
        for name, call in checks:
            try:
                answer = call()
            except MonotuiError as exc:
                print(f"{rollout.name}: {name}: FAILED: {exc}", file=out)
                worst = worst or exc.exit_code
            else:
                detail = answer if isinstance(answer, str) else "ok"
                print(f"{rollout.name}: {name}: {detail}", file=out)
    return worst
