"""Error pages that answer JSON when the client prefers JSON."""

from __future__ import annotations

import logging

from quart import Quart
from quart.typing import ResponseReturnValue
from quart_wtf import CSRFError
from werkzeug.exceptions import HTTPException

from microblog.i18n import gettext as _
from microblog.services.errors import ServiceError
from microblog.web.common import error_response, wants_json
from microblog.web.rendering import render

log = logging.getLogger(__name__)


def messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood. Please check what you sent."),
        401: _("Please sign in first."),
        403: _("You are not allowed to do that."),
        404: _("We could not find that page."),
        405: _("That method is not allowed here."),
        413: _("That upload is too large."),
        429: _("Too many requests. Please slow down."),
        500: _("Something went wrong on our side. We have been notified; please try again."),
    }


async def render_error(status: int, message: str | None = None) -> ResponseReturnValue:
    message = message or messages().get(status, _("Something went wrong."))
    if wants_json():
        return error_response(status, message)
    return await render("errors/error.html", status=status, message=message,
                                 title=str(status)), status


def register(app: Quart) -> None:
    @app.errorhandler(CSRFError)
    async def csrf_error(exc: CSRFError) -> ResponseReturnValue:
        return await render_error(
            400, _("The form expired or was not sent from this site. Please try again."))

    @app.errorhandler(ServiceError)
    async def service_error(exc: ServiceError) -> ResponseReturnValue:
        return await render_error(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        # a description we set ourselves via abort(status, "...") is shown; defaults are not
        return await render_error(status)

    @app.errorhandler(Exception)
    async def internal_error(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error", exc_info=exc)
        return await render_error(500)
