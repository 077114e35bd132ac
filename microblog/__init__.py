"""Microblog: a real-time microblog. `create_app()` builds the app and does no I/O."""

from __future__ import annotations

import logging
from typing import Any

from quart import Quart, g, request
from quart_auth import QuartAuth
from quart_auth import current_user as auth_user
from quart_wtf import CSRFProtect

from microblog.settings import ROOT, Settings

__all__ = ["create_app", "asgi_app"]

log = logging.getLogger(__name__)

# Everything a page runs, styles itself with or fetches comes from this site (no inline
# script, event handler or style attribute in the templates: data travels in
# <script type="application/json"> blocks and data-* attributes, behaviour in static/js);
# avatars may come from Gravatar. No site may frame a page (clickjacking).
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'",
    "img-src 'self' data: https://www.gravatar.com", "connect-src 'self'", "font-src 'self'",
    "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'"))
# sent only when PUBLIC_URL is https: browsers then refuse plain HTTP to the site for a year
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def create_app(settings: Settings | None = None) -> Quart:
    from microblog import i18n, lifecycle, metrics, search, translate
    from microblog.db import close_db, init_db
    from microblog.infra import resources
    from microblog.jobs.queue import make_queue
    from microblog.models.user import avatar_digest
    from microblog.realtime import publish
    from microblog.realtime import server as realtime
    from microblog.realtime.personal import PersonalHub
    from microblog.realtime.presence import PresenceTracker
    from microblog.realtime.publish import Publisher
    from microblog.services import accounts, sessions
    from microblog.web import (
        api,
        auth,
        converters,
        docs,
        errors,
        exports,
        main,
        messages,
        openapi,
        ops,
        people,
        rendering,
        search_pages,
        sockets,
    )
    from microblog.web import scheduled as scheduled_pages
    from microblog.web import settings as settings_pages
    from microblog.web import verification as verification_pages

    settings = settings or Settings.from_env()
    app = Quart(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=1024 * 1024,
        QUART_AUTH_COOKIE_SECURE=settings.cookie_secure,
        QUART_AUTH_COOKIE_SAMESITE="Lax",
        QUART_AUTH_DURATION=30 * 24 * 3600,
        # Quart's own session cookie holds the CSRF secret: the login cookie's rules
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        WTF_CSRF_ENABLED=True,
        WTF_CSRF_TIME_LIMIT=None,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.extensions["settings"] = settings
    app.url_map.converters.update(converters.CONVERTERS)
    openapi.install(app)
    QuartAuth(app)
    csrf = CSRFProtect(app)
    csrf._exempt_blueprints.append("api")  # the API authenticates with tokens, not cookies
    # one-click unsubscribe (RFC 8058): the signed token in the URL is the credential
    csrf.exempt(settings_pages.unsubscribe)

    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.template_ngettext, newstyle=True)
    app.jinja_env.filters["datetime"] = i18n.format_datetime
    app.jinja_env.filters["avatar_digest"] = avatar_digest
    app.jinja_env.globals.update(
        LANGUAGES=settings.languages, LANGUAGE_NAMES=i18n.LANGUAGE_NAMES,
        get_locale=i18n.get_locale)

    for blueprint in (auth.bp, main.bp, messages.bp, exports.bp, settings_pages.bp, api.bp,
                      ops.bp, docs.bp, search_pages.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(scheduled_pages.bp)
    app.register_blueprint(verification_pages.bp)
    app.register_blueprint(people.bp)
    errors.register(app)
    rendering.install(app)

    sio = realtime.create_server(settings)
    hub = PersonalHub(sio, settings.redis_url, settings.redis_namespace)
    presence = PresenceTracker(hub.local_users)
    sockets.register(sio, app, hub, presence)
    app.extensions.update(socketio=sio, personal_hub=hub)

    @app.before_serving
    async def startup() -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set")
        await init_db(settings.database_url, settings.db_pool_max)
        await resources.open(settings, queue=make_queue(settings) if settings.redis_url else None)
        await search.start_backend(settings)
        await translate.start(settings)
        if resources.redis is not None:
            # subscribe to the cross-instance channel now, not at the first connection
            sio.manager_initialized = True
            sio.manager.initialize()
            publisher = Publisher(sio, resources.redis, settings.redis_namespace)
            publisher.start()
            publish.install(publisher)
            hub.start()
            presence.start()

    @app.after_serving
    async def shutdown() -> None:
        await presence.stop()
        await hub.stop()
        if publish._publisher is not None:
            # bounded: a SIGTERMed instance exits within 10 s (microblog.lifecycle)
            await publish._publisher.stop(grace=lifecycle.PUBLISHER_GRACE)
            publish.install(None)
        await search.close_backend()
        await translate.close()
        await resources.close()
        await close_db()

    # first of the hooks: the route label is known even when a later hook fails
    app.before_request(metrics.remember_route)

    @app.before_request
    async def load_user() -> None:
        g.user = None
        if request.path.startswith("/api/"):
            # the API's messages: the caller's Accept-Language (the token's user, once known,
            # may have chosen another: web/api.py's token_required)
            i18n.set_locale(i18n.best_locale(request.headers.get("Accept-Language"),
                                             settings.languages))
            return
        if request.path.startswith(("/static/", "/healthz", "/readyz", "/metrics")):
            return
        user = await sessions.user_for(auth_user.auth_id)
        g.user = user
        if user is not None:
            await accounts.touch_last_seen(user)
        i18n.set_locale(i18n.choose_locale(
            user.locale if user else None, request.cookies.get("locale"),
            request.headers.get("Accept-Language"), settings.languages))

    https = settings.public_url.lower().startswith("https://")

    @app.after_request
    async def security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if https:
            response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def asgi_app(app: Quart) -> Any:
    """The Quart app wrapped in the Socket.IO server: what Hypercorn serves. Outermost, the
    request id of every HTTP request and Socket.IO connection (microblog.logs)."""
    from microblog.logs import RequestIdMiddleware
    from microblog.realtime.server import wrap

    return RequestIdMiddleware(wrap(app, app.extensions["socketio"]))
