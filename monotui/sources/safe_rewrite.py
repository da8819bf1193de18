"""Replace a file atomically, compare-and-set, keeping everything about it but its bytes.

A rewrite that runs as another user must not hand the file to that user: flagd running as
`nobody` could no longer read a `nobody:nogroup 0640` flags file that became `root:root`. So the
new bytes go to a temp file in the same directory, which gets the old file's owner, group,
extended attributes (user.*, POSIX ACLs, security.* and trusted.* where the kernel lets us) and
mode before it is fsynced and renamed over the old one; then the directory is fsynced. A crash
at any point leaves the old file or the new one, never a mix.

What cannot be kept is refused up front, not silently changed: someone else's file when we are
not root, a group we are not in, an ACL we cannot set, a file with other hard links (a rename
would split them). Only security.*/trusted.* attributes the kernel refuses to copy are dropped,
and the caller is told which.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from monotui.errors import ConflictError, PermissionDeniedError, SourceError
from monotui.outside_text import literal

# Attributes that matter for who can read the file: failing to copy them refuses the rewrite.
_MUST_KEEP = ("user.", "system.posix_acl_access")
# Attributes a kernel may reserve (an LSM label, trusted.* without CAP_SYS_ADMIN): best effort.
_BEST_EFFORT = ("security.", "trusted.")
_NOT_PERMITTED = {errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP}
_DENIED = {errno.EPERM, errno.EACCES, errno.EROFS}


@dataclass(frozen=True, slots=True)
class Replaced:
    """What `replace_file` did."""

    path: Path  # the file written: symlinks are followed, the link itself stays
    dropped_xattrs: tuple[str, ...]  # security.*/trusted.* attributes the kernel would not copy


@dataclass(frozen=True, slots=True)
class _Original:
    uid: int
    gid: int
    mode: int  # permission bits, setuid/setgid/sticky included
    inode: tuple[int, int]
    xattrs: dict[str, bytes]


def replace_file(
    path: str | os.PathLike[str], new_bytes: bytes, *, expected: bytes | None, name: str = "file"
) -> Replaced:
    """Replace `path` with `new_bytes` if it still holds exactly `expected`.

    `expected=None` means the file must not exist yet (it is created as open() would, 0666 less
    the umask).
    Raises ConflictError when the file is not what the caller read (nothing written),
    PermissionDeniedError when its owner, group or ACL could not be kept or the folder is not
    writable, SourceError for anything else the file system refuses (a full disk, ...).
    `name` says what the file is in messages ("flags file").
    """
    shown = f"{name} {literal(os.fspath(path), max_len=200)}"
    target = Path(os.path.realpath(path))
    original = _inspect(target, expected, shown)
    if original is not None:
        _check_owner_can_be_kept(original, shown)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _os_error(exc, shown, f"create a file next to it in {target.parent}") from None
    dropped: list[str] = []
    try:
        try:
            _write_all(fd, new_bytes)
            if original is not None:
                dropped = _copy_identity(fd, original, shown)
            else:
                os.fchmod(fd, 0o666 & ~_umask())  # what open() would have given a new file
            os.fsync(fd)
        finally:
            os.close(fd)
        # The last look before the rename narrows the race with another editor to microseconds.
        now = _inspect(target, expected, shown)
        if original is not None and now is not None and _identity(now) != _identity(original):
            raise ConflictError(
                f"{shown} was replaced or changed its owner, mode or attributes while the new "
                "version was written; nothing was written"
            )
        os.rename(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _os_error(exc, shown, "replace it") from None
        raise
    _fsync_dir(target.parent)
    return Replaced(target, tuple(dropped))


def _inspect(target: Path, expected: bytes | None, shown: str) -> _Original | None:
    """The file as it is now, or None when it does not exist; ConflictError unless expected."""
    try:
        fd = os.open(target, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        if expected is None:
            return None
        raise ConflictError(f"{shown} no longer exists; nothing was written") from None
    except OSError as exc:
        raise _os_error(exc, shown, "read it") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SourceError(f"{shown} is not a regular file; nothing was written")
        if expected is None:
            raise ConflictError(f"{shown} already exists; nothing was written")
        if st.st_nlink > 1:
            raise SourceError(
                f"{shown} has {st.st_nlink} hard links; replacing it would leave the other "
                "names with the old content: nothing was written"
            )
        if st.st_size != len(expected) or _read_all(fd, len(expected) + 1) != expected:
            raise ConflictError(f"{shown} changed since it was read; nothing was written")
        return _Original(
            st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), (st.st_dev, st.st_ino), _xattrs(fd)
        )
    except OSError as exc:
        raise _os_error(exc, shown, "read it") from None
    finally:
        os.close(fd)


def _check_owner_can_be_kept(original: _Original, shown: str) -> None:
    me = os.geteuid()
    if me != 0 and original.uid != me:
        who = "root" if original.uid == 0 else f"{_user(original.uid)} or root"
        raise PermissionDeniedError(
            f"{shown} belongs to {_user(original.uid)}; replacing it as {_user(me)} would make "
            f"it {_user(me)}'s: run as {who}; nothing was written"
        )


def _copy_identity(fd: int, original: _Original, shown: str) -> list[str]:
    """Owner and group, then attributes (chown clears some), then the mode (chown clears
    setuid/setgid, an ACL rewrites the group bits). Returns the attributes that were dropped."""
    st = os.fstat(fd)
    if (st.st_uid, st.st_gid) != (original.uid, original.gid):
        try:
            os.fchown(fd, original.uid, original.gid)
        except OSError as exc:
            if exc.errno not in _DENIED:
                raise
            raise PermissionDeniedError(
                f"{shown} belongs to group {original.gid}, which {_user(os.geteuid())} cannot "
                "give a file: run as root or as a member of that group; nothing was written"
            ) from None
    dropped = _copy_xattrs(fd, original.xattrs, shown)
    os.fchmod(fd, original.mode)
    now = os.fstat(fd)
    if (now.st_uid, now.st_gid, stat.S_IMODE(now.st_mode)) != (
        original.uid,
        original.gid,
        original.mode,
    ):
        raise PermissionDeniedError(
            f"{shown}: the file system would not keep its owner and mode; nothing was written"
        )
    return dropped


def _copy_xattrs(fd: int, wanted: dict[str, bytes], shown: str) -> list[str]:
    # A default ACL on the folder gives the temp file an access ACL the old file did not have.
    for attr, _value in _xattrs(fd).items():
        if attr not in wanted and attr.startswith(_MUST_KEEP):
            os.removexattr(fd, attr)
    dropped: list[str] = []
    for attr, value in wanted.items():
        try:
            os.setxattr(fd, attr, value)
        except OSError as exc:
            if attr.startswith(_BEST_EFFORT) and exc.errno in _NOT_PERMITTED:
                dropped.append(attr)
                continue
            raise PermissionDeniedError(
                f"{shown}: cannot keep its extended attribute {literal(attr, max_len=80)} "
                f"({exc.strerror}); nothing was written"
            ) from None
    return dropped


def _identity(original: _Original) -> tuple[object, ...]:
    return (original.uid, original.gid, original.mode, original.inode, original.xattrs)


def _xattrs(fd: int) -> dict[str, bytes]:
    try:
        names = os.listxattr(fd)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return {}  # a file system without extended attributes: nothing to keep
        raise
    found: dict[str, bytes] = {}
    for attr in names:
        with contextlib.suppress(FileNotFoundError):  # removed while we listed
            found[attr] = os.getxattr(fd, attr)
    return found


def _read_all(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(1 << 20, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "the file system accepted no bytes")
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk; some file systems cannot
    # fsync a directory, and the rename has happened either way.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    # os.umask() can only be read by setting it, which races with other threads: ask the kernel.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _os_error(exc: OSError, shown: str, doing: str) -> PermissionDeniedError | SourceError:
    reason = exc.strerror or str(exc)
    if exc.errno in _DENIED:
        return PermissionDeniedError(
            f"cannot {doing}: {shown}: {reason} (check the owner and mode of the file and its "
            "folder); nothing was written"
        )
    return SourceError(f"cannot {doing}: {shown}: {reason}; nothing was written")
