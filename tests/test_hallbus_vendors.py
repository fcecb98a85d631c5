"""Vendor-protocol displays end to end: counter 1's LED speaks the LED-485 ASCII protocol and the hall strip
the AA…FF strip frame, beside hallbus devices on the same virtual bus, driven through the API. The virtual
twins decode the vendor bytes they receive; checks wait with ``wait_until`` (no timed assertions)."""
import pytest

from test_hallbus import API, all_online, bus_hall, device, shows, simulate
from util import hall_config, wait_until


def vendor_hall(cfg: dict) -> None:
    """The bus hall with counter 1's LED on ``led485-ascii`` and the strip on ``strip-aa``."""
    bus_hall(cfg)
    protocols = {"counter-1-led": "led485-ascii", "hall-strip": "strip-aa"}
    for dev in cfg["devices"]:
        if dev["name"] in protocols:
            dev["options"]["protocol"] = protocols[dev["name"]]


pytestmark = hall_config(vendor_hall)


def test_call_appears_on_led485_counter_display(client, tech, take):
    """A001 is taken and counter 1 presses next: the LED-485 display above counter 1 decodes ``$001,A001#``
    and shows A001; paused, it shows PAUSED (its Chinese line cannot be drawn)."""
    all_online(client, tech)
    assert device(client, tech, "counter-1-led")["protocol"] == "led485-ascii"
    take("general")
    client.post(f"{API}/counters/1/next", headers=tech)
    wait_until(lambda: shows(client, tech, "counter-1-led") == ["A001"])
    client.post(f"{API}/counters/1/no-show", headers=tech)
    client.post(f"{API}/counters/1/pause", headers=tech)
    wait_until(lambda: shows(client, tech, "counter-1-led") == ["PAUSED"])


def test_call_appears_on_strip_display(client, tech, take):
    """The strip first shows the welcome text; counter 1 calls A001: the strip decodes the AA…FF frame and
    scrolls the call in Chinese and English, while hallbus counter 2's LED still answers its pings."""
    all_online(client, tech)
    wait_until(lambda: shows(client, tech, "hall-strip") == ["欢迎光临", "Welcome"])
    take("general")
    client.post(f"{API}/counters/1/next", headers=tech)
    wait_until(lambda: shows(client, tech, "hall-strip")[:2] == ["请A001号到1号窗口办理",
                                                                  "Ticket A001, please go to Counter 1"])
    assert device(client, tech, "counter-2-led")["online"] is True


@pytest.mark.parametrize("name", ["counter-1-led", "hall-strip"])
def test_vendor_display_is_resent_its_text_when_the_adapter_returns(client, tech, name):
    """A vendor display never answers, so only the port tells: with the adapter pulled out it is offline;
    plugged back, it is online at once and sent its text again."""
    all_online(client, tech)
    wait_until(lambda: device(client, tech, name)["virtual"]["updates"] >= 1)
    before = device(client, tech, name)["virtual"]["updates"]
    simulate(client, tech, name, {"adapter_unplugged": True})
    wait_until(lambda: device(client, tech, name)["online"] is False)
    simulate(client, tech, name, {"adapter_unplugged": False})
    wait_until(lambda: device(client, tech, name)["virtual"]["updates"] > before, timeout=10)
    assert device(client, tech, name)["online"] is True
