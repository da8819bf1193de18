"""Drive `monotui serve-demo` with the real OpenSSH client, as a visitor would: ssh on a pty.

`DemoHostProcess` runs the server as a subprocess on a free loopback port and collects its log
lines; `SshTerminal` runs `ssh -tt` on a pty of its own and reads what it draws. Every wait is a
wait for something to appear, with a deadline; nothing sleeps.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.screen_replay import TmuxScreen

ROOT = Path(__file__).resolve().parent.parent
SSH = shutil.which("ssh") or "ssh"
SFTP = shutil.which("sftp") or "sftp"
LISTENING = re.compile(r"listening on \S+:(\d+)")
COCKPIT = rb"checkout"
"""A row of the demo's fleet screen: the world was built, polled and drawn."""
HELP = rb"Panels"
"""A heading of the help screen."""
SECRET = "hunter2-not-for-visitors"
"""In the server's environment; never in a session's."""


class DemoHostProcess:
    """`monotui serve-demo --ssh 127.0.0.1:0` as a subprocess; its stdout kept line by line."""

    def __init__(self, host_key: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        argv = [sys.executable, "-m", "monotui", "serve-demo", "--ssh", "127.0.0.1:0"]
        argv += ["--host-key", str(host_key), *extra]
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env or dict(os.environ),
        )
        self.lines: list[str] = []
        self.tmp: Path | None = None
        """The server's TMPDIR, where a test gave it one."""
        self._done = False
        self._changed = threading.Condition()
        threading.Thread(target=self._collect, daemon=True).start()
        self.port = int(self.wait_for_line(LISTENING.pattern).group(1)) if self._alive() else 0

    def _alive(self) -> bool:
        return self.proc.poll() is None

    def _collect(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._done = True
            self._changed.notify_all()

    def wait_for_line(self, pattern: str, timeout_s: float = 30.0) -> re.Match[str]:
        """The first log line matching `pattern`, waiting for it until the deadline."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for line in self.lines:
                    if found := re.search(pattern, line):
                        return found
                left = deadline - time.monotonic()
                if left <= 0 or self._done:
                    raise AssertionError(
                        f"no log line matching {pattern!r}; lines: {self.lines!r}; "
                        f"stderr: {self._stderr_tail()!r}"
                    )
                self._changed.wait(left)

    def _stderr_tail(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read().decode("utf-8", "replace")[-2000:]

    def children(self) -> list[int]:
        """Pids of the server's child processes (the sessions' demos)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                found.append(int(entry.name))
        return sorted(found)

    def stop(self, timeout_s: float = 20.0) -> int:
        """SIGTERM, and the exit code once it has gone."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("serve-demo did not stop on SIGTERM") from None


def client_key(folder: Path) -> Path:
    """A throwaway ed25519 key pair for the client, made with ssh-keygen."""
    key = folder / "id_ed25519"
    if not key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
            check=True,
            capture_output=True,
        )
    return key


def ssh_argv(
    port: int,
    key: Path,
    *args: str,
    user: str | None = None,
    config: str = "/dev/null",
    host: str = "127.0.0.1",
    program: str = SSH,
) -> list[str]:
    """ssh (or sftp) to the demo host: no user config, no known_hosts, the throwaway key."""
    target = f"{user}@{host}" if user else host
    port_flag = "-P" if Path(program).name == "sftp" else "-p"
    options = ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"]
    options += ["IdentitiesOnly=yes", "ConnectTimeout=20"]
    # `args` first: for an option given twice, ssh keeps the first.
    argv = [program, *args, "-F", config, port_flag, str(port), "-i", str(key)]
    for option in options:
        argv += ["-o", option]
    return [*argv, target]


def client_env(home: Path, **extra: str) -> dict[str, str]:
    """A visitor's environment: its own HOME, an ordinary terminal."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        **extra,
    }


