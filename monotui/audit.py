"""The audit log, written ahead: an intent line before every write, an outcome line after it.

`intent()` records what is about to be done and returns its id; only when that line is on disk
(one complete JSON line, fsynced) may the write go out: when it cannot be recorded, `intent()`
raises `AuditError` and the caller must not write. `outcome()` records what happened. A process
killed between the two leaves a complete intent with no outcome, which `read_audit` reports as
"uncertain". `record()` writes intent and outcome as one line, for callers not converted yet.

Each line is appended with one loop of `os.write` under an exclusive `flock` (other monotui
processes share the file); a write that fails part-way (a full disk) is cut back to where the
line began, so the file never keeps half a line of ours, and `AuditError` is raised. A line left
torn by a crash elsewhere is closed before ours starts.

Lines are JSON with `ensure_ascii=True`: no raw U+2028, U+0085 or C1 byte can reach a terminal
that shows the file. Prose fields (message, reason, ...) pass through `outside_text.literal`;
known secrets and credentials in URLs are redacted in every field.

`AuditError` exits with code 4, like the other refusals of a write (read-only, RBAC): nothing was
changed because a precondition of writing was not met.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import getpass
import json
import math
import os
import secrets as token
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monotui.errors import MonotuiError
from monotui.outside_text import literal, redact, redact_urls_in

MEMORY_RECORDS = 1000
RESULTS = ("ok", "refused", "failed", "uncertain")
# Fields that are sentences (ours or the outside world's), shown to people as they are.
PROSE_FIELDS = frozenset({"message", "reason", "error", "detail", "note"})
PROSE_MAX = 2000
MIN_FREE_BYTES = 16 * 1024  # check() calls a disk with less than this full: a few records
UNCERTAIN = "uncertain: the process died between intent and outcome"
_OURS = ("time", "phase", "id")

Writer = Callable[[int, memoryview], int]


class _Unusable(Exception):
    """The log cannot be opened; the message says why, in words."""


class AuditError(MonotuiError):
    """The audit log could not record a line; when it was an intent, nothing was changed."""

    exit_code = 4


def default_path() -> Path:
    """$XDG_STATE_HOME/monotui/audit.jsonl."""
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "monotui" / "audit.jsonl"


def local_user() -> str:
    """The login name of this process, or uid:N when it has none."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


