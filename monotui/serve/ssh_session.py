"""One session channel of the demo host: its requests, its child, and how it ends.

A pty request, then a shell or a demo command, then `monotui demo` on its own pty (session.py),
its output read only as fast as the visitor takes it, and one log line when it is over.
"""

from __future__ import annotations

import asyncio
import codecs
import shutil
import tempfile
from datetime import UTC, datetime
from typing import Protocol

import asyncssh
from asyncssh.packet import SSHPacket

from monotui.serve.choices import Choice, RefusedChoice, choose, usage
from monotui.serve.logline import SessionRecord
from monotui.serve.policy import DemoHost
from monotui.serve.sandbox import child_env, visitor_setting
from monotui.serve.session import INPUT_BACKLOG_MAX, PtyChild
from monotui.terminal import DUMB_TERMS

TIME_LIMIT_STATUS = 124
"""Exit status of a session the host ended at its time limit (as timeout(1) does)."""
TERMINAL_RESET = (
    b"\x18"  # cancels an escape sequence the killed child may have left half-written
    b"\x1b[0m\x1b[?25h\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1004l\x1b[?2004l"
    b"\x1b[<u\x1b[?1049l"
)
"""What the demo turned on (mouse, focus, paste, kitty keys, alternate screen) turned off again."""


class Connection(Protocol):
    """What a session needs of its connection (ssh_server.DemoConnection)."""

    host: DemoHost
    client: str
    """host:port, for the log line."""
    client_host: str
    """What the per-client caps count by."""
    username: str
    transport_full: bool
    """The socket takes no more for now: the child's output waits."""

    def channel_opened(self, session: DemoSession) -> None: ...

    def channel_closed(self, session: DemoSession) -> None: ...


