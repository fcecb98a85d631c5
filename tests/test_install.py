"""The technician's install: ``make install`` into a temporary root (DESTDIR), inspected, verified by
``systemd-analyze verify``, upgraded and uninstalled; the udev rules' syntax; and the locks: a hall PC gets
exactly requirements.lock's versions, the tests run on requirements-dev.lock's, and both agree with
pyproject.toml."""
from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from kiosk.backup import EXIT_CORRUPT

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "/opt/hall-kiosk"
UNITS = ("hall-kiosk.service", "hall-kiosk-backup.service", "hall-kiosk-backup.timer")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
# A fresh venv with every dependency from the package index may take minutes on a slow network.
pytestmark = pytest.mark.timeout(900)
# What a checkout does not hold: `make install` in a copy of the tree sees the tree as a fresh clone has it.
NOT_IN_A_CHECKOUT = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "data",
                                           "test-artifacts", ".hypothesis", ".pytest_cache")
LOCK, DEV_LOCK = ROOT / "requirements.lock", ROOT / "requirements-dev.lock"
REFRESH = "run `make lock` after changing pyproject.toml's dependencies (see the Makefile)"


def read_lock(path: Path) -> dict[str, tuple[Requirement, list[str]]]:
    """A lock file's entries: canonical name -> (the pinned requirement, its hashes)."""
    entries: dict[str, tuple[Requirement, list[str]]] = {}
    current: list[str] = []
    for line in path.read_text().splitlines():
        text = line.strip().rstrip("\\").strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("--hash="):
            current.append(text.removeprefix("--hash="))
            continue
        requirement = Requirement(text)
        current = []
        entries[canonicalize_name(requirement.name)] = (requirement, current)
    return entries


def pinned(requirement: Requirement) -> str:
    """The version of an ``==`` pin."""
    (spec,) = requirement.specifier
    assert spec.operator == "==", f"{requirement} is not an exact pin"
    return spec.version


def installed_in(venv: Path) -> dict[str, str]:
    """Every distribution installed in ``venv``: canonical name -> version (asked of the venv's own Python)."""
    script = ("import importlib.metadata as m, json; "
              "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))")
    done = subprocess.run([str(venv / "bin/python"), "-c", script], capture_output=True, text=True, timeout=60,
                          cwd="/")
    assert done.returncode == 0, done.stderr
    return {canonicalize_name(name): version for name, version in json.loads(done.stdout).items()}


def lock_versions(path: Path) -> dict[str, str]:
    """The lock's pins that apply on this machine: canonical name -> version."""
    return {name: pinned(req) for name, (req, _) in read_lock(path).items()
            if req.marker is None or req.marker.evaluate()}


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A copy of the source tree, as a technician's clone holds it. ``make install`` builds the package in the
    tree it runs in (its build/ folder): in a copy of its own, no other test (on another pytest-xdist worker)
    builds in the same folder at the same time, and no leftover of an earlier build gets into the install."""
    copy = tmp_path_factory.mktemp("checkout") / "hall-kiosk"
    shutil.copytree(ROOT, copy, symlinks=True, ignore=NOT_IN_A_CHECKOUT)
    return copy


def make(checkout: Path, target: str, dest: Path) -> subprocess.CompletedProcess:
    """Run ``make TARGET DESTDIR=dest`` in the source tree ``checkout``, as a technician would (without the
    DESTDIR)."""
    env = {**os.environ, "INSTALL_PYTHON": PYTHON}
    env.pop("PREFIX", None)
    done = subprocess.run(["make", "--no-print-directory", "-C", str(checkout), target, f"DESTDIR={dest}"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def unit_settings(path: Path) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file (keys may repeat, as DeviceAllow= does)."""
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


@pytest.fixture(scope="module")
def installed(tmp_path_factory, checkout) -> Path:
    """A temporary root that ``make install`` filled."""
    dest = tmp_path_factory.mktemp("root")
    make(checkout, "install", dest)
    return dest


def test_install_lays_out_program_config_data_units_and_rules(installed):
    """The venv is under /opt with a ``kiosk`` command that points at /opt (not at the temporary root), the
    settings and the hall config are under /etc and pass ``kiosk config check``, /var/lib/hall-kiosk exists,
    and the service and the backup timer are enabled."""
    venv = installed / PREFIX.lstrip("/")
    assert (venv / "bin/kiosk").read_text().splitlines()[0] == f"#!{PREFIX}/bin/python"
    leaks = subprocess.run(["grep", "-rlI", str(installed), str(venv / "bin"), str(venv / "pyvenv.cfg")],
                           capture_output=True, text=True)
    assert leaks.stdout == ""
    etc = installed / "etc/hall-kiosk"
    check = subprocess.run([str(venv / "bin/python"), "-m", "kiosk", "config", "check", str(etc / "hall.toml")],
                           capture_output=True, text=True, timeout=60, cwd=installed)  # not this tree's kiosk/
    assert check.returncode == 0, check.stderr
    env = dict(line.split("=", 1) for line in (etc / "hall-kiosk.env").read_text().splitlines()
               if line and not line.startswith("#"))
    assert env["KIOSK_HOST"] == "0.0.0.0" and env["KIOSK_PORT"] == "8080"
    assert (installed / "var/lib/hall-kiosk").is_dir()
    assert (venv / "share/doc/hall-kiosk/operations.md").exists()
    assert installed_in(venv) == {**lock_versions(LOCK), "hall-kiosk": "0.1.0"}  # the lock and nothing else
    assert (installed / "etc/udev/rules.d/70-hall-kiosk.rules").exists()
    wants = installed / "etc/systemd/system/multi-user.target.wants/hall-kiosk.service"
    timer = installed / "etc/systemd/system/timers.target.wants/hall-kiosk-backup.timer"
    assert os.readlink(wants) == "/etc/systemd/system/hall-kiosk.service"
    assert os.readlink(timer) == "/etc/systemd/system/hall-kiosk-backup.timer"


