"""The `monotui` command: the parser, the dispatch to the command modules (monotui.commands), and
errors as one line with the documented exit code.

Exit codes: 0 done; 2 usage or config error; 3 conflict; 4 permission denied; 5 backend
unreachable; 1 anything else. Errors are one line on stderr that says what to do.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from monotui.commands import (
    act,
    autopilot,
    backtest,
    check,
    demo,
    discover,
    report,
    serve_demo,
    status,
    watch,
)
from monotui.commands.common import (
    add_common,
    add_terminal,
    output_failed,
    reader_gone,
    with_defaults,
)
from monotui.errors import MonotuiError
from monotui.outside_text import literal, redact_urls_in

ERROR_MAX = 1000
"""The longest error line printed: a long one is cut (and says so) rather than flooding the terminal."""

COMMANDS = (demo, watch, status, act, check, discover, backtest, report, autopilot, serve_demo)
"""Each registers its parsers (`register(subparsers)`); the order is --help's."""


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        shown = literal(message, max_len=ERROR_MAX)  # it quotes what was typed: literal
        self.exit(2, f"{self.prog}: error: {shown} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="monotui",
        description="A terminal cockpit for canary rollouts. Without a command: watch.",
        epilog="Config: -c FILE, else ./monotui.toml, else $XDG_CONFIG_HOME/monotui/config.toml; "
        "without one, the rollouts are discovered in the cluster (--context, -n NS, -A). "
        "Exit codes: 0 done, 2 usage or config error, 3 conflict, 4 permission denied, "
        "5 backend unreachable, 1 anything else. Try it without a cluster: monotui demo",
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    add_common(parser, top=True)  # `monotui -c FILE` is `monotui watch -c FILE`
    add_terminal(parser, top=True)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    parser.set_defaults(run=watch.run)
    return parser


class _Version(argparse.Action):
    """--version, looked up only when asked (package metadata costs ~40 ms: not on every start)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help=str(kwargs.get("help", "")))

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("monotui")
        except PackageNotFoundError:
            found = "unknown"
        print(f"monotui {found}")
        parser.exit(0)


TIME_OPTIONS = ("--from", "--to")
"""Options whose value may start with '-' (a relative time: --from -2h)."""


def _joined(argv: Sequence[str]) -> list[str]:
    """`--from -2h` as `--from=-2h`: argparse would read "-2h" as an option."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in TIME_OPTIONS and arg.startswith("-"):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        code = _run(argv)
    except SystemExit:  # argparse's --help, --version and usage errors
        if _flush_stdout() is not None:
            raise SystemExit(1) from None
        raise
    failed = _flush_stdout()
    return code if failed is None else failed


def _flush_stdout() -> int | None:
    """Write out what is still buffered for standard output here, not in the interpreter's exit
    (a failure there is a second error and exit code 120). None when it is written or its
    reader went away (`monotui --help | true`: the command's own exit code stands); 1, said in
    one line, when it cannot be written (a full disk)."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        return output_failed(exc)
    return None


def _run(argv: Sequence[str] | None) -> int:
    argv = _joined(sys.argv[1:] if argv is None else argv)
    args = with_defaults(build_parser().parse_args(argv))
    try:
        code: int = args.run(args)
        return code
    except MonotuiError as exc:
        print(f"monotui: {literal(redact_urls_in(str(exc)), max_len=ERROR_MAX)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        reader_gone()  # no traceback, no second error
        return 0
    except Exception as exc:  # a bug: still one line, never a traceback (unless asked for)
        if os.environ.get("MONOTUI_DEBUG"):
            raise
        print(
            f"monotui: unexpected error: {type(exc).__name__}: {literal(exc, max_len=300)} "
            "(a bug: please report it; MONOTUI_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
