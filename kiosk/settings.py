"""The hall's configuration: its schema, loading from TOML or JSON, cross-checks and saving.

The config is validated whole, once, into plain dicts; :class:`HallConfig` wraps the result with the look-ups
the queue needs. Unknown keys and bad values raise :class:`~kiosk.errors.ConfigError` naming the key's path.
"""
from __future__ import annotations

import datetime as dt
import importlib.resources
import json
import os
import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Any

import tomlkit

from .display.spoken import DEFAULT_TEMPLATES, placeholder_problem
from .drivers.registry import check_device
from .errors import ConfigError, NotFound
from .files import write_atomically
from .schema import Field, Section, TableList, join_path
from .text import check_text

LANGUAGES = ("zh-CN", "en")
DEVICE_KINDS = ("printer", "counter_display", "hall_display", "dispenser", "speech", "keypad", "evaluator")
COUNTER_KINDS = ("counter_display", "keypad", "evaluator")
PREFIX_RE = re.compile(r"^[A-Z]{1,2}$")
ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def _nonempty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _identifier(value: str) -> str | None:
    return None if ID_RE.match(value) else "must be 1-32 lowercase letters, digits, '-' or '_', starting with a letter"


def _prefix(value: str) -> str | None:
    return None if PREFIX_RE.match(value) else "must be one or two capital letters (A-Z)"


def _between(low: float, high: float):
    def check(value):
        return None if low <= value <= high else f"must be between {low} and {high}"
    return check


def _time_of_day(value: str) -> str | None:
    try:
        dt.time.fromisoformat(value)
    except ValueError:
        return "must be a time of day as HH:MM, such as \"06:00\""
    return None


