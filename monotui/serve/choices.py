"""What a visitor asked for: the scenario, speed and seed, read from the SSH user name or command.

`ssh -p 2222 bad-canary@host` picks a scenario by user name; `ssh -t -p 2222 host healthy --speed
20` by command. Any other user name is the visitor's own login (ssh sends it by default) and means
the default scenario; any other command word is refused with one line that lists the choices.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from monotui.serve.text import shown
from monotui.sim.scenarios import SCENARIOS

DEFAULT_SCENARIO = "bad-canary"
MIN_SPEED, MAX_SPEED = 0.1, 100.0
"""Faster than 100x the charts are a blur and the world costs more CPU than a session may use."""
MAX_SEED = 2**32 - 1
MAX_COMMAND_CHARS = 200


@dataclass(frozen=True, slots=True)
class Choice:
    """One session's demo: what `monotui demo` is started with."""

    scenario: str = DEFAULT_SCENARIO
    speed: float = 10.0
    seed: int = 7
    ascii: bool = False
    """Draw with ASCII only (a visitor on a console without the glyphs: `ssh -t host --ascii`)."""
    mouse: bool = False
    """Track the mouse (off by default over ssh: plain selection works)."""

    def demo_args(self) -> list[str]:
        """The `monotui demo` flags for this choice."""
        args = [
            "demo",
            "--scenario",
            self.scenario,
            "--speed",
            f"{self.speed:g}",
            "--seed",
            str(self.seed),
        ]
        return args + ["--ascii"] * self.ascii + ["--mouse"] * self.mouse


class RefusedChoice(Exception):
    """The command asked for something the demo host does not do; the message says what it does."""

    exit_status = 2


class HelpAsked(RefusedChoice):
    """`ssh host help`: the usage, and a clean exit."""

    exit_status = 0


def usage(port: int | None = None) -> str:
    """One line: how to pick a demo."""
    where = f"-p {port} " if port else ""
    return (
        f"usage: ssh -t {where}HOST [{'|'.join(SCENARIOS)}] [--speed {MIN_SPEED:g}..{MAX_SPEED:g}]"
        f" [--seed N] [--ascii] [--mouse], or ssh {where}SCENARIO@HOST"
    )


def choose(username: str, command: str | None, port: int | None = None) -> Choice:
    """The demo this user name and (optional) exec command ask for.

    Raises RefusedChoice (or HelpAsked) with a one-line message for the visitor.
    """
    scenario = username if username in SCENARIOS else DEFAULT_SCENARIO
    if command is None or not command.strip():
        return Choice(scenario=scenario)
    if len(command) > MAX_COMMAND_CHARS:
        raise RefusedChoice(f"that command is too long for a demo choice; {usage(port)}")
    try:
        words = shlex.split(command)
    except ValueError:
        raise RefusedChoice(f"cannot read the command {shown(command)}; {usage(port)}") from None
    return _parse(words, Choice(scenario=scenario), port)


def _parse(words: list[str], choice: Choice, port: int | None) -> Choice:
    if words and words[0] == "demo":
        words = words[1:]
    scenario, speed, seed = choice.scenario, choice.speed, choice.seed
    switches = {"--ascii": False, "--mouse": False}
    rest = iter(words)
    for word in rest:
        name, has_value, inline = word.partition("=")
        if word in ("help", "-h", "--help"):
            raise HelpAsked(usage(port))
        if word in switches:
            switches[word] = True
        elif word in SCENARIOS:
            scenario = word
        elif name in ("--scenario", "--speed", "--seed"):
            value = inline if has_value else next(rest, None)
            if value is None:
                raise RefusedChoice(f"{name} needs a value; {usage(port)}")
            if name == "--scenario":
                scenario = _scenario(value, port)
            elif name == "--speed":
                speed = _speed(value, port)
            else:
                seed = _seed(value, port)
        else:
            raise RefusedChoice(
                f"{shown(word)} is not a demo choice (this host runs only the monotui demo); "
                f"{usage(port)}"
            )
    return Choice(
        scenario=scenario,
        speed=speed,
        seed=seed,
        ascii=switches["--ascii"],
        mouse=switches["--mouse"],
    )


def _scenario(value: str, port: int | None) -> str:
    if value not in SCENARIOS:
        raise RefusedChoice(f"no scenario {shown(value)}; {usage(port)}")
    return value


def _speed(value: str, port: int | None) -> float:
    try:
        speed = float(value)
    except ValueError:
        speed = float("nan")
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise RefusedChoice(
            f"--speed must be a number within {MIN_SPEED:g}..{MAX_SPEED:g}, got {shown(value)}; "
            f"{usage(port)}"
        )
    return speed


def _seed(value: str, port: int | None) -> int:
    if not value.isascii() or not value.isdigit() or int(value) > MAX_SEED:
        raise RefusedChoice(
            f"--seed must be a whole number within 0..{MAX_SEED}, got {shown(value)}; {usage(port)}"
        )
    return int(value)
