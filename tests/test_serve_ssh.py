"""`monotui serve-demo --ssh` sessions, driven by the real OpenSSH client on a pty."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests import ssh_helpers
from tests.ssh_helpers import (
    COCKPIT,
    HELP,
    DemoHostProcess,
    SshTerminal,
    child_of,
    client_env,
    open_cockpit,
    ssh_argv,
)

# The shared fixtures: one demo host per test module.
home, key, host = ssh_helpers.home, ssh_helpers.key, ssh_helpers.host

CSI = re.compile(rb"\x1b\[[0-9;?<>=]*[A-Za-z]")
MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")


def column_at(output: bytes, at: int) -> int:
    """The screen column of the glyph at byte `at`, from the cursor move before it."""
    moves = list(MOVE.finditer(output, 0, at))
    assert moves, "no cursor positioning before the glyph"
    last = moves[-1]
    between = CSI.sub(b"", output[last.end() : at]).decode("utf-8")
    return int(last.group(2)) + len(between)


def wait_for_right_edge(term: SshTerminal, columns: int, after: int) -> None:
    """Wait until the fleet panel's bottom-right corner is drawn in the last of `columns`."""
    corner = "╯".encode()
    seen = []
    while True:
        found = term.expect(re.escape(corner), after=after)
        seen.append(column_at(bytes(term.output), found.start()))
        if seen[-1] == columns:
            return
        assert len(seen) < 50, f"the corner was drawn at columns {seen}, never at {columns}"
        after = found.end()


def test_the_cockpit_appears_a_key_works_and_q_quits_with_status_0(
    host: DemoHostProcess, key: Path, home: Path
) -> None:
    before = host.children()
    term = open_cockpit(host, key, home)
    try:
        pid = child_of(host, before)
        mark = term.mark
        term.send(b"?")
        term.expect(HELP, after=mark)
        mark = term.mark
        term.send(b"\x1b")  # back to the fleet
        term.expect(COCKPIT, after=mark)
        term.send(b"q")
        assert term.wait_exit() == 0
    finally:
        term.close()
    line = host.wait_for_line(rf"pid={pid} ended=quit status=0").string
    assert "client=127.0.0.1:" in line and "scenario=bad-canary" in line
    assert re.search(r"duration=\d+\.\ds", line)
    assert not os.path.exists(f"/proc/{pid}")


def test_user_name_or_command_picks_the_scenario(
    host: DemoHostProcess, key: Path, home: Path
) -> None:
    by_name = open_cockpit(host, key, home, user="healthy")
    try:
        by_name.expect(rb"monotui demo: healthy")
    finally:
        by_name.close()
    command = SshTerminal(
        ssh_argv(host.port, key, "-tt") + ["latency-regression", "--speed", "20", "--seed", "3"],
        client_env(home),
        (100, 30),
    )
    try:
        command.expect(rb"monotui demo: latency-regression")
    finally:
        command.close()
    host.wait_for_line(
        r'command="latency-regression --speed 20 --seed 3" .*scenario=latency-regression'
    )


def test_a_window_resize_lays_the_cockpit_out_again(
    host: DemoHostProcess, key: Path, home: Path
) -> None:
    term = open_cockpit(host, key, home, size=(100, 30))
    try:
        wait_for_right_edge(term, 100, after=0)
        mark = term.mark
        term.resize(140, 30)
        wait_for_right_edge(term, 140, after=mark)
        mark = term.mark
        term.resize(72, 20)
        wait_for_right_edge(term, 72, after=mark)
    finally:
        term.close()


def test_two_sessions_have_separate_worlds(host: DemoHostProcess, key: Path, home: Path) -> None:
    before = host.children()
    first = open_cockpit(host, key, home)
    second = open_cockpit(host, key, home)
    try:
        first_pid, second_pid = sorted(set(host.children()) - set(before))
        assert first_pid != second_pid
        first.expect(rb"1 % canary")
        second.expect(rb"1 % canary")
        first.send(b"a")  # advance the highlighted rollout (checkout) in the first world only
        # Only the changed cells reach the terminal ("5" over "1"): read the screen, not bytes.
        first.expect_screen(r"5 % canary")
        # The second draws on: its help comes and goes, its fleet is there again, unmoved.
        mark = second.mark
        second.send(b"?")
        second.expect(HELP, after=mark)
        mark = second.mark
        second.send(b"\x1b")
        second.expect(COCKPIT, after=mark)
        shown = second.expect_screen(r"checkout.*\n").string
        assert "1 % canary" in shown and "5 % canary" not in shown
        assert "advanced" not in shown
    finally:
        first.close()
        second.close()


