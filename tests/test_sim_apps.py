"""The demo's simulated apps (monotui.sim.apps): a client that hangs up before its answer (a probe
that timed out, the demo quitting) leaves no traceback on stderr, which is the demo's screen."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Mapping

import pytest

from monotui.sim.apps import VersionApp


def test_a_client_that_hangs_up_mid_answer_prints_nothing(
    capfd: pytest.CaptureFixture[str],
) -> None:
    gone = threading.Event()
    answered = threading.Event()

    handler: list[threading.Thread] = []

    def failing(headers: Mapping[str, str]) -> bool:
        handler.append(threading.current_thread())  # the thread that answers this request
        gone.wait(5)  # answer only once the client has reset the connection
        answered.set()
        return False

    app = VersionApp("v2", failing)
    try:
        host, port = app.url.removeprefix("http://").split(":")
        client = socket.create_connection((host, int(port)))
        client.sendall(b"GET /checkout HTTP/1.1\r\nHost: x\r\n\r\n")
        deadline = time.monotonic() + 5
        while not app.requests:
            assert time.monotonic() < deadline, "the app never saw the request"
            time.sleep(0.01)
        # Close with a reset (linger 0): the answer's write then fails on the server.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
        gone.set()
        assert answered.wait(5)
        # The handler's thread ends after its write failed and the error was handled.
        handler[0].join(5)
        assert not handler[0].is_alive(), "the handler never finished"
    finally:
        app.close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err, err
