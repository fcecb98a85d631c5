"""Logging to stderr in a form journald understands.

Under systemd, stderr is connected to the journal and ``JOURNAL_STREAM`` names that stream (``DEV:INODE``).
Then each line starts with its syslog priority (``<4>`` for a warning), which journald takes as the entry's
level, so ``journalctl -u hall-kiosk -p warning`` shows warnings and errors only; journald adds the time
itself. In a terminal (``make run``) lines carry a timestamp and the level's name instead.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Mapping, TextIO

SYSLOG_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


def writes_to_journal(stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """Tell whether ``stream`` is the journal stream systemd named in ``JOURNAL_STREAM``."""
    value = (os.environ if env is None else env).get("JOURNAL_STREAM", "")
    try:
        dev, ino = (int(part) for part in value.split(":"))
        st = os.fstat(stream.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


class JournalFormatter(logging.Formatter):
    """Prefixes every line of a record (a traceback's too) with its syslog priority."""

    def format(self, record: logging.LogRecord) -> str:
        """Format the record; one ``<N>`` prefix per line."""
        prefix = f"<{SYSLOG_PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def setup(level: str) -> None:
    """Send the log to stderr at ``level``, in journal form when stderr is the journal."""
    handler = logging.StreamHandler(sys.stderr)
    if writes_to_journal(sys.stderr):
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
