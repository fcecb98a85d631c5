#!/bin/sh
# Remove the hall controller (`sudo make uninstall`): stops and disables the service and the backup timer,
# removes the program, the units and the udev rules. Keeps the data (/var/lib/hall-kiosk: database and
# backups), the config (/etc/hall-kiosk), your own udev rules and the user, so a later install carries on.
set -eu

. "$(dirname "$0")/paths.sh"

if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
    echo "hall-kiosk uninstall: run as root (sudo make uninstall)" >&2
    exit 1
fi
if [ -n "$DESTDIR" ]; then
    if command -v systemctl >/dev/null; then
        systemctl --root="$DESTDIR" --quiet disable hall-kiosk.service hall-kiosk-backup.timer 2>/dev/null || true
    fi
elif [ -d /run/systemd/system ]; then
    systemctl disable --now hall-kiosk-backup.timer hall-kiosk.service 2>/dev/null || true
else
    systemctl disable hall-kiosk-backup.timer hall-kiosk.service 2>/dev/null || true
fi
for unit in $UNITS; do
    rm -f "$DESTDIR$UNITDIR/$unit"
done
rm -f "$DESTDIR$UDEVDIR/70-hall-kiosk.rules"
rm -rf "$DESTDIR$PREFIX"
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi
echo "hall-kiosk uninstall: removed; kept the data in $STATEDIR and the config in $CONFDIR"
