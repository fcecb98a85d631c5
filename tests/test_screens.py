"""The hall's screens in a real browser (headless Chromium): a customer, a clerk and the hall display.

Each test drives the pages as people would (clicks, keys) against a hall served by its production server, and keeps a
screenshot of the pages at their target sizes in test-artifacts/screens/.
"""
from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from playwright.sync_api import expect

from browser import KIOSK, PHONE, TABLET, TV, screenshot
from util import wait_until


def sign_in(page, headers: dict) -> None:
    """Type a token (from request headers made by the ``token`` fixture) into the page's sign-in form."""
    expect(page.locator("#signin")).to_be_visible()
    page.fill("#token", headers["Authorization"].removeprefix("Bearer "))
    page.click("#signin button[type=submit]")
    expect(page.locator("#signin")).to_be_hidden()


def test_a_ticket_taken_at_the_kiosk_is_called_at_the_counter_and_shown_on_the_hall_display(open_page, token):
    """A customer touches "综合业务" at the kiosk and sees A001; the clerk of counter 1 sees A001 in the waiting
    list and presses Space; the hall display shows A001 large with counter 1, and the counter row says A001."""
    display = open_page("/display", TV)
    expect(display.locator("#counters tr")).to_have_count(5)
    kiosk = open_page("/kiosk", KIOSK)
    kiosk.get_by_role("button", name=re.compile("综合业务")).click()
    expect(kiosk.locator("#number")).to_have_text("A001")
    expect(kiosk.locator("#result")).to_contain_text("请取走号票")
    screenshot(kiosk, "kiosk-ticket")

    counter = open_page("/counter/1", KIOSK)
    sign_in(counter, token("counter", 1))
    expect(counter.locator("#queue")).to_contain_text("A001")
    expect(counter.locator("#current")).to_have_text("无")
    counter.keyboard.press("Space")
    expect(counter.locator("#current")).to_have_text("A001")
    expect(counter.locator("#queue")).to_contain_text("暂无人等候")

    expect(display.locator("#latest-number")).to_have_text("A001")
    expect(display.locator("#latest-where")).to_have_text("请 A001 号到 1号窗口 办理")
    expect(display.locator("#counters tr[data-counter='1']")).to_contain_text("A001")
    expect(display.locator("#latest")).to_have_class(re.compile("flash"))
    screenshot(display, "display")

    counter.keyboard.press("r")
    expect(counter.locator("#current-info")).to_contain_text("已重呼 1 次")
    screenshot(counter, "counter")


def test_the_kiosk_starts_over_by_itself_and_speaks_english_on_the_switch(open_page):
    """After the language switch the kiosk's buttons are in English with the waiting count; the Back button
    returns to the start screen."""
    kiosk = open_page("/kiosk", KIOSK)
    kiosk.get_by_role("button", name="English").click()
    general = kiosk.get_by_role("button", name=re.compile("General business"))
    expect(general).to_contain_text("0 waiting")
    screenshot(kiosk, "kiosk-start-en")
    general.click()
    expect(kiosk.locator("#ahead")).to_have_text("0 ahead of you")
    kiosk.get_by_role("button", name="Back").last.click()
    expect(kiosk.locator("#start")).to_be_visible()
    expect(kiosk.get_by_role("button", name=re.compile("General business"))).to_contain_text("1 waiting")


