"""One typed, immutable Settings object (pydantic-settings), read from the environment once.

Every environment variable is a field below, named like the field in upper case
(`MAIL_SERVER` → `settings.mail_server`) and documented once, by its Field description;
`microblog settings` prints them all with their defaults and current values.

Only `Settings.from_env()` reads the environment: `Settings(secret_key=..., ...)` uses the given
keywords and the defaults, nothing else, so tests and tools build exactly what they ask for.

Parsing rules for variables: an empty value means unset (the default applies), lists are
comma-separated, booleans accept 1/true/yes/on and 0/false/no/off. A value the app cannot run
with raises SettingsError naming the variable.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_SECRET = "dev-secret-change-me"  # noqa: S105 - refused by `microblog serve`

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(RuntimeError):
    """The environment describes a configuration the app refuses to run with."""


class Group(StrEnum):
    """What a setting is about: `microblog settings` lists them in this order."""

    CORE = "Core and secrets"
    SERVICES = "Services"
    MAIL = "Mail"
    WEB = "Web and security"
    REALTIME = "Real-time"
    JOBS = "Jobs"
    TRANSLATION = "Translation"
    OBSERVABILITY = "Logging and metrics"
    PATHS = "Paths"


def setting(default: Any = None, *, group: Group, description: str, secret: bool = False,
            shown_default: str | None = None, **kwargs: Any) -> Any:
    """A field with its documentation: the group it belongs to, what it does, and whether its
    value is a secret (`microblog settings` masks it). `shown_default` describes a default
    that is computed rather than fixed."""
    extra: dict[str, Any] = {"group": group.value, "secret": secret}
    if secret:
        kwargs["repr"] = False  # never in a log line that prints the settings
    if shown_default is not None:
        extra["shown_default"] = shown_default
    if "default_factory" in kwargs:
        return Field(description=description, json_schema_extra=extra, **kwargs)
    return Field(default, description=description, json_schema_extra=extra, **kwargs)


def _comma_list(value: Any) -> Any:
    """`a, b,,c` → ("a", "b", "c"); tuples and lists (direct construction) pass through."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


# A comma-separated variable: NoDecode stops pydantic-settings from reading it as JSON
CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)]


def _stripped_lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _stripped_upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


