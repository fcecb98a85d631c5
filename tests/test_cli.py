"""The ``kiosk`` command line: tokens, config check, and flags taken from the environment."""
from __future__ import annotations

import sqlite3
import subprocess

import requests

from daemon import KIOSK, Daemon


def kiosk(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the kiosk command and capture what it prints."""
    return subprocess.run([KIOSK, *args], capture_output=True, text=True, timeout=60, env=env)


def test_counter_token_created_on_the_command_line_works_for_its_counter_only(tmp_path):
    """A technician creates a counter-2 token with the CLI on the daemon's data dir; it calls at counter 2
    and is refused at counter 3."""
    data = tmp_path / "data"
    daemon = Daemon(data).start()
    try:
        made = kiosk("token", "create", "--role", "counter", "--counter", "2", "--data-dir", str(data))
        assert made.returncode == 0
        headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
        requests.post(f"{daemon.url}/api/v1/tickets", json={"service": "general"})
        assert requests.post(f"{daemon.url}/api/v1/counters/2/next", headers=headers).status_code == 200
        refused = requests.post(f"{daemon.url}/api/v1/counters/3/next", headers=headers)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "wrong_counter"
    finally:
        daemon.stop()


def test_tokens_are_stored_hashed(tmp_path):
    """The database keeps only a hash of a token, never the token itself."""
    made = kiosk("token", "create", "--role", "guide", "--data-dir", str(tmp_path))
    token = made.stdout.strip()
    assert token.startswith("hk_")
    assert token.encode() not in (tmp_path / "hall.db").read_bytes()


def test_counter_token_without_counter_is_refused_with_a_reason(tmp_path):
    """``--role counter`` without ``--counter`` exits non-zero and says what is missing."""
    made = kiosk("token", "create", "--role", "counter", "--data-dir", str(tmp_path))
    assert made.returncode != 0
    assert "--counter" in made.stderr


def test_config_check_names_the_bad_key(tmp_path):
    """``kiosk config check`` accepts the default config and names the path of a bad key."""
    assert kiosk("config", "check", "config/hall.toml").returncode == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[hall]\nname = "x"\n[[services]]\nid = "general"\nname = "综合"\nname_en = "G"\n'
                   'prefix = "A"\n[[counters]]\nid = 1\nname = "1"\nservices = ["nosuch"]\n', encoding="utf-8")
    checked = kiosk("config", "check", str(bad))
    assert checked.returncode != 0
    assert "counters[0].services[0]" in checked.stderr


def test_run_takes_its_settings_from_the_environment(tmp_path):
    """KIOSK_DATA_DIR and KIOSK_CONFIG set where the daemon keeps data and which hall it runs."""
    custom = tmp_path / "hall.toml"
    text = open("config/hall.toml", encoding="utf-8").read().replace('name = "客户服务中心"', 'name = "海淀客服中心"')
    custom.write_text(text, encoding="utf-8")
    env = {"KIOSK_CONFIG": str(custom), "KIOSK_DATA_DIR": str(tmp_path / "envdata")}
    daemon = Daemon(None, env=env).start()
    try:
        assert (tmp_path / "envdata" / "hall.db").exists()
        config = requests.get(f"{daemon.url}/api/v1/config", headers=daemon.technician).json()
        assert config["hall"]["name"] == "海淀客服中心"
    finally:
        daemon.stop()


def test_counter_token_for_a_counter_the_hall_does_not_have_is_refused(tmp_path):
    """A token for counter 9 in a hall of five counters is refused, naming the counter, and nothing is stored."""
    made = kiosk("token", "create", "--role", "counter", "--counter", "9", "--data-dir", str(tmp_path))
    assert made.returncode != 0
    assert "no counter 9" in made.stderr
    assert not (tmp_path / "hall.db").exists()


def test_a_label_that_is_not_utf8_is_refused_with_a_reason(tmp_path):
    """A token made on a terminal whose label is not UTF-8 (the byte 0xff) exits with status 2 and
    `bad_text` naming the label, instead of a traceback, and stores no token."""
    made = subprocess.run([KIOSK, "token", "create", "--role", "guide", "--label", b"desk \xff",
                           "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 2, made.stderr
    assert "[bad_text]" in made.stderr and "label" in made.stderr and "Traceback" not in made.stderr
    conn = sqlite3.connect(tmp_path / "hall.db")
    try:
        assert conn.execute("SELECT count(*) FROM tokens").fetchone()[0] == 0
    finally:
        conn.close()