def test_service_unit_is_supervised_and_sandboxed(installed):
    """The installed service is a notify service with a watchdog that restarts on failure (except on a
    damaged database), runs as its own user with serial and printer groups, reads /etc's settings, and is
    sandboxed while it may still open serial and USB devices."""
    unit = unit_settings(installed / "etc/systemd/system/hall-kiosk.service")
    assert unit["Type"] == ["notify"] and unit["NotifyAccess"] == ["main"]
    assert int(unit["WatchdogSec"][0]) >= 10 and unit["Restart"] == ["on-failure"]
    assert unit["RestartPreventExitStatus"] == [str(EXIT_CORRUPT)]
    assert unit["ExecStart"] == [f"{PREFIX}/bin/kiosk run"]
    assert unit["User"] == ["hall-kiosk"] and set(unit["SupplementaryGroups"][0].split()) == {"dialout", "lp"}
    assert unit["EnvironmentFile"] == ["/etc/hall-kiosk/hall-kiosk.env"]
    assert unit["ProtectSystem"] == ["strict"] and unit["StateDirectory"] == ["hall-kiosk"]
    assert unit["NoNewPrivileges"] == ["yes"] and unit["PrivateTmp"] == ["yes"]
    assert "PrivateDevices" not in unit  # it would hide /dev/ttyUSB* and /dev/bus/usb
    assert {"char-ttyUSB rw", "char-usb_device rw"} <= set(unit["DeviceAllow"])
    backup = unit_settings(installed / "etc/systemd/system/hall-kiosk-backup.service")
    assert backup["ExecStart"] == [f"{PREFIX}/bin/kiosk backup"] and backup["User"] == ["hall-kiosk"]
    assert unit_settings(installed / "etc/systemd/system/hall-kiosk-backup.timer")["Persistent"] == ["true"]


def test_systemd_analyze_verify_accepts_the_units(installed, tmp_path):
    """``systemd-analyze verify`` (from the Debian package systemd, which ``make test`` installs) finds no
    problem in the installed units, including that ExecStart's program exists in the installed root."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: SYSTEM_PACKAGES in the Makefile installs the Debian package systemd"
    root = tmp_path / "root"
    shutil.copytree(installed, root, symlinks=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)  # the targets
    done = subprocess.run([analyze, "verify", f"--root={root}", *(f"/etc/systemd/system/{u}" for u in UNITS)],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def plant_stray_package(venv: Path) -> Path:
    """Install by hand what an older release might have left: a package ``stray-left-over`` 1.0 (a module and
    its dist-info with the RECORD pip uninstalls by). Returns the module's path."""
    (site,) = (venv / "lib").glob("python3*/site-packages")
    module = site / "stray_left_over.py"
    module.write_text("LEFT = True\n")
    info = site / "stray_left_over-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: stray-left-over\nVersion: 1.0\n")
    (info / "RECORD").write_text("stray_left_over.py,,\nstray_left_over-1.0.dist-info/METADATA,,\n"
                                 "stray_left_over-1.0.dist-info/RECORD,,\n")
    return module


def test_upgrade_keeps_config_and_uninstall_keeps_data(installed, checkout, tmp_path):
    """Situation: an installed hall whose config a technician changed, whose database holds tickets, and whose
    venv holds a package the lock does not (left by an older release).
    Action: ``make install`` again (an upgrade), then ``make uninstall``.
    Outcome: the upgrade keeps the changed config and leaves the venv holding exactly the lock again (the stray
    package removed); the uninstall removes the program, the units, their enablement and the rules, and keeps
    the database and the config."""
    root = tmp_path / "root"
    shutil.copytree(installed, root, symlinks=True)
    config = root / "etc/hall-kiosk/hall.toml"
    config.write_text(config.read_text().replace('name_en = "Customer Service Centre"', 'name_en = "Haidian Hall"'))
    database = root / "var/lib/hall-kiosk/hall.db"
    database.write_bytes(b"tickets")
    venv = root / PREFIX.lstrip("/")
    stray = plant_stray_package(venv)
    assert "stray-left-over" in installed_in(venv)
    done = make(checkout, "install", root)
    assert "removing packages the lock no longer holds: stray-left-over" in done.stdout
    assert not stray.exists() and installed_in(venv) == {**lock_versions(LOCK), "hall-kiosk": "0.1.0"}
    assert 'name_en = "Haidian Hall"' in config.read_text()

    make(checkout, "uninstall", root)
    assert not (root / PREFIX.lstrip("/")).exists()
    assert not any((root / "etc/systemd/system").rglob("hall-kiosk*"))
    assert not (root / "etc/udev/rules.d/70-hall-kiosk.rules").exists()
    assert database.read_bytes() == b"tickets"
    assert 'name_en = "Haidian Hall"' in config.read_text()