class AuditLog:
    """Appends audit records; `path=None` keeps them in memory only (tests, demo without a file).

    `secrets` (tokens, passwords) are replaced by *** wherever they appear in a record.
    `writer` replaces `os.write` (tests inject short and failing writes with it).
    Thread-safe; several processes may share one file.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        user: str | None = None,
        secrets: Iterable[str] = (),
        writer: Writer | None = None,
    ) -> None:
        self.path = path
        self.user = user or local_user()
        self._secrets = tuple(s for s in secrets if s)
        self._write: Writer = writer or os.write
        self._lock = threading.Lock()
        # The newest records, for the demo (no file) and tests; the file holds them all.
        self.records: deque[dict[str, Any]] = deque(maxlen=MEMORY_RECORDS)

    def intent(self, **fields: Any) -> str:
        """Record what is about to be done; returns its id for `outcome`.

        Raises AuditError when the line cannot be recorded: the caller must then not write.
        """
        intent_id = token.token_hex(8)
        self._append("intent", intent_id, {"pid": os.getpid(), **fields})
        return intent_id

    def outcome(self, intent_id: str, *, result: str, **fields: Any) -> dict[str, Any]:
        """Record how the intent `intent_id` ended: result ok, refused, failed or uncertain.

        Raises AuditError when the line cannot be recorded; the action has happened (or not)
        regardless, and the intent on disk says it was about to.
        """
        if result not in RESULTS:
            raise ValueError(f"result must be one of {', '.join(RESULTS)}, not {result!r}")
        return self._append("outcome", intent_id, {"result": result, **fields})

    def record(self, **fields: Any) -> dict[str, Any]:
        """Intent and outcome as one line, for callers not yet converted; returns what was
        written. Raises AuditError when it cannot be recorded."""
        return self._append("intent+outcome", token.token_hex(8), fields)

    def scrub(self, text: str) -> str:
        """`text` with credentials in URLs and the known secrets replaced by ***: for text that
        leaves the process elsewhere (the paused-by annotation) and must not carry them."""
        return redact(redact_urls_in(text), self._secrets)

    def check(self) -> str:
        """Whether records can be written here, as one line for `check-config`.

        Creates the folder and the file when missing (as the first record would). Raises
        AuditError with the reason: a directory, a folder that cannot be created, a read-only
        or unwritable place, a full disk.
        """
        if self.path is None:
            return "audit log: kept in memory only"
        path = self.path
        if path.is_dir():
            raise AuditError(f"audit log {_shown(path)} is a directory: set [audit] path to a file")
        try:
            fd = self._open()
        except _Unusable as exc:
            raise AuditError(f"audit log {_shown(path)}: {exc}") from None
        try:
            disk = os.fstatvfs(fd)
        finally:
            os.close(fd)
        free = disk.f_bavail * disk.f_frsize
        if free < MIN_FREE_BYTES:
            raise AuditError(
                f"audit log {_shown(path)}: the disk is full ({free} bytes free): free space "
                "or set [audit] path elsewhere; every write would be refused"
            )
        return f"audit log {_shown(path)} is writable ({_size(free)} free)"

    # --- writing --------------------------------------------------------------------------------

    def _append(self, phase: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        for key in _OURS:
            if key in fields:
                raise ValueError(f"the audit log sets {key!r} itself")
        entry: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "user": fields.pop("user", self.user),
            "phase": phase,
            "id": record_id,
        }
        entry.update({key: self._clean(key, value) for key, value in fields.items()})
        line = (json.dumps(entry, ensure_ascii=True, default=str) + "\n").encode("ascii")
        with self._lock:
            if self.path is not None:
                self._write_line(line, phase)
            self.records.append(entry)
        return entry

    def _write_line(self, line: bytes, phase: str) -> None:
        assert self.path is not None
        try:
            fd = self._open()
        except _Unusable as exc:
            raise self._failed(phase, str(exc)) from None
        try:
            with contextlib.suppress(OSError):  # no lock support (some network file systems)
                fcntl.flock(fd, fcntl.LOCK_EX)
            start = os.fstat(fd).st_size
            if start and os.pread(fd, 1, start - 1) != b"\n":
                line = b"\n" + line  # a torn line from a crash: ours starts on a fresh one
            view = memoryview(line)
            while view:
                try:
                    written = self._write(fd, view)
                except OSError as exc:
                    self._cut_back(fd, start)
                    raise self._failed(phase, self._why(exc)) from None
                if written <= 0:
                    self._cut_back(fd, start)
                    done = len(line) - len(view)
                    raise self._failed(phase, f"the disk took {done} of {len(line)} bytes")
                view = view[written:]
            try:
                os.fsync(fd)
            except OSError as exc:
                self._cut_back(fd, start)
                raise self._failed(phase, self._why(exc)) from None
        finally:
            os.close(fd)  # releases the lock

    def _open(self) -> int:
        """The log opened for appending, its folder made if missing; _Unusable says why not."""
        assert self.path is not None
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise _Unusable(f"its folder {_shown(folder)} is not a folder") from None
        except OSError as exc:
            raise _Unusable(f"its folder cannot be created: {self._why(exc)}") from None
        try:
            return os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise _Unusable(self._why(exc)) from None

    @staticmethod
    def _cut_back(fd: int, start: int) -> None:
        # Best effort: if even this fails, the reader skips the torn line and the next record
        # starts on a line of its own.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, start)
            os.fsync(fd)

    def _failed(self, phase: str, why: str) -> AuditError:
        where = f"the audit log {_shown(self.path)}"
        if phase == "intent":
            return AuditError(
                f"cannot record the intent in {where} ({why}); nothing was changed: fix [audit] "
                "path or free the disk, then try again"
            )
        if phase == "outcome":
            return AuditError(
                f"the action ran but its outcome could not be recorded in {where} ({why}); its "
                "intent is recorded: check the resource to see its state"
            )
        return AuditError(f"cannot record the action in {where} ({why})")

    def _why(self, exc: OSError) -> str:
        code = exc.errno
        if isinstance(exc, IsADirectoryError):
            return "it is a directory: set [audit] path to a file"
        if code in (errno.EACCES, errno.EPERM):
            return f"{self.user} may not write there: {exc.strerror}"
        if code == errno.EROFS:
            return "it is on a read-only file system"
        if code in (errno.ENOSPC, errno.EDQUOT):
            return f"the disk is full: {exc.strerror}"
        return exc.strerror or str(exc)

    def _clean(self, key: str, value: Any, depth: int = 0) -> Any:
        """What is stored for one field: prose made literal, secrets redacted, no NaN."""
        if isinstance(value, str):
            text = redact(redact_urls_in(value), self._secrets)
            return literal(text, max_len=PROSE_MAX) if key in PROSE_FIELDS else text
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)  # NaN/Infinity are not JSON
        if depth < 16 and isinstance(value, dict):
            return {str(k): self._clean(str(k), v, depth + 1) for k, v in value.items()}
        if depth < 16 and isinstance(value, list | tuple):
            return [self._clean(key, v, depth + 1) for v in value]
        return value


# --- reading ------------------------------------------------------------------------------------


def read_audit(path: Path) -> Iterator[dict[str, Any]]:
    """Every action in the log once, in the order its first line was written.

    An intent and its outcome come as one record (phase "paired": the intent's fields, then the
    outcome's, with `outcome_time`); an intent whose outcome never came has result "uncertain"
    and a note (the process died, or is still running); one-line records (and lines from before
    the write-ahead log) come as they are. A torn last line (a crash mid-write) is skipped; an
    unreadable line elsewhere comes as {"phase": "unreadable", "line": N}.
    """
    queue: dict[str, dict[str, Any]] = {}  # record key -> record, in file order
    waiting: set[str] = set()  # keys of intents still without an outcome
    serial = 0
    with path.open("rb") as lines:
        previous: tuple[int, bytes] | None = None
        for number, raw in enumerate(lines, start=1):
            if previous is not None:
                serial = _take(*previous, False, queue, waiting, serial)
            previous = (number, raw)
            yield from _ready(queue, waiting)
        if previous is not None:
            serial = _take(*previous, True, queue, waiting, serial)
    for key in waiting:
        queue[key]["result"] = "uncertain"
        queue[key]["note"] = UNCERTAIN
    waiting.clear()
    yield from _ready(queue, waiting)


def _take(
    number: int,
    raw: bytes,
    last: bool,
    queue: dict[str, dict[str, Any]],
    waiting: set[str],
    serial: int,
) -> int:
    serial += 1
    try:
        entry = json.loads(raw)
    except ValueError:
        if not last and raw.strip():
            queue[f"#{serial}"] = {"phase": "unreadable", "line": number}
        return serial
    if not isinstance(entry, dict):
        queue[f"#{serial}"] = {"phase": "unreadable", "line": number}
        return serial
    phase, record_id = entry.get("phase"), entry.get("id")
    key = f"intent:{record_id}"
    if phase == "intent" and isinstance(record_id, str) and key not in queue:
        queue[key] = entry
        waiting.add(key)
    elif phase == "outcome" and key in waiting:
        intent = queue[key]
        intent.update({k: v for k, v in entry.items() if k not in ("time", "phase", "id", "user")})
        intent["phase"] = "paired"
        intent["outcome_time"] = entry.get("time")
        waiting.discard(key)
    elif phase == "outcome":
        queue[f"#{serial}"] = {**entry, "note": "an outcome whose intent is not in this log"}
    else:
        queue[f"#{serial}"] = entry
    return serial


def _ready(queue: dict[str, dict[str, Any]], waiting: set[str]) -> Iterator[dict[str, Any]]:
    """Pop and yield records from the front of the queue until one still waits for its outcome."""
    while queue:
        key = next(iter(queue))
        if key in waiting:
            return
        yield queue.pop(key)


def _shown(path: Path | None) -> str:
    return literal(str(path), max_len=200)


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
