"""The technician's config file through `PUT /config`: its comments and layout survive a save, only the changed
values change, defaults are not written into it, the console's editor shows and saves the file's own text, and
the file is written atomically and off the queue writer (a full or stalled disk refuses the save and holds no
ticket up)."""
from __future__ import annotations

import copy
import difflib
import os
import re
import threading
from pathlib import Path

import pytest

from kiosk import cli, settings
from kiosk.api import create_app
from util import assert_error, fill, wait_until

API = "/api/v1"
DEFAULT_TOML = (Path(__file__).resolve().parent.parent / "config" / "hall.toml").read_text(encoding="utf-8")
TOML = {"Content-Type": "application/toml"}


def comments(text: str) -> list[str]:
    """Every comment of a TOML text (whole-line and after a value), in order, as written."""
    return [m.group(0).strip() for m in re.finditer(r"#[^\n]*", text)]


def changed_lines(before: str, after: str) -> list[str]:
    """The lines a save removed (``-``) and added (``+``)."""
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm="")
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("---", "+++")]


def config_files(folder: Path) -> list[str]:
    """The config file and any temporary file of a save in ``folder``."""
    return sorted(name for name in os.listdir(folder) if "config" in name)


@pytest.fixture
def filed(make_hall, tmp_path):
    """Start a hall whose config file (DATA_DIR/config.toml, as `kiosk run` finds it) holds ``text``; returns
    (hall, client, technician headers)."""
    def start(text: str = DEFAULT_TOML):
        data_dir = tmp_path / "data"
        data_dir.mkdir(exist_ok=True)
        (data_dir / "config.toml").write_text(text, encoding="utf-8")
        hall = make_hall(settings.parse_toml(text), data_dir=data_dir)
        client = create_app(hall).test_client()
        token = cli.technician_token(data_dir)[0]
        return hall, client, {"Authorization": f"Bearer {token}"}
    return start


def get_json(client, tech) -> dict:
    resp = client.get(f"{API}/config", headers=tech)
    assert resp.status_code == 200
    return resp.get_json()


def put_json(client, tech, cfg) -> None:
    resp = client.put(f"{API}/config", json=cfg, headers=tech)
    assert resp.status_code == 200, resp.get_data(as_text=True)


def test_the_editor_round_trip_keeps_every_comment_and_the_next_start_loads_the_file(filed, make_hall):
    """Situation: the hall runs on the default config file (its 15+ comments) as DATA_DIR/config.toml.
    Action: the console's editor loads the TOML (`GET /config?format=toml`), the technician raises the Starlight
    credit to 20 minutes and writes a comment of their own above it, and saves the text (`PUT`, TOML); then a
    JSON save (a script) renames the hall.
    Outcome: the editor got the file's own text, byte for byte; after both saves every comment of the default
    file and the technician's comment are in the file, the credit line and the name line are the only lines
    that changed, the file passes `kiosk config check`'s validation, and a hall started from it as `kiosk run`
    picks its config runs with credit 20 and the new name."""
    hall, client, tech = filed()
    shown = client.get(f"{API}/config?format=toml", headers=tech)
    assert shown.status_code == 200 and shown.mimetype == "application/toml"
    assert shown.get_data(as_text=True) == DEFAULT_TOML
    assert len(comments(DEFAULT_TOML)) >= 15

    mine = "# raised for the winter campaign (ticket 4711)\n"
    edited = DEFAULT_TOML.replace("starlight_credit_minutes = 15", mine + "starlight_credit_minutes = 20", 1)
    resp = client.put(f"{API}/config", data=edited.encode("utf-8"), headers={**tech, **TOML})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert hall.config_path.read_text(encoding="utf-8") == edited
    assert client.get(f"{API}/config?format=toml", headers=tech).get_data(as_text=True) == edited

    cfg = get_json(client, tech)
    cfg["hall"]["name"] = "海淀客户服务中心"
    put_json(client, tech, cfg)
    saved = hall.config_path.read_text(encoding="utf-8")
    assert comments(saved) == comments(edited)
    assert mine.strip() in comments(saved)
    assert changed_lines(DEFAULT_TOML, saved) == [
        '-name = "客户服务中心"', '+name = "海淀客户服务中心"',
        "-starlight_credit_minutes = 15        # a Starlight agent counts as arriving this much earlier; or \"strict\"",
        "+# raised for the winter campaign (ticket 4711)",
        "+starlight_credit_minutes = 20        # a Starlight agent counts as arriving this much earlier; or \"strict\""]
    hall.stop()

    loaded, path, _source = cli.resolve_config(None, hall.data_dir)
    assert path == hall.config_path and loaded == settings.load_file(path)
    again = make_hall(loaded, data_dir=hall.data_dir)
    assert again.config.data["priority"]["starlight_credit_minutes"] == 20
    assert again.config.data["hall"]["name"] == "海淀客户服务中心"