RULE_KEY = re.compile(r'^(?P<key>[A-Z_]+)(\{[^}]+\})?(?P<op>==|!=|\+=|-=|:=|=)"(?P<value>[^"]*)"$')
MATCH_KEYS = {"SUBSYSTEM", "SUBSYSTEMS", "KERNEL", "ATTRS", "ATTR", "ENV", "ACTION", "DRIVERS"}
ASSIGN_KEYS = {"SYMLINK", "GROUP", "MODE", "OWNER", "ENV", "IMPORT", "TAG", "RUN"}


def test_udev_rules_are_well_formed():
    """Each rule of systemd/70-hall-kiosk.rules is a comma-separated list of KEY op "value" pairs, with
    matches written with == or != and assignments with =, += or :=, and at least one match and one
    assignment, so no rule silently matches everything or does nothing."""
    rules = [line for line in (ROOT / "systemd/70-hall-kiosk.rules").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert len(rules) >= 5
    for rule in rules:
        pairs = [RULE_KEY.match(part.strip()) for part in rule.split(", ")]
        assert all(pairs), rule
        matches = [p for p in pairs if p["op"] in ("==", "!=")]
        assigns = [p for p in pairs if p["op"] in ("=", "+=", ":=")]
        assert matches and assigns, rule
        assert all(p["key"] in MATCH_KEYS for p in matches), rule
        assert all(p["key"] in ASSIGN_KEYS for p in assigns), rule


# -- the locks ---------------------------------------------------------------------------------------------------

def test_every_locked_package_is_pinned_with_hashes():
    """Each entry of both locks is an exact ``==`` pin with at least one sha256 hash (pip's --require-hashes
    refuses anything less), and neither lock pins the hall's own package."""
    for path in (LOCK, DEV_LOCK):
        entries = read_lock(path)
        assert entries and "hall-kiosk" not in entries
        for name, (requirement, hashes) in entries.items():
            assert pinned(requirement), name
            assert hashes and all(h.startswith("sha256:") for h in hashes), f"{path.name}: {name} has no hash"


def test_the_locks_hold_what_pyproject_asks_for():
    """Every runtime dependency of pyproject.toml is pinned in requirements.lock at a version its specifier
    allows; every test extra is in requirements-dev.lock likewise; the dev lock has each runtime pin at the same
    version (the tests run on what a hall PC gets); and the runtime lock has a setuptools the build accepts."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = read_lock(LOCK), read_lock(DEV_LOCK)
    for path, lock, wanted in ((LOCK, runtime, project["dependencies"]),
                               (DEV_LOCK, dev, project["dependencies"] + project["optional-dependencies"]["test"])):
        for text in wanted:
            requirement = Requirement(text)
            name = canonicalize_name(requirement.name)
            assert name in lock, f"{requirement.name} (pyproject.toml) is not in {path.name}: {REFRESH}"
            assert requirement.specifier.contains(pinned(lock[name][0]), prereleases=True), (
                f"{path.name} pins {lock[name][0]}, which pyproject.toml's {text!r} does not allow: {REFRESH}")
    for name, (requirement, _) in runtime.items():
        assert name in dev and pinned(dev[name][0]) == pinned(requirement), (
            f"requirements-dev.lock does not pin {requirement} as requirements.lock does: {REFRESH}")
    # The package is built with the locked setuptools (pip's --no-build-isolation: nothing unlocked is fetched).
    build = Requirement(next(r for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]
                             ["requires"] if r.startswith("setuptools")))
    assert "setuptools" in runtime and build.specifier.contains(pinned(runtime["setuptools"][0])), (
        f"requirements.lock must pin a setuptools that satisfies the build's {build} (install.sh builds the "
        "package with it): add setuptools to the dependencies if no locked package pulls it in any more")


def test_the_tests_run_on_the_versions_of_the_dev_lock():
    """Every package of requirements-dev.lock is installed in this venv at the locked version (``make`` installs
    the venv from the lock), so what passed here is what the lock says."""
    found = {name: (version, _installed_version(name)) for name, version in lock_versions(DEV_LOCK).items()}
    wrong = {name: versions for name, versions in found.items() if versions[0] != versions[1]}
    assert not wrong, f"not the locked versions (locked, installed): {wrong}; run make to reinstall the venv"


def _installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
