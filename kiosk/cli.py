"""The ``kiosk`` command: run the hall, create tokens, check a config.

Every ``run`` flag also comes from the environment: ``KIOSK_CONFIG``, ``KIOSK_DATA_DIR``, ``KIOSK_HOST``,
``KIOSK_PORT``, ``KIOSK_NEW_HALL`` and the others named in its help (and ``KIOSK_LOG_LEVEL``).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
from pathlib import Path

from . import backup, cli_ops, db_check, logsetup, settings, storage, switches, tokens
from .errors import HallError
from .files import private_file, write_atomically
from .server import DEFAULT_CLIENT_STREAMS, DEFAULT_MAX_STREAMS, DEFAULT_THREADS
from .web.limits import Limits
from .store import Store, connect

log = logging.getLogger("kiosk")

TOKEN_FILE = "technician.token"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or default


def _flag(name: str) -> bool:
    return (os.environ.get(name) or "").strip().lower() in ("1", "yes", "true", "on")


def resolve_config(flag: str | None, data_dir: Path) -> tuple[dict, Path, str]:
    """Pick the config: the flag's file, else the one saved in the data dir, else the packaged default.

    Returns the validated config, the file that ``PUT /config`` saves to, and a description for the log.
    """
    if flag:
        return settings.load_file(flag), Path(flag), flag
    saved = data_dir / "config.toml"
    if saved.exists():
        return settings.load_file(saved), saved, str(saved)
    return settings.parse_toml(settings.default_text()), saved, "the default config (config/hall.toml)"


def technician_token(data_dir: Path) -> tuple[str, bool]:
    """Return the token kept in ``DATA_DIR/technician.token`` (mode 0600) and whether it was created just now
    (it is created when the file is missing or its token is not known to the database)."""
    path = data_dir / TOKEN_FILE
    conn = connect(data_dir / "hall.db")
    try:
        if path.exists():
            token = private_file(path).read_text().strip()
            if tokens.lookup(conn, token) is not None:
                return token, False
        token = tokens.create(conn, "technician", label="first start")
    finally:
        conn.close()
    write_atomically(path, (token + "\n").encode("ascii"))
    return token, True


def config_summary(config: dict, source: str) -> str:
    """One log line on the config the hall starts with: where it came from, the hall's name and how many of each
    part it has (the whole effective config is logged at debug level)."""
    counts = ", ".join(f"{part} {len(config.get(part, []))}" for part in ("services", "counters", "devices", "buses"))
    return f"config from {source}: hall {config['hall']['name']}; {counts}"


def token_banner(data_dir: Path, token: str, created: bool) -> str:
    """The banner's token lines: the token itself only when it was just created or stdout is a terminal (so
    that it is not copied into the journal at every start), and always where it is kept."""
    path = data_dir / TOKEN_FILE
    if created or sys.stdout.isatty():
        return (f"  technician token:   {token}{'   (new)' if created else ''}\n"
                f"    (kept in {path}; send it as 'Authorization: Bearer <token>', or paste it into\n"
                f"     the sign-in form of the counter, guide, console and simulator pages)")
    return (f"  technician token:   kept in {path} (shown only when it is created; read it with: sudo cat {path})\n"
            f"    (send it as 'Authorization: Bearer <token>', or paste it into the sign-in form of the counter,\n"
            f"     guide, console and simulator pages)")


def cmd_run(args) -> int:
    """Run the hall until stopped."""
    from .hall import Hall
    from .server import HallServer

    from .service import Supervision

    data_dir = Path(args.data_dir).resolve()
    lock = backup.DataDirLock(data_dir).acquire("run the hall")
    found = db_check.check_at_start(data_dir, new_hall=args.new_hall)
    config, save_path, source = resolve_config(args.config, data_dir)
    switches.set_traffic_log(args.traffic_log)
    hall = Hall(data_dir, config, config_path=save_path).start()
    log.info("%s", config_summary(config, source))
    log.debug("effective config: %s", json.dumps(config, ensure_ascii=False))
    log.info("data directory %s (%s); device traffic log %s (SIGUSR1 switches it)", data_dir, found,
             "on" if args.traffic_log else "off")
    supervision = Supervision(hall, debug_faults=args.debug_faults)
    limits = Limits(client_connections=args.client_connections)
    server = HallServer(hall, args.host, args.port, threads=args.threads, max_streams=args.max_streams,
                        client_streams=args.client_streams, limits=limits, health_timeout=supervision.probe_timeout)
    token, created = technician_token(data_dir)
    supervision.start(server)  # before the banner: its log line (the watchdog's period) is a start line too
    # The banner comes last, after every start log line, so that it is what a terminal shows at its bottom.
    url = server.url
    counter = next(iter(hall.config.counters), 1)
    print(f"Hall controller running at {url}   (all screens: {url}/)\n"
          f"  kiosk:              {url}/kiosk\n"
          f"  counter station:    {url}/counter/{counter}   (one page per counter id)\n"
          f"  guide desk:         {url}/guide\n"
          f"  hall display:       {url}/display\n"
          f"  technician console: {url}/admin   simulator: {url}/sim\n"
          f"  ticket status:      {url}/t/<ticket id>\n"
          f"  services (API):     {url}/api/v1/services\n"
          f"  hall display data:  {url}/api/v1/display   live events: {url}/api/v1/events\n"
          f"  health, metrics:    {url}/health   {url}/metrics\n"
          f"  data directory:     {data_dir}\n"
          f"{token_banner(data_dir, token, created)}", flush=True)
    server.serve_forever()
    lock.release()
    return 0


def cmd_token_create(args) -> int:
    """Create a token and print it."""
    data_dir = Path(args.data_dir).resolve()
    if args.role == "counter" and args.counter is None:
        raise HallError("A counter token needs --counter ID (the counter it belongs to).", code="counter_required")
    if args.counter is not None:
        config, _, source = resolve_config(args.config, data_dir)
        if args.counter not in settings.HallConfig(config).counters:
            raise HallError(f"There is no counter {args.counter} in {source}.", code="unknown_counter")
    Store(data_dir).close()  # creates and migrates the database if it is new
    conn = connect(data_dir / "hall.db")
    try:
        print(tokens.create(conn, args.role, args.counter, args.label))
    finally:
        conn.close()
    return 0


def cmd_config_check(args) -> int:
    """Validate a config file; name the bad key."""
    settings.load_file(args.file)
    print(f"{args.file}: OK")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    parser = argparse.ArgumentParser(prog="kiosk", description="Queue controller for a customer-service hall.")
    parser.add_argument("--log-level", default=_env("KIOSK_LOG_LEVEL", "INFO"),
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the hall (simulated devices unless the config names real ones)")
    run.add_argument("--config", default=_env("KIOSK_CONFIG"), help="TOML config file [KIOSK_CONFIG]")
    run.add_argument("--data-dir", default=_env("KIOSK_DATA_DIR", "data"), help="data directory [KIOSK_DATA_DIR]")
    run.add_argument("--host", default=_env("KIOSK_HOST", "127.0.0.1"), help="address to listen on [KIOSK_HOST]")
    run.add_argument("--port", type=int, default=int(_env("KIOSK_PORT", "8080")), help="port [KIOSK_PORT]")
    run.add_argument("--threads", type=int, default=int(_env("KIOSK_THREADS", str(DEFAULT_THREADS))),
                     help="HTTP worker threads, for requests (open screens hold none) [KIOSK_THREADS]")
    run.add_argument("--max-streams", type=int,
                     default=int(_env("KIOSK_MAX_STREAMS", str(DEFAULT_MAX_STREAMS))),
                     help="most live event streams open at once (screens); more get 503 [KIOSK_MAX_STREAMS]")
    run.add_argument("--client-streams", type=int,
                     default=int(_env("KIOSK_CLIENT_STREAMS", str(DEFAULT_CLIENT_STREAMS))),
                     help="most live event streams of one client address [KIOSK_CLIENT_STREAMS]")
    run.add_argument("--client-connections", type=int,
                     default=int(_env("KIOSK_CLIENT_CONNECTIONS", str(Limits.client_connections))),
                     help="most open connections of one client address; more are refused with 503 "
                          "[KIOSK_CLIENT_CONNECTIONS]")
    run.add_argument("--traffic-log", action="store_true", default=_flag("KIOSK_TRAFFIC_LOG"),
                     help="log the bytes and texts sent to devices; SIGUSR1 switches it [KIOSK_TRAFFIC_LOG]")
    run.add_argument("--debug-faults", action="store_true", default=_flag("KIOSK_DEBUG_FAULTS"),
                     help="let SIGUSR2 hang the queue writer, to test the watchdog [KIOSK_DEBUG_FAULTS]")
    run.add_argument("--new-hall", action="store_true", default=_flag("KIOSK_NEW_HALL"),
                     help="start a new, empty hall although the data dir shows an earlier one whose database is "
                          "missing or empty (otherwise that refuses to start, exit 3) [KIOSK_NEW_HALL]")
    run.set_defaults(func=cmd_run)

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="create a bearer token and print it")
    create.add_argument("--role", required=True, choices=tokens.ROLES)
    create.add_argument("--counter", type=int, help="the counter a counter token is bound to")
    create.add_argument("--label", help="a note for whom the token is")
    create.add_argument("--data-dir", default=_env("KIOSK_DATA_DIR", "data"))
    create.add_argument("--config", default=_env("KIOSK_CONFIG"), help="the config whose counters are checked")
    create.set_defaults(func=cmd_token_create)

    config = sub.add_parser("config", help="configuration").add_subparsers(dest="config_command", required=True)
    check = config.add_parser("check", help="validate a config file")
    check.add_argument("file")
    check.set_defaults(func=cmd_config_check)
    cli_ops.add_commands(sub, _env("KIOSK_DATA_DIR", "data"))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kiosk`` console script."""
    args = build_parser().parse_args(argv)
    logsetup.setup(args.log_level)
    try:
        return args.func(args)
    except HallError as exc:
        print(f"kiosk: {exc.message} [{exc.code}]", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        data_dir = Path(getattr(args, "data_dir", None) or ".")
        if not storage.is_full(exc, data_dir):
            raise
        print(f"kiosk: the disk holding {data_dir} is full ({exc}); nothing was changed. Free space there and "
              "try again. [storage_full]", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
