"""What the notification tests share: a demo world's rollouts with a notifier on their bus."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from monotui.model import Action, ActionKind
from monotui.notify.build import build_notifier
from monotui.notify.notifier import Notifier
from monotui.notify.settings import NotifySettings
from monotui.sim.demo import Demo, build_demo


def sink(tmp_path: Path, url: str, **keys: Any) -> NotifySettings:
    """A sink whose webhook URL is in a file under tmp_path."""
    secret = tmp_path / f"url-{keys.get('kind', 'webhook')}-{len(list(tmp_path.iterdir()))}"
    secret.write_text(url + "\n")
    data = {"kind": "webhook", "url_file": secret, "batch_s": 0.0, **keys}
    return NotifySettings.model_validate(data)


@contextmanager
def notified(
    settings: list[NotifySettings],
    state: Path | None,
    *,
    scenario: str = "bad-canary",
    demo: Demo | None = None,
    **build: Any,
) -> Iterator[tuple[Demo, Notifier]]:
    """A started demo (not real-time) whose events go to a notifier of `settings`."""
    world = demo or build_demo(scenario, realtime=False)
    notifier = build_notifier(
        settings, world.rollouts, clock=world.now, folder=state, persist=state is not None, **build
    )
    assert notifier is not None
    unsubscribe = world.bus.subscribe(notifier)
    notifier.start()
    try:
        world.start()
        yield world, notifier
    finally:
        unsubscribe()
        notifier.close(timeout_s=2.0)
        world.close()


def rollback(demo: Demo, rollout: str = "checkout", origin: str = "key") -> None:
    demo.rollout(rollout).apply(
        Action(ActionKind.ROLLBACK, rollout, origin=origin, reason="r in the cockpit")
    )
