"""`/docs`: the API's OpenAPI document rendered for people (Swagger UI, served from
static/vendor like every front-end library: no CDN, works offline)."""

from __future__ import annotations

from quart import Blueprint
from quart.typing import ResponseReturnValue

from microblog.web.rendering import render

bp = Blueprint("docs", __name__)


@bp.route("/docs")
async def api_docs() -> ResponseReturnValue:
    """A standalone page: Swagger UI reads `/openapi.json` (static/js/docs.js starts it)."""
    return await render("docs.html")
