"""The newest snapshot of every rollout, as the screens read it."""

from __future__ import annotations

from collections.abc import Iterator

from monotui.model import Snapshot


class SnapshotStore:
    """The newest snapshot of every rollout, on the app's thread only. `starting` is True until
    the rollouts exist (screens then say "starting…", never zeros)."""

    def __init__(self) -> None:
        self._snapshots: dict[str, Snapshot] = {}
        self.starting = False
        self.names: tuple[str, ...] = ()
        """The rollouts, in configuration order (known once they are built)."""
        self.badges: dict[str, str] = {}
        """Each cluster's badge colour, as configured (the fleet picks the others)."""

    def get(self, rollout: str) -> Snapshot | None:
        return self._snapshots.get(rollout)

    def put(self, snapshot: Snapshot) -> None:
        self._snapshots[snapshot.rollout] = snapshot

    def __iter__(self) -> Iterator[Snapshot]:
        return iter(list(self._snapshots.values()))

    def __len__(self) -> int:
        return len(self.names)

    @property
    def read_only(self) -> bool:
        """Whether the session is read-only (every rollout is, or none)."""
        return any(s.read_only for s in self._snapshots.values())