def _take_terminal() -> None:
    # The pty becomes ssh's controlling terminal: a size change reaches it as SIGWINCH.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class SshTerminal:
    """A program (ssh) on a pty of `size` whose output is collected by a thread."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], size: tuple[int, int]) -> None:
        self.master, slave = os.openpty()
        termios.tcsetwinsize(slave, (size[1], size[0]))
        self.proc = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
        os.close(slave)
        self.size = size
        self._screen: TmuxScreen | None = None
        self.output = bytearray()
        self._changed = threading.Condition()
        self._eof = False
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                chunk = b""
            with self._changed:
                if not chunk:
                    self._eof = True
                    self._changed.notify_all()
                    return
                self.output += chunk
                self._changed.notify_all()

    @property
    def mark(self) -> int:
        """Where the output is now: expect(..., after=mark) looks only at what comes later."""
        with self._changed:
            return len(self.output)

    def expect(self, pattern: bytes, timeout_s: float = 40.0, after: int = 0) -> re.Match[bytes]:
        """The first match of the regex `pattern` in the output after `after`, waited for."""
        deadline = time.monotonic() + timeout_s
        compiled = re.compile(pattern)
        with self._changed:
            while True:
                if found := compiled.search(self.output, after):
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:
                    tail = bytes(self.output[-1500:])
                    raise AssertionError(f"{pattern!r} never appeared; output tail: {tail!r}")
                self._changed.wait(left)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def screen_text(self) -> str:
        """What a terminal of this size shows now (tmux plays the output so far): the cockpit
        sends only the cells that change, so a value that changed in place is in no byte run."""
        if self._screen is None:
            self._screen = TmuxScreen(self.size)
        with self._changed:
            stream = bytes(self.output)
        return self._screen.text(stream)

    def expect_screen(self, pattern: str, timeout_s: float = 40.0) -> re.Match[str]:
        """The first match of the regex `pattern` on the screen, waited for."""
        deadline = time.monotonic() + timeout_s
        while True:
            text = self.screen_text()
            if found := re.search(pattern, text):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} never appeared on the screen: {text!r}")
            with self._changed:  # the next output, not a timed sleep
                self._changed.wait(0.5)

    def resize(self, columns: int, rows: int) -> None:
        termios.tcsetwinsize(self.master, (rows, columns))

    def wait_exit(self, timeout_s: float = 40.0) -> int:
        """ssh's exit status, once it has exited and its last output has been read."""
        code = self.proc.wait(timeout_s)
        with self._changed:
            self._changed.wait_for(lambda: self._eof, timeout_s)
        return code

    def text(self) -> str:
        with self._changed:
            return self.output.decode("utf-8", "replace")

    def close(self) -> None:
        if self._screen is not None:
            self._screen.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with self._changed:  # the reader has seen the end before its fd goes
            self._changed.wait_for(lambda: self._eof, 10)
        os.close(self.master)


def loopback_client(number: int) -> str:
    """A distinct client address on loopback (127.0.0.N), for per-client caps."""
    return f"127.0.0.{number}"


# Fixtures shared by the test_serve_ssh* modules (each imports them: one server per module).


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("visitor")


@pytest.fixture(scope="module")
def key(home: Path) -> Path:
    return client_key(home)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHostProcess]:
    folder = tmp_path_factory.mktemp("host")
    (folder / "tmp").mkdir()
    env = {
        **os.environ,
        "MONOTUI_TEST_SECRET": SECRET,
        "SSH_AUTH_SOCK": "/nonexistent",
        "TMPDIR": str(folder / "tmp"),
    }
    server = DemoHostProcess(
        folder / "host_key", "--max-sessions", "6", "--max-per-client", "6", env=env
    )
    server.tmp = folder / "tmp"
    yield server
    assert server.stop() == 0
    server.wait_for_line(r"serve-demo: stopped")


def open_cockpit(
    host: DemoHostProcess,
    key: Path,
    home: Path,
    *args: str,
    user: str | None = None,
    size: tuple[int, int] = (100, 30),
    env: dict[str, str] | None = None,
) -> SshTerminal:
    term = SshTerminal(
        ssh_argv(host.port, key, "-tt", *args, user=user), env or client_env(home), size
    )
    term.expect(COCKPIT)
    return term


def child_of(host: DemoHostProcess, before: list[int]) -> int:
    (pid,) = sorted(set(host.children()) - set(before))
    return pid
