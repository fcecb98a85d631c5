# Where the hall controller is installed; read by install.sh and uninstall.sh. Each may be overridden from
# the environment (DESTDIR: a folder to install into instead of /, for packaging and the tests).
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/opt/hall-kiosk}
CONFDIR=${CONFDIR:-/etc/hall-kiosk}
STATEDIR=${STATEDIR:-/var/lib/hall-kiosk}
UNITDIR=${UNITDIR:-/etc/systemd/system}
UDEVDIR=${UDEVDIR:-/etc/udev/rules.d}
UNITS="hall-kiosk.service hall-kiosk-backup.service hall-kiosk-backup.timer"
