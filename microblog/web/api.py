"""The JSON API (DESIGN.md's table). Thin: parse, call a service, serialise."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Iterable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from quart import Blueprint, Response, g, jsonify, request, send_file, url_for
from quart.typing import ResponseReturnValue
from quart_auth import current_user as auth_user

from microblog.i18n import gettext as _
from microblog.models import User
from microblog.services import (
    accounts,
    messages,
    notifications,
    posts,
    scheduled,
    social,
    tasks,
)
from microblog.services.errors import AuthenticationFailed, ServiceError, ValidationFailed
from microblog.services.pagination import Page, PageRequest
from microblog.web.common import error_response
from microblog.web.serializers import (
    conversation_json,
    iso,
    notification_json,
    post_json,
    task_json,
    user_json,
)

bp = Blueprint("api", __name__, url_prefix="/api")

P = ParamSpec("P")
R = TypeVar("R")


def located(body: dict[str, Any], status: int, endpoint: str, **values: Any) -> Response:
    """A 201/202 answer whose `Location` names the resource to read next."""
    response = jsonify(body)
    response.status_code = status
    response.headers["Location"] = url_for(endpoint, **values)
    return response


@bp.errorhandler(ServiceError)
async def service_error(exc: ServiceError) -> Response:
    extra = {"errors": exc.errors} if hasattr(exc, "errors") else {}
    response = error_response(exc.status, exc.message, **extra)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def token_required(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """A bearer token; or, for reads only, the browser's login cookie (pages use the API to
    fill timeline gaps after a reconnect). Writes with a cookie would need CSRF: refused."""

    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        token = bearer_token()
        user = await accounts.user_for_api_token(token)
        if user is None and token is None and request.method in ("GET", "HEAD"):
            user = await accounts.user_for_session(auth_user.auth_id)
        if user is None:
            raise AuthenticationFailed(_("A valid API token is required."))
        g.api_user = user
        return await view(*args, **kwargs)

    return wrapper


def api_user() -> User:
    return g.api_user  # type: ignore[no-any-return]


async def json_body() -> dict[str, Any]:
    data = await request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ServiceError(_("The request body must be a JSON object."))
    return data


def page_request() -> PageRequest:
    return PageRequest.parse(request.args.get("page"), request.args.get("per_page"))


def collection(page: Page[Any], items: Iterable[dict[str, Any]], endpoint: str,
               **values: Any) -> dict[str, Any]:
    def link(number: int) -> str:
        return url_for(endpoint, page=number, per_page=page.per_page, **values)

    return {
        "items": list(items),
        "_meta": {"page": page.page, "per_page": page.per_page,
                  "total_pages": page.total_pages, "total_items": page.total_items},
        "_links": {"self": link(page.page),
                   "next": link(page.page + 1) if page.has_next else None,
                   "prev": link(page.page - 1) if page.has_prev else None},
    }


async def user_document(user: User) -> dict[str, Any]:
    return user_json(user, await social.counts(user))


# --- users and tokens ---------------------------------------------------------------------


@bp.route("/users", methods=["POST"])
async def create_user() -> ResponseReturnValue:
    data = await json_body()
    user = await accounts.register(
        _str(data.get("username")), _str(data.get("email")), _str(data.get("password")))
    return located(await user_document(user), 201, "api.get_user", user_id=user.id)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@bp.route("/tokens", methods=["POST"])
async def create_token() -> ResponseReturnValue:
    header = request.headers.get("Authorization", "")
    scheme, _sep, encoded = header.partition(" ")
    login = password = None
    if scheme.lower() == "basic":
        try:
            login, _colon, password = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            login = None
    user = await accounts.authenticate(login, password) if login else None
    if user is None:
        response = error_response(401, _("Invalid username or password."))
        response.headers["WWW-Authenticate"] = 'Basic realm="api"'
        return response
    token, expires = await accounts.issue_api_token(user)
    return {"token": token, "expires_at": expires.isoformat().replace("+00:00", "Z")}


@bp.route("/tokens", methods=["DELETE"])
@token_required
async def revoke_token() -> ResponseReturnValue:
    await accounts.revoke_api_token(bearer_token() or "")
    return "", 204


@bp.route("/users/<int:user_id>")
@token_required
async def get_user(user_id: int) -> ResponseReturnValue:
    return await user_document(await accounts.get_user(user_id))


@bp.route("/users/<int:user_id>/posts")
@token_required
async def user_posts(user_id: int) -> ResponseReturnValue:
    user = await accounts.get_user(user_id)
    page = await posts.posts_by(user, page_request(), count=True, since_id=_since_id())
    return collection(page, map(post_json, page.items), "api.user_posts", user_id=user_id)


@bp.route("/users/<int:user_id>/followers")
@token_required
async def user_followers(user_id: int) -> ResponseReturnValue:
    user = await accounts.get_user(user_id)
    page = await social.followers(user, page_request(), count=True)
    return collection(page, [await user_document(u) for u in page.items],
                      "api.user_followers", user_id=user_id)


@bp.route("/users/<int:user_id>/following")
@token_required
async def user_following(user_id: int) -> ResponseReturnValue:
    user = await accounts.get_user(user_id)
    page = await social.following(user, page_request(), count=True)
    return collection(page, [await user_document(u) for u in page.items],
                      "api.user_following", user_id=user_id)


@bp.route("/me/following/<int:user_id>", methods=["POST"])
@token_required
async def follow(user_id: int) -> ResponseReturnValue:
    await social.follow(api_user(), await accounts.get_user(user_id))
    return "", 204


@bp.route("/me/following/<int:user_id>", methods=["DELETE"])
@token_required
async def unfollow(user_id: int) -> ResponseReturnValue:
    await social.unfollow(api_user(), await accounts.get_user(user_id))
    return "", 204


# --- posts --------------------------------------------------------------------------------


@bp.route("/posts", methods=["POST"])
@token_required
async def create_post() -> ResponseReturnValue:
    data = await json_body()
    if data.get("publish_at") is not None:  # for later: 202, a scheduled post, not a post yet
        row = await scheduled.schedule_post(api_user(), _str(data.get("body")),
                                            data["publish_at"])
        return located(scheduled_json(row), 202, "api.get_scheduled_post",
                       scheduled_id=row.id)
    post = await posts.create_post(api_user(), _str(data.get("body")))
    return located(post_json(post), 201, "api.get_post", post_id=post.id)


@bp.route("/posts/<int:post_id>")
@token_required
async def get_post(post_id: int) -> ResponseReturnValue:
    return post_json(await posts.get_post(post_id))


@bp.route("/posts/<int:post_id>", methods=["DELETE"])
@token_required
async def delete_post(post_id: int) -> ResponseReturnValue:
    await posts.delete_post(api_user(), post_id)
    return "", 204


@bp.route("/posts")
@token_required
async def explore() -> ResponseReturnValue:
    page = await posts.explore(page_request(), count=True, since_id=_since_id())
    return collection(page, map(post_json, page.items), "api.explore")


@bp.route("/timeline")
@token_required
async def timeline() -> ResponseReturnValue:
    page = await posts.home_timeline(api_user(), page_request(), count=True,
                                     since_id=_since_id())
    return collection(page, map(post_json, page.items), "api.timeline")


def _since_id() -> int | None:
    raw = request.args.get("since_id")
    if raw is None:
        return None
    if not raw.isdigit():
        raise ServiceError(_("since_id must be a post id."))
    return int(raw)


# --- notifications ------------------------------------------------------------------------


@bp.route("/notifications")
@token_required
async def list_notifications() -> ResponseReturnValue:
    page = await notifications.notifications(api_user(), page_request(), count=True)
    body = collection(page, map(notification_json, page.items), "api.list_notifications")
    body["unread"] = api_user().unread_notifications
    return body


@bp.route("/notifications/read", methods=["POST"])
@token_required
async def read_notifications() -> ResponseReturnValue:
    data = await request.get_json(force=True, silent=True)
    up_to = data.get("up_to_id") if isinstance(data, dict) else None
    if up_to is not None and (isinstance(up_to, bool) or not isinstance(up_to, int)):
        raise ServiceError(_("up_to_id must be a notification id."))
    return {"unread": await notifications.mark_read(api_user(), up_to)}


# --- background tasks (exports) -----------------------------------------------------------


@bp.route("/exports", methods=["POST"])
@token_required
async def start_export() -> ResponseReturnValue:
    """202 and the task to watch; 409 while one of the user's exports is still running."""
    task = await tasks.start_export(api_user())
    return located({"task_id": task.id, "_links": {
        "task": url_for("api.get_task", task_id=task.id)}}, 202, "api.get_task", task_id=task.id)


