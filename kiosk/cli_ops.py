"""The database commands of ``kiosk``: ``backup``, ``restore``, ``db check`` and ``db accept-loss``
(see docs/operations.md)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from . import backup, db_check
from .errors import HallError


def cmd_backup(args) -> int:
    """Back up the live database (the daemon may be running) and prune old backups."""
    path = backup.take(Path(args.data_dir), to=Path(args.to) if args.to else None, keep=args.keep)
    print(path)
    return 0


def cmd_restore(args) -> int:
    """Replace the database with a backup (the daemon must be stopped)."""
    data_dir = Path(args.data_dir)
    if args.latest:
        source = backup.newest(backup.backup_dir(data_dir))
        if source is None:
            raise HallError(f"There is no backup in {backup.backup_dir(data_dir)}.", code="no_backup", status=404)
    elif args.file:
        source = Path(args.file)
    else:
        raise HallError("Say which backup to restore: a FILE, or --latest.", code="no_backup", status=400)
    kept = backup.restore(source, data_dir)
    print(f"restored {data_dir / backup.DB_NAME} from {source}")
    if kept is not None:
        print(f"the database it replaced is kept as {kept}")
    return 0


def cmd_db_check(args) -> int:
    """Run the checks of the start on the database; exit 3 when it is missing, damaged or incomplete."""
    found = db_check.check_at_start(Path(args.data_dir))
    print(f"{Path(args.data_dir) / backup.DB_NAME}: {'OK' if found == db_check.CHECKED else found}")
    return 0


def cmd_db_accept_loss(args) -> int:
    """Go on with a database that lacks acknowledged changes (the daemon must be stopped)."""
    print(db_check.accept_loss(Path(args.data_dir)))
    return 0


def add_commands(sub: argparse._SubParsersAction, data_dir_default: str) -> None:
    """Add ``backup``, ``restore`` and ``db check`` to the command line."""
    keep = int(os.environ.get("KIOSK_BACKUP_KEEP") or 14)
    make = sub.add_parser("backup", help="back up the database (safe while the hall runs)")
    make.add_argument("--data-dir", default=data_dir_default, help="data directory [KIOSK_DATA_DIR]")
    make.add_argument("--to", help="directory for the backup (default DATA_DIR/backups)")
    make.add_argument("--keep", type=int, default=keep, help="how many backups to keep there [KIOSK_BACKUP_KEEP]")
    make.set_defaults(func=cmd_backup)

    restore = sub.add_parser("restore", help="replace the database with a backup (stop the hall first)")
    restore.add_argument("file", nargs="?", help="the backup file")
    restore.add_argument("--latest", action="store_true", help="restore the newest backup in DATA_DIR/backups")
    restore.add_argument("--data-dir", default=data_dir_default, help="data directory [KIOSK_DATA_DIR]")
    restore.set_defaults(func=cmd_restore)

    db = sub.add_parser("db", help="the database").add_subparsers(dest="db_command", required=True)
    check = db.add_parser("check", help="run the checks of the start: integrity, acknowledged changes present "
                                        "(exit 3 when the database is missing, damaged or incomplete)")
    check.add_argument("--data-dir", default=data_dir_default, help="data directory [KIOSK_DATA_DIR]")
    check.set_defaults(func=cmd_db_check)
    accept = db.add_parser("accept-loss", help="go on with a database that lacks acknowledged changes (after a "
                                               "damaged write-ahead log; stop the hall first)")
    accept.add_argument("--data-dir", default=data_dir_default, help="data directory [KIOSK_DATA_DIR]")
    accept.set_defaults(func=cmd_db_accept_loss)
