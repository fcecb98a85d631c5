# The two commands a new user needs:  make run   (the hall, simulated devices)   make test   (the tests)
# Both create the virtual environment and install what is missing, on a fresh Debian with Python, git, make.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The locks: every package with its exact version and hashes. requirements.lock is what a hall PC runs
# (make install); requirements-dev.lock is the same versions plus the test tools (make run, make test).
# Refresh them with `make lock` after changing pyproject.toml's dependencies; `make lock LOCK_ARGS=--upgrade`
# (or LOCK_ARGS="--upgrade-package flask") moves pins to newer releases. Resolved for the hall PC's Debian 12
# (Python 3.11, Linux); each pinned version keeps the hashes of all its files, so the same lock installs on
# other CPUs and newer Pythons.
LOCK       := requirements.lock
DEV_LOCK   := requirements-dev.lock
UV_VERSION ?= 0.13.8
LOCK_FOR   := --python-version 3.11 --python-platform linux --generate-hashes --custom-compile-command "make lock"
# Debian packages the hall or its tests need (installed with apt-get when missing; root or sudo).
# espeak-ng, libespeak-ng1, alsa-utils: the voice; systemd: systemd-analyze, which the install test uses
# to verify the unit files; libusb-1.0-0: USB printers (pyusb); fonts-wqy-microhei: Chinese printed as images;
# chromium, chromium-driver: the browser tests of the screens (fonts-noto-cjk so their screenshots show Chinese).
SYSTEM_PACKAGES ?= espeak-ng libespeak-ng1 alsa-utils systemd libusb-1.0-0 fonts-wqy-microhei chromium chromium-driver \
                   fonts-noto-cjk

.PHONY: run test bench system-deps clean install uninstall lock

run: $(STAMP)
	$(BIN)/kiosk run

# The tests run on every core (pytest-xdist): each keeps to its own temp dirs and ports, so any two may run at
# once (README, "Tests").
test: $(STAMP)
	$(BIN)/python -m pytest -n auto

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

system-deps:
	@missing=""; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="python3-venv"; \
	for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq $$missing; \
	fi

# setuptools' notice at every editable install (take care with folders named like the package in the working
# directory) is advice for a layout other than ours; hidden so the first `make run` shows only real warnings.
EDITABLE_WARNINGS := ignore:Editable installation:UserWarning

# The venv gets exactly the locked versions (hashes checked), then this checkout as an editable package without
# dependencies (built with the locked setuptools, no download).
$(STAMP): pyproject.toml $(DEV_LOCK)
	@$(MAKE) --no-print-directory system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	PYTHONWARNINGS='$(EDITABLE_WARNINGS)' $(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@$(BIN)/python -m pip install --quiet --dry-run --no-index --no-build-isolation -e '.[test]' \
	    >/dev/null 2>$(VENV)/lock-check.log || { grep ERROR $(VENV)/lock-check.log; \
	    echo "$(DEV_LOCK) does not hold what pyproject.toml asks for: run make lock"; exit 1; }
	touch $(STAMP)

# uv resolves; pip installs (a hall PC needs only pip). Pins already in a lock are kept unless LOCK_ARGS says.
# Needs only the venv's Python, not an up-to-date venv (which checks the very locks this refreshes).
lock:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile --quiet pyproject.toml $(LOCK_FOR) $(LOCK_ARGS) -o $(LOCK)
	$(BIN)/uv pip compile --quiet pyproject.toml --extra test --constraint $(LOCK) $(LOCK_FOR) $(LOCK_ARGS) -o $(DEV_LOCK)

# For a technician on the hall PC: sudo make install   (upgrade: git pull && sudo make install); it installs
# the versions of requirements.lock, nothing else.
# DESTDIR=/some/root installs into that folder instead; PREFIX (default /opt/hall-kiosk) is the venv.
install:
	DESTDIR="$(DESTDIR)" PREFIX="$(or $(PREFIX),/opt/hall-kiosk)" sh systemd/install.sh

# Keeps the database, the backups and the config.
uninstall:
	DESTDIR="$(DESTDIR)" PREFIX="$(or $(PREFIX),/opt/hall-kiosk)" sh systemd/uninstall.sh

clean:
	rm -rf $(VENV) build dist *.egg-info