def _set_name(cfg):
    cfg["hall"]["name"] = "西城客户服务中心"


def _set_dispenser_address(cfg):
    next(d for d in cfg["devices"] if d["name"] == "dispenser")["options"]["address"] = 31


def _set_bus_baud(cfg):
    cfg["buses"][0]["baud"] = 19200


def _set_call_text(cfg):
    cfg["announcements"]["call"]["en"] = "Number {number} to {counter}"


@pytest.mark.parametrize("change, lines", [
    (_set_name, ['-name = "客户服务中心"', '+name = "西城客户服务中心"']),
    (_set_dispenser_address, ['-options = { bus = "hall-bus", address = 30 }',
                              '+options = { bus = "hall-bus", address = 31 }']),
    (_set_bus_baud, ["+baud = 19200"]),
    (_set_call_text, ['-en = "Ticket {number}, please go to {counter}"', '+en = "Number {number} to {counter}"']),
], ids=["scalar", "inline-table", "key-the-file-lacks", "sub-table"])
def test_a_json_save_of_one_value_changes_only_that_values_line(filed, change, lines):
    """Situation: the hall runs on the default config file.
    Action: a JSON save of the config as `GET /config` gives it (every default filled in) with one value changed:
    the hall's name, the dispenser's bus address (in an inline table), the bus's baud rate (a key the file does
    not write), or the English call text (in `[announcements.call]`).
    Outcome: the file is byte for byte what it was but for that value's line (the inline table stays inline;
    the missing key is one added line, under its table), no default is written, and the config in force has
    the new value."""
    hall, client, tech = filed()
    cfg = get_json(client, tech)
    change(cfg)
    put_json(client, tech, cfg)
    saved = hall.config_path.read_text(encoding="utf-8")
    assert changed_lines(DEFAULT_TOML, saved) == lines
    assert get_json(client, tech) == settings.parse_toml(saved) == settings.validate(copy.deepcopy(cfg))
    if change is _set_bus_baud:
        assert '[[buses]]\nname = "hall-bus"\nport = "virtual"\nbaud = 19200\n' in saved


def test_a_json_save_that_changes_nothing_leaves_the_file_as_it_was(filed):
    """Situation: the hall runs on the default config file. Action: a JSON save of `GET /config`'s answer as it
    is (all ~100 defaults filled in). Outcome: the file is unchanged, byte for byte: no default lands in it."""
    hall, client, tech = filed()
    put_json(client, tech, get_json(client, tech))
    assert hall.config_path.read_text(encoding="utf-8") == DEFAULT_TOML


def test_the_first_save_of_a_hall_on_the_packaged_default_writes_the_default_file_with_that_change(hall, client,
                                                                                                     tech):
    """Situation: the hall runs on the packaged default (no DATA_DIR/config.toml yet; its bus on the tests'
    fast timings). Action: a JSON save with a new hall name. Outcome: DATA_DIR/config.toml is the default file
    with its comments, the new name, and the bus timings this hall runs with (they differ from the file's
    defaults), nothing else."""
    assert not hall.config_path.exists()
    cfg = get_json(client, tech)
    cfg["hall"]["name"] = "朝阳客户服务中心"
    put_json(client, tech, cfg)
    saved = hall.config_path.read_text(encoding="utf-8")
    assert comments(saved) == comments(DEFAULT_TOML)
    assert changed_lines(DEFAULT_TOML, saved) == [
        '-name = "客户服务中心"', '+name = "朝阳客户服务中心"',
        "+timeout_ms = 20", "+retries = 1", "+offline_after = 2", "+ping_ms = 100", "+poll_ms = 20"]


