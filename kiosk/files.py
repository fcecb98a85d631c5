"""Files of the data directory that only the hall's own user may read, whatever the umask it was started with.

The database holds agents' names and codes and the hashes of tokens, so the data directory is kept at mode
0700 and the files in it (``hall.db`` with its ``-wal`` and ``-shm``, the backups, the token file, the lock,
the commit mark) at 0600. SQLite creates its ``-wal`` and ``-shm`` files with the mode of the database file,
so creating ``hall.db`` (and each backup) at 0600 before SQLite opens it is enough for those.
"""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if missing and give it mode 0700 when this user owns it."""
    path = Path(path)
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _restrict(path, DIR_MODE)
    return path


def private_file(path: Path, *, create: bool = True) -> Path:
    """Create ``path`` empty if missing (mode 0600), or take an existing one's group and world bits away.

    With ``create=False`` a missing file is left missing."""
    path = Path(path)
    if create:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    elif not path.exists():
        return path
    _restrict(path, FILE_MODE)
    return path


def open_private(path: Path, flags: int) -> int:
    """``os.open`` with O_CREAT at mode 0600 (an existing file is restricted too); returns the descriptor."""
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & ~FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new content, never a mix.

    Written to a temporary name beside it (mode 0600), synced, renamed over ``path``, and the directory synced,
    so the new content survives a power cut once this returns."""
    path = Path(path)
    temp = write_beside(path, data)
    os.replace(temp, path)
    sync_dir(path.parent)


def write_beside(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path`` (mode 0600) and sync it; return the temporary file.

    The first half of :func:`write_atomically`, for a caller that renames it over ``path`` itself (``os.replace``,
    then :func:`sync_dir`) at a moment of its choosing. When the write fails (a full disk, say) no temporary
    file is left behind."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.tmp")
    fd = open_private(temp, os.O_WRONLY | os.O_TRUNC)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def sync_dir(directory: Path) -> None:
    """fsync a directory so a rename or a new file in it survives a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _restrict(path: Path, mode: int) -> None:
    info = path.stat()
    if stat.S_IMODE(info.st_mode) & ~mode and info.st_uid == os.geteuid():
        os.chmod(path, mode)
        log.info("%s was readable by others; its mode is now %o", path, mode)
