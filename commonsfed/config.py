"""Settings: read once from COMMONSFED_* environment variables and command-line flags.

Flags win over the environment, and both over what the data folder records about its node
(see `commonsfed.datafolder`). Every value is checked here, so the rest of the code can
trust a `Settings` it is handed; a bad value stops the command with a message that names
the setting (see `ConfigError`). The mail settings' checks are in commonsfed.config_mail.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from email.headerregistry import Address
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from commonsfed.config_errors import ConfigError
from commonsfed.config_mail import (
    SmtpServer,
    parse_contact_email,
    parse_mail_from,
    parse_smtp_setting,
    parse_smtp_url,
)
from commonsfed.datafolder import RecordError, read_record, record_path
from commonsfed.i18n import LANGUAGES

REGISTRATION_MODES = ("open", "approval", "closed")
FEDERATION_MODES = ("open", "allowlist")
GROUP_FOLLOW_MODES = ("auto", "manual")  # whether other nodes' follows of the Group wait for an admin
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# A host name made of DNS labels, or an IPv4 address, with an optional port.
HOST_RE = re.compile(
    r"^(?=.{1,253}(:|$))([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
    r"(:(?P<port>[0-9]{1,5}))?$"
)
_HANDLE_RE = re.compile(r"^[a-z0-9_]{1,30}$")


OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"


@dataclass(frozen=True)
class Settings:
    domain: str = "localhost:8080"
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str | None = None
    data_dir: Path = Path("data")
    secret: str | None = field(default=None, repr=False)
    instance_name: str = "A commonsfed neighbourhood"
    instance_description: str = "Neighbours sharing what they have: give, lend, swap, help."
    registration: str = "open"
    dev: bool = False
    neighbourhood_handle: str = "neighbourhood"
    federation: str = "open"
    # follows of the neighbourhood's Group from other nodes: accepted at once, or kept
    # waiting for an admin at /admin/follows
    group_follows: str = "auto"
    # shown on /about: whom to write to about the node, and its rules (one short line each)
    contact_email: str = ""
    rules: tuple[str, ...] = ()
    secure_mode: bool = False
    # dev/test only: host name -> "ip:port", so several nodes with real names share a machine
    resolve: Mapping[str, str] = field(default_factory=dict)
    run_worker: bool = True
    # the neighbourhood's time zone: the days and times people type and read are local
    timezone: str = "UTC"
    # the language of readers whose browser asks for none of ours, and of mail to people who
    # chose none (commonsfed.i18n.LANGUAGES)
    language: str = "en"
    log_level: str = "INFO"
    # serve: seconds a client has for its request's headers, and for its body (plus a second
    # for every 500 bytes it sends); see commonsfed.connections
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    # serve: connections held at once, in all (None: what the open-file limit leaves room
    # for) and from one address (0: no cap; loopback, a proxy on this machine, is never capped)
    max_connections: int | None = None
    connections_per_address: int = 64
    # serve: one INFO line per request (method, path without the query, status, time)
    access_log: bool = True
    # serve: this many server processes on the one port (SO_REUSEPORT), each with its own
    # pool and, unless run_worker is off, its own workers; see commonsfed.processes
    processes: int = 1
    # a pooler in transaction mode (PgBouncer's pool_mode = transaction) is in front of
    # PostgreSQL at database_url: asyncpg's statement cache is off, and what needs a session
    # of its own (LISTEN, the migrations' lock, backups) uses database_direct_url
    database_pooler: bool = False
    # PostgreSQL itself, not through a pooler: for LISTEN, migrations and backups; None:
    # database_url (see `direct_url`)
    database_direct_url: str | None = field(default=None, repr=False)
    # outgoing mail: smtp://user:password@host:587 (STARTTLS) or smtps:// (implicit TLS);
    # without it a dev node writes mail to data/mail/ and a public node sends none
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str | None = None  # None: "<instance name>" <noreply@<domain>>
    # a new account confirms its address before it publishes or answers; None: when the
    # node sends mail through an SMTP server
    confirm_email: bool | None = None
    # GET /metrics for clients not on this machine: `Authorization: Bearer <token>`
    metrics_token: str | None = field(default=None, repr=False)
    # worker: serve /metrics on this port (on `host`); None: no metrics server
    metrics_port: int | None = None
    # the client API: apps may trade a resident's password for a token (OAuth's password
    # grant, which Mastodon dropped in 4.4); off, apps log in through the authorize page
    oauth_password_grant: bool = False
    # the client API's rate limits, Mastodon's by default: requests per window for each
    # token (or each address without one), and for app registration and /oauth/token
    api_rate_limit: int = 300
    api_rate_window: float = 300.0
    auth_rate_limit: int = 30
    # the map's tiles: a URL template with {z}, {x} and {y} (and optionally {s}), and the
    # attribution its terms ask for; OpenStreetMap's by default. The CSP's img-src allows
    # any https: origin (tests point it at loopback, which only Settings itself accepts).
    map_tiles: str = OSM_TILES
    map_attribution: str = OSM_ATTRIBUTION
    # the time bank (services.timebank): the lowest and highest balance, in hours, of a
    # resident's account, and the most a sibling node's clearing account may hold either way
    hours_min: int = -20
    hours_max: int = 40
    hours_clearing_limit: int = 100
    # matching (services.matching): the farthest apart, in km, an offer and a request with
    # coordinates may be and still match; a rural neighbourhood may want more
    match_km: int = 10

    @property
    def scheme(self) -> str:
        return "http" if self.dev else "https"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    @property
    def direct_url(self) -> str | None:
        """Where to open a connection of its own (LISTEN, migrations' advisory lock, pg_dump):
        PostgreSQL itself, never a pooler in transaction mode, which hands each transaction
        to whichever server connection is free and so keeps no session."""
        return self.database_direct_url or self.database_url

    @property
    def secret_file(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def database_is_embedded(self) -> bool:
        return self.database_url is None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches, so this is cheap to ask again

    @property
    def smtp(self) -> SmtpServer | None:
        return parse_smtp_url(self.smtp_url, "COMMONSFED_SMTP_URL") if self.smtp_url else None

    @property
    def mail_transport(self) -> str | None:
        """"smtp", "mailbox" (a dev node without SMTP: files in data/mail/) or None (a
        public node without SMTP sends no mail)."""
        if self.smtp_url:
            return "smtp"
        return "mailbox" if self.dev else None

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def mail_sender(self) -> str:
        if self.mail_from:
            return self.mail_from
        host = self.domain.split(":", 1)[0]  # a host name (HOST_RE), perhaps with a port
        return str(Address(display_name=self.instance_name, addr_spec=f"noreply@{host}"))

    @property
    def email_confirmation_required(self) -> bool:
        if self.confirm_email is not None:
            return self.confirm_email and self.mail_transport is not None
        return self.mail_transport == "smtp"


# setting name -> (environment variable, flag) as shown to the admin in messages
_NAMES = {
    "domain": ("COMMONSFED_DOMAIN", "--domain"),
    "host": ("COMMONSFED_HOST", "--host"),
    "port": ("COMMONSFED_PORT", "--port"),
    "database_url": ("DATABASE_URL", "--database-url"),
    "data_dir": ("COMMONSFED_DATA_DIR", "--data-dir"),
    "secret": ("COMMONSFED_SECRET", "--secret"),
    "instance_name": ("COMMONSFED_INSTANCE_NAME", "--instance-name"),
    "instance_description": ("COMMONSFED_INSTANCE_DESCRIPTION", "--instance-description"),
    "registration": ("COMMONSFED_REGISTRATION", "--registration"),
    "dev": ("COMMONSFED_DEV", "--dev"),
    "neighbourhood_handle": ("COMMONSFED_NEIGHBOURHOOD_HANDLE", "--neighbourhood-handle"),
    "federation": ("COMMONSFED_FEDERATION", "--federation"),
    "group_follows": ("COMMONSFED_GROUP_FOLLOWS", "--group-follows"),
    "contact_email": ("COMMONSFED_CONTACT_EMAIL", "--contact-email"),
    # no flag: several lines do not fit one
    "rules": ("COMMONSFED_RULES", "COMMONSFED_RULES"),
    "secure_mode": ("COMMONSFED_SECURE_MODE", "--secure-mode"),
    "resolve": ("COMMONSFED_RESOLVE", "--resolve"),
    "run_worker": ("COMMONSFED_RUN_WORKER", "--no-worker"),
    "timezone": ("COMMONSFED_TIMEZONE", "--timezone"),
    "language": ("COMMONSFED_LANGUAGE", "--language"),
    "log_level": ("COMMONSFED_LOG_LEVEL", "--log-level"),
    "header_timeout": ("COMMONSFED_HEADER_TIMEOUT", "--header-timeout"),
    "body_timeout": ("COMMONSFED_BODY_TIMEOUT", "--body-timeout"),
    "max_connections": ("COMMONSFED_MAX_CONNECTIONS", "--max-connections"),
    "connections_per_address": ("COMMONSFED_CONNECTIONS_PER_ADDRESS", "--connections-per-address"),
    "access_log": ("COMMONSFED_ACCESS_LOG", "--no-access-log"),
    "processes": ("COMMONSFED_PROCESSES", "--processes"),
    "database_pooler": ("COMMONSFED_DATABASE_POOLER", "--database-pooler"),
    # no flag for the direct URL, as for DATABASE_URL's password: the environment sets it
    "database_direct_url": ("COMMONSFED_DATABASE_DIRECT_URL", "COMMONSFED_DATABASE_DIRECT_URL"),
    # no flag for the SMTP URL: a password on the command line shows in the process list
    "smtp_url": ("COMMONSFED_SMTP_URL", "COMMONSFED_SMTP_URL"),
    "mail_from": ("COMMONSFED_MAIL_FROM", "--mail-from"),
    "confirm_email": ("COMMONSFED_CONFIRM_EMAIL", "--no-confirm-email"),
    # no flag for the token either: it is a password
    "metrics_token": ("COMMONSFED_METRICS_TOKEN", "COMMONSFED_METRICS_TOKEN"),
    "metrics_port": ("COMMONSFED_METRICS_PORT", "--metrics-port"),
    # no flags for the client API's settings: the environment (or the admin's settings
    # page, for the password grant) sets them
    "oauth_password_grant": ("COMMONSFED_OAUTH_PASSWORD_GRANT", "COMMONSFED_OAUTH_PASSWORD_GRANT"),
    "api_rate_limit": ("COMMONSFED_API_RATE_LIMIT", "COMMONSFED_API_RATE_LIMIT"),
    "api_rate_window": ("COMMONSFED_API_RATE_WINDOW", "COMMONSFED_API_RATE_WINDOW"),
    "auth_rate_limit": ("COMMONSFED_AUTH_RATE_LIMIT", "COMMONSFED_AUTH_RATE_LIMIT"),
    # no flags for the map: the environment or the admin's settings page sets it
    "map_tiles": ("COMMONSFED_MAP_TILES", "COMMONSFED_MAP_TILES"),
    "map_attribution": ("COMMONSFED_MAP_ATTRIBUTION", "COMMONSFED_MAP_ATTRIBUTION"),
    # no flags for the time bank's limits: the environment or the admin's settings page
    "hours_min": ("COMMONSFED_HOURS_MIN", "COMMONSFED_HOURS_MIN"),
    "hours_max": ("COMMONSFED_HOURS_MAX", "COMMONSFED_HOURS_MAX"),
    "hours_clearing_limit": ("COMMONSFED_HOURS_CLEARING_LIMIT", "COMMONSFED_HOURS_CLEARING_LIMIT"),
    "match_km": ("COMMONSFED_MATCH_KM", "COMMONSFED_MATCH_KM"),
}


def setting_label(name: str, from_flag: bool) -> str:
    env, flag = _NAMES[name]
    return flag if from_flag else env


def load_settings(
    env: Mapping[str, str], flags: Mapping[str, Any] | None = None, *, need_domain: bool = True,
    from_folder: bool = False,
) -> Settings:
    """Build Settings from the environment, then the flags that were given (None = not given).

    `need_domain`: the public host name must be set outside dev mode (serving, federating);
    maintenance commands such as `migrate` do without it.
    `from_folder`: the command acts for the node already in the data folder (every command but
    `serve` and `migrate`), so the folder's record fills in dev mode and the public name where
    the environment and flags leave them out. Whatever the command, a folder that records a
    public node refuses dev mode.
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    raw: dict[str, tuple[Any, str]] = {}
    for name, (var, _flag) in _NAMES.items():
        if name in flags:
            raw[name] = (flags[name], setting_label(name, True))
        elif name == "database_url" and (env.get("DATABASE_URL") or env.get("COMMONSFED_DATABASE_URL")):
            raw[name] = (env.get("DATABASE_URL") or env["COMMONSFED_DATABASE_URL"], var)
        elif env.get(var) not in (None, ""):
            raw[name] = (env[var], var)
    values = {name: _PARSERS[name](value, label) for name, (value, label) in raw.items()}
    _apply_folder_record(raw, values, from_folder)
    if values.get("dev") and "domain" not in values:
        # a trial node is reached at http://localhost:<its port>: its ids and handles say so
        values["domain"] = f"localhost:{values.get('port', Settings.port)}"
    settings = Settings(**values)
    _check_together(settings, raw, need_domain)
    return settings


def _apply_folder_record(raw: dict[str, tuple[Any, str]], values: dict[str, Any],
                         fill: bool) -> None:
    """Check the settings against the data folder's record of its node (and with `fill`,
    complete them from it); the record counts as a source named by its path."""
    data_dir = values.get("data_dir", Settings.data_dir)
    label = str(record_path(data_dir))
    try:
        record = read_record(data_dir)
    except RecordError as exc:
        raise ConfigError(label, str(exc)) from None
    if record is None:
        return
    if fill and record.dev and "dev" not in raw:
        raw["dev"], values["dev"] = (True, label), True
    if values.get("dev") and not record.dev:
        raise ConfigError(
            raw["dev"][1], f"the node in {Path(data_dir).resolve()} is the public node "
            f"{record.domain}, which never runs in dev mode; give a trial node a data folder "
            "of its own (--data-dir)"
        )
    if fill and "domain" not in raw and values.get("dev", False) == record.dev:
        raw["domain"] = (record.domain, label)
        values["domain"] = _parse_domain(record.domain, label)


def _check_together(settings: Settings, raw: Mapping[str, tuple[Any, str]], need_domain: bool) -> None:
    if settings.resolve and not settings.dev:
        raise ConfigError(raw["resolve"][1], "is only allowed together with dev mode (--dev)")
    if settings.confirm_email and settings.mail_transport is None:
        raise ConfigError(
            raw["confirm_email"][1], "needs COMMONSFED_SMTP_URL: a node that sends no mail "
            "cannot confirm addresses"
        )
    _check_pooler(settings, raw)
    if need_domain and not settings.dev and "domain" not in raw:
        raise ConfigError(
            "COMMONSFED_DOMAIN", "is required (the public host name, e.g. commons.example.org), "
            "or use --dev for a local trial node"
        )


def _check_pooler(settings: Settings, raw: Mapping[str, tuple[Any, str]]) -> None:
    if not settings.database_pooler:
        return
    if settings.database_url is None:
        raise ConfigError(raw["database_pooler"][1], "needs DATABASE_URL: the embedded "
                          "database has no pooler in front of it")
    if settings.database_direct_url is None:
        raise ConfigError(
            raw["database_pooler"][1], "needs COMMONSFED_DATABASE_DIRECT_URL, PostgreSQL "
            "itself: a pooler in transaction mode keeps no session for LISTEN, the "
            "migrations' lock or pg_dump"
        )


def _parse_domain(value: str, label: str) -> str:
    domain = str(value).strip().lower()
    if "://" in domain:
        raise ConfigError(label, f"give the host name only, without a scheme (got {value!r})")
    if "/" in domain or "?" in domain or "#" in domain:
        raise ConfigError(label, f"give the host name only, without a path (got {value!r})")
    match = HOST_RE.match(domain)
    if not match:
        raise ConfigError(label, f"is not a valid host name (got {value!r})")
    if match.group("port"):
        _parse_port(match.group("port"), label)
    return domain


def _parse_port(value: Any, label: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ConfigError(label, f"must be a number from 1 to 65535 (got {value!r})") from None
    if not 1 <= port <= 65535:
        raise ConfigError(label, f"must be a number from 1 to 65535 (got {value!r})")
    return port


def _parse_listen_host(value: str, label: str) -> str:
    host = str(value).strip()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not HOST_RE.match(host.lower()) or ":" in host:
            raise ConfigError(label, f"must be an IP address or host name (got {value!r})") from None
    return host


def _parse_database_url(value: str, label: str) -> str:
    url = str(value).strip()
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(label, "must start with postgresql:// (the password is never shown)")
    return url


MAX_RULES = 30
MAX_RULE = 300  # characters, as Mastodon's rules: a line, not a page
MAX_MATCH_KM = 100  # matching (services.matching) reaches at most this far


def rules_problem(rules: list[str]) -> str | None:
    """Why these rules cannot be the node's, or None."""
    if len(rules) > MAX_RULES:
        return f"{len(rules)} rules are too many; a node has at most {MAX_RULES}"
    for number, rule in enumerate(rules, 1):
        if len(rule) > MAX_RULE:
            return (f"rule {number} is {len(rule)} characters long; a rule has at most "
                    f"{MAX_RULE}, so say it shorter or split it")
    return None


def _parse_rules(value: Any, label: str) -> tuple[str, ...]:
    """One rule a line (COMMONSFED_RULES), or a list of them (stored on the web)."""
    lines = str(value).splitlines() if isinstance(value, str) else [str(v) for v in value]
    rules = [line.strip() for line in lines if line.strip()]
    problem = rules_problem(rules)
    if problem:
        raise ConfigError(label, problem)
    return tuple(rules)


def parse_setting(name: str, value: Any, label: str) -> Any:
    """One setting's value checked as if it came from the environment (ConfigError if bad)."""
    return _PARSERS[name](value, label)


def tile_url_problem(url: str) -> str | None:
    """What is wrong with a map tile URL template, or None."""
    # https only: the CSP's img-src allows https: origins (and the node's own)
    if not url.startswith("https://") or len(url) > 500:
        return "must be an https:// address of at most 500 characters"
    if any(part not in url for part in ("{z}", "{x}", "{y}")):
        return "must hold {z}, {x} and {y}, like https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    if any(c.isspace() or c in "\"'<>\\" for c in url):
        return "must not hold spaces, quotes or angle brackets"
    return None


def parse_tile_url(value: Any, label: str) -> str:
    url = str(value).strip()
    problem = tile_url_problem(url)
    if problem:
        raise ConfigError(label, f"{problem} (got {value!r})")
    return url


def _parse_choice(choices: tuple[str, ...]):
    def parse(value: str, label: str) -> str:
        choice = str(value).strip().lower()
        if choice not in choices:
            raise ConfigError(label, f"must be one of {', '.join(choices)} (got {value!r})")
        return choice

    return parse


def _parse_bool(value: Any, label: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(label, f"must be true or false (got {value!r})")


def _parse_text(limit: int):
    def parse(value: str, label: str) -> str:
        text = str(value).strip()
        if not text or len(text) > limit:
            raise ConfigError(label, f"must be 1 to {limit} characters")
        return text

    return parse


def _parse_secret(value: str, label: str) -> str:
    if len(str(value)) < 32:
        raise ConfigError(label, "must be at least 32 characters (or leave it out to generate one)")
    return str(value)


def _parse_metrics_token(value: str, label: str) -> str:
    token = str(value)
    # never repeated in the message: it is a secret
    if not 16 <= len(token) <= 200 or not token.isascii() or not token.isprintable() or " " in token:
        raise ConfigError(label, "must be 16 to 200 printable ASCII characters without spaces "
                                 "(e.g. from `openssl rand -hex 32`)")
    return token


def _parse_handle(value: str, label: str) -> str:
    handle = str(value).strip().lower()
    if not _HANDLE_RE.match(handle):
        raise ConfigError(label, "must be 1 to 30 lower-case letters, digits or _")
    return handle


def _parse_resolve(value: Any, label: str) -> dict[str, str]:
    """"north.test=127.0.0.1:8081,south.test=127.0.0.1:8082" -> {name: "ip:port"}."""
    if isinstance(value, Mapping):
        return dict(value)
    result: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in str(value).split(","))):
        name, sep, target = item.partition("=")
        addr, _, port = target.rpartition(":")
        try:
            ipaddress.ip_address(addr)
            ok = sep and HOST_RE.match(name.strip().lower()) and 1 <= int(port) <= 65535
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(label, f"entries look like name=127.0.0.1:8081 (got {item!r})")
        result[name.strip().lower()] = target
    return result


