"""A real HTTP receiver on 127.0.0.1 for the notification tests: it records every POST (path,
query, headers, JSON body) and answers what the test scripted (status, headers, body), in order,
then 200. `down()` closes the socket (connections are refused) and `up()` opens the same port
again, so a sink can be down for a while and come back."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = b"ok"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class Receiver:
    """The receiver's state; `url` is its base (http://127.0.0.1:PORT)."""

    def __init__(self, respond: Callable[[Received], Answer] | None = None) -> None:
        self.requests: list[Received] = []
        self.script: deque[Answer] = deque()
        self.respond = respond
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port: int = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.body for r in self.requests]

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Received]:
        """The first `count` requests, once they came (AssertionError at the deadline)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests[:count])
            time.sleep(0.01)
        raise AssertionError(f"{len(self.requests)} requests came, not {count}")

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw
                parts = urlsplit(self.path)
                got = Received(
                    parts.path,
                    dict(parse_qsl(parts.query)),
                    dict(self.headers),
                    body,
                    time.monotonic(),
                )
                answer = receiver._answer(got)
                data = answer.body
                if not isinstance(data, bytes):
                    data = json.dumps(data).encode()
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _answer(self, got: Received) -> Answer:
        with self._lock:
            self.requests.append(got)
            if self.script:
                return self.script.popleft()
        return self.respond(got) if self.respond else Answer()


@contextmanager
def receiving(respond: Callable[[Received], Answer] | None = None) -> Iterator[Receiver]:
    """A receiver listening until the block ends."""
    receiver = Receiver(respond)
    receiver.up()
    try:
        yield receiver
    finally:
        receiver.down()


def discord_webhook(got: Received) -> Answer:
    """Answers as Discord's execute webhook does: 400 "Invalid Form Body" (code 50035) past one of
    its documented limits, else 204."""
    body = got.body if isinstance(got.body, dict) else {}
    embeds = body.get("embeds", [])
    problems = []
    if len(body.get("content", "")) > 2000:
        problems.append("content")
    if len(embeds) > 10:
        problems.append("embeds")
    total = 0
    for e in embeds:
        footer = e.get("footer", {}).get("text", "")
        fields = e.get("fields", [])
        if len(e.get("title", "")) > 256 or len(e.get("description", "")) > 4096:
            problems.append("embed title or description")
        if len(footer) > 2048 or len(fields) > 25:
            problems.append("embed footer or fields")
        if any(len(f["name"]) > 256 or len(f["value"]) > 1024 for f in fields):
            problems.append("embed field")
        total += len(e.get("title", "")) + len(e.get("description", "")) + len(footer)
        total += sum(len(f["name"]) + len(f["value"]) for f in fields)
    if total > 6000:
        problems.append("embeds total")
    if problems:
        return Answer(400, {}, {"code": 50035, "message": f"Invalid Form Body: {problems}"})
    return Answer(204, {}, b"")


def teams_workflow(got: Received) -> Answer:
    """Answers as a Teams Workflows webhook does: 413 past 28 KB counted as UTF-16, else 202."""
    if len(json.dumps(got.body).encode("utf-16-le")) > 28 * 1024:
        return Answer(413, {}, {"error": {"code": "MessageSizeTooBig"}})
    return Answer(202, {}, b"")


def slack_blocks_problem(body: Any) -> str | None:
    """What Slack refuses in a message's blocks: Block Kit's documented limits, and blocks of
    more than about 13,000 characters in all (msg_blocks_too_long, slackapi/bolt-js#2509)."""
    blocks = body.get("blocks", []) if isinstance(body, dict) else []
    if len(blocks) > 50 or len(json.dumps(blocks)) > 13_000:
        return "msg_blocks_too_long"
    for b in blocks:
        text = b.get("text", {}).get("text", "")
        if b["type"] == "header" and len(text) > 150:
            return "invalid_blocks"
        if len(text) > 3000 or any(len(f["text"]) > 2000 for f in b.get("fields", [])):
            return "invalid_blocks"
    return None


def slack_webhook(got: Received) -> Answer:
    """Answers as a Slack incoming webhook does: 400 with the error's name, else 200 "ok"."""
    problem = slack_blocks_problem(got.body)
    return Answer(400, {}, problem.encode()) if problem else Answer(200, {}, b"ok")