def test_entries_are_matched_by_identity_and_keep_their_comments(filed):
    """Situation: the hall runs on the default config file, where comment lines stand above the printer's
    `[[devices]]`, the bus's `[[buses]]` (between two devices) and the voice's `[[devices]]`.
    Action: one JSON save moves the printer to the end of the device list, removes counter 1's evaluator, adds
    a payments service (E) served at counter 1, and renames the voice to "speaker".
    Outcome: the printer's comment lines are still directly above the printer's entry, now last; the bus block
    with its comment is where it was; the evaluator's entry is gone; the new service is written after the last
    service, with only its own keys; the voice's entry, whose identity changed, is replaced by a new entry
    with only the keys that are not an entry's defaults (its comment goes with the old entry); every other
    comment is there, and the file means the config in force."""
    hall, client, tech = filed()
    cfg = get_json(client, tech)
    devices = cfg["devices"]
    printer = devices.pop(0)
    devices[:] = [d for d in devices if d["name"] != "evaluator-1"] + [printer]
    next(d for d in devices if d["kind"] == "speech")["name"] = "speaker"
    cfg["services"].append({"id": "payments", "name": "缴费", "name_en": "Payments", "prefix": "E"})
    cfg["counters"][0]["services"].append("payments")
    put_json(client, tech, cfg)

    saved = hall.config_path.read_text(encoding="utf-8")
    printer_block = DEFAULT_TOML[DEFAULT_TOML.index("# Devices."):DEFAULT_TOML.index('options = { transport')]
    assert saved.rstrip().endswith(printer_block + 'options = { transport = "network" }')
    bus_block = DEFAULT_TOML[DEFAULT_TOML.index("# The RS-485 bus"):DEFAULT_TOML.index('port = "virtual"\n') + 17]
    assert bus_block in saved
    assert 'name = "evaluator-1"' not in saved
    assert '[[devices]]\nname = "speaker"\nkind = "speech"\ntype = "espeak"\n' in saved
    assert "voice_zh" not in saved  # the new entry's options are its driver's defaults: none is written
    assert '[[services]]\nid = "changes"\nname = "保全变更"\nname_en = "Policy changes"\nprefix = "D"\n\n' \
           '[[services]]\nid = "payments"\nname = "缴费"\nname_en = "Payments"\nprefix = "E"\n' in saved
    voice_lead = [c for c in comments(DEFAULT_TOML) if c.startswith("# The voice") or c.startswith("# into DATA")]
    assert sorted(comments(saved)) == sorted(c for c in comments(DEFAULT_TOML) if c not in voice_lead)
    assert settings.parse_toml(saved) == get_json(client, tech)
    assert [d["name"] for d in get_json(client, tech)["devices"]][-2:] == ["speaker", "ticket-printer"]


def test_a_hand_written_layout_survives_a_json_save(filed):
    """Situation: a technician's own file writes the languages as a multi-line array, the welcome as a
    multi-line string whose second line starts with "[", the printer's options as a `[devices.options]`
    sub-table, and a comment after a table header. Action: a JSON save that changes the printer's print timeout
    and the hall's name. Outcome: only those two lines changed (the timeout inside the sub-table), everything
    else is as written, and the file means the config in force."""
    text = ('# my hall\n[hall]  # the hall itself\nname = "甲"\nlanguages = [\n  "zh-CN",\n  "en",  # second\n]\n'
            'welcome = """欢迎\n[光临]"""\n\n[[services]]\nid = "general"\nname = "综合"\nname_en = "General"\n'
            'prefix = "A"\n\n[[counters]]\nid = 1\nname = "1号"\nservices = ["general"]\n\n'
            '# the printer\n[[devices]]\nname = "printer"\nkind = "printer"\ntype = "virtual"\n\n'
            '[devices.options]\ntransport = "network"\nprint_timeout = 10.0\n')
    hall, client, tech = filed(text)
    cfg = get_json(client, tech)
    cfg["hall"]["name"] = "乙"
    cfg["devices"][0]["options"]["print_timeout"] = 12.5
    put_json(client, tech, cfg)
    saved = hall.config_path.read_text(encoding="utf-8")
    assert changed_lines(text, saved) == ['-name = "甲"', '+name = "乙"', "-print_timeout = 10.0",
                                          "+print_timeout = 12.5"]
    assert settings.parse_toml(saved) == get_json(client, tech)


def test_a_default_that_depends_on_another_changed_key_is_written(filed):
    """Situation: the hall runs on the default file, whose virtual printer does not write its `timeout` (a
    virtual printer's default is 1.0 s; a printer of type "network" defaults to 2.0 s).
    Action: a JSON save turns the printer into a "network" printer, keeping the 1.0 s timeout the body carries.
    Outcome: the printer's lines are `type = "network"` and its options the host and the 1.0 s timeout (left
    out, it would mean 2.0 s), nothing else changed: the saved file means the config in force."""
    hall, client, tech = filed()
    cfg = get_json(client, tech)
    printer = cfg["devices"][0]
    printer["type"] = "network"
    del printer["options"]["transport"]
    printer["options"]["host"] = "127.0.0.1"
    put_json(client, tech, cfg)
    saved = hall.config_path.read_text(encoding="utf-8")
    assert get_json(client, tech)["devices"][0]["options"]["timeout"] == 1.0
    assert settings.parse_toml(saved) == get_json(client, tech)
    assert changed_lines(DEFAULT_TOML, saved) == [
        '-type = "virtual"', '-options = { transport = "network" }',
        '+type = "network"', '+options = { host = "127.0.0.1", timeout = 1.0 }']


