"""A router for rollouts whose weights are not managed (kind "none"): reads 100/0, cannot write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from monotui.errors import MonotuiError, ReadOnlyError
from monotui.kinds import RouterSettings
from monotui.model import Weights
from monotui.sources.base import RouteState, WriteResult


class NoRouterSettings(RouterSettings):
    """`[rollouts.router] kind = "none"`: nobody manages the weights here."""

    kind: Literal["none"] = "none"


class StaticRouter:
    """Always all traffic on stable; every write is refused."""

    kind = "none"
    can_write = False

    def close(self) -> None:
        """Nothing to release."""

    def read(self) -> RouteState:
        return RouteState(Weights(100, 0), "static", "no router")

    def write(self, target: Weights, expected: RouteState, *, dry_run: bool = False) -> WriteResult:
        raise ReadOnlyError(
            "this rollout has no router (router kind 'none'): weights cannot change"
        )

    def watch(
        self,
        on_change: Callable[[RouteState], None],
        on_error: Callable[[MonotuiError], None] | None = None,
    ) -> Callable[[], None] | None:
        return None
