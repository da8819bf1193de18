"""What a visitor can ask the ssh demo host for, and how their words are shown back."""

from __future__ import annotations

import pytest

from monotui.serve.choices import Choice, HelpAsked, RefusedChoice, choose
from monotui.serve.text import shown
from monotui.sim.scenarios import SCENARIOS


def test_the_user_name_picks_a_scenario_and_any_other_name_means_the_default() -> None:
    assert choose("healthy", None) == Choice(scenario="healthy")
    assert choose("latency-regression", "") == Choice(scenario="latency-regression")
    # ssh sends the visitor's own login name when they give none: that is no request.
    assert choose("alice", None) == Choice()


def test_the_command_picks_scenario_speed_and_seed() -> None:
    assert choose("alice", "healthy --speed 20") == Choice("healthy", 20.0, 7)
    assert choose("bad-canary", "demo --seed=3 --speed 0.5") == Choice("bad-canary", 0.5, 3)
    assert choose("alice", "--scenario flaky-metrics") == Choice(scenario="flaky-metrics")
    assert Choice("healthy", 20.0, 3).demo_args() == [
        "demo",
        "--scenario",
        "healthy",
        "--speed",
        "20",
        "--seed",
        "3",
    ]


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("id", '"id" is not a demo choice'),
        ("healthy; id", '"healthy;" is not a demo choice'),
        ("sh -c id", '"sh" is not a demo choice'),
        ("--speed 1000", "--speed must be a number within 0.1..100"),
        ("--speed nan", "--speed must be a number within 0.1..100"),
        ("--seed -1", "--seed must be a whole number"),
        ("--seed", "--seed needs a value"),
        ("--scenario nope", 'no scenario "nope"'),
        ("'unclosed", "cannot read the command"),
        ("x" * 201, "too long"),
    ],
)
def test_anything_else_is_refused_with_the_choices_listed(command: str, says: str) -> None:
    with pytest.raises(RefusedChoice) as refused:
        choose("alice", command, port=2222)
    message = str(refused.value)
    assert says in message
    assert f"ssh -t -p 2222 HOST [{'|'.join(SCENARIOS)}]" in message
    assert "\n" not in message
    assert refused.value.exit_status == 2


def test_help_is_the_usage_and_a_clean_exit() -> None:
    with pytest.raises(HelpAsked) as asked:
        choose("alice", "help")
    assert str(asked.value).startswith("usage: ssh -t HOST")
    assert asked.value.exit_status == 0


def test_a_refusal_shows_the_visitors_word_without_its_escape_sequences() -> None:
    with pytest.raises(RefusedChoice) as refused:
        choose("alice", "\x1b]0;owned\x07")
    assert "\x1b" not in str(refused.value) and "\x07" not in str(refused.value)
    assert '"\\x1b]0;owned\\x07"' in str(refused.value)


def test_shown_escapes_controls_quotes_and_bidi_and_bounds_the_length() -> None:
    assert shown("plain name") == '"plain name"'
    assert shown('a"b\\c') == '"a\\"b\\\\c"'
    assert shown("\x1b[2J\r\n\x00\x7f\x9b") == '"\\x1b[2J\\x0d\\x0a\\x00\\x7f\\x9b"'
    assert shown("abc\u202edef") == '"abc\\u202edef"'
    assert shown("é ü 日本") == '"é ü 日本"'
    assert shown("x" * 100, limit=10) == '"xxxxxxxxxx"…'
