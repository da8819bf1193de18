"""Feature flags from a flagd flag-definition file (JSON or YAML), toggled compare-and-set.

The version of what we read is the SHA-256 of the file's bytes. Reads are bounded: at most
`flagd_edit.MAX_BYTES`, parsed within depth and alias limits (a YAML bomb or a deeply nested JSON
is one SourceError). A toggle re-reads the file, refuses when those bytes changed (ConflictError
naming the flag as it is now), edits exactly one value (see flagd_edit), and replaces the file
with `safe_rewrite.replace_file`: atomically (temp file, fsync, rename, fsync of the folder),
compare-and-set on the bytes read, keeping the file's owner, group, mode and extended attributes
(flagd running as another user must still read it). A crash leaves the old file or the new one.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from monotui.config import RolloutConfig
from monotui.errors import (
    ConflictError,
    MonotuiError,
    NotFoundError,
    PermissionDeniedError,
    SourceError,
    UnsafeEditError,
)
from monotui.kinds import FlagsSettings
from monotui.outside_text import literal
from monotui.sources import flagd_doc, flagd_edit
from monotui.sources.base import FlagSet
from monotui.sources.bounded_parse import DocumentError
from monotui.sources.safe_rewrite import replace_file


@dataclass(frozen=True, slots=True)
class _Read:
    stamp: tuple[int, int, int, int]  # inode, size, mtime_ns, ctime_ns
    data: bytes
    text: str
    fmt: str
    parsed: flagd_doc.Parsed
    flagset: FlagSet


class FlagdFileSettings(FlagsSettings):
    """`[rollouts.flags] kind = "flagd-file"`: a flagd flag-definition file."""

    kind: Literal["flagd-file"] = "flagd-file"
    path: Path
    """The flag definition file (JSON or YAML)."""


class FlagdFileFlags:
    """A flagd flag-definition file; `read` is cheap when the file did not change (one stat)."""

    kind = "flagd-file"
    can_write = True

    def close(self) -> None:
        """Nothing to release: the file is opened per read."""

    def __init__(self, rollout: RolloutConfig) -> None:
        settings = FlagdFileSettings.of(rollout.flags, f"rollout {rollout.name} flags")
        self.path = Path(settings.path)
        self._lock = threading.Lock()
        self._last: _Read | None = None

    def read(self) -> FlagSet:
        """The flags in the file now; raises SourceError when the file is not JSON/YAML at all."""
        with self._lock:
            return self._read().flagset

    def toggle(self, key: str, expected: FlagSet, *, dry_run: bool = False) -> str:
        """Toggle `key` if the file is still what `expected` was read from; returns the diff."""
        with self._lock:
            current = self._read(force=True)
            if current.flagset.version != expected.version:
                raise ConflictError(
                    f"{self.path} changed since it was read{_now(current, key)}; nothing was "
                    "written: look at the flags again and toggle again if still wanted"
                )
            change = current.parsed.changes.get(key)
            if change is None:
                raise _why_not(current, key, self.path)
            try:
                new_text = flagd_edit.edit(current.text, current.fmt, change)
            except flagd_edit.EditError as exc:
                raise UnsafeEditError(
                    f"{self.path}: cannot toggle '{literal(key, max_len=80)}': {exc}; "
                    "nothing was written"
                ) from None
            patch = flagd_edit.diff(current.text, new_text, str(self.path))
            if not dry_run:
                try:
                    replace_file(
                        self._target(),
                        new_text.encode("utf-8"),
                        expected=current.data,
                        name="flags file",
                    )
                finally:
                    self._last = None  # the next read takes the bytes from the disk
            return patch

    def _read(self, *, force: bool = False) -> _Read:
        target = self._target()
        try:
            st = target.stat()
        except FileNotFoundError:
            raise NotFoundError(
                f"flags file {self.path} does not exist: check [rollouts.flags] path"
            ) from None
        except OSError as exc:
            raise _os_error(exc, self.path, "read") from None
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if not force and self._last is not None and self._last.stamp == stamp:
            return self._last
        try:
            with target.open("rb") as f:
                data = f.read(flagd_edit.MAX_BYTES + 1)  # a file growing without end: bounded
        except OSError as exc:
            raise _os_error(exc, self.path, "read") from None
        if len(data) > flagd_edit.MAX_BYTES:
            raise SourceError(
                f"flags file {self.path} is larger than {flagd_edit.MAX_BYTES >> 20} MB: "
                "is [rollouts.flags] path the flag definitions?"
            )
        self._last = _decode(data, stamp, self.path)
        return self._last

    def _target(self) -> Path:
        # Write through a symlink to its target, so the link itself survives the rename.
        return Path(os.path.realpath(self.path))


def _decode(data: bytes, stamp: tuple[int, int, int, int], path: Path) -> _Read:
    version = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"flags file {path} is not UTF-8 text: {exc}") from None
    fmt = _format(path, text)
    try:
        doc = flagd_edit.load(text, fmt, what=f"flags file {literal(path, max_len=200)}")
    except DocumentError as exc:
        raise SourceError(str(exc)) from None
    try:
        parsed = flagd_doc.parse(doc)
    except ValueError as exc:
        raise SourceError(f"flags file {path} is not a flagd definition: {exc}") from None
    return _Read(stamp, data, text, fmt, parsed, FlagSet(parsed.flags, version, parsed.errors))


def _format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".json":
        return "json"
    return "json" if text.lstrip().startswith(("{", "[")) else "yaml"


def _now(current: _Read, key: str) -> str:
    flag = next((f for f in current.flagset.flags if f.key == key), None)
    if flag is None:
        return f" ('{key}' is gone)"
    return f" ('{key}' is now {flag.state.lower()}, default {flag.default_variant})"


def _why_not(current: _Read, key: str, path: Path) -> MonotuiError:
    flag = next((f for f in current.flagset.flags if f.key == key), None)
    if flag is None:
        return NotFoundError(f"no flag '{key}' in {path}")
    if current.parsed.refused:
        return UnsafeEditError(f"{path}: {current.parsed.refused}; nothing was written")
    if flag.error:
        return MonotuiError(f"flag '{key}' in {path} is invalid ({flag.error}): fix the file first")
    return MonotuiError(
        f"flag '{key}' in {path} has no on/off toggle: only boolean flags switch their "
        "default variant, and disabled flags can be enabled; edit the file for other changes"
    )


def _os_error(exc: OSError, path: Path, verb: str) -> PermissionDeniedError | SourceError:
    if isinstance(exc, PermissionError):
        return PermissionDeniedError(
            f"cannot {verb} flags file {path}: permission denied (check its owner and mode)"
        )
    return SourceError(f"cannot {verb} flags file {path}: {exc.strerror or exc}")
