"""One typed Settings object, read from the environment once."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_SECRET = "dev-secret-change-me"  # noqa: S105 - refused by `microblog serve`

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(RuntimeError):
    """The environment describes a configuration the app refuses to run with."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise SettingsError(f"expected an integer, got {value!r}") from exc


def _choice(name: str, value: str | None, choices: tuple[str, ...]) -> str:
    if value is None or value.strip() == "":
        return choices[0]
    if value.strip().lower() not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value.strip().lower()


def _seconds(name: str, value: str | None, default: float, maximum: float) -> float:
    if value is None or value.strip() == "":
        return default
    try:
        seconds = float(value)
    except ValueError as exc:
        raise SettingsError(f"{name}: expected a number of seconds, got {value!r}") from exc
    if not 0 <= seconds <= maximum:
        raise SettingsError(f"{name} must be between 0 and {maximum:g} seconds")
    return seconds


def _networks(name: str, value: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated IPs or CIDRs, checked now so a typo fails at start, not at a scrape."""
    if value is None or value.strip() == "":
        return default
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise SettingsError(f"{name}: {item!r} is not an IP address or CIDR") from exc
    return items


@dataclass(frozen=True)
class Settings:
    secret_key: str = DEFAULT_SECRET
    database_url: str | None = None
    redis_url: str | None = None
    elasticsearch_url: str | None = None
    mail_server: str | None = None
    mail_port: int = 25
    mail_username: str | None = None
    mail_password: str | None = None
    mail_use_tls: bool = False
    mail_sender: str = "Microblog <no-reply@microblog.local>"
    public_url: str = "http://127.0.0.1:5000"
    instance_dir: Path = field(default_factory=lambda: ROOT / "instance")
    posts_per_page: int = 25
    languages: tuple[str, ...] = ("en", "es", "zh")
    # Socket.IO origin check: the public URL's origin is always allowed.
    allowed_origins: tuple[str, ...] = ()
    cookie_secure: bool = False
    # Tests turn CSRF off only in the tests that say so; it is on by default.
    csrf_enabled: bool = True
    db_pool_max: int = 20
    # prefixes every Redis key, the job queue and the Socket.IO channel, so
    # deployments (and test runs) can share one Redis
    redis_namespace: str = "microblog"
    # usernames allowed into operator tools (the SAQ web UI)
    admins: tuple[str, ...] = ()
    # unread private messages older than this (seconds) are announced in one digest email
    message_digest_delay: int = 900
    # how often (seconds) a worker looks for jobs whose worker died (SAQ's sweep)
    worker_sweep_interval: int = 10
    # log lines as `text` (for people) or `json` (one object per line, for collectors)
    log_format: str = "text"
    # seconds a SIGTERMed `serve` keeps accepting while /readyz answers 503, for load
    # balancers that poll readiness; 0 stops accepting at once (nginx retries elsewhere)
    shutdown_delay: float = 0.0
    # peers (IPs/CIDRs) allowed to read /metrics: the TCP peer, so behind a proxy the proxy
    metrics_allowed: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    # HOST:PORT where `microblog worker` serves /metrics; None: no endpoint
    worker_metrics_bind: str | None = None
    testing: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)
        public_url = e.get("PUBLIC_URL") or cls.public_url
        origins = tuple(o.strip() for o in e.get("ALLOWED_ORIGINS", "").split(",") if o.strip())
        return cls(
            secret_key=e.get("SECRET_KEY") or DEFAULT_SECRET,
            database_url=e.get("DATABASE_URL") or None,
            redis_url=e.get("REDIS_URL") or None,
            elasticsearch_url=e.get("ELASTICSEARCH_URL") or None,
            mail_server=e.get("MAIL_SERVER") or None,
            mail_port=_int(e.get("MAIL_PORT"), 25),
            mail_username=e.get("MAIL_USERNAME") or None,
            mail_password=e.get("MAIL_PASSWORD") or None,
            mail_use_tls=_bool(e.get("MAIL_USE_TLS")),
            mail_sender=e.get("MAIL_SENDER") or cls.mail_sender,
            public_url=public_url.rstrip("/"),
            instance_dir=Path(e.get("INSTANCE_DIR") or ROOT / "instance"),
            allowed_origins=origins,
            cookie_secure=_bool(e.get("COOKIE_SECURE"), public_url.startswith("https://")),
            db_pool_max=_int(e.get("DB_POOL_MAX"), 20),
            redis_namespace=e.get("REDIS_NAMESPACE") or cls.redis_namespace,
            admins=tuple(a.strip() for a in e.get("ADMINS", "").split(",") if a.strip()),
            message_digest_delay=_int(e.get("MESSAGE_DIGEST_DELAY"), 900),
            worker_sweep_interval=_int(e.get("WORKER_SWEEP_INTERVAL"), 10),
            log_format=_choice("LOG_FORMAT", e.get("LOG_FORMAT"), ("text", "json")),
            shutdown_delay=_seconds("SHUTDOWN_DELAY", e.get("SHUTDOWN_DELAY"), 0.0, 2.0),
            metrics_allowed=_networks("METRICS_ALLOWED", e.get("METRICS_ALLOWED"),
                                      cls.metrics_allowed),
            worker_metrics_bind=e.get("WORKER_METRICS_BIND") or None,
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def uses_default_secret(self) -> bool:
        return self.secret_key == DEFAULT_SECRET

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
