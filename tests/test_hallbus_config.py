"""The bus part of the config: buses, and bus devices' options, checked with the bad key's path."""
import pytest

from conftest import default_config
from kiosk import settings
from kiosk.errors import ConfigError
from test_hallbus import bus_hall


def bus_config(change) -> dict:
    cfg = default_config()
    bus_hall(cfg)
    change(cfg)
    return cfg


def test_bus_config_is_valid():
    """The tests' bus hall is a valid config; defaults are filled in (9600 baud)."""
    cfg = settings.validate(bus_config(lambda c: None))
    assert cfg["buses"][0]["baud"] == 9600 and cfg["devices"][1]["options"]["protocol"] == "hallbus"


def test_vendor_protocols_are_valid_for_the_displays_they_serve():
    """An LED-485 counter display and an AA…FF strip are accepted on their own kinds."""
    def vendors(c):
        c["devices"][1]["options"]["protocol"] = "led485-ascii"
        c["devices"][3]["options"]["protocol"] = "strip-aa"
    cfg = settings.validate(bus_config(vendors))
    assert [d["options"]["protocol"] for d in cfg["devices"][1:4]] == ["led485-ascii", "hallbus", "strip-aa"]

@pytest.mark.parametrize("change, path", [
    (lambda c: c["devices"][1]["options"].update(bus="nope"), "devices[1].options.bus"),
    (lambda c: c["devices"][2]["options"].update(address=1), "devices[2].options.address"),
    (lambda c: c["devices"][1]["options"].update(address=255), "devices[1].options.address"),
    (lambda c: c["devices"][1]["options"].update(baud=9600), "devices[1].options.baud"),
    (lambda c: c["devices"][1]["options"].update(protocol="modbus"), "devices[1].options.protocol"),
    (lambda c: c["devices"][1]["options"].update(protocol="strip-aa"), "devices[1].options.protocol"),
    (lambda c: c["devices"][3]["options"].update(protocol="led485-ascii"), "devices[3].options.protocol"),
    (lambda c: c["devices"][5]["options"].update(protocol="led485-ascii"), "devices[5].options.protocol"),
    (lambda c: c["buses"][0].update(parity="E"), "buses[0].parity"),
    (lambda c: c["buses"][0].update(usb="0403:6001"), "buses[0].port"),
    (lambda c: c["buses"][0].update(port="", usb="FTDI"), "buses[0].usb"),
    (lambda c: c["devices"][5].update(counter=9), "devices[5].counter"),
])
def test_bad_bus_config_names_the_key(change, path):
    """Typos and clashes in the bus config are refused with the key's path."""
    with pytest.raises(ConfigError) as err:
        settings.validate(bus_config(change))
    assert err.value.path == path
