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

@pytest.mark.parametrize("change, path", [
    (lambda c: c["devices"][1]["options"].update(bus="nope"), "devices[1].options.bus"),
    (lambda c: c["devices"][2]["options"].update(address=1), "devices[2].options.address"),
    (lambda c: c["devices"][1]["options"].update(address=255), "devices[1].options.address"),
    (lambda c: c["devices"][1]["options"].update(baud=9600), "devices[1].options.baud"),
    (lambda c: c["devices"][1]["options"].update(protocol="modbus"), "devices[1].options.protocol"),
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
