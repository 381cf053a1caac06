"""One TOML file (plus GATEWAY_<SECTION>_<KEY> environment overrides) into frozen settings."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from gateway.errors import ConfigError

DEFAULT_CONFIG_TEXT = (Path(__file__).parent / "default_config.toml").read_text()


@dataclass(frozen=True)
class MailSettings:
    domain: str = "example.com"
    addresses: tuple[str, ...] = ("support@example.com",)
    name: str = "Support"
    secret: str = ""
    admins: tuple[str, ...] = ()


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 2525
    max_message_size: int = 26_214_400
    tls_cert: str = ""
    tls_key: str = ""


@dataclass(frozen=True)
class RelaySettings:
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    ca_file: str = ""
    username: str = ""
    password: str = ""
    timeout: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///gateway.db"


@dataclass(frozen=True)
class StorageSettings:
    raw: str = "database"  # or "files"
    raw_dir: str = ""
    keep_raw: timedelta = timedelta(0)  # 0: forever


@dataclass(frozen=True)
class ThreadingSettings:
    window: timedelta = timedelta(days=7)
    reopen_window: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class OutboundSettings:
    max_lifetime: timedelta = timedelta(days=5)
    min_backoff: timedelta = timedelta(minutes=1)
    max_backoff: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class ClassifySettings:
    allow: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChannelSettings:
    notify: dict[str, tuple[str, ...]] = field(default_factory=dict)
    beta: tuple[str, ...] = ()


@dataclass(frozen=True)
class PartnerSettings:
    members: tuple[str, ...] = ()
    tier: int = 0


@dataclass(frozen=True)
class AgentSettings:
    collision_window: timedelta = timedelta(minutes=10)
    hold_expiry: timedelta = timedelta(hours=1)
    error_reply_interval: timedelta = timedelta(minutes=5)
    saved_replies: str = ""


@dataclass(frozen=True)
class HoursSettings:
    timezone: str = "UTC"
    # Day (mon..sun) -> opening spans like "09:00-17:00"; a day not named is closed.
    schedule: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        day: ("09:00-17:00",) for day in ("mon", "tue", "wed", "thu", "fri")})
    holidays_country: str = ""
    holidays_subdivision: str = ""
    closed_dates: tuple[str, ...] = ()


@dataclass(frozen=True)
class AutoReplySettings:
    enabled: bool = True
    # Business time promised while the store has fewer than `min_samples` first responses to measure.
    fallback_response: timedelta = timedelta(hours=4)
    min_samples: int = 20
    stats_window: timedelta = timedelta(days=30)
    per_sender_per_hour: int = 10
    circuit_breaker: int = 20
    no_reply: tuple[str, ...] = ("mailer-daemon", "postmaster", "abuse", "root", "nobody", "noreply*", "no-reply*",
                                 "no_reply*", "donotreply*", "do-not-reply*", "bounce*", "*-bounces")
    bounce_window: timedelta = timedelta(days=60)
    honour_spam_flag: bool = True
    envelope: str = "null"
    languages: tuple[str, ...] = ("en",)


@dataclass(frozen=True)
class SelfHelpSettings:
    knowledge_base: str = ""
    faq: str = ""
    status_page: str = ""
    articles: str = ""
    max_articles: int = 3


@dataclass(frozen=True)
class MailboxSettings:
    """One IMAP mailbox the gateway reads; its identity is user@host:port/folder."""

    host: str = ""
    # 0: 993 with security = "tls", else 143.
    port: int = 0
    security: str = "tls"
    ca_file: str = ""
    user: str = ""
    password: str = ""
    password_file: str = ""
    folder: str = "INBOX"
    after: str = "flag"
    move_to: str = ""
    address: str = ""
    existing: str = "import"

    @property
    def server_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)

    @property
    def key(self) -> str:
        return f"{self.user}@{self.host}:{self.server_port}/{self.folder}"


@dataclass(frozen=True)
class ImapSettings:
    mailbox: tuple[MailboxSettings, ...] = ()
    idle: bool = True
    idle_renew: timedelta = timedelta(minutes=25)
    poll_interval: timedelta = timedelta(seconds=60)
    batch_messages: int = 50
    batch_bytes: int = 16_777_216
    timeout: timedelta = timedelta(seconds=60)
    min_backoff: timedelta = timedelta(seconds=5)
    max_backoff: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class DkimSettings:
    domain: str = ""
    selector: str = ""
    private_key: str = ""


@dataclass(frozen=True)
class AuthenticationSettings:
    authserv_id: str = ""


@dataclass(frozen=True)
class SurveySettings:
    enabled: bool = True
    delay: timedelta = timedelta(hours=24)
    business_hours: bool = False
    spacing: timedelta = timedelta(days=30)
    sample_rate: int = 100  # percent of the conversations that pass every other rule
    choices: int = 5  # 5 (1-5) or 3 (not good / okay / great)
    link_lifetime: timedelta = timedelta(days=14)
    exclude_partners: bool = False
    exclude_channels: tuple[str, ...] = ()
    company: str = ""


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8025
    public_url: str = ""

    @property
    def base_url(self) -> str:
        """Where customers' links point: the public URL behind a reverse proxy, else this listener."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"


