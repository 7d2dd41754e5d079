"""The `commonsfed` command: serve, migrate, user ... One-line errors, meaningful exit codes.

Exit status: 0 done, 1 the command failed (database, migration, refused input, a port in
use), 2 bad usage or settings (a host to listen on that this machine does not have, too).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from commonsfed import __version__, event_loop
from commonsfed.backup import BackupError
from commonsfed.config import ConfigError, Settings, load_settings, parse_setting, setting_label
from commonsfed.datafolder import NodeRecord, RecordError, write_record
from commonsfed.db.dumps import DumpError
from commonsfed.db.embedded import EmbeddedError
from commonsfed.db.lifecycle import SchemaBehind, apply_migrations, database_url
from commonsfed.db.migrate import MigrationError
from commonsfed.db.pool import DatabaseUnavailable, close_pool, describe_url, node_pool
from commonsfed.demo_folder import DemoError
from commonsfed.federation.transport import TransportError
from commonsfed.models import ROLES, SEVERITIES
from commonsfed.services.errors import ServiceError
from commonsfed.serving import ListenError

log = logging.getLogger("commonsfed")

_FAILURES = (BackupError, DatabaseUnavailable, DemoError, DumpError, EmbeddedError, ListenError,
             MigrationError, RecordError, SchemaBehind, ServiceError, TransportError)


# commands that speak for the node to others need its public name
_NEEDS_DOMAIN = ("serve", "worker", "lookup", "federate")
# commands that may make a new node in an empty data folder; the others act for the node
# already there (see commonsfed.datafolder) and refuse a folder that holds none
_MAKE_NODES = ("serve", "migrate", "restore")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        settings = load_settings(os.environ, _flags(args), need_domain=args.command in _NEEDS_DOMAIN,
                                 from_folder=args.command not in _MAKE_NODES)
        # for every command, so that a quiet level quiets the warnings of any of them too
        with _log_level(settings.log_level):
            return args.run(settings, args)
    except ConfigError as exc:
        print(f"commonsfed: error: {exc}", file=sys.stderr)
        return 2
    except _FAILURES as exc:
        print(f"commonsfed: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


@contextlib.contextmanager
def _log_level(level: str) -> Iterator[None]:
    """The root logger's level while a command runs (restored after, for callers in-process)."""
    root = logging.getLogger()
    before = root.level
    root.setLevel(level)
    try:
        yield
    finally:
        root.setLevel(before)


def _flags(args: argparse.Namespace) -> dict:
    names = ("domain", "host", "port", "database_url", "data_dir", "instance_name",
             "instance_description", "registration", "neighbourhood_handle", "federation",
             "group_follows", "contact_email", "resolve", "timezone", "language", "log_level",
             "mail_from")
    flags = {name: getattr(args, name, None) for name in names}
    flags["dev"] = True if getattr(args, "dev", False) else None
    flags["secure_mode"] = True if getattr(args, "secure_mode", False) else None
    flags["run_worker"] = False if getattr(args, "no_worker", False) else None
    flags["access_log"] = False if getattr(args, "no_access_log", False) else None
    flags["database_pooler"] = True if getattr(args, "database_pooler", False) else None
    flags["confirm_email"] = False if getattr(args, "no_confirm_email", False) else None
    for name in ("header_timeout", "body_timeout", "max_connections", "connections_per_address",
                 "metrics_port", "processes"):
        flags[name] = getattr(args, name, None)
    return flags


