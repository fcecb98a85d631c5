"""The ESC/POS bytes of the ticket printer, byte for byte: status requests and answers, Chinese character
mode, the ticket's key sequences, and the virtual printer's decoding of them (pure functions, no port)."""
import pytest

from kiosk.display.ticket import TicketLayout
from kiosk.drivers import escpos_codes as codes
from kiosk.drivers.escpos_decode import Decoder
from kiosk.drivers import text_image
from kiosk.drivers.escpos_lib import Dummy
from kiosk.drivers.escpos_options import DEFAULT_FONT
from kiosk.drivers.ticket_escpos import PaperStyle, ticket_bytes

LAYOUT = TicketLayout(
    hall_name="客户服务中心", service_names=("综合业务", "General business"), number="A003",
    priority_marks=("★ 星光服务", "Starlight priority"), ahead_line="前面还有 2 人  2 ahead of you",
    wait_line="预计等候 10 分钟  about 10 min", issued_line="2026-11-23 10:00:00",
    status_url="http://127.0.0.1:8080/t/3", footer="请留意叫号屏幕  Please watch the call screen")


def test_status_query_is_dle_eot_1_2_4():
    """The check before a ticket sends DLE EOT 1, DLE EOT 2, DLE EOT 4 in one write."""
    assert codes.status_query() == b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"


@pytest.mark.parametrize("reply, online, paper, cover", [
    (b"\x12\x12\x12", True, "ok", False),
    (b"\x12\x12\x1e", True, "near_end", False),       # n=4 bits 2-3: near end
    (b"\x1a\x32\x7e", True, "out", False),             # offline because the paper ran out
    (b"\x1a\x16\x12", True, "ok", True),               # offline because the cover is open
    (b"\x1a\x12\x12", False, "ok", False),             # offline for another reason
])
def test_status_answers_are_read_bit_by_bit(reply, online, paper, cover):
    """Each real-time status answer maps to online, paper level and cover; readiness follows."""
    status = codes.parse_status(reply)
    assert (status.online, status.paper, status.cover_open) == (online, paper, cover)
    assert status.ready == (online and paper != "out" and not cover)


@pytest.mark.parametrize("reply", [b"", b"\x12", b"\x12\x12", b"\xff\x12\x12", b"\x12\x00\x12"])
def test_no_answer_or_a_garbled_one_counts_as_offline(reply):
    """A missing, short or garbled answer (fixed bits wrong) is offline, never "paper OK"."""
    status = codes.parse_status(reply)
    assert status.online is False and status.paper == "unknown" and status.ready is False
    assert status.error


@pytest.mark.parametrize("state", [
    {"online": True, "paper": "ok", "cover_open": False},
    {"online": True, "paper": "near_end", "cover_open": False},
    {"online": True, "paper": "out", "cover_open": False},
    {"online": True, "paper": "ok", "cover_open": True},
    {"online": False, "paper": "ok", "cover_open": False},
])
def test_virtual_printer_answers_parse_back_to_its_state(state):
    """What the virtual printer answers for a state reads back as that state."""
    reply = b"".join(codes.status_answer(n, **state) for n in codes.STATUS_ORDER)
    status = codes.parse_status(reply)
    assert (status.online, status.paper, status.cover_open) == (state["online"], state["paper"], state["cover_open"])


def test_chinese_text_is_sent_in_chinese_character_mode():
    """Chinese text is wrapped in FS & ... FS . around its GB18030 bytes; ASCII text is sent as is. A Big5
    printer gets Big5 bytes, and a simplified character Big5 lacks (询) prints as "?"."""
    assert codes.text_bytes("综合业务", "gb18030") == b"\x1c&\xd7\xdb\xba\xcf\xd2\xb5\xce\xf1\x1c."
    assert codes.text_bytes("A003", "gb18030") == b"A003"
    assert codes.text_bytes("客戶服務", "big5") == b"\x1c&\xab\xc8\xa4\xe1\xaaA\xb0\xc8\x1c."
    assert codes.text_bytes("咨询", "big5") == b"\x1c&\xabt?\x1c."


def test_python_escpos_alone_would_send_chinese_without_the_mode_switch():
    """The trap this driver avoids: python-escpos's text() sends GB18030 bytes without FS &, and a printer
    (here the decoder) then prints them as code-page characters, not as 综合业务."""
    p = Dummy()
    p.text("综合业务\n")
    assert b"\x1c&" not in p.output
    page_text = Decoder().feed(p.output + codes.FULL_CUT).pages[0].text
    assert page_text != "综合业务"