@bp.route("/tasks/<task_id>")
@token_required
async def get_task(task_id: str) -> ResponseReturnValue:
    return task_json(await tasks.get_task(api_user(), task_id))


@bp.route("/tasks/<task_id>/download/<filename>")
@token_required
async def download_export(task_id: str, filename: str) -> ResponseReturnValue:
    """The owner's export file; anyone else gets the same 404 as for a missing one."""
    user = api_user()
    path = await tasks.export_file(user, task_id, filename)
    response = await send_file(path, as_attachment=True,
                               attachment_filename=f"microblog-{user.username}-{filename}")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- private messages ---------------------------------------------------------------------


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise ServiceError(_("%(name)s must be a number.", name=name))
    return int(raw)


@bp.route("/messages")
@token_required
async def message_history() -> ResponseReturnValue:
    """A conversation, newest first; `before=<id>` pages back (keyset)."""
    partner_name = request.args.get("with")
    if not partner_name:
        raise ServiceError(_("Say whose conversation: ?with=<username>."))
    partner = await accounts.get_user_by_username(partner_name)
    before = _int_arg("before")
    per_page = _int_arg("per_page") or 50
    page = await messages.history(api_user(), partner, before, per_page)
    older = None
    if page.has_next and page.items:
        values: dict[str, Any] = {"with": partner.username, "before": page.items[-1].id,
                                  "per_page": page.per_page}
        older = url_for("api.message_history", **values)
    return {
        "items": [m.as_json() for m in page.items],
        "_meta": {"per_page": page.per_page, "before": before},
        "_links": {"self": request.full_path, "next": older, "prev": None},
    }