def _settings_flags() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("settings (each also read from COMMONSFED_*; flags win)")
    group.add_argument("--domain", help="public host name, e.g. commons.example.org")
    group.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    group.add_argument("--port", help="port to listen on (default 8080)")
    group.add_argument("--database-url", help="PostgreSQL URL (default: embedded, in the data folder)")
    group.add_argument("--database-pooler", action="store_true",
                       help="DATABASE_URL is a pooler in transaction mode (PgBouncer): no "
                            "prepared statements; LISTEN, migrations and backups use "
                            "COMMONSFED_DATABASE_DIRECT_URL")
    group.add_argument("--data-dir", help="data folder (default ./data)")
    group.add_argument("--instance-name", help="the neighbourhood's name")
    group.add_argument("--instance-description", help="a sentence or two about it")
    group.add_argument("--registration", help="open, approval or closed")
    group.add_argument("--neighbourhood-handle", help="the Group actor's name (default neighbourhood)")
    group.add_argument("--federation", help="open (with domain blocks) or allowlist")
    group.add_argument("--group-follows",
                       help="auto (the default) or manual: other nodes' follows of the Group "
                            "wait for an admin")
    group.add_argument("--contact-email", help="whom to write to about the node (shown on /about)")
    group.add_argument("--timezone", help="the neighbourhood's time zone, e.g. Europe/Berlin (default UTC)")
    group.add_argument("--language",
                       help="en (the default) or fr: for readers whose browser asks for neither")
    group.add_argument("--secure-mode", action="store_true", help="require signed fetches")
    group.add_argument("--resolve", help="dev only: name=ip:port,... for test nodes")
    group.add_argument("--log-level", help="DEBUG, INFO (the default), WARNING, ERROR or CRITICAL")
    group.add_argument("--mail-from", help="the sender of the node's mail (SMTP: COMMONSFED_SMTP_URL)")
    group.add_argument("--no-confirm-email", action="store_true",
                       help="new accounts need not confirm their e-mail address")
    group.add_argument("--dev", action="store_true",
                       help="local trial node: plain http, loopback peers allowed")
    return common


def _serve_flags(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--no-access-log", action="store_true",
                       help="no line per request in the log (COMMONSFED_ACCESS_LOG=off)")
    serve.add_argument("--processes", metavar="N",
                       help="N server processes on the one port (SO_REUSEPORT), each running "
                            "the workers too unless --no-worker; one that dies stops them all "
                            "with exit status 1 (default 1; COMMONSFED_PROCESSES)")
    group = serve.add_argument_group("connections (each also read from COMMONSFED_*; flags win)")
    group.add_argument("--header-timeout", metavar="SECONDS",
                       help="time a client has for its request's headers (default 10)")
    group.add_argument("--body-timeout", metavar="SECONDS",
                       help="time a client has for a body, plus 1 s per 500 bytes sent (default 30)")
    group.add_argument("--max-connections", metavar="N",
                       help="connections held at once (default: what the open-file limit allows)")
    group.add_argument("--connections-per-address", metavar="N",
                       help="connections from one client address, 0 for no cap (default 64; "
                            "loopback is never capped)")


def _parser() -> argparse.ArgumentParser:
    common = _settings_flags()
    parser = argparse.ArgumentParser(prog="commonsfed", description="A neighbourhood sharing node.")
    parser.add_argument("--version", action="version", version=f"commonsfed {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", parents=[common], help="run the node")
    serve.add_argument("--no-worker", action="store_true", help="do not run a worker in-process")
    _serve_flags(serve)
    serve.set_defaults(run=cmd_serve)

    sub.add_parser("migrate", parents=[common], help="apply database migrations").set_defaults(
        run=cmd_migrate
    )

    user = sub.add_parser("user", help="manage residents' accounts")
    user_sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    create = user_sub.add_parser("create", parents=[common], help="create an account")
    create.add_argument("name")
    create.add_argument("--email", required=True)
    create.add_argument("--admin", action="store_true", help="make the account an admin")
    create.set_defaults(run=cmd_user_create)
    role = user_sub.add_parser("role", parents=[common],
                               help="make a resident an admin, a moderator, or neither")  # fmt: skip
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(run=cmd_user_role)
    approve = user_sub.add_parser("approve", parents=[common], help="approve a waiting account")
    approve.add_argument("name")
    approve.set_defaults(run=cmd_user_approve)
    lookup = sub.add_parser("lookup", parents=[common],
                            help="fetch a remote actor as the node sees it (signed, verified)")
    lookup.add_argument("target", metavar="HANDLE_OR_URL")
    lookup.set_defaults(run=cmd_lookup)

    worker = sub.add_parser("worker", parents=[common],
                            help="run delivery, inbox and mail workers (any number, on any machine)")
    worker.add_argument("--metrics-port", metavar="PORT",
                        help="serve /metrics on this port (COMMONSFED_METRICS_PORT)")
    worker.set_defaults(run=cmd_worker)

    sub.add_parser("queue", parents=[common],
                   help="show deliveries, inbox items and mail not yet done").set_defaults(
        run=cmd_queue
    )

    federate = sub.add_parser("federate", parents=[common],
                              help="join another neighbourhood: our Group actor follows theirs")
    federate.add_argument("target", metavar="DOMAIN", help="its domain, or @handle@domain")
    federate.add_argument("--undo", action="store_true", help="stop following it")
    federate.set_defaults(run=cmd_federate)

    _block_parser(sub, common)
    _backup_parsers(sub, common)
    _demo_parser(sub)
    return parser


