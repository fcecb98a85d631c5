"""Import python-escpos without its side effects.

Importing escpos 3.1 creates a new temporary directory each time: ``environ.get(
"ESCPOS_CAPABILITIES_PICKLE_DIR", mkdtemp())`` calls ``mkdtemp()`` even when the variable is set. It also
calls ``logging.basicConfig()``, which would take over the root logger of a process that has not configured
logging yet. Here the variable names one fixed cache folder, ``mkdtemp`` answers with that folder while
escpos is imported, and the root logger holds a placeholder handler meanwhile. Every module of ours that
needs escpos imports it from here.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

_cache = Path(os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR")
              or Path(tempfile.gettempdir()) / f"hall-kiosk-escpos-{os.getuid()}")
_cache.mkdir(parents=True, exist_ok=True)
os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(_cache)

_root = logging.getLogger()
_guard = logging.NullHandler() if not _root.handlers else None
if _guard is not None:
    _root.addHandler(_guard)   # basicConfig() does nothing when the root logger already has a handler
_mkdtemp = tempfile.mkdtemp
tempfile.mkdtemp = lambda *args, **kwargs: str(_cache)
try:
    from escpos import exceptions as escpos_errors  # noqa: E402
    from escpos.escpos import Escpos  # noqa: E402
    from escpos.image import EscposImage  # noqa: E402
    from escpos.printer import Dummy, File, Network, Serial, Usb  # noqa: E402
finally:
    tempfile.mkdtemp = _mkdtemp
    if _guard is not None:
        _root.removeHandler(_guard)

__all__ = ["Dummy", "Escpos", "EscposImage", "File", "Network", "Serial", "Usb", "escpos_errors"]
