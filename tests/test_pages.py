"""The screens' pages as the server hands them out (what they show is tested in the browser: test_screens*.py)."""
import pytest

from util import assert_error, hall_config


@pytest.mark.parametrize("path", ["/", "/kiosk", "/counter/1", "/guide", "/display", "/admin", "/sim"])
def test_every_page_is_served_as_html_with_the_halls_name(client, path):
    """Each page is an HTML document carrying the hall's name, its own script and the message catalogue."""
    page = client.get(path)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'data-hall="客户服务中心"' in html and "/static/messages.js" in html


def test_the_scripts_and_the_stylesheet_are_served(client):
    """What the pages load is there with the right types; a file that does not exist is 404."""
    assert client.get("/static/common.js").mimetype in ("text/javascript", "application/javascript")
    assert client.get("/static/hall.css").mimetype == "text/css"
    assert client.get("/static/nothing.js").status_code == 404


def test_a_counter_the_hall_does_not_have_has_no_station(client):
    """/counter/9 in a hall of five counters is 404 unknown_counter."""
    assert_error(client.get("/counter/9"), 404, "unknown_counter")


def no_devices(cfg):
    cfg["devices"] = []
    cfg["buses"] = []


def only_a_virtual_bus(cfg):
    cfg["devices"] = [d for d in cfg["devices"] if d["type"] == "bus"]


@hall_config(no_devices)
def test_the_simulator_page_exists_only_with_simulated_devices(client):
    """A hall with no simulated or virtual device and no virtual bus has no /sim page."""
    assert client.get("/sim").status_code == 404
    assert client.get("/kiosk").status_code == 200


@hall_config(only_a_virtual_bus)
def test_a_virtual_bus_alone_brings_the_simulator_page(client):
    """A hall whose only simulated hardware is a virtual RS-485 bus (displays, dispenser, keypad) has /sim,
    so its virtual displays and buttons can be seen and pressed."""
    assert client.get("/sim").status_code == 200
