"""The three source folders form one ``kiosk`` namespace, and the wheel holds only ``kiosk/``."""
from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_listed():
    """Each folder with an __init__.py under kiosk/, drivers/, display/ and config/ is in the packages list,
    so setuptools (whose automatic discovery cannot see this layout) ships it."""
    tool = PYPROJECT["tool"]["setuptools"]
    folders = {Path(path): name for name, path in tool["package-dir"].items()}
    found = set()
    for folder, package in folders.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *rel.parts]) if rel.parts else package)
    assert found == set(tool["packages"])


def test_built_wheel_holds_only_the_kiosk_package(tmp_path):
    """A wheel built from the tree holds kiosk/ (with drivers, display and its pages, defaults and the OpenAPI file)
    and nothing at the top level besides it and its metadata."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, timeout=300)
    wheel = next(tmp_path.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"kiosk"}
    for needed in ("kiosk/drivers/base.py", "kiosk/display/board.py", "kiosk/defaults/hall.toml",
                   "kiosk/cli.py", "kiosk/openapi.yaml", "kiosk/display/pages/layout.html",
                   "kiosk/display/pages/kiosk.html", "kiosk/display/static/common.js",
                   "kiosk/display/static/messages.js", "kiosk/display/static/hall.css"):
        assert needed in names