def test_a_refused_save_leaves_the_file_and_no_temporary_file(filed):
    """Situation: the hall runs on the default file and C001 waits for claims. Action: a JSON save without the
    claims service (409 `service_in_use`). Outcome: the file is unchanged and no temporary file of the refused
    save is left beside it."""
    hall, client, tech = filed()
    assert client.post(f"{API}/tickets", json={"service": "claims"}).status_code == 201
    cfg = get_json(client, tech)
    cfg["services"] = [s for s in cfg["services"] if s["id"] != "claims"]
    for counter in cfg["counters"]:
        counter["services"].remove("claims")
    next(d for d in cfg["devices"] if d["kind"] == "dispenser")["services"].remove("claims")
    assert_error(client.put(f"{API}/config", json=cfg, headers=tech), 409, "service_in_use")
    assert hall.config_path.read_text(encoding="utf-8") == DEFAULT_TOML
    assert config_files(hall.data_dir) == ["config.toml"]


def test_a_save_on_a_full_disk_answers_storage_full_and_keeps_the_old_file(small_disk, make_hall):
    """Situation: the hall's data directory, with its config file, is on a small disk that is then filled.
    Action: a technician saves a new hall name (JSON), then the disk is freed and the same save is sent again.
    Outcome: on the full disk the save is 503 `storage_full` ("storage is full; nothing was changed"), the file
    is byte for byte the old one, no temporary file is left, and the old name is in force; once space is back
    the same save is 200 and the file has the new name."""
    data_dir = small_disk / "data"
    data_dir.mkdir()
    path = data_dir / "config.toml"
    path.write_text(DEFAULT_TOML, encoding="utf-8")
    hall = make_hall(settings.parse_toml(DEFAULT_TOML), data_dir=data_dir)
    client = create_app(hall).test_client()
    tech = {"Authorization": f"Bearer {cli.technician_token(data_dir)[0]}"}
    cfg = get_json(client, tech)
    cfg["hall"]["name"] = "宣武客户服务中心"

    filler = fill(small_disk)
    err = assert_error(client.put(f"{API}/config", json=cfg, headers=tech), 503, "storage_full")
    assert "storage is full" in err["message"] and "nothing was changed" in err["message"]
    assert path.read_text(encoding="utf-8") == DEFAULT_TOML
    assert config_files(data_dir) == ["config.toml"]
    assert get_json(client, tech)["hall"]["name"] == "客户服务中心"

    filler.unlink()
    put_json(client, tech, cfg)
    assert settings.load_file(path)["hall"]["name"] == "宣武客户服务中心"


def test_a_save_stalled_on_the_disk_holds_no_ticket_up(filed):
    """Situation: the hall runs on its config file; the disk stalls the config save's write (the temporary
    file beside the config file is a FIFO nobody reads, so opening it for writing blocks).
    Action: a technician saves a new name while a customer takes a ticket; then the write is let go.
    Outcome: the ticket is issued while the save is still blocked (the file is written off the queue writer);
    once let go the save fails (a FIFO cannot be synced) with 500 `config_not_saved`, the old file and the old
    name stay, and no temporary file is left."""
    hall, client, tech = filed()
    temp = hall.config_path.with_name(".config.toml.tmp")
    os.mkfifo(temp)
    cfg = get_json(client, tech)
    cfg["hall"]["name"] = "崇文客户服务中心"
    answers = []
    saving = threading.Thread(target=lambda: answers.append(create_app(hall).test_client().put(
        f"{API}/config", json=cfg, headers=tech)))
    saving.start()
    try:
        wait_until(_thread_waits_for_a_reader)
        ticket = client.post(f"{API}/tickets", json={"service": "general"})
        assert ticket.status_code == 201 and ticket.get_json()["number"] == "A001"
        assert saving.is_alive()
    finally:
        fd = os.open(temp, os.O_RDONLY | os.O_NONBLOCK)  # lets the blocked open go on
        saving.join(10)
        os.close(fd)
    assert_error(answers[0], 500, "config_not_saved")
    assert hall.config_path.read_text(encoding="utf-8") == DEFAULT_TOML
    assert config_files(hall.data_dir) == ["config.toml"]
    assert get_json(client, tech)["hall"]["name"] == "客户服务中心"


def _thread_waits_for_a_reader() -> bool:
    """Whether a thread of this process is blocked opening a FIFO for writing (the kernel's wait for a reader)."""
    tasks = Path("/proc/self/task")
    return any((task / "wchan").read_text() == "wait_for_partner" for task in tasks.iterdir())
