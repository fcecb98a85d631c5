"""Import python-escpos without its side effects.

Importing escpos 3.1 creates a new temporary directory each time: ``environ.get(
"ESCPOS_CAPABILITIES_PICKLE_DIR", mkdtemp())`` calls ``mkdtemp()`` even when the variable is set. It also
calls ``logging.basicConfig()``, which would take over the root logger of a process that has not configured
logging yet. Here the variable names one fixed cache folder, ``mkdtemp`` answers with that folder while
escpos is imported, and the root logger holds a placeholder handler meanwhile. Every module of ours that
needs escpos imports it from here.

python-escpos is pinned exactly (``python-escpos==3.1`` in pyproject.toml) because we use more than its public
interface; ``tests/test_canaries.py`` checks each of these and names the one that changed (re-check them
before moving the pin; docs/printer.md lists them too):

- ``Escpos._raw(msg)``, the one write every transport implements: our own bytes (INIT, Chinese character mode,
  code pages, GS v 0 raster lines, the status query ``DLE EOT``) go through it
  (drivers/ticket_escpos.py, drivers/escpos_printer.py);
- ``Dummy(profile=...)`` and its ``output``: a ticket is rendered into a Dummy, then sent in one write;
  ``profile.supports("paperFullCut" / "paperPartCut")`` decides whether we send the cut ourselves;
- ``EscposImage``'s ``width_bytes``, ``height`` and ``to_raster_format()``: a line printed as an image;
- ``Escpos._device`` (False = not initialized) behind the ``device`` property: the port owner sets it to False
  after a close, so escpos's ``__del__`` does not close the port again (drivers/escpos_printer.py);
- ``Serial``'s ``devfile``/``baudrate``/``timeout``/``dsrdtr`` and ``open(raise_not_found)``, which
  ``UrlSerial`` overrides to open through pyserial's URL factory; ``Network``'s socket as ``device`` and its
  ``timeout``; ``Usb(idVendor, idProduct, timeout=, in_ep=, out_ep=)`` and its ``_read()`` for status answers
  (drivers/escpos_connect.py);
- ``exceptions.Error`` / ``DeviceNotFoundError``, and the import side effects this module works around
  (``capabilities.pickle_dir`` from ``ESCPOS_CAPABILITIES_PICKLE_DIR``, ``mkdtemp``, ``logging.basicConfig``).
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