def _demo_parser(sub) -> None:
    demo = sub.add_parser("demo", help="three federated neighbourhoods on this machine, with "
                                       "residents, listings and conversations to look at")
    demo.add_argument("--first-port", metavar="PORT",
                      help="the first neighbourhood's port (default 8081); the others take "
                           "the next two")
    # its own name: COMMONSFED_DATA_DIR belongs to a real node, which the demo never touches
    demo.add_argument("--data-dir", dest="demo_dir", metavar="FOLDER",
                      help="the demo's folder (default ./demo-data), kept between runs")
    demo.add_argument("--fresh", action="store_true",
                      help="make the demo anew, throwing away what its folder holds")
    demo.add_argument("--log-level", help="DEBUG, INFO, WARNING (the default), ERROR or CRITICAL")
    demo.set_defaults(run=cmd_demo)


def _block_parser(sub, common: argparse.ArgumentParser) -> None:
    block = sub.add_parser("block", parents=[common],
                           help="block a domain: suspend (the default), limit, or only reject "
                                "its media or reports")  # fmt: skip
    block.add_argument("target", metavar="DOMAIN")
    block.add_argument("--severity", choices=SEVERITIES, default="suspend",
                       help="suspend: refuse everything, end follows, drop its content; "
                            "limit: keep it out of public places, its follows need approval; "
                            "none: only the rejections below")  # fmt: skip
    block.add_argument("--reject-media", action="store_true", help="do not show its pictures")
    block.add_argument("--reject-reports", action="store_true", help="drop its reports")
    block.add_argument("--comment", default="", help="public comment, shown on /about")
    block.add_argument("--reason", default="", help="private reason, for the moderation log")
    block.add_argument("--undo", action="store_true", help="lift the block")
    block.set_defaults(run=cmd_block)


def _backup_parsers(sub, common: argparse.ArgumentParser) -> None:
    backup = sub.add_parser("backup", parents=[common],
                            help="write the node (database, photos, keys) into one archive")
    backup.add_argument("file", metavar="FILE", help="the archive to write, e.g. node.tar.gz")
    backup.set_defaults(run=cmd_backup)
    restore = sub.add_parser("restore", parents=[common],
                             help="bring a backup back into an empty data folder or database")
    restore.add_argument("file", metavar="FILE")
    restore.set_defaults(run=cmd_restore)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _setup_logging(log_format: str = LOG_FORMAT) -> None:
    # the level is the log_level setting, applied by main() for every command
    logging.basicConfig(format=log_format)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it narrates every start step


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from commonsfed import processes, serving
    from commonsfed.app import create_app
    from commonsfed.services.mail_transport import log_mail_setup

    # several processes: each line says whose it is (MainProcess is the parent)
    _setup_logging(processes.LOG_FORMAT if settings.processes > 1 else LOG_FORMAT)
    try:  # first: a port in use is one line, before the database is started for nothing
        sockets = serving.listen(settings.host, settings.port)
    except serving.ListenError as exc:
        if exc.bad_host:
            raise ConfigError(setting_label("host", args.host is not None), exc.message) from None
        raise
    try:
        write_record(settings.data_dir, NodeRecord(domain=settings.domain, dev=settings.dev))
        with database_url(settings) as url:
            settings = replace(settings, database_url=url)
            log.info("serving %s on http://%s:%d using %s", settings.base_url, settings.host,
                     settings.port, describe_url(url))
            log_mail_setup(settings)
            if settings.processes > 1:
                return _serve_processes(settings, sockets)
            serving.serve(create_app(settings), settings, sockets)
    finally:
        for sock in sockets:
            sock.close()
    return 0


