"""The technician's screens in a real browser: the simulator, the console, and what the kiosk then says."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from browser import KIOSK, TV, screenshot
from test_screens import sign_in


def test_paper_out_switched_on_the_simulator_gives_a_polite_message_at_the_kiosk(open_page, token, hall):
    """The technician ticks paper_out for the virtual printer on /sim; a customer's touch at the kiosk then gets
    the out-of-paper apology (in English too) instead of a number, and the kiosk goes back to its start screen
    with the Back button."""
    sim = open_page("/sim", KIOSK)
    sign_in(sim, token("technician"))
    printer = sim.locator("[data-device=ticket-printer]")
    printer.locator("input[data-switch=paper_out]").check()
    expect(printer).to_contain_text("纸张：out")
    screenshot(sim, "sim")
    assert hall.devices.printer.state()["paper"] == "out"

    kiosk = open_page("/kiosk", KIOSK)
    kiosk.get_by_role("button", name=re.compile("理赔")).click()
    expect(kiosk.locator("#message-text")).to_contain_text("取号机暂时无法出票")
    screenshot(kiosk, "kiosk-paper-out")
    kiosk.get_by_role("button", name="返回").last.click()
    kiosk.get_by_role("button", name="English").click()
    kiosk.get_by_role("button", name=re.compile("Claims")).click()
    expect(kiosk.locator("#message-text")).to_contain_text("cannot print just now")


def test_the_simulator_presses_a_dispenser_key_and_shows_the_printed_ticket(open_page, token):
    """Key 2 of the virtual dispenser issues a consultation ticket; the virtual printer's paper shows B001."""
    sim = open_page("/sim", KIOSK)
    sign_in(sim, token("technician"))
    sim.locator("[data-device=dispenser] button[data-key='2']").click()
    expect(sim.locator("[data-device=ticket-printer] pre")).to_contain_text("B001")


def test_a_roster_imported_on_the_console_lets_a_starlight_agent_take_a_ticket(open_page, token):
    """The technician pastes a roster with one good and one bad row: the console reports 1 accepted and 1
    rejected with the row's reason; the agent then types the code at the kiosk and gets a claims ticket, while
    an expired agent is told the date politely."""
    console = open_page("/admin", TV)
    sign_in(console, token("technician"))
    expect(console.locator("#devices tr[data-device=ticket-printer]")).to_contain_text("在线")
    console.fill("#roster", "agent_code,name,branch,valid_from,valid_until\n"
                            "SL0042,王小明,haidian,2026-10-01,2027-03-31\n"
                            "SL0043,李四,nowhere,2026-10-01,2027-03-31\n"
                            "SL0044,赵六,xicheng,2026-01-01,2026-06-30\n")
    console.get_by_role("button", name="导入").click()
    expect(console.locator("#roster-report")).to_have_text("接受 2 行，拒绝 1 行")
    expect(console.locator("#roster-rejections")).to_contain_text("第 2 行")
    expect(console.locator("#roster-rejections")).to_contain_text("unknown_branch")
    screenshot(console, "admin")

    kiosk = open_page("/kiosk", KIOSK)
    kiosk.get_by_role("button", name="星光服务 · 代理人").click()
    kiosk.keyboard.type("SL0042\n")  # a barcode reader types the code and Enter
    kiosk.locator("#agent-services").get_by_role("button", name=re.compile("理赔")).click()
    expect(kiosk.locator("#number")).to_have_text("C001")
    kiosk.get_by_role("button", name="返回").last.click()
    kiosk.get_by_role("button", name="星光服务 · 代理人").click()
    kiosk.keyboard.type("SL0044")
    kiosk.locator("#agent-services").get_by_role("button", name=re.compile("理赔")).click()
    expect(kiosk.locator("#message-text")).to_have_text("您的星光服务资格已于 2026-06-30 到期，欢迎到引导台咨询")


def test_a_roster_with_many_bad_rows_lists_the_first_hundred_on_the_console(open_page, token):
    """The technician pastes a roster with one good row and 150 rows of an unknown branch: the console reports
    1 accepted and 150 rejected, lists 100 rejected rows and says the other 50 are not listed."""
    console = open_page("/admin", TV)
    sign_in(console, token("technician"))
    bad = "".join(f"SL{i:04d},李四,nowhere,2026-10-01,2027-03-31\n" for i in range(1, 151))
    console.fill("#roster", "agent_code,name,branch,valid_from,valid_until\n"
                            "SL0999,王小明,haidian,2026-10-01,2027-03-31\n" + bad)
    console.get_by_role("button", name="导入").click()
    expect(console.locator("#roster-report")).to_have_text("接受 1 行，拒绝 150 行")
    expect(console.locator("#roster-rejections li")).to_have_count(101)
    expect(console.locator("#roster-rejections li").last).to_have_text("另有 50 行被拒绝，未逐行列出")


def test_a_config_with_a_mistake_is_refused_on_the_console_with_the_key_named(open_page, token):
    """Changing a counter's services to a service that does not exist shows the validation message naming the
    key; the hall keeps its config."""
    console = open_page("/admin", TV)
    sign_in(console, token("technician"))
    editor = console.locator("#config")
    expect(editor).to_have_value(re.compile(r"\[\[counters\]\]"))  # the editor shows TOML, as in the file
    editor.fill(editor.input_value().replace("last_calls_shown = 6", 'last_calls_shown = "six"', 1))
    console.get_by_role("button", name="保存并应用").click()
    expect(console.locator("#config-result")).to_contain_text("invalid_config")
    expect(console.locator("#config-result")).to_contain_text("last_calls_shown")


def test_a_counter_token_made_on_the_console_signs_the_clerk_in_and_can_be_revoked(open_page, token, take):
    """The technician makes a token for counter 2 labelled "counter 2 PC": the console shows it once and lists
    it; the clerk signs in at /counter/2 with it and calls A001. The technician revokes it, and the clerk's next
    press is refused. Revoking the technician's own token is refused with a reason."""
    console = open_page("/admin", TV)
    sign_in(console, token("technician"))
    console.select_option("#token-role", "counter")
    console.fill("#token-counter", "2")
    console.fill("#token-label", "counter 2 PC")
    console.get_by_role("button", name="新建令牌").click()
    expect(console.locator("#token-new")).to_be_visible()
    value = console.locator("#token-new-value").inner_text()
    assert value.startswith("hk_")
    row = console.locator("#tokens tr", has_text="counter 2 PC")
    expect(row).to_contain_text("窗口")
    expect(console.locator("#tokens")).not_to_contain_text(value)

    take("general")
    clerk = open_page("/counter/2", KIOSK)
    sign_in(clerk, {"Authorization": f"Bearer {value}"})
    clerk.keyboard.press("Space")
    expect(clerk.locator("#current")).to_contain_text("A001")

    row.get_by_role("button", name="吊销").click()
    expect(console.locator("#token-result")).to_contain_text("已吊销")
    expect(console.locator("#tokens tr", has_text="counter 2 PC")).to_have_count(0)
    clerk.reload()
    expect(clerk.locator("#signin")).to_be_visible()  # the stored token no longer works

    console.locator("#tokens tr").first.get_by_role("button", name="吊销").click()
    expect(console.locator("#token-result")).to_contain_text("own_token")
    screenshot(console, "admin-tokens")