Flag = Annotated[bool, BeforeValidator(_stripped_lower)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    # --- core and secrets -------------------------------------------------------------------
    secret_key: str = setting(
        DEFAULT_SECRET, group=Group.CORE, secret=True,
        description="Signs session cookies, CSRF tokens and the unsubscribe links in emails. "
                    "`microblog serve` and `microblog worker` refuse the development default "
                    "and anything shorter than 16 characters; `microblog dev` and `microblog "
                    "cluster` keep a random one in INSTANCE_DIR/secret_key.")
    public_url: str = setting(
        "http://127.0.0.1:5000", group=Group.CORE,
        description="Where people reach the site (scheme://host[:port]; a trailing slash is "
                    "dropped): links in emails, and the origin allowed to open sockets.")

    # --- services ---------------------------------------------------------------------------
    database_url: str | None = setting(
        group=Group.SERVICES,
        description="PostgreSQL, e.g. postgres://user:password@host:5432/microblog. Required by "
                    "`serve` and `worker`; when unset, `microblog dev` and `microblog cluster` "
                    "start an embedded PostgreSQL with its data in INSTANCE_DIR/postgres.")
    db_pool_max: int = setting(
        20, group=Group.SERVICES, ge=1,
        description="Most PostgreSQL connections one `microblog serve` process opens.")
    redis_url: str | None = setting(
        group=Group.SERVICES,
        description="Redis, e.g. redis://host:6379/0: the Socket.IO channel between instances, "
                    "the job queue, presence, rate limits. Required by `serve` and `worker`; "
                    "when unset, `microblog dev` and `microblog cluster` start an embedded "
                    "redis-server with its data in INSTANCE_DIR/redis.")
    redis_namespace: str = setting(
        "microblog", group=Group.SERVICES, min_length=1,
        description="Prefix of every Redis key, of the job queue and of the Socket.IO channel, "
                    "so several deployments (or test runs) can share one Redis.")
    elasticsearch_url: str | None = setting(
        group=Group.SERVICES,
        description="Elasticsearch 8, e.g. http://host:9200: when set, posts are searched there "
                    "(indexed by jobs) instead of with PostgreSQL's full-text search; "
                    "docker-compose runs one.")

    # --- mail -------------------------------------------------------------------------------
    mail_server: str | None = setting(
        group=Group.MAIL,
        description="SMTP host every email goes through (always from a job). When unset, "
                    "emails are written to INSTANCE_DIR/outbox/*.eml and logged.")
    mail_port: int = setting(25, group=Group.MAIL, ge=1, le=65535,
                             description="SMTP port.")
    mail_username: str | None = setting(
        group=Group.MAIL, description="SMTP user name, when the server wants a login.")
    mail_password: str | None = setting(
        group=Group.MAIL, secret=True, description="SMTP password, with MAIL_USERNAME.")
    mail_use_tls: Flag = setting(
        False, group=Group.MAIL,
        description="Upgrade the SMTP connection with STARTTLS (1/true/yes/on).")
    mail_sender: str = setting(
        "Microblog <no-reply@microblog.local>", group=Group.MAIL,
        description="The From address of every email.")

    # --- web and security -------------------------------------------------------------------
    cookie_secure: Flag = setting(
        False, group=Group.WEB, shown_default="on when PUBLIC_URL is https://",
        description="Send the login cookie over HTTPS only (1/true/yes/on, 0/false/no/off).")
    admins: CommaList = setting(
        (), group=Group.WEB,
        description="Comma-separated usernames allowed into the operator tools "
                    "(`microblog jobs web`, SAQ's web UI).")
    trusted_proxies: CommaList = setting(
        ("127.0.0.1/32", "::1/128"), group=Group.WEB,
        description="Comma-separated IPs or CIDRs of the reverse proxies in front of the app: "
                    "a request from one of them is attributed to the address it puts in "
                    "X-Forwarded-For (for the sign-in and abuse limits); from anyone else, the "
                    "header is ignored.")
    shutdown_delay: float = setting(
        0.0, group=Group.WEB, ge=0, le=2,
        description="Seconds (0 to 2) a SIGTERMed `microblog serve` keeps accepting while "
                    "/readyz answers 503, for load balancers that poll readiness; 0 stops "
                    "accepting at once (nginx retries elsewhere).")

    # --- real-time --------------------------------------------------------------------------
    allowed_origins: CommaList = setting(
        (), group=Group.REALTIME,
        description="Comma-separated origins, besides PUBLIC_URL's, allowed to open Socket.IO "
                    "connections (e.g. the same site by IP).")

    # --- jobs -------------------------------------------------------------------------------
    message_digest_delay: int = setting(
        900, group=Group.JOBS, ge=0,
        description="Seconds a private message stays unread before the recipient's digest "
                    "email announces it.")
    worker_sweep_interval: int = setting(
        10, group=Group.JOBS, ge=1,
        description="How often (seconds) a worker looks for jobs whose worker died and "
                    "re-queues them (SAQ's sweep).")

    # --- translation ------------------------------------------------------------------------
    translator: Annotated[Literal["microsoft", "deepl", "libretranslate"] | None,
                          BeforeValidator(_stripped_lower)] = setting(
        group=Group.TRANSLATION,
        description="Which service translates posts and comments on request: `microsoft` "
                    "(Microsoft Translator), `deepl` or `libretranslate`. Unset: no "
                    "translation (no Translate links; the API answers 404).")
    ms_translator_key: str | None = setting(
        group=Group.TRANSLATION, secret=True,
        description="Microsoft Translator's subscription key (TRANSLATOR=microsoft).")
    ms_translator_region: str | None = setting(
        group=Group.TRANSLATION,
        description="The Azure region of the Translator resource (e.g. westeurope); unset "
                    "for a global resource.")
    ms_translator_url: str = setting(
        "https://api.cognitive.microsofttranslator.com", group=Group.TRANSLATION,
        description="Microsoft Translator's endpoint (another host for a proxy or a test).")
    deepl_api_key: str | None = setting(
        group=Group.TRANSLATION, secret=True,
        description="DeepL's authentication key (TRANSLATOR=deepl).")
    deepl_url: str | None = setting(
        group=Group.TRANSLATION,
        shown_default="https://api-free.deepl.com for a key ending in :fx, else "
                      "https://api.deepl.com",
        description="DeepL's endpoint (another host for a proxy or a test).")
    libretranslate_url: str | None = setting(
        group=Group.TRANSLATION,
        description="A LibreTranslate server, e.g. http://127.0.0.1:5001 "
                    "(TRANSLATOR=libretranslate).")
    libretranslate_api_key: str | None = setting(
        group=Group.TRANSLATION, secret=True,
        description="LibreTranslate's API key, when the server requires one.")
    translator_timeout: float = setting(
        10.0, group=Group.TRANSLATION, gt=0, le=60,
        description="Seconds a translation request to the service may take before the reader "
                    "is told it is unavailable.")

    # --- logging and metrics ----------------------------------------------------------------
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                         BeforeValidator(_stripped_upper)] = setting(
        "INFO", group=Group.OBSERVABILITY,
        description="The least severe log level written: DEBUG, INFO, WARNING, ERROR or "
                    "CRITICAL (`microblog --log-level` overrides it).")
    log_format: Annotated[Literal["text", "json"], BeforeValidator(_stripped_lower)] = setting(
        "text", group=Group.OBSERVABILITY,
        description="Log lines as `text` (for people) or `json` (one object per line, for "
                    "log collectors); `microblog --log-format` overrides it.")
    access_log: Flag = setting(
        False, group=Group.OBSERVABILITY,
        description="Log every request `microblog serve` answers (`--access-log` overrides).")
    metrics_allowed: CommaList = setting(
        ("127.0.0.1/32", "::1/128"), group=Group.OBSERVABILITY,
        description="Comma-separated IPs or CIDRs allowed to read /metrics. This is the TCP "
                    "peer, so behind a proxy it is the proxy (nginx never serves /metrics).")
    worker_metrics_bind: str | None = setting(
        group=Group.OBSERVABILITY,
        description="HOST:PORT where `microblog worker` serves /metrics (`--metrics-bind` "
                    "overrides); unset, the worker serves none.")

    # --- paths ------------------------------------------------------------------------------
    instance_dir: Path = setting(
        group=Group.PATHS, default_factory=lambda: ROOT / "instance",
        shown_default="instance/ in the source tree",
        description="Writable directory for the mail outbox, export files, the development "
                    "secret and the embedded services' data.")

    # the languages the translation catalogs cover: part of the code, not of the environment
    languages: ClassVar[tuple[str, ...]] = ("en", "es", "zh")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(_explain(exc)) from None

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Construction uses its keywords and the defaults, never the process environment:
        `from_env` is the one place that reads variables."""
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment (or `env`, a mapping of variables) describes."""
        source = EnvSettingsSource(cls, case_sensitive=False, env_ignore_empty=True)
        variables = os.environ if env is None else env
        # empty (or blank) means unset
        source.env_vars = {name.lower(): value for name, value in variables.items()
                           if value.strip()}
        return cls(**source())

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed, validated like a construction."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        return type(self)(**{**values, **changes})

    # --- validation -------------------------------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _cookie_secure_follows_public_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("cookie_secure") is None:
            public_url = str(data.get("public_url") or cls.model_fields["public_url"].default)
            data = {**data, "cookie_secure": public_url.strip().lower().startswith("https://")}
        return data

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("expected an http:// or https:// URL such as https://example.com")
        return value

    @field_validator("ms_translator_url", "deepl_url", "libretranslate_url")
    @classmethod
    def _service_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("expected an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _translator_configured(self) -> Settings:
        """The chosen translator has what it needs, so a typo fails at start."""
        needs = {"microsoft": ("ms_translator_key",), "deepl": ("deepl_api_key",),
                 "libretranslate": ("libretranslate_url",)}
        for name in needs.get(self.translator or "", ()):
            if not getattr(self, name):
                raise ValueError(f"TRANSLATOR={self.translator} needs {variable(name)}")
        return self

    @field_validator("metrics_allowed", "trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Checked now, so a typo fails at start rather than at a scrape."""
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR") from None
        return value

    # --- derived values ---------------------------------------------------------------------

    @property
    def uses_default_secret(self) -> bool:
        return self.secret_key == DEFAULT_SECRET

    @property
    def socketio_channel(self) -> str:
        """The Redis pub/sub channel every instance and worker emits Socket.IO events on."""
        return f"{self.redis_namespace}:socketio"

    @property
    def queue_name(self) -> str:
        """The SAQ queue's name."""
        return f"{self.redis_namespace}:jobs"

    @property
    def secret_values(self) -> tuple[str, ...]:
        """The values of every secret setting that is set: logs redact them."""
        return tuple(value for name, field in type(self).model_fields.items()
                     if is_secret(field) and isinstance(value := getattr(self, name), str))

    @property
    def outbox_dir(self) -> Path:
        return self.instance_dir / "outbox"

    @property
    def export_dir(self) -> Path:
        return self.instance_dir / "exports"

    @property
    def cors_origins(self) -> list[str]:
        parts = urlsplit(self.public_url)
        origins = {f"{parts.scheme}://{parts.netloc}", *self.allowed_origins}
        return sorted(origins)

    # --- what commands require --------------------------------------------------------------

    def require_services(self) -> None:
        """`microblog serve` and `worker` never start embedded services."""
        missing = [n for n, v in (("DATABASE_URL", self.database_url),
                                  ("REDIS_URL", self.redis_url)) if not v]
        if missing:
            raise SettingsError(f"{' and '.join(missing)} must be set")

    def require_production_secret(self) -> None:
        if self.uses_default_secret or len(self.secret_key) < 16:
            raise SettingsError(
                "SECRET_KEY is unset, the development default, or shorter than 16 characters; "
                "refusing to serve"
            )


# --- documentation ---------------------------------------------------------------------------


def variable(name: str) -> str:
    """The environment variable of a field."""
    return name.upper()


def is_secret(field: FieldInfo) -> bool:
    extra = field.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("secret"))


def group_of(field: FieldInfo) -> Group:
    extra = field.json_schema_extra
    assert isinstance(extra, dict), "every setting is declared with setting()"
    return Group(str(extra["group"]))


def shown_default(field: FieldInfo) -> str:
    """The default as `microblog settings` and the README show it."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("shown_default"), str):
        return str(extra["shown_default"])
    return shown_value(field.get_default(call_default_factory=True))


def shown_value(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(value) if value else "empty"
    return str(value)


def masked(url_or_value: str | None, secret: bool) -> str:
    """A value fit to print: secrets as ****, passwords inside URLs as ****."""
    if url_or_value is None:
        return "unset"
    if secret:
        return "****"
    parts = urlsplit(url_or_value)
    if "://" in url_or_value and parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":****@", 1)
        return parts._replace(netloc=netloc).geturl()
    return url_or_value


def documented() -> list[tuple[Group, list[tuple[str, FieldInfo]]]]:
    """Every field, grouped and in declaration order."""
    groups: dict[Group, list[tuple[str, FieldInfo]]] = {group: [] for group in Group}
    for name, field in Settings.model_fields.items():
        groups[group_of(field)].append((name, field))
    return [(group, fields) for group, fields in groups.items() if fields]


def _explain(exc: ValidationError) -> str:
    """ValidationError → one line per problem, each naming the variable (never echoing a
    secret)."""
    fields = Settings.model_fields
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        message = error["msg"].removeprefix("Value error, ")
        if name not in fields:
            problems.append(f"{name or 'settings'}: "
                            + ("not a setting" if error["type"] == "extra_forbidden" else message))
            continue
        got = "" if is_secret(fields[name]) else f" (got {error.get('input')!r})"
        problems.append(f"{variable(name)}: {message}{got}")
    return "; ".join(problems)
