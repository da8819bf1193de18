"""What an observer holds of a rollout's sources: the reading halves of its router and flag
source (nothing that writes), and what its snapshots say about the session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from monotui.errors import MonotuiError
from monotui.sources.base import FlagSet, FlagSource, Router, RouteState

__all__ = ["Display", "FlagReader", "RouteReader"]


class RouteReader:
    """The reading half of a router: its kind, `read` and `watch`, nothing that writes."""

    def __init__(self, router: Router) -> None:
        self._router = router
        self.kind = router.kind

    def read(self) -> RouteState:
        return self._router.read()

    def watch(
        self,
        on_change: Callable[[RouteState], None],
        on_error: Callable[[MonotuiError], None] | None = None,
    ) -> Callable[[], None] | None:
        return self._router.watch(on_change, on_error)


class FlagReader:
    """The reading half of a flag source."""

    def __init__(self, flags: FlagSource) -> None:
        self._flags = flags
        self.kind = flags.kind

    def read(self) -> FlagSet:
        return self._flags.read()


@dataclass(frozen=True, slots=True)
class Display:
    """What the snapshot says about the session (header badges, the plan's hint)."""

    context: str = ""
    policy: str = "manual"
    read_only: bool = False
    dry_run: bool = False
