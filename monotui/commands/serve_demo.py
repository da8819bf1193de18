"""`monotui serve-demo --ssh [HOST:]PORT`: the demo host (monotui.serve); registered here, built
there, so asyncssh is imported only when the server starts."""

from __future__ import annotations

from typing import Any

from monotui.serve import cli as serve_cli


def register(sub: Any) -> None:
    serve_cli.add_parser(sub).set_defaults(run=serve_cli.run)
