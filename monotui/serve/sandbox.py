"""What a session's child may see and use: a scrubbed environment and resource limits.

The child is `monotui demo` run by whoever asked over ssh, so it inherits nothing from the server:
no credentials in the environment, a throwaway HOME, bounded CPU, memory, files and processes,
and no core dumps.
"""

from __future__ import annotations

import fcntl
import os
import re
import resource
import termios
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import monotui

FALLBACK_TERM = "xterm-256color"
SANE_TERM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
"""What terminfo names look like; anything else from a client is not passed on."""
CHILD_PATH = "/usr/local/bin:/usr/bin:/bin"
PACKAGE_ROOT = str(Path(monotui.__file__).resolve().parent.parent)
"""Where `python -m monotui` finds the package, installed or not."""


COLORTERMS = frozenset({"truecolor", "24bit"})


def visitor_setting(name: str, value: str) -> str | None:
    """What the child gets of one variable the visitor's ssh sends (SendEnv, SetEnv), or None:
    only the terminal's colour depth (COLORTERM) and the wish for no colour (NO_COLOR, as
    no-color.org defines it), each as one of a few fixed values. Everything else (LD_PRELOAD,
    PYTHONPATH, LANG, ...) is refused, as sshd refuses what AcceptEnv does not name."""
    if name == "COLORTERM" and value.lower() in COLORTERMS:
        return value.lower()
    if name == "NO_COLOR" and value:
        return "1"
    return None


def child_env(
    term: str | None, home: str, visitor: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The whole environment of a session's child: nothing inherited from the server, and of the
    visitor's only what `visitor_setting` let through."""
    return {
        **(visitor or {}),
        "TERM": term if term and SANE_TERM.fullmatch(term) else FALLBACK_TERM,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PATH": CHILD_PATH,
        "HOME": home,
        # Over ssh every mouse move is traffic, and tracking breaks plain selection and copy.
        "MONOTUI_MOUSE": "off",
        "PYTHONPATH": PACKAGE_ROOT,
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits of one session's child (setrlimit values; see `limits_for`)."""

    cpu_s: int
    """CPU seconds; at the soft limit the child gets SIGXCPU, 5 s later SIGKILL."""
    address_space_bytes: int
    """Virtual memory: the demo maps ~650 MB (numpy, scipy, 7 threads' stacks) and touches ~135."""
    open_files: int = 256
    processes: int = 0
    """The user's whole process and thread count (RLIMIT_NPROC is per user); 0: leave as is.
    Root is exempt from it, so run the server as an unprivileged user to make it bite."""
    file_bytes: int = 16 * 2**20
    """Largest file the child may write (its HOME is a throwaway folder)."""

    def pairs(self) -> list[tuple[int, tuple[int, int]]]:
        """(resource, (soft, hard)) for setrlimit, never above the server's own hard limits."""
        wanted = [
            (resource.RLIMIT_CPU, self.cpu_s, self.cpu_s + 5),
            (resource.RLIMIT_AS, self.address_space_bytes, self.address_space_bytes),
            (resource.RLIMIT_NOFILE, self.open_files, self.open_files),
            (resource.RLIMIT_FSIZE, self.file_bytes, self.file_bytes),
            (resource.RLIMIT_CORE, 0, 0),
        ]
        if self.processes:
            wanted.append((resource.RLIMIT_NPROC, self.processes, self.processes))
        out = []
        for res, soft, hard in wanted:
            _, current_hard = resource.getrlimit(res)
            if current_hard != resource.RLIM_INFINITY:
                hard = min(hard, current_hard)
            out.append((res, (min(soft, hard), hard)))
        return out


def limits_for(session_s: float, max_sessions: int) -> Limits:
    """Limits for a session of `session_s` seconds on a server of `max_sessions` sessions.

    CPU: an idle cockpit uses ~10 % of a core; half a core on average over the whole session (at
    least a minute, for the start-up) leaves room for a busy one and stops a runaway.
    """
    return Limits(
        cpu_s=max(60, int(session_s * 0.5)),
        address_space_bytes=1536 * 2**20,
        processes=_user_tasks() + 64 * max_sessions if os.getuid() != 0 else 0,
    )


def _user_tasks() -> int:
    """Processes and threads of this user now: RLIMIT_NPROC counts them all, not the child's."""
    uid = os.getuid()
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(entry / "task"))
            except OSError:
                continue  # gone while we looked
    return count


def enter_sandbox(pairs: list[tuple[int, tuple[int, int]]]) -> None:
    """Run in the child between fork and exec (subprocess's preexec_fn, after setsid).

    The pty on fd 0 becomes the controlling terminal, so a window change on it reaches the demo
    as SIGWINCH; then the limits. Only system calls here: nothing that takes a lock.
    """
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    for res, values in pairs:
        resource.setrlimit(res, values)
