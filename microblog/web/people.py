"""People for the page's scripts: @mention suggestions while typing (static/js/composer.js)
and the small card shown over a username (static/js/people.js)."""

from __future__ import annotations

import re

from quart import Blueprint, jsonify, request, url_for
from quart.typing import ResponseReturnValue

from microblog.i18n import gettext as _
from microblog.limits import USERNAME_MAX
from microblog.models.user import email_hash
from microblog.services import accounts, search, social
from microblog.web.common import current_user, error_response, safe_next
from microblog.web.rendering import render

bp = Blueprint("people", __name__, url_prefix="/people")

# what a username can start with: anything else matches no one, and asks nothing of the database
_PREFIX = re.compile(rf"[A-Za-z0-9_]{{1,{USERNAME_MAX}}}")


@bp.route("/suggest")
async def suggest() -> ResponseReturnValue:
    """`[{username, avatar}]`: up to 8 other people whose username starts with `q` (any
    case), alphabetical (services/search.py usernames_starting)."""
    user = current_user()
    if user is None:
        return error_response(401, _("Sign in to see who you can mention."))
    prefix = (request.args.get("q") or "").removeprefix("@")
    if not _PREFIX.fullmatch(prefix):
        return jsonify([])
    return jsonify([{"username": name, "avatar": url_for("ops.identicon", digest=email_hash(email))}
                    for name, email in await search.usernames_starting(user, prefix)])


@bp.route("/<username:username>/card")
async def card(username: str) -> ResponseReturnValue:
    """A fragment of HTML: who this is, their counts, and Follow or Unfollow (back to `next`,
    the page the card is shown on)."""
    profile = await accounts.get_user_by_username(username)
    viewer = current_user()
    mine = viewer is not None and viewer.id == profile.id
    following = (viewer is not None and not mine
                 and await social.is_following(viewer, profile))
    return await render("main/_user_card.html", profile=profile,
                        counts=social.counts(profile), following=following, mine=mine,
                        next=safe_next(request.args.get("next")))