class DemoSession(asyncssh.SSHServerSession[bytes]):
    """One session channel: a pty request, then a shell or a demo command, then the demo."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.host = connection.host
        self.record = SessionRecord(
            started=datetime.now(UTC), client=connection.client, username=connection.username
        )
        self._chan: asyncssh.SSHServerChannel[bytes] | None = None
        self._size: tuple[int, int] | None = None
        self._choice: Choice | None = None
        self._refusal: RefusedChoice | None = None
        self._child: PtyChild | None = None
        self._home: str | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._holds_slot = False
        self._finished = False
        self._reading_paused = False
        self._channel_full = False
        self._start_deadline: asyncio.TimerHandle | None = None
        self._visitor_env: dict[str, str] = {}
        # Textual's input thread decodes strict UTF-8 and dies on one stray byte (a Latin-1
        # terminal's é, a C1 control), ending the demo with a traceback (Textualize/textual
        # #6456): what reaches the child is valid UTF-8, a bad byte becomes U+FFFD.
        self._keys = codecs.getincrementaldecoder("utf-8")("replace")

    # --- the client's requests ---------------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self._chan = chan
        # asyncssh keeps every env request, any number of any size (SSHServerChannel.
        # _process_env_request): a client could fill the server's memory with them. Its channel
        # dispatches each request to the `_process_<name>_request` attribute: this one keeps
        # what the child may have and nothing else.
        setattr(chan, "_process_env_request", self._env_requested)  # noqa: B010
        self.host.live.add(self)
        self.host.all_gone.clear()
        self.connection.channel_opened(self)
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.host.settings.session_s, self.stop, "time-limit")
        # A channel that asks for nothing holds memory and keeps its connection open.
        self._start_deadline = loop.call_later(self.host.settings.idle_s, self._never_started)

    def pty_requested(
        self, term_type: str, term_size: tuple[int, int, int, int], term_modes: object
    ) -> bool:
        self.record.term = term_type
        self._size = (term_size[0] or 80, term_size[1] or 24)
        return True

    def _env_requested(self, packet: SSHPacket) -> bool:
        name, value = packet.get_string(), packet.get_string()
        packet.check_end()
        try:
            setting = visitor_setting(name.decode("ascii"), value.decode("ascii"))
        except UnicodeDecodeError:
            return False
        if setting is None:
            return False
        self._visitor_env[name.decode("ascii")] = setting
        return True

    def shell_requested(self) -> bool:
        return self._requested(None)

    def exec_requested(self, command: str) -> bool:
        self.record.command = command
        return self._requested(command)

    def subsystem_requested(self, subsystem: str) -> bool:
        self.record.ended = "refused:subsystem"
        self.record.command = f"subsystem {subsystem}"
        return False  # SFTP and every other subsystem

    def _requested(self, command: str | None) -> bool:
        # Accepted either way: a refusal is a message and an exit status, not a bare failure.
        try:
            self._choice = choose(self.connection.username, command, self.host.port)
            self.record.scenario = self._choice.scenario
        except RefusedChoice as refusal:
            self._refusal = refusal
        return True

    def session_started(self) -> None:
        if self._start_deadline is not None:
            self._start_deadline.cancel()
            self._start_deadline = None
        if self._refusal is not None:
            tag = "help" if self._refusal.exit_status == 0 else "refused:command"
            self._refuse(tag, str(self._refusal), self._refusal.exit_status)
            return
        if self._size is None or self._choice is None:
            self._refuse(
                "refused:no-pty",
                f"the cockpit needs a terminal (add -t); {usage(self.host.port)}",
                2,
            )
            return
        if (self.record.term or "").strip().lower() in DUMB_TERMS:
            # The demo would say to run `monotui demo --headless`, which a visitor cannot here.
            self._refuse(
                "refused:dumb-terminal",
                "TERM=dumb cannot show the cockpit: ssh from a terminal such as xterm, "
                "or name one: TERM=xterm-256color ssh -t ...",
                2,
            )
            return
        full = self.host.sessions.take(self.connection.client_host)
        if full == "total":
            self._refuse(
                "refused:session-cap",
                f"all {self.host.settings.max_sessions} demo sessions are taken; "
                "try again in a few minutes",
                1,
            )
            return
        if full == "per-client":
            self._refuse(
                "refused:per-client-cap",
                f"{self.host.settings.max_per_client} demo sessions from your address are "
                "already running; close one first",
                1,
            )
            return
        self._holds_slot = True
        self._start_child(self._choice, self._size)

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if self._child is None or self._chan is None:
            return
        self._child.write(self._keys.decode(data).encode())
        if self._child.input_backlog > INPUT_BACKLOG_MAX and not self._reading_paused:
            self._chan.pause_reading()
            self._reading_paused = True

    def eof_received(self) -> bool:
        return True  # the cockpit runs on until it quits, the client leaves or time is up

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        if self._size is None:
            return  # asyncssh passes a window change on without a pty; it makes none
        self._size = (width or 80, height or 24)
        if self._child is not None:
            self._child.resize(*self._size)

    def pause_writing(self) -> None:
        self._channel_full = True
        self.output_may_flow()

    def resume_writing(self) -> None:
        self._channel_full = False
        self.output_may_flow()

    def output_may_flow(self) -> None:
        """Read the child's output only while both the channel and the socket take more: a slow
        or stalled client slows its own demo down instead of filling the server's memory."""
        if self._child is None:
            return
        if self._channel_full or self.connection.transport_full:
            self._child.pause_output()
        else:
            self._child.resume_output()

    def connection_lost(self, exc: Exception | None) -> None:
        self._chan = None
        if self._child is not None and self.record.status is None:
            if self.record.ended == "running":
                self.record.ended = "disconnected"
            self._child.terminate()  # _child_exited finishes the session
        else:
            self._finish()

    # --- the host's side ---------------------------------------------------------------------

    def _never_started(self) -> None:
        self._start_deadline = None
        if self._chan is not None:
            self.record.ended = "refused:no-request"
            self._chan.close()

    def stop(self, reason: str = "server-stopped") -> None:
        """End this session: its child first, then the channel with a message."""
        if self._child is not None and self.record.status is None:
            if self.record.ended == "running":
                self.record.ended = reason
            self._child.terminate()
        elif self._chan is not None:
            self.record.ended = reason
            self._chan.close()

    def _start_child(self, choice: Choice, size: tuple[int, int]) -> None:
        self._home = tempfile.mkdtemp(prefix="monotui-ssh-")
        child = PtyChild(
            self.host.settings.child_argv(choice),
            env=child_env(self.record.term, self._home, self._visitor_env),
            cwd=self._home,
            size=size,
            limits=self.host.limits,
            on_output=self._child_output,
            on_exit=self._child_exited,
            on_input_drained=self._input_drained,
        )
        try:
            child.start()
        except OSError:
            self._refuse("error:spawn", "the demo could not start; try again later", 1)
            return
        self._child = child
        self.record.child_pid = child.pid
        self.record.ended = "running"
        self.output_may_flow()

    def _child_output(self, data: bytes) -> None:
        if self._chan is not None:
            self._chan.write(data)

    def _input_drained(self) -> None:
        if self._reading_paused and self._chan is not None:
            self._chan.resume_reading()
            self._reading_paused = False

    def _child_exited(self, status: int) -> None:
        self.record.status = status
        if self.record.ended == "running":
            self.record.ended = "quit"
        if self._chan is not None:
            if self.record.ended == "time-limit":
                minutes = self.host.settings.session_s / 60
                self._say(
                    f"this session reached its {minutes:g}-minute limit; "
                    "ssh in again for a fresh demo",
                    reset=True,
                )
                status = TIME_LIMIT_STATUS
            elif self.record.ended == "server-stopped":
                self._say("the demo host is shutting down; thank you for visiting", reset=True)
            self._chan.exit(status)
        self._finish()

    def _refuse(self, tag: str, message: str, status: int) -> None:
        self.record.ended = tag
        if self._chan is not None:
            self._say(message)
            self._chan.exit(status)

    def _say(self, message: str, *, reset: bool = False) -> None:
        assert self._chan is not None
        text = f"monotui demo host: {message}\r\n".encode()
        self._chan.write_stderr((TERMINAL_RESET + b"\r\n" if reset else b"") + text)

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        for timer in (self._timer, self._start_deadline):
            if timer is not None:
                timer.cancel()
        self.connection.channel_closed(self)
        if self._holds_slot:
            self.host.sessions.give_back(self.connection.client_host)
            self._holds_slot = False
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
        self.host.live.discard(self)
        if not self.host.live:
            self.host.all_gone.set()
        self.host.log(self.record.line(datetime.now(UTC)))
