"""The write-ahead audit log: no write without its intent on disk, and a file that is always read.

Every way the audit path can fail is produced for real where the machine allows it: a directory,
a folder that cannot be made, a read-only tmpfs, a folder an ordinary user may not write (a child
that drops to nobody), a tmpfs that is full or nearly full. Short writes are also injected.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from monotui.audit import UNCERTAIN, AuditError, AuditLog, read_audit

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534
HOSTILE = "\x1b[2J\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07 evil\u2028line\x85two\x9b31m \u202eright"


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


@contextmanager
def tmpfs(options: str) -> Iterator[Path]:
    """A real tmpfs (we are root). A machine that cannot mount fails these tests: never skipped."""
    where = Path(tempfile.mkdtemp(prefix="monotui-audit-"))
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        check=True,
        capture_output=True,
    )
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True, capture_output=True)
        where.rmdir()


def fill(folder: Path) -> None:
    """Write a filler file until the file system has no byte left."""
    with (folder / "filler").open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass
        try:
            while True:
                out.write(b"\0")
        except OSError:
            pass


def as_nobody(action: Callable[[], object]) -> object:
    """Run `action` in a forked child that is nobody; return its result or exception."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                outcome: object = action()
            except Exception as exc:
                outcome = exc
            os.write(write, pickle.dumps(outcome))
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return pickle.loads(data)


# --- the format -----------------------------------------------------------------------------------


def test_an_intent_then_its_outcome_are_two_complete_lines_read_back_as_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state" / "audit.jsonl"  # the folder is made on first use
    log = AuditLog(path, user="oncall")
    intent_id = log.intent(rollout="reviews", action="advance", before="90/10", after="75/25")
    (intent,) = lines(path)
    assert intent["phase"] == "intent" and intent["id"] == intent_id and intent["user"] == "oncall"
    assert intent["action"] == "advance" and "result" not in intent
    log.outcome(intent_id, result="ok", message="reviews: 90/10 -> 75/25")
    intent_line, outcome_line = lines(path)
    assert outcome_line["phase"] == "outcome" and outcome_line["id"] == intent_id
    (action,) = read_audit(path)
    assert action["phase"] == "paired" and action["result"] == "ok"
    assert action["action"] == "advance" and action["message"] == "reviews: 90/10 -> 75/25"
    assert action["time"] == intent_line["time"] and action["outcome_time"] == outcome_line["time"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_record_still_writes_one_complete_line_for_unconverted_callers(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, user="oncall")
    written = log.record(action="pause", result="refused", message="read-only")
    (line,) = lines(path)
    assert line == written and line["phase"] == "intent+outcome" and line["result"] == "refused"
    assert list(read_audit(path)) == [line]
    assert list(log.records) == [line]


def test_outcome_results_and_our_own_fields_are_checked() -> None:
    log = AuditLog(None)
    with pytest.raises(ValueError, match="result must be one of ok, refused, failed, uncertain"):
        log.outcome("x", result="done")
    with pytest.raises(ValueError, match="sets 'phase' itself"):
        log.intent(phase="outcome")


def test_outside_text_lands_as_ascii_and_prose_as_a_literal_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    patch = '[{"op": "replace", "value": "' + HOSTILE + '"}]'
    intent_id = log.intent(action="pause", reason=HOSTILE, patch=patch)
    log.outcome(intent_id, result="failed", message=HOSTILE + "\n" + "x" * 5000)
    data = path.read_bytes()
    assert data.isascii()  # U+2028, U+0085 and C1 escaped as \uXXXX, never raw
    assert all(byte >= 0x20 for byte in data.replace(b"\n", b""))
    assert data.count(b"\n") == 2
    (action,) = read_audit(path)
    for prose in (action["reason"], action["message"]):
        assert isinstance(prose, str)
        assert all(ch.isprintable() for ch in prose) and "\u202e" not in prose
        assert "\\x1b[2J" in prose
    assert len(str(action["message"])) == 2000
    assert action["patch"] == patch  # structured data kept exactly, only escaped in the JSON


def test_secrets_and_url_credentials_never_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, secrets=["tok-123456"])
    log.record(
        action="pause",
        annotation="paused by monotui: NO DATA from http://admin:hunter2@prom:9090/x?token=abc",
        message="Authorization: Bearer tok-123456 refused",
        nested={"headers": ["tok-123456"]},
    )
    text = path.read_text()
    for secret in ("hunter2", "abc", "tok-123456"):
        assert secret not in text
    (line,) = lines(path)
    assert line["annotation"] == "paused by monotui: NO DATA from http://***@prom:9090/x?token=***"
    assert line["nested"] == {"headers": ["***"]}


