"""A webhook URL is a secret, and so is each credential in it: a receiver that fails and echoes
one of them alone ("invalid token abc", a Teams workflow's `sig`, a Slack hook's key) does not
bring it to the cockpit's sources panel, `status` or the log; and a URL whose path is just "/"
leaves the slashes of an error text alone."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.notify_helpers import notified, rollback, sink
from tests.notify_receiver import Answer, receiving

SIG = "Zq3xK9pLm2Vb7Nc4Rt8Yw1Ds6Fg0Hj5"
CASES = [
    ("/hooks/monotui?token=s3cret-value", "s3cret-value"),
    (
        "/workflows/4f1c/triggers/manual/paths/invoke?api-version=1"
        f"&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}",
        SIG,
    ),
    ("/services/T000/B000/" + "X" * 24, "X" * 24),
]


@pytest.mark.parametrize("status", [500, 400])
@pytest.mark.parametrize(("path", "secret"), CASES)
def test_a_failing_receiver_echoing_a_credential_does_not_show_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, status: int, path: str, secret: str
) -> None:
    said = f"invalid credential {secret} (was it rotated?)".encode()
    with receiving(lambda got: Answer(status, {"Content-Type": "text/plain"}, said)) as rx:
        settings = sink(tmp_path, rx.url + path, kind="webhook", failing_after=1)
        with (
            caplog.at_level(logging.DEBUG, logger="monotui"),
            notified([settings], None, max_backoff_s=0.05) as (demo, notifier),
        ):
            rollback(demo)
            rx.wait_for(1)
            notifier.flush(0.5)
            courier = notifier.sinks[0].courier
            source = demo.rollout("checkout").snapshot().source("notify webhook")
            shown = [courier.problem or "", source.message if source else "", caplog.text]
    assert "invalid credential *** (was it rotated?)" in "\n".join(shown)
    assert all(secret not in text for text in shown)


def test_a_url_whose_path_is_a_slash_keeps_the_slashes_of_an_error(tmp_path: Path) -> None:
    said = b"upstream http://10.0.0.1/api/v1 failed"
    with receiving(lambda got: Answer(503, {"Content-Type": "text/plain"}, said)) as rx:
        settings = sink(tmp_path, rx.url + "/", kind="webhook", failing_after=1)
        with notified([settings], None, max_backoff_s=0.05) as (demo, notifier):
            rollback(demo)
            rx.wait_for(1)
            notifier.flush(0.3)
            problem = notifier.sinks[0].courier.problem or ""
    assert "upstream http://10.0.0.1/api/v1 failed" in problem


def test_a_redirect_is_not_followed_so_the_payload_and_url_stay_with_their_host(
    tmp_path: Path,
) -> None:
    with receiving() as elsewhere:
        to = {"Location": f"{elsewhere.url}/collect?token=s3cret-value"}
        with receiving(lambda got: Answer(307, to, b"moved")) as rx:
            settings = sink(tmp_path, rx.url + CASES[0][0], kind="webhook", failing_after=1)
            with notified([settings], None, max_backoff_s=0.05) as (demo, notifier):
                rollback(demo)
                rx.wait_for(2)  # tried again, never elsewhere
                courier = notifier.sinks[0].courier
                problem, queued = courier.problem or "", len(courier.spool)
    assert elsewhere.requests == []
    assert "answered a redirect (HTTP 307), not followed" in problem and "s3cret" not in problem
    assert queued == 1  # kept for when the URL is right again