def test_bytes_that_are_not_utf8_do_not_end_the_demo(
    host: DemoHostProcess, key: Path, home: Path
) -> None:
    # A Latin-1 terminal's "é", a C1 CSI, a byte no encoding has, and half a character: Textual's
    # input thread died on the first of them (a traceback, then the session was over).
    term = open_cockpit(host, key, home)
    try:
        mark = term.mark
        term.send(b"\xe9\x9b\xff\xe2\x82")
        term.send(b"?")
        term.expect(HELP, after=mark)
        assert b"Traceback" not in term.output
        mark = term.mark
        term.send(b"\x1b")
        term.expect(COCKPIT, after=mark)
        term.send(b"q")
        assert term.wait_exit() == 0
    finally:
        term.close()


def test_a_dropped_client_ends_its_demo(host: DemoHostProcess, key: Path, home: Path) -> None:
    before = host.children()
    term = open_cockpit(host, key, home)
    pid = child_of(host, before)
    term.close()  # SIGKILL: the client vanishes, the TCP connection closes
    host.wait_for_line(rf"pid={pid} ended=disconnected")
    assert not os.path.exists(f"/proc/{pid}")


def test_session_caps_refuse_the_next_one_with_a_message(
    tmp_path: Path, key: Path, home: Path
) -> None:
    host = DemoHostProcess(tmp_path / "key", "--max-sessions", "2", "--max-per-client", "1")
    opened: list[SshTerminal] = []
    try:
        opened.append(open_cockpit(host, key, home))
        per_client = SshTerminal(ssh_argv(host.port, key, "-tt"), client_env(home), (80, 24))
        per_client.expect(rb"1 demo sessions from your address are already running")
        assert per_client.wait_exit() == 1
        per_client.close()
        opened.append(open_cockpit(host, key, home, "-b", "127.0.0.2"))
        total = SshTerminal(
            ssh_argv(host.port, key, "-tt", "-b", "127.0.0.3"), client_env(home), (80, 24)
        )
        total.expect(rb"all 2 demo sessions are taken; try again in a few minutes")
        assert total.wait_exit() == 1
        total.close()
        host.wait_for_line(r"client=127\.0\.0\.3:\d+ .*ended=refused:session-cap")
        host.wait_for_line(r"client=127\.0\.0\.1:\d+ .*ended=refused:per-client-cap")
        # A slot given back is a slot the next visitor gets.
        opened.pop().send(b"q")
        host.wait_for_line(r"client=127\.0\.0\.2:\d+ .*ended=quit")
        opened.append(open_cockpit(host, key, home, "-b", "127.0.0.3"))
    finally:
        for term in opened:
            term.close()
        host.stop()


def test_an_idle_session_ends_at_the_length_cap(tmp_path: Path, key: Path, home: Path) -> None:
    host = DemoHostProcess(tmp_path / "key", "--session-minutes", "0.1")
    try:
        before = host.children()
        term = open_cockpit(host, key, home)
        pid = child_of(host, before)
        term.expect(rb"this session reached its 0\.1-minute limit; ssh in again", timeout_s=60)
        assert term.wait_exit() == 124
        term.close()
        host.wait_for_line(rf"pid={pid} ended=time-limit")
        assert not os.path.exists(f"/proc/{pid}")
        # The terminal is handed back: alternate screen left, cursor shown, mouse off.
        tail = term.output[term.output.rindex(b"\x18") :]
        assert b"\x1b[?1049l" in tail and b"\x1b[?25h" in tail and b"\x1b[?1003l" in tail
    finally:
        host.stop()


def test_stopping_the_server_ends_its_sessions_with_a_message(
    tmp_path: Path, key: Path, home: Path
) -> None:
    host = DemoHostProcess(tmp_path / "key")
    before = host.children()
    term = open_cockpit(host, key, home)
    try:
        pid = child_of(host, before)
        assert host.stop() == 0
        term.expect(rb"the demo host is shutting down")
        assert term.wait_exit() != 0
    finally:
        term.close()
    host.wait_for_line(rf"pid={pid} ended=server-stopped")
    assert not os.path.exists(f"/proc/{pid}")
