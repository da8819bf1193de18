"""Atomic compare-and-set rewrites that keep a file's owner, group, mode and extended attributes.

These run as root (the suite does) to give files to other users, and fork a child that drops to
`nobody` where a test is about what an ordinary user may do.
"""

from __future__ import annotations

import os
import pickle
import shutil
import stat
import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monotui.errors import ConflictError, PermissionDeniedError, SourceError
from monotui.sources.safe_rewrite import replace_file

NOBODY, NOGROUP = 65534, 65534
OLD, NEW = b'{"flags": {}}\n', b'{"flags": {"a": {"state": "ENABLED"}}}\n'

# POSIX ACL xattr format (linux/posix_acl_xattr.h): version 2, then (tag u16, perm u16, id u32).
ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER = 0x01, 0x02, 0x04, 0x10, 0x20
NO_ID = 0xFFFFFFFF


def acl(*entries: tuple[int, int, int]) -> bytes:
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


# user::rw-, user:1234:r--, group::r--, mask::r--, other::---  (mode 0640)
READER_ACL = acl(
    (ACL_USER_OBJ, 6, NO_ID), (ACL_USER, 4, 1234), (ACL_GROUP_OBJ, 4, NO_ID), (ACL_MASK, 4, NO_ID),
    (ACL_OTHER, 0, NO_ID),
)  # fmt: skip


@pytest.fixture(autouse=True)
def _root() -> None:
    assert os.geteuid() == 0, "these tests give files to other users: run the suite as root"


@pytest.fixture
def folder() -> Iterator[Path]:
    # Not under pytest's tmp_path: its base is 0700, and nobody must be able to reach this one.
    base = Path(tempfile.mkdtemp(prefix="monotui-rewrite-"))
    os.chmod(base, 0o755)
    folder = base / "flags"
    folder.mkdir()
    yield folder
    shutil.rmtree(base)


