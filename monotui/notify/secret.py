"""A sink's secret (its webhook URL or bot token) from a file or an environment variable, never
from monotui.toml and never echoed: errors name where it should be, not what it is."""

from __future__ import annotations

import os
from pathlib import Path

from monotui.errors import ConfigError
from monotui.outside_text import literal

MAX_SECRET_BYTES = 8192


def read_secret(file: Path | None, env: str | None, *, what: str, sink: str) -> str:
    """The secret, stripped of surrounding whitespace; ConfigError says where it was looked for."""
    if file is not None:
        shown = literal(str(file), max_len=200)
        try:
            with file.open("rb") as f:
                raw = f.read(MAX_SECRET_BYTES + 1)
        except FileNotFoundError:
            raise ConfigError(f"{sink}: {what} file {shown} does not exist") from None
        except OSError as exc:
            raise ConfigError(
                f"{sink}: cannot read the {what} file {shown}: {exc.strerror}"
            ) from None
        if len(raw) > MAX_SECRET_BYTES:
            raise ConfigError(f"{sink}: the {what} file {shown} is too large to hold a {what}")
        value = raw.decode("utf-8", "replace").strip()
        where = f"file {shown}"
    elif env is not None:
        value = os.environ.get(env, "").strip()
        where = f"environment variable {literal(env, max_len=100)}"
        if env not in os.environ:
            raise ConfigError(f"{sink}: the {what} {where} is not set")
    else:
        raise ConfigError(f"{sink}: no {what} configured (url_file/url_env, token_file/token_env)")
    if not value:
        raise ConfigError(f"{sink}: the {what} {where} is empty")
    if any(ch in value for ch in "\r\n\0 "):
        raise ConfigError(f"{sink}: the {what} in {where} holds a space or line break inside it")
    return value
