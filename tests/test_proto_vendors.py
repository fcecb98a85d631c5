"""The vendors' display protocols byte for byte: the LED-485 ASCII frame, the AA…FF strip frame, their
decoders (used by the virtual twins), and the worked examples of docs/protocol.md."""
import re
from pathlib import Path

import pytest

from kiosk.drivers import proto_led485 as led, proto_strip as strip

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"


def doc_examples(block: str) -> list[tuple[str, str]]:
    """The ``expression => hex`` lines of the protocol doc's block named ``block``."""
    text = re.search(rf"```{block}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    return [tuple(part.strip() for part in line.split("=>")) for line in text.strip().splitlines()]


@pytest.mark.parametrize("module, expr, wire", [(led, *e) for e in doc_examples("led485-ascii")]
                         + [(strip, *e) for e in doc_examples("strip-aa")])
def test_doc_example_bytes(module, expr, wire):
    """Each worked example encodes to exactly the bytes shown; the decoder reads them back to the same frame."""
    raw = eval(expr, vars(module))  # noqa: S307 - the doc's own examples
    assert raw.hex(" ") == wire
    assert [module.encode(*frame) for frame in module.Decoder().feed(raw)] == [raw]


def test_led485_frame_is_dollar_address_comma_text_hash():
    """Display 12 is told to show A012: the ASCII bytes ``$012,A012#``."""
    assert led.encode(12, "A012") == b"$012,A012#"


@pytest.mark.parametrize("lines, shown", [
    (("A012",), "A012"), (("暂停服务", "Paused"), "PAUSED"), (("8888 测试", "TEST"), "8888"),
    (("请稍候",), "----"), (("Welcome",), "----"), (("",), ""),
])
def test_led485_shows_what_seven_segments_can_draw(lines, shown):
    """A ticket number shows as it is; Chinese is dropped; a line with W, M, K… cannot be drawn; blank stays
    blank."""
    assert led.render(lines) == shown


def test_led485_refuses_undrawable_text_and_bad_address():
    """The encoder will not send what the display cannot draw, nor to an address outside 1–254."""
    for address, text in ((1, "WAIT"), (255, "A012"), (1, "A" * 17)):
        with pytest.raises(ValueError):
            led.encode(address, text)


def test_led485_decoder_skips_noise_and_handles_split_reads():
    """Noise, a malformed ``$ab,`` frame and a frame fed byte by byte: only the good frames come out."""
    decoder = led.Decoder()
    wire = b"\x02\x17$ab,12#$001,A012#$002,PAUSED#"
    assert [f for i in range(len(wire)) for f in decoder.feed(wire[i:i + 1])] == [(1, "A012"), (2, "PAUSED")]
    assert decoder.errors >= 1


def test_strip_checksum_is_the_low_byte_of_the_text_sum():
    """SUM is the text bytes' sum modulo 256: "A1" is 0x41 + 0x31 = 0x72."""
    assert strip.encode(1, ("A1",)) == bytes.fromhex("aa 01 bb 51 54 72 41 31 ff")


def test_strip_decoder_refuses_a_bad_checksum_and_recovers():
    """A frame with a wrong SUM and noise before it are thrown away; the good frame after them is found."""
    good = strip.encode(20, ("请A012号到3号窗口办理",))
    bad = bytearray(strip.encode(20, ("欢迎光临",)))
    bad[5] ^= 0x01
    decoder = strip.Decoder()
    assert decoder.feed(b"\xaa\x00\x13" + bytes(bad) + good[:7]) == []
    assert decoder.feed(good[7:]) == [(20, ("请A012号到3号窗口办理",))]
    assert decoder.errors >= 2


def test_strip_text_outside_gb2312_becomes_question_marks():
    """A character GB2312 lacks (an emoji) is sent as ``?``; a blank strip is an empty text."""
    assert strip.Decoder().feed(strip.encode(3, ("A😀",))) == [(3, ("A?",))]
    assert strip.encode(3, ("",)) == bytes.fromhex("aa 03 bb 51 54 00 ff")