def as_nobody(action: Callable[[], object]) -> object:
    """Run `action` in a forked child that is nobody:nogroup; return its result or exception."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOGROUP)
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


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_nobody_file_stays_nobodys_with_its_mode_xattr_and_acl(folder: Path) -> None:
    path = folder / "flags.json"
    path.write_bytes(OLD)
    os.chown(path, NOBODY, NOGROUP)
    os.chmod(path, 0o640)
    os.setxattr(path, "user.origin", b"gitops")
    os.setxattr(path, "security.monotui-test", b"label")
    os.setxattr(path, "system.posix_acl_access", READER_ACL)
    before = path.stat()

    result = replace_file(path, NEW, expected=OLD, name="flags file")

    after = path.stat()
    assert path.read_bytes() == NEW
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (NOBODY, NOGROUP, 0o640)
    assert os.getxattr(path, "user.origin") == b"gitops"
    assert os.getxattr(path, "security.monotui-test") == b"label"
    assert os.getxattr(path, "system.posix_acl_access") == READER_ACL
    assert after.st_ino != before.st_ino  # a rename, not an in-place write
    assert result.path == path and result.dropped_xattrs == ()
    assert _leftovers(folder) == []


def test_setuid_setgid_and_sticky_bits_survive(folder: Path) -> None:
    path = folder / "tool"
    path.write_bytes(OLD)
    os.chown(path, NOBODY, NOGROUP)
    os.chmod(path, 0o6751 | stat.S_ISVTX)  # chown clears these: the mode must be set after it
    replace_file(path, NEW, expected=OLD)
    assert stat.S_IMODE(path.stat().st_mode) == 0o7751


def test_a_default_acl_on_the_folder_does_not_add_an_acl_the_file_did_not_have(
    folder: Path,
) -> None:
    os.setxattr(folder, "system.posix_acl_default", READER_ACL)
    path = folder / "flags.json"
    path.write_bytes(OLD)  # created under the default ACL: it gets one
    os.removexattr(path, "system.posix_acl_access")
    os.chmod(path, 0o600)
    replace_file(path, NEW, expected=OLD)
    assert "system.posix_acl_access" not in os.listxattr(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_write_is_refused_when_the_file_changed_since_it_was_read(folder: Path) -> None:
    path = folder / "flags.json"
    path.write_bytes(OLD)
    with pytest.raises(ConflictError, match="changed since it was read; nothing was written"):
        replace_file(path, NEW, expected=b'{"flags": {"other": {}}}\n')
    with pytest.raises(ConflictError, match="already exists"):
        replace_file(path, NEW, expected=None)
    assert path.read_bytes() == OLD
    path.unlink()
    with pytest.raises(ConflictError, match="no longer exists"):
        replace_file(path, NEW, expected=OLD)
    assert not path.exists() and _leftovers(folder) == []


def test_expected_none_creates_a_new_file_with_the_default_mode(folder: Path) -> None:
    path = folder / "new.json"
    old_umask = os.umask(0o027)
    try:
        replace_file(path, NEW, expected=None)
    finally:
        os.umask(old_umask)
    assert path.read_bytes() == NEW and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_symlink_stays_a_link_and_its_target_is_replaced(folder: Path) -> None:
    real = folder / "real.json"
    real.write_bytes(OLD)
    link = folder / "flags.json"
    link.symlink_to("real.json")
    result = replace_file(link, NEW, expected=OLD)
    assert link.is_symlink() and os.readlink(link) == "real.json"
    assert real.read_bytes() == NEW and result.path == real


def test_a_file_with_other_hard_links_is_refused(folder: Path) -> None:
    path = folder / "flags.json"
    path.write_bytes(OLD)
    os.link(path, folder / "other-name.json")
    with pytest.raises(SourceError, match="has 2 hard links"):
        replace_file(path, NEW, expected=OLD)
    assert path.read_bytes() == OLD


def test_not_root_and_someone_elses_file_is_refused_not_taken_over(folder: Path) -> None:
    os.chown(folder, NOBODY, NOGROUP)  # nobody may create files here...
    path = folder / "flags.json"
    path.write_bytes(OLD)
    os.chmod(path, 0o666)  # ...and may write this root-owned file, but must not take it over
    outcome = as_nobody(lambda: replace_file(path, NEW, expected=OLD, name="flags file"))
    assert isinstance(outcome, PermissionDeniedError)
    assert str(outcome) == (
        f"flags file {path} belongs to root; replacing it as nobody would make it nobody's: "
        "run as root; nothing was written"
    )
    assert outcome.exit_code == 4
    assert path.read_bytes() == OLD and path.stat().st_uid == 0
    assert _leftovers(folder) == []


def test_not_root_and_a_group_we_are_not_in_is_refused(folder: Path) -> None:
    os.chown(folder, NOBODY, NOGROUP)
    path = folder / "flags.json"
    path.write_bytes(OLD)
    os.chown(path, NOBODY, 0)  # nobody:root: nobody is not in group root
    outcome = as_nobody(lambda: replace_file(path, NEW, expected=OLD))
    assert isinstance(outcome, PermissionDeniedError)
    assert "belongs to group 0, which nobody cannot give a file" in str(outcome)
    assert path.read_bytes() == OLD and path.stat().st_gid == 0
    assert _leftovers(folder) == []


def test_an_owner_who_is_not_root_rewrites_their_own_file_with_its_xattrs(folder: Path) -> None:
    os.chown(folder, NOBODY, NOGROUP)
    path = folder / "flags.json"
    path.write_bytes(OLD)
    os.chown(path, NOBODY, NOGROUP)
    os.chmod(path, 0o604)
    os.setxattr(path, "user.origin", b"gitops")
    os.setxattr(path, "trusted.monotui-test", b"root only")  # nobody cannot even see it
    outcome = as_nobody(lambda: replace_file(path, NEW, expected=OLD))
    assert not isinstance(outcome, Exception), outcome
    st = path.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY, NOGROUP, 0o604)
    assert os.getxattr(path, "user.origin") == b"gitops"
    # A limit, not a wish: trusted.* is invisible to anyone but root, so nobody cannot keep it.
    assert "trusted.monotui-test" not in os.listxattr(path)
    assert path.read_bytes() == NEW


def test_a_folder_we_cannot_write_is_a_clear_permission_error(folder: Path) -> None:
    path = folder / "flags.json"
    path.write_bytes(OLD)
    os.chown(path, NOBODY, NOGROUP)  # nobody's file in root's folder (0755)
    outcome = as_nobody(lambda: replace_file(path, NEW, expected=OLD, name="flags file"))
    assert isinstance(outcome, PermissionDeniedError)
    assert str(outcome).startswith(f"cannot create a file next to it in {folder}: flags file")
    assert "Permission denied" in str(outcome)
    assert path.read_bytes() == OLD


def test_a_hostile_file_name_is_shown_literally(folder: Path) -> None:
    path = folder / "flags\x1b[2J.json"
    path.write_bytes(OLD)
    with pytest.raises(ConflictError) as caught:
        replace_file(path, NEW, expected=b"something else")
    assert "\x1b" not in str(caught.value) and "flags\\x1b[2J.json" in str(caught.value)
