"""The search page: posts (with highlights, live results), people and hashtags.

Thin like the other pages: read the query string, call one search service, render. A query
that cannot mean anything is shown as a form error under the box (a 400 page), never a 500.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request
from quart.typing import ResponseReturnValue

from microblog.errors import ValidationFailed
from microblog.i18n import gettext as _
from microblog.limits import SEARCH_HITS_MAX, SEARCH_QUERY_MAX
from microblog.services import search as search_service
from microblog.services import social
from microblog.services.pagination import PageRequest
from microblog.text import text_problem
from microblog.web.common import login_required, require_user
from microblog.web.rendering import render

bp = Blueprint("search", __name__)

PER_PAGE = 20
TYPES = ("posts", "users", "tags")
SORTS = ("latest", "top")
# deepest page a search can show (results stop at SEARCH_HITS_MAX)
MAX_PAGE = -(-SEARCH_HITS_MAX // PER_PAGE)
TITLE_QUERY_MAX = 60  # characters of the query in the page's title


def query_problem(q: str) -> str | None:
    """Why `q` cannot be searched by any tab (posts add their own rules: search.query)."""
    problem = text_problem(q)
    if problem is not None:
        return problem
    if len(q) > SEARCH_QUERY_MAX:
        return _("That query is %(len)d characters; the limit is %(max)d.",
                 len=len(q), max=SEARCH_QUERY_MAX)
    return None


def shorten(q: str, limit: int = TITLE_QUERY_MAX) -> str:
    return q if len(q) <= limit else q[:limit - 1].rstrip() + "…"


@bp.route("/search")
@login_required
async def search() -> ResponseReturnValue:
    user = require_user()
    q = (request.args.get("q") or "").strip()
    kind = request.args.get("type") if request.args.get("type") in TYPES else "posts"
    sort = request.args.get("sort") if request.args.get("sort") in SORTS else "latest"
    req = PageRequest.parse(request.args.get("page"), None, default_per_page=PER_PAGE)
    context: dict[str, Any] = {
        "q": q, "kind": kind, "sort": sort, "page": None, "error": None, "counts": {},
        "max_page": MAX_PAGE,
        "title": _("Search: %(query)s", query=shorten(q)) if q else _("Search"),
    }
    status = 200
    if q:
        context["error"] = query_problem(q)
    if q and context["error"] is None:
        try:
            if kind == "users":
                page = await search_service.search_users(user, q, req)
                context["counts"] = social.counts_of(page.items)
            elif kind == "tags":
                page = await search_service.search_tags(q, req)
            else:
                page = await search_service.search_posts(user, q, sort, req)
        except ValidationFailed as exc:  # search.query.QueryError: what to type instead
            context["error"] = exc.errors.get("q", exc.message)
        else:
            context["page"] = page
    if context["error"] is not None:
        status = 400
    # live results: the newest posts of a valid query, where new ones would appear on top
    context["live"] = (kind == "posts" and sort == "latest" and req.page == 1
                       and context["page"] is not None)
    return await render("search/index.html", **context), status
