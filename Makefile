# The two commands a new user needs:  make run   (the hall, simulated devices)   make test   (the tests)
# Both create the virtual environment and install what is missing, on a fresh Debian with Python, git, make.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages the hall or its tests need (installed with apt-get when missing; root or sudo).
# espeak-ng, libespeak-ng1, alsa-utils: the voice; systemd: systemd-analyze, which the install test uses
# to verify the unit files; libusb-1.0-0: USB printers (pyusb); fonts-wqy-microhei: Chinese printed as images;
# chromium, chromium-driver: the browser tests of the screens (fonts-noto-cjk so their screenshots show Chinese).
SYSTEM_PACKAGES ?= espeak-ng libespeak-ng1 alsa-utils systemd libusb-1.0-0 fonts-wqy-microhei chromium chromium-driver \
                   fonts-noto-cjk

.PHONY: run test bench system-deps clean install uninstall

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

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PYTHONWARNINGS='$(EDITABLE_WARNINGS)' $(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# For a technician on the hall PC: sudo make install   (upgrade: git pull && sudo make install)
# DESTDIR=/some/root installs into that folder instead; PREFIX (default /opt/hall-kiosk) is the venv.
install:
	DESTDIR="$(DESTDIR)" PREFIX="$(or $(PREFIX),/opt/hall-kiosk)" sh systemd/install.sh

# Keeps the database, the backups and the config.
uninstall:
	DESTDIR="$(DESTDIR)" PREFIX="$(or $(PREFIX),/opt/hall-kiosk)" sh systemd/uninstall.sh

clean:
	rm -rf $(VENV) build dist *.egg-info