def test_ticket_key_sequences():
    """The ticket starts with ESC @, prints the number at 4x4 (GS ! 0x33), stores and prints a native QR code
    of the status link (GS ( k fn 80 / fn 81), sends every Chinese line in Chinese mode, and ends with a cut."""
    data = ticket_bytes(LAYOUT, PaperStyle())
    assert data.startswith(b"\x1b@")
    assert b"\x1d!\x33" + b"\x1bE\x01\x1ba\x01" + b"A003\n" in data
    url = LAYOUT.status_url.encode()
    assert b"\x1d(k" + bytes([len(url) + 3, 0]) + b"1P0" + url in data
    assert b"\x1d(k\x03\x001Q0" in data
    assert b"\x1c&" + "客户服务中心".encode("gb18030") + b"\x1c.\n" in data
    assert data.endswith(b"\x1bd\x06\x1dV\x00")


def test_58mm_profile_without_cutter_still_cuts_and_prints_smaller():
    """On 58 mm paper the number is 3x3; with a profile that has no cutter (python-escpos would only feed),
    the cut is sent anyway when the printer has one, and not when `cutter = false`."""
    with_cutter = ticket_bytes(LAYOUT, PaperStyle(width_mm=58, profile="simple"))
    assert b"\x1d!\x22" in with_cutter and with_cutter.endswith(b"\x1dV\x00")
    without = ticket_bytes(LAYOUT, PaperStyle(width_mm=58, profile="simple", cutter=False))
    assert b"\x1dV" not in without


def test_decoder_reads_the_ticket_back():
    """The virtual printer's decoder turns the ticket bytes, fed in 7-byte chunks, back into the ticket's
    lines (Chinese included), the QR code's content, the number's size and the cut."""
    decoder = Decoder()
    data = ticket_bytes(LAYOUT, PaperStyle())
    pages = [page for i in range(0, len(data), 7) for page in decoder.feed(data[i:i + 7]).pages]
    assert len(pages) == 1 and pages[0].cut
    page = pages[0]
    assert page.lines == ["客户服务中心", "综合业务", "General business", "", "A003", "★ 星光服务",
                          "Starlight priority", "", "前面还有 2 人  2 ahead of you", "预计等候 10 分钟  about 10 min",
                          "2026-11-23 10:00:00", "http://127.0.0.1:8080/t/3",
                          "请留意叫号屏幕  Please watch the call screen"]
    assert page.qr_codes == ["http://127.0.0.1:8080/t/3"]
    assert page.size_of("A003") == (4, 4) and page.size_of("综合业务") == (1, 1)
    assert decoder.unknown == []


def test_decoder_reports_status_requests_between_pages():
    """DLE EOT requests are reported in order, also when split across chunks."""
    decoder = Decoder()
    first = decoder.feed(b"\x10\x04\x01\x10")
    second = decoder.feed(b"\x04\x04")
    assert first.status_requests == [1] and second.status_requests == [4]


def test_printer_without_chinese_font_gets_chinese_lines_as_raster_images():
    """With `encoding = "image"` each line holding Chinese is drawn with the CJK font and sent as a GS v 0
    raster image (the same bytes python-escpos's image() sends), never in Chinese mode; ASCII lines and the
    number stay text. The image of 综合业务 has black dots and fits the paper."""
    data = ticket_bytes(LAYOUT, PaperStyle(encoding="image"))
    assert b"\x1c&" not in data and data.count(b"\x1dv0\x00") == 6
    page = Decoder().feed(data).pages[0]
    assert page.images == 6
    assert page.lines[:3] == ["General business", "", "A003"]
    image = text_image.render("综合业务", DEFAULT_FONT, 80)
    lowest, highest = image.getextrema()
    assert 0 < image.width <= 72 * 8 and lowest == 0 and highest > 0   # black dots on white
    escpos = Dummy()
    escpos.image(image)
    assert escpos.output in data


def test_code_page_printer_gets_its_code_page_and_chinese_as_images():
    """With `encoding = "cp858"` a line the code page holds (Café 5 €) is sent after ESC t 19 in cp858 and
    decodes back; a Chinese line, which it cannot hold, is sent as a raster image instead."""
    layout = TicketLayout(hall_name="Café 5 €", service_names=("综合业务",), number="A001", priority_marks=(),
                          ahead_line="0 ahead of you", wait_line="", issued_line="2026-11-23 10:00:00",
                          status_url="http://127.0.0.1:8080/t/1", footer="Merci")
    data = ticket_bytes(layout, PaperStyle(encoding="cp858"))
    assert b"\x1bt\x13Caf\x82 5 \xd5\n" in data
    assert b"\x1c&" not in data and data.count(b"\x1dv0\x00") == 1
    page = Decoder().feed(data).pages[0]
    assert page.lines[0] == "Café 5 €" and page.images == 1 and "A001" in page.lines