def test_nan_and_odd_types_do_not_break_a_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    AuditLog(path).record(score=float("nan"), limit=float("inf"), where=tmp_path)
    (line,) = lines(path)
    assert line["score"] == "nan" and line["limit"] == "inf" and line["where"] == str(tmp_path)


def test_memory_only_keeps_a_bounded_history() -> None:
    log = AuditLog(None)
    for step in range(1200):
        log.outcome(log.intent(step=step), result="ok")
    assert len(log.records) == 1000 and log.records[-1]["phase"] == "outcome"
    assert log.check() == "audit log: kept in memory only"


# --- the path fails -------------------------------------------------------------------------------


def test_an_audit_path_that_is_a_directory_refuses_the_intent(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    with pytest.raises(AuditError) as caught:
        log.intent(action="rollback")
    assert str(caught.value) == (
        f"cannot record the intent in the audit log {tmp_path} (it is a directory: set [audit] "
        "path to a file); nothing was changed: fix [audit] path or free the disk, then try again"
    )
    assert caught.value.exit_code == 4
    with pytest.raises(AuditError, match=r"is a directory: set \[audit\] path to a file$"):
        log.check()
    assert list(log.records) == []  # nothing claims to be recorded


def test_a_folder_that_cannot_be_made_refuses_the_intent(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    log = AuditLog(tmp_path / "file" / "sub" / "audit.jsonl")
    with pytest.raises(AuditError, match=r"\(its folder .*/file/sub is not a folder\)"):
        log.intent(action="advance")
    with pytest.raises(AuditError, match="is not a folder"):
        log.check()


def test_a_read_only_file_system_refuses_the_intent_and_fails_check() -> None:
    with tmpfs("ro,size=64k") as where:
        log = AuditLog(where / "audit.jsonl")
        with pytest.raises(AuditError, match=r"\(it is on a read-only file system\); nothing was"):
            log.intent(action="advance")
        with pytest.raises(AuditError, match="it is on a read-only file system$"):
            log.check()


def test_a_folder_an_ordinary_user_may_not_write_refuses_the_intent() -> None:
    base = Path(tempfile.mkdtemp(prefix="monotui-audit-"))
    try:
        os.chmod(base, 0o755)
        folder = base / "state"
        folder.mkdir(mode=0o500)
        os.chown(folder, NOBODY, NOBODY)  # nobody's own folder, but 0500
        path = folder / "audit.jsonl"

        def try_it() -> object:
            log = AuditLog(path)
            try:
                log.intent(action="advance")
            except AuditError as exc:
                intent_error = str(exc)
            else:
                intent_error = "recorded"
            try:
                return intent_error, log.check()
            except AuditError as exc:
                return intent_error, str(exc)

        outcome = as_nobody(try_it)
        assert isinstance(outcome, tuple)
        intent_error, check_error = outcome
        assert (
            "(nobody may not write there: Permission denied); nothing was changed" in intent_error
        )
        assert check_error.endswith("nobody may not write there: Permission denied")
        assert not path.exists()
    finally:
        os.chmod(base / "state", 0o700)
        subprocess.run(["rm", "-rf", str(base)], check=True)


def test_a_full_disk_refuses_the_intent_and_check_says_so() -> None:
    with tmpfs("size=64k") as where:
        path = where / "audit.jsonl"
        log = AuditLog(path)
        assert log.check().startswith(f"audit log {path} is writable (")
        fill(where)
        with pytest.raises(AuditError, match=r"\(the disk is full: No space left on device\)"):
            log.intent(action="rollback")
        assert path.read_bytes() == b""
        with pytest.raises(AuditError, match=r"the disk is full \(0 bytes free\)"):
            log.check()


def test_a_nearly_full_disk_takes_part_of_a_line_and_the_part_is_cut_back() -> None:
    with tmpfs("size=64k") as where:
        path = where / "audit.jsonl"
        returned: list[int] = []

        def spy(fd: int, data: memoryview) -> int:
            written = os.write(fd, data)
            returned.append(written)
            return written

        log = AuditLog(path, writer=spy)
        log.record(action="advance", result="ok")  # part of one page: the rest is slack
        before = path.read_bytes()
        fill(where)
        returned.clear()
        with pytest.raises(AuditError, match="the disk is full"):
            log.intent(action="rollback", patch="p" * 9000)
        assert returned and 0 < returned[0] < 9000  # the kernel took a part, then no more
        assert path.read_bytes() == before
        assert [r["phase"] for r in read_audit(path)] == ["intent+outcome"]


def test_an_injected_short_write_is_detected_and_cut_back(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    AuditLog(path).record(action="advance", result="ok")
    before = path.read_bytes()
    calls: list[int] = []

    def stalls(fd: int, data: memoryview) -> int:
        calls.append(len(data))
        return os.write(fd, data[:10]) if len(calls) == 1 else 0

    with pytest.raises(AuditError, match=r"\(the disk took 10 of \d+ bytes\); nothing was changed"):
        AuditLog(path, writer=stalls).intent(action="rollback")
    assert path.read_bytes() == before

    def fails_midway(fd: int, data: memoryview) -> int:
        if len(data) < 20:
            raise OSError(5, "Input/output error")
        return os.write(fd, data[: len(data) - 10])

    with pytest.raises(AuditError, match=r"\(Input/output error\)"):
        AuditLog(path, writer=fails_midway).intent(action="rollback")
    assert path.read_bytes() == before


def test_a_short_write_that_the_loop_completes_is_one_good_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"

    def halves(fd: int, data: memoryview) -> int:
        return os.write(fd, data[: max(1, len(data) // 2)])

    log = AuditLog(path, writer=halves)
    log.outcome(log.intent(action="advance"), result="ok")
    assert [r["result"] for r in read_audit(path)] == ["ok"]


def test_an_outcome_that_cannot_be_recorded_says_the_action_ran(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    intent_id = log.intent(action="advance")
    path.unlink()
    path.mkdir()
    with pytest.raises(AuditError, match="the action ran but its outcome could not be recorded"):
        log.outcome(intent_id, result="ok")


# --- crashes and the reader -----------------------------------------------------------------------


def test_kill_9_between_intent_and_outcome_leaves_a_complete_intent(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    child = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from monotui.audit import AuditLog
        log = AuditLog(Path({str(path)!r}), user="oncall")
        for step in range(3):
            log.outcome(log.intent(action="advance", step=step), result="ok")
        last = log.intent(action="rollback", reason="errors rose")
        print(last, flush=True)
        sys.stdin.readline()  # the PATCH would go out here: we die first
        log.outcome(last, result="ok")
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    assert proc.stdout is not None
    last_id = proc.stdout.readline().strip()
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    assert json.loads(raw.splitlines()[-1])["phase"] == "intent"
    actions = list(read_audit(path))
    assert [a["result"] for a in actions] == ["ok", "ok", "ok", "uncertain"]
    assert actions[-1]["id"] == last_id and actions[-1]["note"] == UNCERTAIN
    assert actions[-1]["action"] == "rollback" and actions[-1]["reason"] == "errors rose"


def test_a_torn_last_line_is_skipped_and_the_next_record_starts_a_fresh_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.record(action="advance", result="ok")
    with path.open("ab") as out:
        out.write(b'{"time": "2026-01-01T00:00:00.000+00:00", "phase": "inte')  # a crash mid-line
    assert [r["action"] for r in read_audit(path)] == ["advance"]
    log.record(action="pause", result="ok")
    records = list(read_audit(path))
    assert [r.get("action", r["phase"]) for r in records] == ["advance", "unreadable", "pause"]
    assert records[1] == {"phase": "unreadable", "line": 2}


def test_the_reader_keeps_write_order_across_interleaved_rollouts(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with path.open("w") as out:  # a line from before the write-ahead log
        out.write(json.dumps({"time": "t0", "action": "advance", "result": "ok"}) + "\n")
    log = AuditLog(path)
    a = log.intent(rollout="a", action="advance")
    b = log.intent(rollout="b", action="advance")
    log.outcome(b, result="refused")
    log.outcome(a, result="failed")
    log.outcome("not-in-this-log", result="ok")
    records = list(read_audit(path))
    assert [(r.get("rollout"), r["result"]) for r in records] == [
        (None, "ok"),
        ("a", "failed"),
        ("b", "refused"),
        (None, "ok"),
    ]
    assert records[-1]["note"] == "an outcome whose intent is not in this log"


def test_threads_and_processes_sharing_the_log_never_mix_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    child = textwrap.dedent(
        f"""
        from pathlib import Path
        from monotui.audit import AuditLog
        log = AuditLog(Path({str(path)!r}))
        for step in range(40):
            log.outcome(log.intent(who="process", step=step, pad="x" * 3000), result="ok")
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child], cwd=ROOT)
    log = AuditLog(path)

    def work() -> None:
        for step in range(20):
            log.outcome(log.intent(who="thread", step=step, pad="y" * 3000), result="ok")

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert proc.wait() == 0
    records = list(read_audit(path))
    assert len(records) == 80 and {r["result"] for r in records} == {"ok"}
    assert sum(r["who"] == "process" for r in records) == 40
