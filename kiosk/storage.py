"""The disk under the data directory: telling "the disk is full" from other failures, and how much room is left.

A full disk makes SQLite answer ``SQLITE_FULL`` (usually at the commit, which it then rolls back whole); the
writer turns that into :class:`~kiosk.errors.StorageFull` (503 ``storage_full``) for every caller of the batch,
and remembers that writes fail (``Writer.storage_full``) until a write commits again. ``/health`` and
``/metrics`` report :func:`state`: full while writes fail or less than :data:`MIN_FREE_BYTES` are free. Nothing
has to be restarted when space returns: the next write simply succeeds.
"""
from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from .errors import StorageFull

SQLITE_FULL = 13
SQLITE_IOERR = 10  # what SQLite says when it cannot grow its shared-memory file on a full disk
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
MIN_FREE_BYTES = 64 * 1024
"""Below this the next write of the WAL (a few 4 KiB pages per change) is likely to fail: reported as full."""
MESSAGE = "The hall's storage is full; nothing was changed. Please tell the technician."


def is_full(exc: BaseException, directory: Path | None = None) -> bool:
    """Tell whether an error means the disk (or the user's quota) is full.

    With ``directory`` (where the database lives), an I/O error of SQLite counts too when that disk has
    (almost) no space left: SQLite reports a failed growth of its ``-shm`` file that way."""
    if isinstance(exc, StorageFull):
        return True
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
        if code == SQLITE_IOERR and directory is not None:
            return free_bytes(directory) < MIN_FREE_BYTES
        return code == SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno in FULL_ERRNOS


def full_error() -> StorageFull:
    """The error a caller gets when its change could not be stored for lack of space."""
    return StorageFull(MESSAGE)


def free_bytes(directory: Path) -> int:
    """Bytes this user may still write on the file system holding ``directory`` (or its nearest existing
    parent; 0 when it cannot be asked)."""
    path = Path(directory).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        info = os.statvfs(path)
    except OSError:
        return 0
    return info.f_bavail * info.f_frsize


def state(data_dir: Path, writes_failing: bool) -> dict:
    """The ``storage`` part of ``/health``: whether the disk is full, the free bytes, and the data directory."""
    free = free_bytes(data_dir)
    return {"full": writes_failing or free < MIN_FREE_BYTES, "free_bytes": free, "data_dir": str(data_dir)}


def problem(storage: dict) -> str | None:
    """The health problem for a full disk, in words (None when there is room)."""
    if not storage["full"]:
        return None
    return (f"the disk holding the data directory {storage['data_dir']} is full ({storage['free_bytes']} bytes "
            "free): no ticket or call can be stored until space is freed there")


def probe(tx) -> None:
    """A write of one small row: run by the health check while writes fail, to notice that space returned."""
    tx.execute("INSERT INTO meta (key, value) VALUES ('storage_checked_at', ?) "
               "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (repr(tx.now),))
