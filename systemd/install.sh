#!/bin/sh
# Install (or upgrade) the hall controller as a system service: `sudo make install`.
#   - the system user hall-kiosk (groups dialout, lp);
#   - a virtual environment in $PREFIX (default /opt/hall-kiosk) holding exactly the packages and versions of
#     requirements.lock (hashes checked; what the tests ran with) and this source tree's package;
#   - /etc/hall-kiosk/hall-kiosk.env and /etc/hall-kiosk/hall.toml (only if missing: edits are kept);
#   - /var/lib/hall-kiosk for the database and backups;
#   - the units (service, daily backup timer) and the udev rules; then enables and (re)starts the service.
# With DESTDIR set everything goes under that root instead, for packaging or inspection: no user is created,
# nothing is chowned, started or reloaded, and the units are enabled with `systemctl --root`.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/systemd/paths.sh"
INSTALL_PYTHON=${INSTALL_PYTHON:-/usr/bin/python3}
USER_NAME=hall-kiosk

say() { printf 'hall-kiosk install: %s\n' "$*"; }

if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
    echo "hall-kiosk install: run as root (sudo make install), or set DESTDIR to install into a folder" >&2
    exit 1
fi
if [ -z "$DESTDIR" ]; then
    own() { chown "$@"; }
    if ! getent passwd "$USER_NAME" >/dev/null; then
        say "creating system user $USER_NAME"
        useradd --system --user-group --home-dir "$STATEDIR" --no-create-home --shell /usr/sbin/nologin \
            --groups dialout,lp "$USER_NAME"
    fi
else
    own() { :; }
fi

# The program: a venv under $PREFIX with the locked dependencies (from PyPI, each file checked against the lock's
# hashes), nothing else, and the package itself without dependencies, built with the locked setuptools.
venv="$DESTDIR$PREFIX"
if [ ! -x "$venv/bin/python" ]; then
    say "creating the virtual environment $PREFIX"
    "$INSTALL_PYTHON" -m venv "$venv"
fi
pip() { "$venv/bin/python" -m pip --disable-pip-version-check "$@"; }
say "installing the locked dependencies (requirements.lock) into $PREFIX"
pip install --quiet --no-warn-script-location --require-hashes -r "$SRC/requirements.lock"
# What an older release needed and the lock no longer holds is removed, so the venv is the lock and no more.
locked=$(sed -n 's/^\([A-Za-z0-9][A-Za-z0-9._-]*\)==.*/\1/p' "$SRC/requirements.lock" | tr 'A-Z_.' 'a-z--')
stray=$(pip list --format=freeze | sed 's/==.*//' | tr 'A-Z_.' 'a-z--' | grep -vxF -e "$locked" -e pip -e hall-kiosk) \
    || true
if [ -n "$stray" ]; then
    say "removing packages the lock no longer holds:" $stray
    pip uninstall --quiet --yes $stray
fi
say "installing the hall controller into $PREFIX"
pip install --quiet --no-warn-script-location --no-deps --no-build-isolation --upgrade "$SRC"
if [ -n "$DESTDIR" ]; then  # a venv records its own path: make it the path it will have on the target
    grep -rlI -- "$venv" "$venv/bin" "$venv/pyvenv.cfg" 2>/dev/null | while read -r f; do
        sed -i "s|$venv|$PREFIX|g" "$f"
    done
fi
install -d "$venv/share/doc/hall-kiosk"
install -m 0644 "$SRC/docs/operations.md" "$SRC/docs/configuration.md" "$venv/share/doc/hall-kiosk/"

# Config: the directory is group-writable (PUT /config saves hall.toml there) and sticky, so the service
# can replace its own config file but not the root-owned settings file.
install -d -m 1775 "$DESTDIR$CONFDIR"
own root:"$USER_NAME" "$DESTDIR$CONFDIR"
if [ ! -e "$DESTDIR$CONFDIR/hall-kiosk.env" ]; then
    install -m 0644 "$SRC/systemd/hall-kiosk.env" "$DESTDIR$CONFDIR/hall-kiosk.env"
fi
if [ ! -e "$DESTDIR$CONFDIR/hall.toml" ]; then
    install -m 0664 "$SRC/config/hall.toml" "$DESTDIR$CONFDIR/hall.toml"
    own "$USER_NAME:$USER_NAME" "$DESTDIR$CONFDIR/hall.toml"
fi

# Data: the database and its backups.
install -d -m 0700 "$DESTDIR$STATEDIR"
own "$USER_NAME:$USER_NAME" "$DESTDIR$STATEDIR"

# Units and rules, with the paths of this install.
install -d "$DESTDIR$UNITDIR" "$DESTDIR$UDEVDIR"
for unit in $UNITS; do
    sed -e "s|/opt/hall-kiosk|$PREFIX|g" -e "s|/etc/hall-kiosk|$CONFDIR|g" -e "s|/var/lib/hall-kiosk|$STATEDIR|g" \
        "$SRC/systemd/$unit" > "$DESTDIR$UNITDIR/$unit"
    chmod 0644 "$DESTDIR$UNITDIR/$unit"
done
install -m 0644 "$SRC/systemd/70-hall-kiosk.rules" "$DESTDIR$UDEVDIR/70-hall-kiosk.rules"

if [ -n "$DESTDIR" ]; then
    if command -v systemctl >/dev/null; then
        systemctl --root="$DESTDIR" --quiet enable hall-kiosk.service hall-kiosk-backup.timer
    fi
    say "installed under $DESTDIR"
    exit 0
fi
if command -v udevadm >/dev/null; then
    udevadm control --reload
    udevadm trigger --subsystem-match=tty --subsystem-match=usb --subsystem-match=usbmisc
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable hall-kiosk.service hall-kiosk-backup.timer
    systemctl restart hall-kiosk.service
    systemctl start hall-kiosk-backup.timer
    say "running: systemctl status hall-kiosk; logs: journalctl -u hall-kiosk"
else
    systemctl enable hall-kiosk.service hall-kiosk-backup.timer
    say "installed and enabled; systemd is not running here, so it starts at the next boot"
fi
