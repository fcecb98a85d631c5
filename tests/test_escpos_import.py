"""python-escpos is imported without its side effects: no new temporary directory per start, and the root
logger is left for the daemon to configure."""
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import logging, os, tempfile
before = set(os.listdir(tempfile.gettempdir()))
import kiosk.drivers.escpos_lib
after = set(os.listdir(tempfile.gettempdir()))
print(len(logging.getLogger().handlers), sorted(after - before), os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"])
"""


def run_import(tmp: Path) -> tuple[str, str, str]:
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp)}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    handlers, new, cache = out.stdout.strip().split(" ", 2)
    return handlers, new, cache


def test_importing_escpos_twice_leaves_root_logging_alone_and_reuses_one_cache(tmp_path):
    """Two daemon starts import the driver: the root logger has no handler afterwards (escpos's basicConfig
    did nothing), the first start creates one capabilities cache folder, and the second creates nothing."""
    handlers, new, cache = run_import(tmp_path)
    assert handlers == "0"
    assert Path(cache).parent == tmp_path and new == f"['{Path(cache).name}']"
    assert any(Path(cache).iterdir())
    handlers, new, cache_again = run_import(tmp_path)
    assert (handlers, new, cache_again) == ("0", "[]", cache)