def _timezone(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"{value!r} is not a known time zone (such as \"Asia/Shanghai\")"
    return None


def _languages(value: list) -> str | None:
    if not value:
        return "must name at least one language"
    bad = [v for v in value if v not in LANGUAGES]
    if bad:
        return f"{bad[0]!r} is not supported (choose from {', '.join(LANGUAGES)})"
    if len(set(value)) != len(value):
        return "names a language twice"
    return None


def _credit(value: Any) -> str | None:
    if value == "strict":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be a whole number of minutes (0-480) or the word \"strict\""
    return None if 0 <= value <= 480 else "must be between 0 and 480 minutes, or \"strict\""


def _usb(value: str) -> str | None:
    if not value or re.match(r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}(:\S+)?$", value):
        return None
    return "must be VID:PID or VID:PID:SERIAL in hex, as lsusb shows (such as \"0403:6001:A10K3ZQ1\")"


def _device_kind(value: str) -> str | None:
    return None if value in DEVICE_KINDS else f"must be one of {', '.join(DEVICE_KINDS)}"


STRING = Field(str, check=_nonempty)


def _templates(kind: str) -> Section:
    """The spoken template of one kind of message, one per language (defaults in display/spoken.py)."""
    check = lambda value: placeholder_problem(value, kind)  # noqa: E731
    return Section({lang: Field(str, DEFAULT_TEMPLATES[kind][lang], check) for lang in LANGUAGES})

SCHEMA = Section({
    "hall": Section({
        "name": Field(str, "客户服务中心", _nonempty),
        "name_en": Field(str, "Customer Service Centre", _nonempty),
        "languages": Field(list, lambda: ["zh-CN", "en"], _languages, item=Field(str)),
        "public_url": Field(str, "http://127.0.0.1:8080",
                            lambda v: None if re.match(r"^https?://[^\s/]+", v) else "must be an http(s) URL"),
        "welcome": Field(str, "欢迎光临", _nonempty),
        "welcome_en": Field(str, "Welcome", _nonempty),
    }),
    "business_day": Section({
        "start": Field(str, "06:00", _time_of_day),
        "timezone": Field(str, "Asia/Shanghai", _timezone),
    }),
    "queue": Section({
        "default_service_minutes": Field(float, 5.0, _between(0.5, 240)),
        "service_time_window": Field(int, 20, _between(1, 1000)),
        "last_calls_shown": Field(int, 6, _between(1, 50)),
    }),
    "priority": Section({
        "starlight_credit_minutes": Field(object, 15, _credit),
        "vip_prefix": Field(str, "V", _prefix),
    }),
    "announcements": Section({kind: _templates(kind) for kind in DEFAULT_TEMPLATES}),
    "services": TableList(Section({
        "id": Field(str, check=_identifier),
        "name": STRING,
        "name_en": STRING,
        "prefix": Field(str, check=_prefix),
    }), unique=("id", "prefix"), min_rows=1),
    "counters": TableList(Section({
        "id": Field(int, check=_between(1, 999)),
        "name": STRING,
        "name_en": Field(str, ""),
        "services": Field(list, item=Field(str)),
        "green_channel": Field(bool, False),
    }), unique=("id",), min_rows=1),
    "starlight": Section({
        "branches": TableList(Section({
            "id": Field(str, check=_identifier),
            "name": STRING,
            "quota": Field(int, check=_between(0, 10000)),
        }), unique=("id", "name")),
    }),
    "buses": TableList(Section({
        "name": Field(str, check=_identifier),
        "port": Field(str, "", None),
        "usb": Field(str, "", _usb),
        "baud": Field(int, 9600, _between(1200, 115200)),
        "timeout_ms": Field(int, 100, _between(5, 2000)),
        "retries": Field(int, 2, _between(0, 10)),
        "offline_after": Field(int, 3, _between(1, 100)),
        "ping_ms": Field(int, 1000, _between(10, 60000)),
        "poll_ms": Field(int, 50, _between(5, 5000)),
    }), unique=("name",)),
    "devices": TableList(Section({
        "name": Field(str, check=_identifier),
        "kind": Field(str, check=_device_kind),
        "type": Field(str, "simulated", _nonempty),
        "counter": Field(int, 0, _between(0, 999)),
        "services": Field(list, list, item=Field(str)),
        "options": Field(dict, dict),
    }), unique=("name",)),
})


def _cross_check(cfg: dict) -> None:
    """Check what one key cannot know alone: references between services, counters and devices."""
    services = {s["id"] for s in cfg["services"]}
    vip = cfg["priority"]["vip_prefix"]
    for i, svc in enumerate(cfg["services"]):
        if svc["prefix"] == vip:
            raise ConfigError(f"services[{i}].prefix", f"{vip!r} is the VIP series (priority.vip_prefix)")
    counters = {c["id"] for c in cfg["counters"]}
    for i, counter in enumerate(cfg["counters"]):
        path = f"counters[{i}].services"
        if not counter["services"]:
            raise ConfigError(path, "must list at least one service")
        for j, sid in enumerate(counter["services"]):
            if sid not in services:
                raise ConfigError(join_path(path, j), f"{sid!r} is not a configured service")
        if not counter["name_en"]:
            counter["name_en"] = f"Counter {counter['id']}"
    for i, dev in enumerate(cfg["devices"]):
        path = f"devices[{i}]"
        if dev["kind"] in COUNTER_KINDS and dev["counter"] not in counters:
            raise ConfigError(f"{path}.counter", f"must name a configured counter for a {dev['kind']}")
        if dev["kind"] == "dispenser" and not dev["services"]:
            raise ConfigError(f"{path}.services", "must list the service of each dispenser button")
        dev["options"] = check_device(dev, path)
        if dev["type"] == "bus":
            _check_bus_device(cfg, dev, path, i)
        for j, sid in enumerate(dev["services"]):
            if sid not in services:
                raise ConfigError(f"{path}.services[{j}]", f"{sid!r} is not a configured service")
    kinds = [d["kind"] for d in cfg["devices"]]
    if kinds.count("printer") > 1:
        raise ConfigError("devices", "names more than one ticket printer")
    if kinds.count("speech") > 1:
        raise ConfigError("devices", "names more than one speech device")


def option_defaults(device: dict) -> dict:
    """The options of a device entry (as sent, with its ``kind`` and ``type``) that its driver would take by
    default if they were left out, with those defaults."""
    options = device["options"]
    spec = {"kind": device["kind"], "type": device["type"]}
    found = {}
    for key in options:
        try:
            filled = check_device({**spec, "options": {k: v for k, v in options.items() if k != key}}, "")
        except ConfigError:
            continue
        if key in filled:
            found[key] = filled[key]
    return found


def _check_bus_device(cfg: dict, dev: dict, path: str, index: int) -> None:
    """A bus device names a configured bus, at an address nobody else on that bus uses."""
    buses = {b["name"] for b in cfg["buses"]}
    bus, address = dev["options"]["bus"], dev["options"]["address"]
    if bus not in buses:
        raise ConfigError(f"{path}.options.bus", f"{bus!r} is not a configured bus ([[buses]] name)")
    for j, other in enumerate(cfg["devices"][:index]):
        if other["type"] == "bus" and other["options"]["bus"] == bus and other["options"]["address"] == address:
            raise ConfigError(f"{path}.options.address", f"{address} is already used on bus {bus!r} (devices[{j}])")


def _check_buses(cfg: dict) -> None:
    """Each bus names exactly one of: a port (path, URL or "virtual") or a USB adapter."""
    for i, bus in enumerate(cfg["buses"]):
        if bool(bus["port"]) == bool(bus["usb"]):
            raise ConfigError(f"buses[{i}].port", "give either port (a path, URL or \"virtual\") or usb, not both")


def validate(data: Any) -> dict:
    """Validate raw config data (parsed TOML or JSON) and return the full config with defaults."""
    cfg = SCHEMA.validate(data, "")
    _check_buses(cfg)
    _cross_check(cfg)
    return cfg


def parse_toml(text: str) -> dict:
    """Parse and validate TOML text; a syntax error is reported with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(file)", f"is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError("(file)", "is not valid TOML: values are nested too deeply") from None
    return validate(data)


def parse_json(text: str | bytes) -> dict:
    """Parse and validate a JSON document of the same shape as the TOML file."""
    return validate(read_json(text))


def read_json(text: str | bytes) -> Any:
    """Parse a JSON config body (not yet validated: :func:`validate` fills in defaults in a copy)."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError("(body)", f"is not valid JSON: {exc}") from None
    except RecursionError:
        raise ConfigError("(body)", "is not valid JSON: values are nested too deeply") from None
    check_text(data, "The config")
    return data


def default_text() -> str:
    """Return the text of the default config shipped with the package (``config/hall.toml``)."""
    return importlib.resources.files("kiosk.defaults").joinpath("hall.toml").read_text(encoding="utf-8")


def load_file(path: str | os.PathLike) -> dict:
    """Read and validate a TOML config file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError("(file)", f"{path} is not UTF-8 text") from None
    return parse_toml(text)


def to_toml(cfg: dict) -> str:
    """Write a config out whole as TOML, without comments (a saved file is edited in place instead: see
    kiosk/config_file.py)."""
    return tomlkit.dumps(cfg)


def save_file(cfg: dict, path: str | os.PathLike) -> None:
    """Write a config out whole to a new file, atomically (a temp file synced and renamed over the old one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, to_toml(cfg).encode("utf-8"))


class HallConfig:
    """A validated config with the look-ups the queue, the API and the devices use."""

    def __init__(self, data: dict):
        self.data = data
        self.services = {s["id"]: s for s in data["services"]}
        self.counters = {c["id"]: c for c in data["counters"]}
        self.branches = {b["id"]: b for b in data["starlight"]["branches"]}
        self.tz = zoneinfo.ZoneInfo(data["business_day"]["timezone"])
        self.day_start = dt.time.fromisoformat(data["business_day"]["start"])
        self.vip_prefix = data["priority"]["vip_prefix"]
        credit = data["priority"]["starlight_credit_minutes"]
        self.strict = credit == "strict"
        self.credit_s = 0 if self.strict else credit * 60
        self.languages = data["hall"]["languages"]
        self.templates = data["announcements"]

    def service(self, sid: str) -> dict:
        """Return the service named ``sid`` or raise NotFound."""
        try:
            return self.services[sid]
        except (KeyError, TypeError):
            raise NotFound(f"There is no service {sid!r}.", code="unknown_service") from None

    def counter(self, cid: int) -> dict:
        """Return the counter ``cid`` or raise NotFound."""
        try:
            return self.counters[cid]
        except (KeyError, TypeError):
            raise NotFound(f"There is no counter {cid!r}.", code="unknown_counter") from None

    def devices(self, kind: str) -> list[dict]:
        """Return the configured devices of one kind."""
        return [d for d in self.data["devices"] if d["kind"] == kind]