@dataclass(frozen=True)
class Settings:
    mail: MailSettings = field(default_factory=MailSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    relay: RelaySettings = field(default_factory=RelaySettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    threading: ThreadingSettings = field(default_factory=ThreadingSettings)
    outbound: OutboundSettings = field(default_factory=OutboundSettings)
    classify: ClassifySettings = field(default_factory=ClassifySettings)
    channels: ChannelSettings = field(default_factory=ChannelSettings)
    partners: PartnerSettings = field(default_factory=PartnerSettings)
    agents: AgentSettings = field(default_factory=AgentSettings)
    hours: HoursSettings = field(default_factory=HoursSettings)
    autoreply: AutoReplySettings = field(default_factory=AutoReplySettings)
    selfhelp: SelfHelpSettings = field(default_factory=SelfHelpSettings)
    imap: ImapSettings = field(default_factory=ImapSettings)
    dkim: DkimSettings = field(default_factory=DkimSettings)
    authentication: AuthenticationSettings = field(default_factory=AuthenticationSettings)
    surveys: SurveySettings = field(default_factory=SurveySettings)
    web: WebSettings = field(default_factory=WebSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    # Where each key that differs from the default came from ("section.key" -> "file" | "env NAME").
    sources: tuple[tuple[str, str], ...] = ()

    @property
    def support_addresses(self) -> frozenset[str]:
        return frozenset(a.lower() for a in self.mail.addresses)

    @property
    def note_addresses(self) -> frozenset[str]:
        """note@ in each of our domains: agents post internal notes through note+<token>@."""
        return frozenset(f"note@{a.partition('@')[2]}" for a in self.support_addresses)

    def is_partner(self, address: str) -> bool:
        return listed(address, self.partners.members)


# A plain ASCII addr-spec: what we can send to without SMTPUTF8 (agents, list addresses).
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def is_plain_address(address: str) -> bool:
    return _PLAIN_ADDRESS.fullmatch(address) is not None


def listed(address: str, entries: tuple[str, ...]) -> bool:
    """An address matches an entry that is itself or its "@domain"."""
    address = address.lower()
    domain = "@" + address.partition("@")[2]
    return any(entry.lower() in (address, domain) for entry in entries)


_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int) -> timedelta:
    """'90s', '30m', '4h', '7d' or '2w'."""
    if re.fullmatch(r"\s*\d+\s*", str(text)):
        # Never guess: a bare 365 meant as days but read as seconds would make retention remove nearly everything.
        raise ValueError(f"{text!r} has no unit; write {str(text).strip()}d for days (or s, m, h, w)")
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration; write it like 30m, 4h or 7d")
    try:
        return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration; write one like 30m, 4h or 365d") from None


def _coerce(value: object, kind: object, where: str) -> object:
    """Turn a TOML or environment value into the field's type, or say what is wrong."""
    try:
        if kind is timedelta:
            return parse_duration(value)  # type: ignore[arg-type]
        if kind is bool:
            if isinstance(value, bool):
                return value
            if str(value).lower() in {"1", "true", "yes", "on"}:
                return True
            if str(value).lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(f"{value!r} is not true or false")
        if kind is int:
            if isinstance(value, bool) or not str(value).strip().isdigit():
                raise ValueError(f"expected a whole number (0 or more), got {value!r}")
            return int(value)  # type: ignore[call-overload]
        if typing.get_origin(kind) is dict:
            if isinstance(value, str):
                value = json.loads(value)
            if not isinstance(value, dict):
                raise ValueError("expected a table, like { \"billing@example.com\" = [\"bob@example.com\"] }")
            return {str(k).lower(): tuple(str(v).lower() for v in (vs if isinstance(vs, list | tuple) else [vs]))
                    for k, vs in value.items()}
        if typing.get_origin(kind) is tuple and dataclasses.is_dataclass(typing.get_args(kind)[0]):
            return _tables(value, typing.get_args(kind)[0], where)
        if typing.get_origin(kind) is tuple:
            if isinstance(value, str):
                value = json.loads(value) if value.strip().startswith("[") else [
                    v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list | tuple):
                raise ValueError("expected a list")
            return tuple(str(v) for v in value)
        if not isinstance(value, str):
            raise ValueError("expected a string")
        return value
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _tables(value: object, cls: type, where: str) -> tuple[object, ...]:
    """An array of tables ([[imap.mailbox]]), or its JSON from the environment, into dataclasses."""
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError("expected tables, one [[...]] block each")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    built = []
    section, _, key = where.strip("[").partition("] ")
    for number, table in enumerate(value, 1):
        here = f"[[{section}.{key}]] #{number}"
        for key in table:
            if key not in known:
                raise ConfigError(f"{here}: unknown key {key}; known keys: {', '.join(sorted(known))}")
        built.append(cls(**{k: _coerce(v, hints[k], f"{here} {k}") for k, v in table.items()}))
    return tuple(built)


def _build(values: dict[str, dict[str, object]], origin: dict[str, str]) -> Settings:
    hints = typing.get_type_hints(Settings)
    sections: dict[str, object] = {}
    for section_field in dataclasses.fields(Settings):
        if section_field.name == "sources":
            continue
        cls = hints[section_field.name]
        field_hints = typing.get_type_hints(cls)
        given = values.get(section_field.name, {})
        known = {f.name for f in dataclasses.fields(cls)}
        for key in given:
            if key not in known:
                raise ConfigError(
                    f"{origin.get(f'{section_field.name}.{key}', 'config')}: unknown key "
                    f"[{section_field.name}] {key}; known keys: {', '.join(sorted(known))}")
        kwargs = {k: _coerce(v, field_hints[k], f"[{section_field.name}] {k}") for k, v in given.items()}
        sections[section_field.name] = cls(**kwargs)
    unknown = set(values) - set(sections)
    if unknown:
        raise ConfigError(f"unknown section [{sorted(unknown)[0]}]; known: {', '.join(sorted(sections))}")
    return Settings(**sections, sources=tuple(sorted(origin.items())))  # type: ignore[arg-type]


def load_config(path: Path | None, environ: typing.Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the file (if any), then GATEWAY_<SECTION>_<KEY> variables."""
    environ = os.environ if environ is None else environ
    values: dict[str, dict[str, object]] = {}
    origin: dict[str, str] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file; create one with `gateway init --config {path}`") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read it ({exc})") from None
        except tomllib.TOMLDecodeError as exc:
            hint = ("; delete `mailbox = []` from [imap] when you add [[imap.mailbox]] tables"
                    if "'imap', 'mailbox'" in str(exc) else "")
            raise ConfigError(f"{path}: not valid TOML ({exc}){hint}") from None
        for section, body in data.items():
            if not isinstance(body, dict):
                raise ConfigError(f"{path}: `{section}` must be a [section], not a bare key")
            values[section] = dict(body)
            origin.update({f"{section}.{key}": str(path) for key in body})
    section_names = {f.name for f in dataclasses.fields(Settings)} - {"sources"}
    for name, value in environ.items():
        if not name.startswith("GATEWAY_") or name in ("GATEWAY_CONFIG", "GATEWAY_TEST_DATABASE_URL"):
            continue
        section, _, key = name[len("GATEWAY_"):].lower().partition("_")
        if section in section_names and key:
            values.setdefault(section, {})[key] = value
            origin[f"{section}.{key}"] = f"env {name}"
    if path is not None:
        _relative_to(Path(path).resolve().parent, values, origin, str(path))
    return _validate(_build(values, origin))


def _relative_to(folder: Path, values: dict[str, dict[str, object]], origin: dict[str, str], path: str) -> None:
    """Relative paths written in the file mean next to the file, not wherever the command was run from."""
    url = values.get("database", {}).get("url")
    if origin.get("database.url") == path and isinstance(url, str) and url.startswith("sqlite:///"):
        file = url.removeprefix("sqlite:///")
        if file and not file.startswith("/") and file != ":memory:":
            values["database"]["url"] = f"sqlite:///{folder / file}"
    for section, key in (("agents", "saved_replies"), ("selfhelp", "articles"), ("dkim", "private_key"),
                         ("storage", "raw_dir")):
        given = values.get(section, {}).get(key)
        if origin.get(f"{section}.{key}") == path and isinstance(given, str) and given and not Path(given).is_absolute():
            values[section][key] = str(folder / given)
    mailboxes = values.get("imap", {}).get("mailbox")
    if origin.get("imap.mailbox") == path and isinstance(mailboxes, list):
        for table in (t for t in mailboxes if isinstance(t, dict)):
            for key in ("password_file", "ca_file"):
                given = table.get(key)
                if isinstance(given, str) and given and not Path(given).is_absolute():
                    table[key] = str(folder / given)


def _validate(settings: Settings) -> Settings:
    """The checks a type cannot express, each answered in one line that says how to fix it."""
    if not settings.mail.addresses or not all("@" in a for a in settings.mail.addresses):
        raise ConfigError("[mail] addresses: give at least one address, like [\"support@example.com\"]")
    if settings.logging.level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"[logging] level: {settings.logging.level!r} is not DEBUG, INFO, WARNING or ERROR")
    if settings.storage.raw not in ("database", "files"):
        raise ConfigError(f"[storage] raw: {settings.storage.raw!r} is neither \"database\" nor \"files\"")
    if settings.storage.raw == "files" and not settings.storage.raw_dir:
        raise ConfigError("[storage] raw_dir: give the folder for raw mail files (raw = \"files\")")
    if not settings.database.url.startswith(("sqlite:///", "postgresql")):
        raise ConfigError(f"[database] url: {settings.database.url!r} is neither sqlite:///PATH nor "
                          "postgresql+psycopg://USER@HOST/DB")
    for address in (a for addresses in settings.channels.notify.values() for a in addresses):
        if not is_plain_address(address):
            raise ConfigError(f"[channels] notify: {address!r} is not a plain ASCII address like team@example.com")
    for channel in (*settings.channels.notify, *settings.channels.beta):
        if channel.lower() not in settings.support_addresses:
            raise ConfigError(f"[channels]: {channel!r} is not one of [mail] addresses; add it there or remove it")
    for section, port in (("smtp", settings.smtp.port), ("relay", settings.relay.port)):
        if port > 65535:
            raise ConfigError(f"[{section}] port: {port} is not a port (0 to 65535)")
    if bool(settings.smtp.tls_cert) != bool(settings.smtp.tls_key):
        raise ConfigError("[smtp] tls_cert and tls_key: set both (PEM files) to offer STARTTLS, or neither")
    auto = settings.autoreply
    if auto.envelope not in ("null", "verp"):
        raise ConfigError(f"[autoreply] envelope: {auto.envelope!r} is neither \"null\" nor \"verp\"")
    if auto.per_sender_per_hour < 1 or auto.circuit_breaker < 1:
        raise ConfigError("[autoreply] per_sender_per_hour and circuit_breaker: give at least 1 (set enabled = false "
                          "to send no auto-replies)")
    for admin in settings.mail.admins:
        if not is_plain_address(admin):
            raise ConfigError(f"[mail] admins: {admin!r} is not a plain address like ops@example.com")
        if admin.lower() in settings.support_addresses | settings.note_addresses:
            raise ConfigError(f"[mail] admins: {admin!r} is one of our own addresses; name a person or team outside "
                              "the gateway")
    _validate_imap(settings.imap)
    dkim = settings.dkim
    if any((dkim.domain, dkim.selector, dkim.private_key)) and not all((dkim.domain, dkim.selector, dkim.private_key)):
        raise ConfigError("[dkim] domain, selector and private_key: set all three to sign what we send, or none")
    _check_surveys(settings)
    # Here, not at the top: these modules read the config themselves.
    from gateway.autoreply.articles import check_articles
    from gateway.autoreply.expectation import check_wording
    from gateway.autoreply.hours import check_hours
    try:
        check_hours(settings.hours)
    except ValueError as exc:
        raise ConfigError(f"[hours] {exc}") from None
    try:
        check_wording(auto.languages)
        check_articles(settings.selfhelp)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    # Lower-cased once here: templates, phrases and link titles are all looked up by "de", never "DE".
    return dataclasses.replace(settings, autoreply=dataclasses.replace(
        auto, languages=tuple(code.lower() for code in auto.languages)))


def _validate_imap(imap: ImapSettings) -> None:
    """Each mailbox names a server, a login and what to do after import."""
    seen: set[str] = set()
    for number, box in enumerate(imap.mailbox, 1):
        where = f"[[imap.mailbox]] #{number}"
        if not box.host or not box.user:
            raise ConfigError(f"{where}: give host and user, like host = \"imap.example.com\", user = \"support\"")
        if box.security not in ("tls", "starttls", "none"):
            raise ConfigError(f"{where} security: {box.security!r} is not \"tls\", \"starttls\" or \"none\"")
        if bool(box.password) == bool(box.password_file):
            raise ConfigError(f"{where}: set password or password_file (a file holding only the password), not both")
        if box.after not in ("flag", "move", "delete"):
            raise ConfigError(f"{where} after: {box.after!r} is not \"flag\", \"move\" or \"delete\"")
        if (box.after == "move") != bool(box.move_to) or box.move_to == box.folder:
            raise ConfigError(f"{where}: after = \"move\" needs move_to, a folder other than {box.folder!r} "
                              "(and move_to is only for after = \"move\")")
        if box.existing not in ("import", "skip"):
            raise ConfigError(f"{where} existing: {box.existing!r} is not \"import\" or \"skip\"")
        if box.port > 65535:
            raise ConfigError(f"{where} port: {box.port} is not a TCP port")
        if box.key in seen:
            raise ConfigError(f"{where}: {box.key} is configured twice")
        seen.add(box.key)
    if imap.batch_messages < 1 or imap.batch_bytes < 1:
        raise ConfigError("[imap] batch_messages and batch_bytes: give at least 1")
    if imap.idle_renew >= timedelta(minutes=29):
        raise ConfigError("[imap] idle_renew: keep it under 29m (servers may end IDLE after 30 minutes)")


def _check_surveys(settings: Settings) -> None:
    surveys, web = settings.surveys, settings.web
    if surveys.choices not in (3, 5):
        raise ConfigError(f"[surveys] choices: {surveys.choices} is neither 5 (rate 1 to 5) nor 3 (not good, okay, "
                          "great)")
    if surveys.sample_rate > 100:
        raise ConfigError(f"[surveys] sample_rate: {surveys.sample_rate} is a percentage; give 0 to 100")
    for channel in surveys.exclude_channels:
        if channel.lower() not in settings.support_addresses:
            raise ConfigError(f"[surveys] exclude_channels: {channel!r} is not one of [mail] addresses")
    if web.port > 65535:
        raise ConfigError(f"[web] port: {web.port} is not a port (0 to 65535)")
    if web.public_url and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", web.public_url):
        raise ConfigError(f"[web] public_url: {web.public_url!r} is not a URL like https://support.example.com/")


def replace(settings: Settings, **sections: dict[str, object]) -> Settings:
    """A copy with some keys changed, e.g. replace(s, smtp={"port": 0}); for tests and the CLI."""
    changed = {name: dataclasses.replace(getattr(settings, name), **keys) for name, keys in sections.items()}
    return dataclasses.replace(settings, **changed)
