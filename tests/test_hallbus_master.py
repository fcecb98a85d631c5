"""The bus master alone, on an explicit pty path, against a far end that answers with bytes written out by hand
(not through our encoder), so the master's wire format and its retry and offline rules are pinned down."""
import os
import re
import select
import threading
import tty

import pytest
import serial

from kiosk.drivers import hallbus_frame as hb
from kiosk.drivers.hallbus import BusDisplay, BusPool
from kiosk.display.texts import DisplayText
from util import wait_until


class FarEnd:
    """The device side of a pty: records what arrives; answers from a script of raw replies, and, when
    ``ack_all`` is set, acknowledges every other request."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.received = bytearray()
        self.replies: dict[bytes, bytes] = {}
        self.ack_all = False
        self._decoder = hb.Decoder()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            if select.select([self.master], [], [], 0.02)[0]:
                data = os.read(self.master, 1024)
                self.received += data
                scripted = [reply for request, reply in self.replies.items() if self.received.endswith(request)]
                for reply in scripted:
                    os.write(self.master, reply)
                for frame in self._decoder.feed(data):
                    if self.ack_all and not scripted:
                        os.write(self.master, hb.encode(hb.Frame(frame.addr, frame.cmd | hb.ACK_BIT, frame.seq)))

    def close(self):
        self._stop.set()
        self._thread.join(1)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def far_end():
    end = FarEnd()
    yield end
    end.close()


def display_on(path: str) -> tuple[BusDisplay, BusPool]:
    pool = BusPool([{"name": "b", "port": path, "usb": "", "baud": 9600, "timeout_ms": 20, "retries": 1,
                     "offline_after": 2, "ping_ms": 30, "poll_ms": 5}])
    led = BusDisplay({"name": "led", "kind": "counter_display", "type": "bus", "counter": 1,
                      "options": {"bus": "b", "address": 1, "protocol": "hallbus"}})
    led.attach(pool)
    return led, pool


def test_master_pings_then_sends_show_on_an_explicit_path(far_end):
    """On a plain tty path the master first pings address 1 (02 01 01 01 00 00 49 FC 03); once the display
    ACKs it is online and a SHOW of "A012" blinking 3 times goes out as the exact bytes of the protocol doc."""
    far_end.replies[bytes.fromhex("49 fc 03")] = bytes.fromhex("02 01 81 01 00 00 60 3c 03")
    far_end.ack_all = True
    led, pool = display_on(far_end.path)
    pool.start()
    try:
        wait_until(led.online)
        assert far_end.received.startswith(bytes.fromhex("02 01 01 01 00 00 49 fc 03"))
        led.show(DisplayText(("A012",), 3))
        show = re.compile(rb"\x02\x01\x02(.)\x07\x00\x01\x00\x03A012(..)\x03", re.S)
        match = wait_until(lambda: show.search(bytes(far_end.received)))
        body = match.group(0)[1:-3]
        assert match.group(2) == hb.crc16_modbus(body).to_bytes(2, "little")
    finally:
        pool.stop()


def test_silent_device_is_retried_then_offline(far_end):
    """Nothing answers: each request goes out once more (retries = 1), and after two failed requests the
    display is offline with the timeouts counted; the master keeps pinging it."""
    led, pool = display_on(far_end.path)
    pool.start()
    try:
        wait_until(lambda: pool.buses["b"].stats[1]["timeouts"] >= 4)
        assert not led.online()
        assert far_end.received.count(b"\x02\x01\x01") >= 4
    finally:
        pool.stop()


def test_missing_port_is_retried_and_reported_not_raised():
    """A port path that does not exist: nothing raises; the bus says why it is down and keeps trying."""
    led, pool = display_on("/dev/serial/by-id/usb-no-such-adapter-if00-port0")
    pool.start()
    try:
        wait_until(lambda: pool.buses["b"].port_error)
        assert "cannot open the port" in pool.buses["b"].port_error and not led.online()
    finally:
        pool.stop()


def test_usb_adapter_not_plugged_in_is_a_clear_error():
    """Naming an adapter by USB ids that no plugged-in port has gives an error that says so."""
    from kiosk.drivers.hallbus import find_usb_port
    with pytest.raises(serial.SerialException, match="no USB serial adapter 0403:6001:NOPE"):
        find_usb_port("0403:6001:NOPE")


def test_a_retried_poll_gets_the_same_event_again_and_it_is_not_doubled():
    """A virtual dispenser with a press waiting answers a PING with TAKE; the host asks again with the same
    SEQ (it missed the answer): the same TAKE again. A new SEQ then gets a plain ACK: one press, one event."""
    from kiosk.drivers.hallbus_virtual import VirtualDevice
    dispenser = VirtualDevice(30, "dispenser")
    dispenser.queue(hb.TAKE, b"\x02")
    take = bytes.fromhex("02 1e 12 0a 01 00 02 68 7f 03")
    assert dispenser.answer(hb.Frame(30, hb.PING, 0x0A)) == take
    assert dispenser.answer(hb.Frame(30, hb.PING, 0x0A)) == take
    assert dispenser.answer(hb.Frame(30, hb.PING, 0x0B)) == hb.encode(hb.Frame(30, hb.PING | hb.ACK_BIT, 0x0B))
