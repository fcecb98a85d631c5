"""The one factory that opens a printer's port, by the device's ``type``, and the reads of status answers.

Each transport is a python-escpos class (``Usb``, ``Serial``, ``Network``, ``File``); serial ports open through
``serial.serial_for_url`` so a path (``/dev/ttyUSB0``, a pty) and a pyserial URL (``rfc2217://``, ``loop://``)
both work. Every open port has a finite timeout: python-escpos's USB default of 0 would wait forever.
Status answers are read from the transport's ``device`` (a pyserial port or a socket) or, for USB, through
escpos's ``_read()``: internals of the pinned python-escpos, listed in :mod:`.escpos_lib`.
"""
from __future__ import annotations

import socket
import time

import serial

from .base import DeviceError
from .escpos_lib import Escpos, File, Network, Serial, Usb, escpos_errors

# What a transport raises when the port fails (unplugged, reset, busy).
PORT_ERRORS: tuple[type[BaseException], ...] = (OSError, serial.SerialException, escpos_errors.Error)
try:
    import usb.core
    PORT_ERRORS += (usb.core.USBError,)
except ImportError:   # pragma: no cover - pyusb is a dependency; without it only USB printers fail
    pass


class UrlSerial(Serial):
    """python-escpos's serial printer, opened through pyserial's URL factory."""

    def open(self, raise_not_found: bool = True) -> None:
        """Open the port (a device path or a pyserial URL) with the configured speed and timeouts."""
        try:
            self.device = serial.serial_for_url(self.devfile, baudrate=self.baudrate, timeout=self.timeout,
                                                write_timeout=self.timeout, dsrdtr=self.dsrdtr)
        except (serial.SerialException, ValueError) as exc:
            self.device = None
            raise escpos_errors.DeviceNotFoundError(f"Could not open serial port {self.devfile}: {exc}") from None


def describe(type_: str, options: dict) -> str:
    """Name the port for a person: ``usb 0416:5011``, ``serial /dev/ttyUSB0``, ``network 10.0.0.9:9100``."""
    if type_ == "usb":
        return f"usb {options['vendor_id']:04x}:{options['product_id']:04x}"
    if type_ == "serial":
        return f"serial {options['port']}"
    if type_ == "network":
        return f"network {options['host']}:{options['port']}"
    return f"file {options['path']}"


def open_port(type_: str, options: dict, profile: str) -> Escpos:
    """Open a printer's port; raise DeviceError ``printer_offline`` with the port's name when it fails."""
    if type_ == "usb":
        printer = Usb(options["vendor_id"], options["product_id"], timeout=int(options["timeout"] * 1000),
                      in_ep=options["in_ep"], out_ep=options["out_ep"], profile=profile)
    elif type_ == "serial":
        printer = UrlSerial(options["port"], baudrate=options["baud"], timeout=options["timeout"], profile=profile)
    elif type_ == "network":
        printer = Network(options["host"], options["port"], timeout=options["timeout"], profile=profile)
    else:
        printer = File(options["path"], profile=profile)
    try:
        printer.open()
    except ValueError as exc:   # pyusb's NoBackendError: libusb is missing
        raise DeviceError("printer_offline", f"USB printers need libusb ({exc}): install the Debian package "
                          "libusb-1.0-0") from None
    except PORT_ERRORS as exc:
        raise DeviceError("printer_offline", f"the ticket printer cannot be reached ({describe(type_, options)}: "
                          f"{_first_line(exc)})") from None
    if printer.device is None:   # escpos logs instead of raising for some failures
        raise DeviceError("printer_offline", f"the ticket printer cannot be reached ({describe(type_, options)})")
    if type_ == "network":   # a status request right after a ticket must not wait for Nagle's algorithm
        printer.device.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return printer


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = [line for line in text.splitlines() if line.strip()]
    detail = lines[-1] if len(lines) > 1 else text
    if "Resource busy" in text:
        detail += " - the kernel's usblp driver holds it: use type = \"file\" with /dev/usb/lp0, or unload usblp"
    return detail


def drain(printer: Escpos) -> None:
    """Throw away answers that arrived late (after an earlier request timed out)."""
    device = printer.device
    if isinstance(device, serial.SerialBase):
        device.reset_input_buffer()
    elif isinstance(device, socket.socket):
        device.setblocking(False)
        try:
            while device.recv(4096):
                pass
        except OSError:
            pass
        finally:
            device.settimeout(printer.timeout)


def read_some(printer: Escpos, count: int, timeout: float) -> bytes:
    """Read what has arrived, up to ``count`` bytes (a USB read may give a few more): return as soon as there is
    something, or ``b""`` when nothing came within ``timeout`` seconds (a USB read waits the port's own
    timeout)."""
    device = printer.device
    if isinstance(device, serial.SerialBase):
        device.timeout = timeout
        return device.read(max(1, min(count, device.in_waiting)))
    if isinstance(device, socket.socket):
        device.settimeout(timeout)
        try:
            chunk = device.recv(count)
        except socket.timeout:
            return b""
        finally:
            device.settimeout(printer.timeout)
        if not chunk:
            raise ConnectionResetError("the printer closed the connection")
        return chunk
    try:
        return bytes(printer._read())
    except Exception as exc:  # pyusb raises its own timeout error class
        if "timeout" in str(exc).lower() or "timed out" in str(exc).lower():
            return b""
        raise


def read_reply(printer: Escpos, count: int, timeout: float) -> bytes:
    """Read up to ``count`` answer bytes, waiting at most ``timeout`` seconds in all (less if they come)."""
    deadline = time.monotonic() + timeout
    reply = b""
    while len(reply) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        reply += read_some(printer, count - len(reply), left)
    return reply


def discard_late(printer: Escpos, quiet: float, limit: float) -> tuple[bytes, bool]:
    """Throw away whatever arrives until nothing has come for ``quiet`` seconds, waiting at most ``limit`` in
    all. Returns the bytes thrown away and whether the line went quiet (False: it kept talking)."""
    deadline = time.monotonic() + limit
    thrown = b""
    while deadline - time.monotonic() >= quiet:
        chunk = read_some(printer, 4096, quiet)
        if not chunk:
            return thrown, True
        thrown += chunk
    return thrown, False