def _parse_log_level(value: str, label: str) -> str:
    level = str(value).strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(label, f"must be one of {', '.join(LOG_LEVELS)} (got {value!r})")
    return level


def _parse_timezone(value: str, label: str) -> str:
    name = str(value).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: a path such as "../etc"; OSError: a folder such as "Europe"
        raise ConfigError(
            label, f"unknown time zone {value!r}; use a name like Europe/Berlin"
        ) from None
    return name


def _parse_seconds(low: float, high: float):
    def parse(value: Any, label: str) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = float("nan")
        if not low <= seconds <= high:  # False for nan too
            raise ConfigError(
                label, f"must be a number of seconds from {low:g} to {high:g} (got {value!r})"
            )
        return seconds

    return parse


def _parse_count(low: int, high: int):
    def parse(value: Any, label: str) -> int:
        try:
            count = int(value)
        except (TypeError, ValueError):
            count = low - 1
        if not low <= count <= high:
            raise ConfigError(label, f"must be a whole number from {low} to {high} (got {value!r})")
        return count

    return parse


_PARSERS = {
    "domain": _parse_domain,
    "host": _parse_listen_host,
    "port": _parse_port,
    "database_url": _parse_database_url,
    "data_dir": lambda value, label: Path(value).expanduser(),
    "secret": _parse_secret,
    "instance_name": _parse_text(100),
    "instance_description": _parse_text(2000),
    "registration": _parse_choice(REGISTRATION_MODES),
    "dev": _parse_bool,
    "neighbourhood_handle": _parse_handle,
    "federation": _parse_choice(FEDERATION_MODES),
    "group_follows": _parse_choice(GROUP_FOLLOW_MODES),
    "contact_email": parse_contact_email,
    "rules": _parse_rules,
    "secure_mode": _parse_bool,
    "resolve": _parse_resolve,
    "run_worker": _parse_bool,
    "timezone": _parse_timezone,
    "language": _parse_choice(LANGUAGES),
    "log_level": _parse_log_level,
    "header_timeout": _parse_seconds(0.1, 3600),
    "body_timeout": _parse_seconds(0.1, 3600),
    "max_connections": _parse_count(16, 1_000_000),
    "connections_per_address": _parse_count(0, 1_000_000),
    "access_log": _parse_bool,
    "processes": _parse_count(1, 64),
    "database_pooler": _parse_bool,
    "database_direct_url": _parse_database_url,
    "smtp_url": parse_smtp_setting,
    "mail_from": parse_mail_from,
    "confirm_email": _parse_bool,
    "metrics_token": _parse_metrics_token,
    "metrics_port": _parse_port,
    "oauth_password_grant": _parse_bool,
    "api_rate_limit": _parse_count(1, 1_000_000),
    "api_rate_window": _parse_seconds(1, 86400),
    "auth_rate_limit": _parse_count(1, 1_000_000),
    "map_tiles": parse_tile_url,
    "map_attribution": _parse_text(300),
    "hours_min": _parse_count(-10_000, 0),
    "hours_max": _parse_count(0, 10_000),
    "hours_clearing_limit": _parse_count(0, 1_000_000),
    "match_km": _parse_count(1, MAX_MATCH_KM),
}
assert set(_PARSERS) == {f.name for f in fields(Settings)}
