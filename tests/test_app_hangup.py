"""An ssh session that drops, a tmux pane killed, a `kill`: `monotui watch` leaves the way `q`
does (exit 128 + the signal), so the probes' header routes it added to the route are removed and
the weights stay. A terminal that hung up without a SIGHUP reaching us is noticed too (Textual's
input thread would otherwise read end-of-file from it for ever)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.terminal import Session, start
from tests.configs import reviews_toml
from tests.fakekube import FakeKube
from tests.router_helpers import ISTIO, NS, dest, wait_for

CONFIG = reviews_toml(
    interval_s=1,
    more=(
        '[[rollouts.synthetics]]\nname = "checkout"\nkind = "http"\n'
        'url = "http://127.0.0.1:9/checkout"\ntimeout_s = 1\n'
    ),
)


def names(fake: FakeKube) -> list[str | None]:
    obj = fake.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
    return [r.get("name") for r in obj["spec"]["http"]]


def hang_up(session: Session) -> None:
    """What sshd does when the connection drops: the terminal's other side closes."""
    os.close(session.master)
    session.master = os.open(os.devnull, os.O_RDWR)  # for Session.close


@pytest.mark.parametrize(
    ("how", "code"),
    [
        ("the terminal hangs up", 129),
        ("SIGHUP", 128 + signal.SIGHUP),
        ("SIGTERM", 128 + signal.SIGTERM),
    ],
)
def test_watch_leaves_as_q_does_and_takes_its_header_routes_away(
    fake_kube: FakeKube, fake_kubeconfig: Path, tmp_path: Path, how: str, code: int
) -> None:
    fake_kube.put_object(
        {
            "apiVersion": f"{ISTIO}/v1",
            "kind": "VirtualService",
            "metadata": {"name": "reviews", "namespace": NS},
            "spec": {
                "hosts": ["reviews"],
                "http": [{"name": "primary", "route": [dest("v1", 90), dest("v2", 10)]}],
            },
        }
    )
    cfg = tmp_path / "monotui.toml"
    cfg.write_text(CONFIG.format(audit=tmp_path / "audit.jsonl"))  # in NS, bookinfo
    argv = ["env", f"KUBECONFIG={fake_kubeconfig}", sys.executable, "-m", "monotui"]
    session = start([*argv, "watch", "-c", str(cfg)])
    try:
        wait_for(lambda: len(names(fake_kube)) == 3, 30)  # the probes' header routes
        if how == "the terminal hangs up":
            hang_up(session)
        else:
            session.proc.send_signal(signal.SIGHUP if how == "SIGHUP" else signal.SIGTERM)
        try:
            returned = session.proc.wait(30)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"monotui watch still runs after {how}") from None
        assert returned == code
        assert names(fake_kube) == ["primary"]  # removed on the way out, the weights kept
        obj = fake_kube.get_object(ISTIO, "v1", "virtualservices", NS, "reviews")
        assert [d["weight"] for d in obj["spec"]["http"][0]["route"]] == [90, 10]
    finally:
        session.close()
