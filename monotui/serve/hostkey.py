"""The demo host's identity: an ed25519 key generated once, kept mode 0600, reused on every start.

Visitors' ssh clients remember it; a new key on every start would greet them with a warning that
the host may be an impostor.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import asyncssh

from monotui.errors import ConfigError, PermissionDeniedError


def default_path() -> Path:
    """$XDG_STATE_HOME/monotui/ssh_host_ed25519_key."""
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "monotui" / "ssh_host_ed25519_key"


def load_or_create(path: Path) -> tuple[asyncssh.SSHKey, bool]:
    """The host key in `path`, generated there first if the file does not exist.

    Returns the key and whether it was just created. Raises ConfigError for a file that is not a
    private key or that others can read, PermissionDeniedError when it cannot be read or written.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return _create(path), True
    except OSError as exc:
        raise PermissionDeniedError(f"host key {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"host key {path} is open to others (mode {stat.S_IMODE(mode):04o}): "
            f"run chmod 600 {path}"
        )
    try:
        return asyncssh.read_private_key(path), False
    except OSError as exc:
        raise PermissionDeniedError(f"host key {path}: {exc.strerror}") from None
    except (asyncssh.KeyImportError, ValueError):
        raise ConfigError(
            f"host key {path} is not an unencrypted SSH private key: "
            "remove it to have a new one generated, or point --host-key at another file"
        ) from None


def _create(path: Path) -> asyncssh.SSHKey:
    key = asyncssh.generate_private_key("ssh-ed25519", comment="monotui demo host")
    data = key.export_private_key()
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        try:
            # A link never replaces: if another server made the key meanwhile, use theirs.
            os.link(partial, path)
        except FileExistsError:
            return asyncssh.read_private_key(path)
    except OSError as exc:
        raise PermissionDeniedError(
            f"host key {path}: cannot create it: {exc.strerror} (choose a file with --host-key)"
        ) from None
    finally:
        partial.unlink(missing_ok=True)
    return key


def fingerprint(key: asyncssh.SSHKey) -> str:
    """SHA256:... as `ssh-keygen -l` prints it, for visitors who check."""
    return str(key.get_fingerprint("sha256"))
