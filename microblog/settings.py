"""One typed Settings object, read from the environment once."""

from __future__ import annotations

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