def _serve_processes(settings: Settings, sockets: list) -> int:
    """`serve --processes N`: the port was found free (`sockets`); it is let go here, for
    the children to bind it each with SO_REUSEPORT (a socket without it, held here, would
    keep them out)."""
    from commonsfed import processes

    for sock in sockets:
        sock.close()
    return processes.run(settings)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from commonsfed import demo

    first_port = demo.FIRST_PORT
    if args.first_port is not None:
        first_port = parse_setting("port", args.first_port, "--first-port")
        if first_port + len(demo.NEIGHBOURHOODS) - 1 > 65535:
            raise ConfigError("--first-port", "leaves no room for the next two ports")
    _setup_logging()
    # the demo is quiet unless asked: its addresses are what matters on the screen
    logging.getLogger().setLevel(args.log_level.upper() if args.log_level else "WARNING")
    folder = Path(args.demo_dir).expanduser() if args.demo_dir else demo.DEFAULT_FOLDER
    return demo.run_demo(demo.DemoOptions(folder=folder, first_port=first_port,
                                          fresh=args.fresh))  # fmt: skip


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    with database_url(settings, prepare=False, direct=True) as url:
        applied = asyncio.run(apply_migrations(url))
    for migration in applied:
        print(f"applied {migration.filename}")
    print(f"database is up to date ({len(applied)} applied now)")
    return 0


def _password_from_env_or_prompt() -> str:
    password = os.environ.get("COMMONSFED_PASSWORD")
    if password:
        return password
    if not sys.stdin.isatty():
        raise ServiceError("set COMMONSFED_PASSWORD, or run this in a terminal to be asked")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise ServiceError("the two passwords differ")
    return first


def _with_pool(settings: Settings, work):
    """Run `await work(pool, settings)` against the node's database, then close everything."""

    async def run(url: str):
        settings_here = replace(settings, database_url=url)
        pool = await node_pool(settings_here, max_size=2)
        try:
            return await work(pool, settings_here)
        finally:
            await close_pool(pool)

    with database_url(settings, create=False) as url:
        return event_loop.run(run(url))


def cmd_user_create(settings: Settings, args: argparse.Namespace) -> int:
    from commonsfed.services import accounts

    password = _password_from_env_or_prompt()
    account = _with_pool(settings, lambda pool, settings: accounts.register(
        pool, settings, username=args.name, email=args.email, password=password,
        role="admin" if args.admin else "none", by_admin=True,
    ))
    role = "admin" if account.is_admin else "resident"
    print(f"created {role} @{account.username}@{settings.domain}")
    return 0


def cmd_user_role(settings: Settings, args: argparse.Namespace) -> int:
    from commonsfed.services import accounts

    account = _with_pool(settings, lambda pool, _: accounts.set_role(pool, args.name, args.role))
    print(f"@{account.username} is now {'a resident' if account.role == 'none' else account.role}")
    return 0


def cmd_user_approve(settings: Settings, args: argparse.Namespace) -> int:
    from commonsfed.services import accounts

    account = _with_pool(settings, lambda pool, _: accounts.approve(pool, args.name))
    print(f"approved @{account.username}")
    return 0


def cmd_lookup(settings: Settings, args: argparse.Namespace) -> int:
    from commonsfed.federation.actors import lookup

    actor = _with_federation(settings, lambda fed: lookup(fed, args.target))
    fields = [
        ("id", actor.uri), ("type", actor.type),
        ("handle", actor.handle if actor.preferred_username else "-"),
        ("name", actor.name or "-"), ("inbox", actor.inbox),
        ("shared inbox", actor.shared_inbox or "-"), ("followers", actor.followers or "-"),
        ("key id", actor.key_id), ("key", key_fingerprint(actor.public_key_pem)),
    ]
    for label, value in fields:
        print(f"{label:>13}: {value}")
    return 0


