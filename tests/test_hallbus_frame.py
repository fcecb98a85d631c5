"""The hall bus's frames, byte for byte: the encoder, the CRC, the decoder's recovery from noise and odd reads,
and the worked examples of docs/protocol.md."""
import re
from pathlib import Path

import pytest

from kiosk.drivers import hallbus_frame as hb
from kiosk.drivers.hallbus_frame import Decoder, Frame, encode

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"


def doc_examples() -> list[tuple[str, str]]:
    """The ``expression => hex`` lines of the protocol doc's ``hallbus`` block."""
    block = re.search(r"```hallbus\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    return [tuple(part.strip() for part in line.split("=>")) for line in block.strip().splitlines()]


def test_crc16_modbus_check_value():
    """CRC-16/MODBUS of the standard check string "123456789" is 0x4B37, as the doc says."""
    assert hb.crc16_modbus(b"123456789") == 0x4B37


def test_doc_has_examples_of_every_command_and_event():
    """The doc's examples cover PING, its ACK, SHOW, BRIGHTNESS, TAKE, KEY, RATING, SIGNAL and NAK."""
    text = " ".join(expr for expr, _ in doc_examples())
    for name in ("PING", "ACK_BIT", "SHOW", "BRIGHTNESS", "TAKE", "KEY", "RATING", "SIGNAL", "NAK"):
        assert name in text


@pytest.mark.parametrize("expr,wire", doc_examples())
def test_doc_example_bytes(expr, wire):
    """Each worked example in docs/protocol.md encodes to exactly the bytes shown, and decodes back."""
    frame = eval(expr, vars(hb))  # noqa: S307 - the doc's own examples
    assert encode(frame).hex(" ") == wire
    assert Decoder().feed(bytes.fromhex(wire)) == [frame]


def test_show_payload_round_trip_in_gb2312():
    """A two-line Chinese/English strip text survives encoding as GB2312 and parsing."""
    lines = ("请A012号到3号窗口办理", "Ticket A012, please go to Counter 3")
    payload = hb.show_payload(0, 3, lines)
    assert payload[:3] == b"\x00\x00\x03" and "请".encode("gb2312") in payload
    assert hb.parse_show(payload) == (0, 3, lines)


def test_decoder_handles_split_and_merged_reads():
    """Two frames arriving byte by byte, or both in one read, decode to the same two frames."""
    frames = [Frame(1, hb.SHOW, 7, hb.show_payload(1, 0, ("A001",))), Frame(2, hb.PING, 8)]
    wire = b"".join(encode(f) for f in frames)
    one_by_one = Decoder()
    got = [f for i in range(len(wire)) for f in one_by_one.feed(wire[i:i + 1])]
    assert got == frames
    assert Decoder().feed(wire) == frames


def test_decoder_skips_noise_and_bad_crc_and_recovers():
    """Line noise, a frame with a flipped CRC byte, a false STX with an absurd length: all thrown away and
    counted; the good frame after them is still found."""
    good = encode(Frame(5, hb.TAKE, 3, b"\x01"))
    bad = bytearray(encode(Frame(5, hb.TAKE, 2, b"\x01")))
    bad[-2] ^= 0xFF
    decoder = Decoder()
    assert decoder.feed(b"\xff\x00\x13" + bytes(bad) + b"\x02\x05\x12\x01\xff\xff" + good) == [Frame(5, hb.TAKE, 3, b"\x01")]
    assert decoder.errors >= 3


def test_payload_over_the_limit_is_refused():
    """The encoder will not build a frame the decoder would throw away."""
    with pytest.raises(ValueError):
        encode(Frame(1, hb.SHOW, 1, bytes(hb.MAX_PAYLOAD + 1)))