@bp.route("/messages", methods=["POST"])
@token_required
async def send_message() -> ResponseReturnValue:
    data = await json_body()
    message, created = await messages.send_message(
        api_user(), data.get("to"), data.get("body"), data.get("client_id"))
    response = jsonify(message.as_json())
    response.status_code = 201 if created else 200
    return response


@bp.route("/messages/read", methods=["POST"])
@token_required
async def read_messages() -> ResponseReturnValue:
    data = await json_body()
    return {"unread": await messages.read_up_to(api_user(), data.get("with"),
                                                data.get("last_read_id"))}


@bp.route("/conversations")
@token_required
async def conversations() -> ResponseReturnValue:
    req = page_request()
    rows = await messages.conversations(api_user(), req.per_page + 1, req.offset)
    page = Page(rows[: req.per_page], req.page, req.per_page, len(rows) > req.per_page)
    body = collection(page, (conversation_json(c) for c in page.items), "api.conversations")
    body["unread"] = api_user().unread_messages
    return body


@bp.route("/me/blocks/<int:user_id>", methods=["POST"])
@token_required
async def block(user_id: int) -> ResponseReturnValue:
    await messages.block(api_user(), await accounts.get_user(user_id))
    return "", 204


@bp.route("/me/blocks/<int:user_id>", methods=["DELETE"])
@token_required
async def unblock(user_id: int) -> ResponseReturnValue:
    await messages.unblock(api_user(), await accounts.get_user(user_id))
    return "", 204


# --- scheduled posts ----------------------------------------------------------------------


def scheduled_json(row: Any) -> dict[str, Any]:
    post_id = row.post_id
    return {
        "id": row.id,
        "body": row.body,
        "publish_at": iso(row.publish_at),
        "status": scheduled.status(row),
        "post_id": post_id,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "_links": {
            "self": url_for("api.get_scheduled_post", scheduled_id=row.id),
            "post": url_for("api.get_post", post_id=post_id) if post_id is not None else None,
        },
    }


@bp.route("/scheduled-posts")
@token_required
async def list_scheduled_posts() -> ResponseReturnValue:
    """The user's posts waiting to be published, soonest first."""
    page = await scheduled.list_scheduled(api_user(), page_request())
    return collection(page, map(scheduled_json, page.items), "api.list_scheduled_posts")


@bp.route("/scheduled-posts/<int:scheduled_id>")
@token_required
async def get_scheduled_post(scheduled_id: int) -> ResponseReturnValue:
    return scheduled_json(await scheduled.get_scheduled(api_user(), scheduled_id))


@bp.route("/scheduled-posts/<int:scheduled_id>", methods=["PATCH"])
@token_required
async def update_scheduled_post(scheduled_id: int) -> ResponseReturnValue:
    data = await json_body()
    body = data.get("body")
    if body is not None and not isinstance(body, str):
        raise ValidationFailed({"body": _("The text must be a string.")})
    row = await scheduled.update_scheduled(api_user(), scheduled_id, body,
                                           data.get("publish_at"))
    return scheduled_json(row)


@bp.route("/scheduled-posts/<int:scheduled_id>", methods=["DELETE"])
@token_required
async def cancel_scheduled_post(scheduled_id: int) -> ResponseReturnValue:
    await scheduled.cancel_scheduled(api_user(), scheduled_id)
    return "", 204
