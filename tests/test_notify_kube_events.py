"""Every action also becomes a Kubernetes Event on the resource it changed, on the fake API
server through the real client; when RBAC forbids creating Events the action still succeeds and
the rollout says once that events are off."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from kubernetes import client

from monotui.audit import AuditLog
from monotui.model import Action, ActionKind
from monotui.notify.kube_events import KubeEvents
from monotui.rollout import Rollout, assemble
from monotui.sources.kube import KubeConnection
from monotui.sources.router_istio import IstioRouter
from tests.fakekube import FakeKube
from tests.router_helpers import ISTIO, NS, conn_fixture, no_metrics, rollout, virtual_service

conn = conn_fixture()


@contextmanager
def steered(fake: FakeKube, conn: KubeConnection) -> Iterator[tuple[Rollout, KubeEvents]]:
    fake.put_object(virtual_service(canary=10))
    cfg = no_metrics(rollout())
    ctl = assemble(
        cfg,
        router=IstioRouter(conn, cfg),
        audit=AuditLog(None),
        context=conn.context,
        kube_user=conn.user,
    )
    events = KubeEvents([ctl], host="laptop").start()
    unsubscribe = ctl.observer.told.bus.subscribe(events)
    ctl.start(history=False)
    try:
        yield ctl, events
    finally:
        unsubscribe()
        events.close()
        ctl.close()


def _wait(events: KubeEvents) -> None:
    deadline = time.monotonic() + 10
    while not events.idle() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert events.idle()


def test_a_rollback_is_an_event_on_the_virtualservice(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    with steered(fake_kube, conn) as (ctl, events):
        result = ctl.apply(Action(ActionKind.ROLLBACK, "reviews", origin="key", reason="r"))
        assert result.ok
        _wait(events)
    core = client.CoreV1Api(conn.api_client)
    (event,) = core.list_namespaced_event(
        NS, field_selector="involvedObject.name=reviews,reason=MonotuiRollback"
    ).items
    vs = fake_kube.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    involved = event.involved_object
    assert (involved.kind, involved.api_version) == ("VirtualService", "networking.istio.io/v1")
    assert involved.uid == vs["metadata"]["uid"]  # kubectl describe selects by uid
    assert event.type == "Warning" and event.reporting_component == "monotui"
    assert event.source is not None
    assert event.source.component == "monotui" and event.source.host == "laptop"
    message = event.message or ""
    assert "90/10 -> 100/0" in message and "error rate" in message
    assert len(message) <= 1024


def test_rbac_refusing_events_does_not_stop_the_action_and_is_said_once(
    fake_kube: FakeKube, conn: KubeConnection
) -> None:
    fake_kube.deny("create", "events")
    with steered(fake_kube, conn) as (ctl, events):
        first = ctl.apply(Action(ActionKind.ADVANCE, "reviews", origin="key"))
        second = ctl.apply(Action(ActionKind.ROLLBACK, "reviews", origin="key"))
        _wait(events)
        texts = [e.text for e in ctl.events()]
    assert first.ok and second.ok
    obj = fake_kube.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    assert obj["spec"]["http"][0]["route"][1]["weight"] == 0  # the rollback happened
    off = [t for t in texts if "kubernetes events are off" in t]
    assert len(off) == 1 and "grant 'create' on events" in off[0]
    assert events.posted == 0