def test_the_counter_lists_its_queue_in_calling_order_with_priority_marks(open_page, take, token):
    """A VIP ticket taken after two normal ones is first in the green-channel counter's list, marked 贵宾 (and
    not in counter 2's list, since the green channel takes VIPs); "Call" on the last row calls that ticket."""
    take("general"), take("consult"), take("general", "vip")
    other = open_page("/counter/2", KIOSK)
    sign_in(other, token("counter", 2))
    expect(other.locator("#queue tr")).to_have_count(2)
    expect(other.locator("#queue")).not_to_contain_text("V001")
    page = open_page("/counter/5", KIOSK)
    sign_in(page, token("technician"))
    rows = page.locator("#queue tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("V001")
    expect(rows.nth(0).locator(".mark-vip")).to_have_text("贵宾")
    expect(rows.nth(1)).to_contain_text("A001")
    expect(rows.nth(2)).to_contain_text("B001")
    rows.nth(2).get_by_role("button").click()
    expect(page.locator("#current")).to_have_text("B001")
    expect(rows).to_have_count(2)


def test_a_counter_token_of_another_counter_is_refused_politely(open_page, token):
    """Counter 2's token typed at counter 1's station keeps the sign-in form up with the reason."""
    page = open_page("/counter/1", KIOSK)
    page.fill("#token", token("counter", 2)["Authorization"].removeprefix("Bearer "))
    page.click("#signin button[type=submit]")
    expect(page.locator(".signin-error")).to_have_text("此令牌属于其他窗口")
    expect(page.locator("#station")).to_be_hidden()


def test_the_guide_desk_issues_a_vip_ticket_and_shows_the_queues(open_page, take, token):
    """The guide signs in, sees 1 waiting for general business, issues a VIP ticket: the desk says V001 and the
    count goes up to 2."""
    take("general")
    page = open_page("/guide", TABLET)
    sign_in(page, token("guide"))
    general = page.locator("#queues tr", has_text="综合业务")
    expect(general).to_contain_text("等候 1 人")
    general.locator("button[data-priority=vip]").click()
    expect(page.locator("#issued")).to_have_text("已出号 V001")
    expect(general).to_contain_text("等候 2 人")
    screenshot(page, "guide")


def test_the_ticket_status_page_follows_the_ticket(open_page, take, press):
    """The printed link's page shows A002 waiting with 1 ahead; when counter 3 calls it, the page says where to
    go — without the customer reloading."""
    take("general")
    second = take("general")
    page = open_page(f"/t/{second['id']}", PHONE)
    expect(page.locator("#number")).to_have_text("A002")
    expect(page.locator("#state")).to_have_text("等候中")
    expect(page.locator("#ahead")).to_have_text("前面还有 1 人")
    screenshot(page, "ticket-status")
    assert press(3, "call", ticket=second["id"]).status_code == 200
    expect(page.locator("#state")).to_have_text("请到 3号窗口 办理", timeout=15000)


def test_the_hall_display_reconnects_and_catches_up_on_a_call_made_while_it_was_cut_off(open_page, hall, take,
                                                                                        press):
    """The server drops every event stream (as on a restart); a call made in that moment still reaches the open
    display once its EventSource has reconnected by itself, with no one touching the TV."""
    take("general")
    display = open_page("/display", TV)
    expect(display.locator("#counters tr")).to_have_count(5)
    display.wait_for_function("() => document.getElementById('clock').textContent.includes(':')")
    hall.bus.end_streams()
    wait_until(lambda: hall.bus.stream_count() == 0)  # cut off (EventSource waits 2 s before reconnecting)
    assert press(2, "next").status_code == 200
    expect(display.locator("#latest-number")).to_have_text("A001", timeout=10000)
    expect(display.locator("#counters tr[data-counter='2']")).to_contain_text("A001")


def test_the_hall_display_clock_shows_the_halls_time_whatever_zone_the_tv_is_set_to(browser, live):
    """The TV's computer is set to New York time; the hall is in Shanghai (the config's time zone). The clock on
    /display shows Shanghai's hours and minutes."""
    context = browser.new_context(viewport=TV, locale="zh-CN", timezone_id="America/New_York")
    try:
        page = context.new_page()
        page.goto(live + "/display")
        page.wait_for_function("() => /\\d\\d:\\d\\d/.test(document.getElementById('clock').textContent)")
        shown = re.search(r"\d\d:\d\d", page.locator("#clock").inner_text()).group()  # 24-hour in both languages
        now = dt.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai"))
        expected = {f"{t:%H:%M}" for t in (now - dt.timedelta(minutes=1), now, now + dt.timedelta(minutes=1))}
        assert shown in expected, (shown, expected)
        new_york = dt.datetime.now(zoneinfo.ZoneInfo("America/New_York"))
        assert shown != f"{new_york:%H:%M}"
    finally:
        context.close()