def _with_federation(settings: Settings, work):
    """Run `await work(federation)` with the node's database, HTTP session and keys."""
    from commonsfed.federation.context import open_federation
    from commonsfed.services.answer_inbox import node_handlers

    async def run(pool, settings):
        async with open_federation(settings, pool, node_handlers()) as federation:
            return await work(federation)

    return _with_pool(settings, run)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from commonsfed import serving
    from commonsfed.app import node_workers
    from commonsfed.federation.workers import run_until_signalled
    from commonsfed.services.mail_transport import log_mail_setup
    from commonsfed.web.metrics import metrics_server

    _setup_logging()
    # bound first, as serve does: a port in use is one line before the database starts
    port = settings.metrics_port
    sockets = serving.listen(settings.host, port) if port else []

    async def work(federation):
        log.info("worker running for %s", settings.base_url)
        if port:
            log.info("metrics on http://%s:%d/metrics", settings.host, port)
        log_mail_setup(settings)
        async with metrics_server(settings, federation.pool, federation.metrics, sockets):
            event_loop.freeze_start_objects()
            await run_until_signalled(federation.pool, node_workers(federation))

    try:
        _with_federation(settings, work)
    finally:
        for sock in sockets:
            sock.close()
    return 0


def cmd_queue(settings: Settings, args: argparse.Namespace) -> int:
    from commonsfed.services.admin import queue_report

    report = _with_pool(settings, lambda pool, _: queue_report(pool))
    print("deliveries by host:")
    if not report.deliveries:
        print("  nothing waiting")
    for row in report.deliveries:
        parked = f" parked until {row['parked_until']:%Y-%m-%d %H:%M}" if row["parked"] else ""
        due = f" next {row['oldest_next_try_at']:%Y-%m-%d %H:%M}" if row["oldest_next_try_at"] else ""
        error = f" ({row['last_error']})" if row["last_error"] else ""
        print(f"  {row['host']}: {row['pending']} pending, {row['retrying']} retrying, "
              f"{row['failed']} failed{parked}{due}{error}")
    counts = report.inbox.counts
    print(f"inbox: {counts['pending']} pending, {counts['unhandled']} unhandled, "
          f"{counts['failed']} failed, {counts['done']} done")
    for pair in report.inbox.unhandled:
        print(f"  unhandled {pair.type} of {pair.object_type or '(a link)'}: {pair.count}")
    mail = report.mail
    error = f" ({mail['last_error']})" if mail["last_error"] else ""
    print(f"mail: {mail['pending']} pending, {mail['retrying']} retrying, "
          f"{mail['failed']} failed{error}")
    return 0


def cmd_federate(settings: Settings, args: argparse.Namespace) -> int:
    from commonsfed.services import follows

    if args.undo:
        remote = _with_federation(settings, lambda fed: follows.unfederate(fed, args.target))
        print(f"stopped following {remote.uri}")
    else:
        remote = _with_federation(settings, lambda fed: follows.federate(fed, args.target))
        print(f"asked to follow {remote.uri}; the neighbourhoods are joined when it accepts")
    return 0


def cmd_block(settings: Settings, args: argparse.Namespace) -> int:
    from commonsfed.models import DomainPolicy
    from commonsfed.services import domains

    if args.undo:
        lifted = _with_pool(settings, lambda pool, settings: domains.unblock_domain(
            pool, settings, None, args.target, args.reason))
        print(f"unblocked {args.target}" if lifted else f"{args.target} was not blocked")
        return 0
    block = DomainPolicy(
        args.target, "block", args.severity, args.reject_media, args.reject_reports,
        public_comment=args.comment, note=args.reason,
    )
    outcome = _with_pool(settings, lambda pool, settings: domains.block_domain(
        pool, settings, None, block))
    if block.severity == "suspend":
        print(f"blocked {outcome.block.domain}; dropped {outcome.deliveries_dropped} pending "
              f"deliveries, ended {outcome.follows_ended} follows")
    else:
        print(f"blocked {outcome.block.domain} with severity {block.severity}; follows kept")
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from commonsfed import backup

    manifest = backup.backup(settings, args.file)
    print(f"backed up {manifest['domain']} into {args.file} "
          f"(database by pg_dump {manifest['pg_dump']})")
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from commonsfed import backup

    manifest = backup.restore(settings, args.file)
    print(f"restored {manifest['domain']} from its backup of {manifest['created']}; "
          "start it with `commonsfed serve` (run `commonsfed migrate` first after an upgrade)")
    return 0


def key_fingerprint(public_key_pem: str) -> str:
    from commonsfed import signatures

    key = signatures.public_key_from_pem(public_key_pem)
    return f"RSA-{key.key_size} SHA256:{signatures.key_fingerprint(key)}"
