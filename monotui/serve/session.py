"""One session's child: a process on its own pty, its bytes relayed without blocking the loop.

The pty master is non-blocking and watched by the event loop; the child's exit is watched through
a pidfd, so no thread waits on it. Output stops being read while the ssh side cannot take more,
which makes a slow link slow the child down instead of filling the server's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import subprocess
import termios
from collections.abc import Callable

from monotui.serve.sandbox import Limits, enter_sandbox

MAX_COLUMNS, MAX_ROWS = 500, 250
"""A client may claim any window size; rendering costs grow with it, so it is clamped."""
READ_CHUNK = 65536
DRAIN_AFTER_EXIT_S = 2.0
"""How long the last output of an exited child is read for at most."""
INPUT_BACKLOG_MAX = 65536
"""Keystrokes the child has not read yet; past this the caller should stop reading the client."""


def clamp_size(columns: int, rows: int) -> tuple[int, int]:
    """A window size the child is given: at least 1x1, at most MAX_COLUMNS x MAX_ROWS."""
    return max(1, min(columns, MAX_COLUMNS)), max(1, min(rows, MAX_ROWS))


class PtyChild:
    """A child process on a fresh pty: output to `on_output`, exit status to `on_exit`, once.

    `on_exit` is called after the child has exited and everything it wrote has been handed to
    `on_output`. The status is the exit code, or 128 + the signal number that ended it.
    """

    def __init__(
        self,
        argv: list[str],
        *,
        env: dict[str, str],
        cwd: str,
        size: tuple[int, int],
        limits: Limits,
        on_output: Callable[[bytes], None],
        on_exit: Callable[[int], None],
        on_input_drained: Callable[[], None] = lambda: None,
    ) -> None:
        self._argv, self._env, self._cwd, self._size = argv, env, cwd, clamp_size(*size)
        self._limits = limits
        self._on_output, self._on_exit, self._on_input_drained = (
            on_output,
            on_exit,
            on_input_drained,
        )
        self._loop = asyncio.get_running_loop()
        self._proc: subprocess.Popen[bytes] | None = None
        self._master = -1
        self._pidfd = -1
        self._input = bytearray()
        self._reading = False
        self._drained = False
        self._status: int | None = None
        self._reported = False
        self._kill_timer: asyncio.TimerHandle | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid (also its process group and session id), once started."""
        return self._proc.pid if self._proc else None

    @property
    def input_backlog(self) -> int:
        """Bytes written to the child that it has not read yet."""
        return len(self._input)

    def start(self) -> None:
        """Spawn the child. Raises OSError when it cannot be started."""
        master, slave = os.openpty()
        try:
            _set_size(slave, self._size)
            self._proc = subprocess.Popen(
                self._argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=self._env,
                cwd=self._cwd,
                close_fds=True,
                start_new_session=True,
                umask=0o077,
                preexec_fn=functools.partial(enter_sandbox, self._limits.pairs()),
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self._master = master
        os.set_blocking(master, False)
        self._pidfd = os.pidfd_open(self._proc.pid)
        self._loop.add_reader(self._pidfd, self._reap)
        self.resume_output()

    def write(self, data: bytes) -> None:
        """Keystrokes for the child; kept in order when its input queue is full."""
        if self._master < 0 or self._status is not None:
            return
        self._input += data
        self._flush_input()

    def resize(self, columns: int, rows: int) -> None:
        """The client's window changed: the kernel tells the child's process group (SIGWINCH)."""
        self._size = clamp_size(columns, rows)
        if self._master >= 0:
            _set_size(self._master, self._size)

    def pause_output(self) -> None:
        """Stop reading the child's output (the ssh side is full); the child blocks on writing."""
        if self._reading:
            self._loop.remove_reader(self._master)
            self._reading = False

    def resume_output(self) -> None:
        """Read the child's output again."""
        if not self._reading and not self._drained and self._master >= 0:
            self._loop.add_reader(self._master, self._read)
            self._reading = True

    def terminate(self, grace_s: float = 2.0) -> None:
        """SIGTERM to the child's process group, SIGKILL after `grace_s` if it is still there."""
        if self._proc is None or self._status is not None:
            return
        _signal_group(self._proc.pid, signal.SIGTERM)
        if self._kill_timer is None:
            self._kill_timer = self._loop.call_later(grace_s, self._kill)

    def _kill(self) -> None:
        if self._proc is not None and self._status is None:
            _signal_group(self._proc.pid, signal.SIGKILL)

    def _read(self) -> None:
        try:
            chunk = os.read(self._master, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""  # EIO: every process holding the pty's other end is gone
        if chunk:
            self._on_output(chunk)
            return
        self.pause_output()
        self._drained = True
        self._maybe_done()

    def _flush_input(self) -> None:
        try:
            written = os.write(self._master, self._input)
        except BlockingIOError:
            written = 0
        except OSError:
            self._input.clear()  # the child is gone; its exit reports the rest
            written = 0
        del self._input[:written]
        if self._input:
            self._loop.add_writer(self._master, self._flush_input)
        else:
            self._loop.remove_writer(self._master)
            self._on_input_drained()

    def _reap(self) -> None:
        assert self._proc is not None
        self._loop.remove_reader(self._pidfd)
        # Anything the demo left in its group would keep the pty open: it goes with the leader.
        _signal_group(self._proc.pid, signal.SIGKILL)
        code = self._proc.wait()
        self._status = code if code >= 0 else 128 - code
        if self._kill_timer is not None:
            self._kill_timer.cancel()
        self.resume_output()  # read what the child wrote last, whatever the ssh side said
        # Something outside the group may still hold the pty open; the session ends regardless.
        self._loop.call_later(DRAIN_AFTER_EXIT_S, self._stop_draining)
        self._maybe_done()

    def _stop_draining(self) -> None:
        if not self._drained:
            self.pause_output()
            self._drained = True
            self._maybe_done()

    def _maybe_done(self) -> None:
        if self._status is None or not self._drained or self._reported:
            return
        self._reported = True
        self._close()
        self._on_exit(self._status)

    def _close(self) -> None:
        self._loop.remove_writer(self._master)
        os.close(self._master)
        os.close(self._pidfd)
        self._master = self._pidfd = -1


def _set_size(fd: int, size: tuple[int, int]) -> None:
    columns, rows = size
    termios.tcsetwinsize(fd, (rows, columns))


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(pgid, sig)
