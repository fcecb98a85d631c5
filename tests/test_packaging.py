"""The three source folders form one ``kiosk`` namespace, the wheel holds only ``kiosk/``, and building the
package (a wheel, or the editable install ``make run`` and ``make test`` make) prints no setuptools warning."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def source_copy(tmp_path: Path) -> Path:
    """A copy of what a build reads (pyproject.toml, README.md and the package folders), so that the build's
    own folders (build/, *.egg-info) land in the copy, never in the tree another test may be building from,
    and no stale build/ of the tree can slip a removed file into the wheel."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for folder in PYPROJECT["tool"]["setuptools"]["package-dir"].values():
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return src


def build_warnings(stderr: str) -> list[str]:
    """The lines of a build's output that report a warning of the build backend (setuptools)."""
    return [line for line in stderr.splitlines() if "Warning:" in line]


def makefile_python_warnings() -> str:
    """The PYTHONWARNINGS filter the Makefile installs the editable package with."""
    done = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT), "--eval",
                           "print-python-warnings: ; @echo '$(EDITABLE_WARNINGS)'", "print-python-warnings"],
                          capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


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


def test_built_wheel_holds_only_the_kiosk_package_and_the_build_warns_of_nothing(tmp_path):
    """A wheel built from the tree holds kiosk/ (with drivers, display and its pages, defaults and the OpenAPI file)
    and nothing at the top level besides it and its metadata; setuptools warns of nothing while building it (the
    data folders display/pages and display/static are declared, not taken for packages left out)."""
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist"), str(source_copy(tmp_path))],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    assert build_warnings(built.stderr) == [], built.stderr
    wheel = next((tmp_path / "dist").glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"kiosk"}
    for needed in ("kiosk/drivers/base.py", "kiosk/display/board.py", "kiosk/defaults/hall.toml",
                   "kiosk/cli.py", "kiosk/openapi.yaml", "kiosk/display/pages/layout.html",
                   "kiosk/display/pages/kiosk.html", "kiosk/display/static/common.js",
                   "kiosk/display/static/messages.js", "kiosk/display/static/hall.css"):
        assert needed in names
    pages = sorted(p.name for p in (ROOT / "display" / "pages").iterdir() if p.is_file())
    static = sorted(p.name for p in (ROOT / "display" / "static").iterdir() if p.is_file())
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("kiosk/display/pages/")) == pages
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("kiosk/display/static/")) == static


def test_the_editable_install_of_make_run_prints_no_setuptools_warning(tmp_path):
    """Situation: a new checkout; ``make run`` (and ``make test``) first install the package in editable mode.
    Action: that install, of a copy of the tree into a temporary prefix, with the Makefile's PYTHONWARNINGS.
    Outcome: it succeeds and its output holds no warning (formerly some 90 lines: the data folders taken for
    packages missing from the configuration, and setuptools' notice on editable installs), and the package
    installed that way serves its pages from the tree."""
    env = {**os.environ, "PYTHONWARNINGS": makefile_python_warnings()}
    src = source_copy(tmp_path)
    prefix = tmp_path / "prefix"
    # --ignore-installed: otherwise pip would first uninstall this venv's own (editable) hall-kiosk
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q",
                           "--no-warn-script-location", "--ignore-installed", "--prefix", str(prefix),
                           "-e", str(src)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert build_warnings(done.stderr) == [], done.stderr
    site = next(prefix.glob("lib/python*/site-packages"))
    # -S: without this venv's site-packages (and its editable install of the tree), then the new one's
    found = subprocess.run([sys.executable, "-S", "-c", "import site, sys, pathlib; site.addsitedir(sys.argv[1]); "
                            "import kiosk.display; print(pathlib.Path(kiosk.display.__file__).parent)", str(site)],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()) == src / "display"
