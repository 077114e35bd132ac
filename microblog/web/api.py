"""The JSON API (DESIGN.md's table). Thin: quart-schema validates the input against
microblog.schemas, a service does the work, the answer is a schema. Every route documents
its answers, which `/openapi.json` publishes (microblog.web.openapi)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Iterable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from quart import Blueprint, Response, current_app, g, request, send_file, url_for
from quart.typing import ResponseReturnValue
from quart_auth import current_user as auth_user
from quart_schema import (
    RequestSchemaValidationError,
    security_scheme,
    tag,
    validate_querystring,
    validate_request,
)

from microblog import i18n, schemas
from microblog.errors import AuthenticationFailed, ServiceError
from microblog.i18n import gettext as _
from microblog.models import User
from microblog.schemas.base import summary
from microblog.services import (
    accounts,
    engagement,
    messages,
    notifications,
    posts,
    scheduled,
    sessions,
    social,
    tags,
    tasks,
    translation,
)
from microblog.services import search as search_service
from microblog.services.pagination import Page, PageRequest
from microblog.web.common import client_address, error_response
from microblog.web.errors import retry_headers
from microblog.web.openapi import NO_CONTENT, answers, fails, json_response, validation_errors

bp = Blueprint("api", __name__, url_prefix="/api")

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


@bp.errorhandler(ServiceError)
async def service_error(exc: ServiceError) -> Response:
    extra: dict[str, Any] = {"errors": exc.errors} if hasattr(exc, "errors") else {}
    response = error_response(exc.status, exc.message, **extra)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    response.headers.update(retry_headers(exc))
    return response


@bp.errorhandler(RequestSchemaValidationError)
async def invalid_request(exc: RequestSchemaValidationError) -> Response:
    errors = validation_errors(exc.validation_error)
    if set(errors) == {""}:
        return error_response(400, errors[""])
    return error_response(400, summary(errors), errors=errors)


def no_content() -> Response:
    return Response(status=204)


def located(model: schemas.Schema, status: int, endpoint: str, **values: Any) -> Response:
    """A 201/202 answer whose `Location` names the resource to read next."""
    response = json_response(model, status)
    response.headers["Location"] = url_for(endpoint, **values)
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
            user = await sessions.user_for(auth_user.auth_id)
        if user is None:
            raise AuthenticationFailed(_("A valid API token is required."))
        g.api_user = user
        i18n.set_locale(caller_locale())
        return await view(*args, **kwargs)

    return security_scheme([{"bearer": []}])(fails(401)(wrapper))


def api_user() -> User:
    return g.api_user  # type: ignore[no-any-return]


def caller_locale() -> str:
    """The caller's language: the one they chose on the site, else Accept-Language."""
    settings = current_app.extensions["settings"]
    return i18n.choose_locale(api_user().locale, None, request.headers.get("Accept-Language"),
                              settings.languages)


def collection(page: Page[Any], items: Iterable[T], endpoint: str, **values: Any
               ) -> dict[str, Any]:
    """The fields of a collection envelope for `page` (DESIGN.md)."""

    def link(number: int) -> str:
        return url_for(endpoint, page=number, per_page=page.per_page, **values)

    return {
        "items": list(items),
        "meta": schemas.PageMeta(page=page.page, per_page=page.per_page,
                                 total_pages=page.total_pages, total_items=page.total_items),
        "links": schemas.Links(self_=link(page.page),
                               next=link(page.page + 1) if page.has_next else None,
                               prev=link(page.page - 1) if page.has_prev else None),
    }


def page_of(query: schemas.PageQuery) -> PageRequest:
    return PageRequest(query.page, query.per_page)


async def user_document(user: User) -> schemas.User:
    return schemas.User.of(user, social.counts(user))


# --- users and tokens ---------------------------------------------------------------------

USERS = ["users"]


@bp.route("/users", methods=["POST"])
@tag(USERS)
@security_scheme([])
@validate_request(schemas.NewUser)
@answers(201, schemas.User, 400, 429)
async def create_user(data: schemas.NewUser) -> ResponseReturnValue:
    """Register an account.

    No authentication. A 400 names each invalid or taken field."""
    user = await accounts.register(data.username, data.email, data.password, client_address())
    return located(await user_document(user), 201, "api.get_user", user_id=user.id)


@bp.route("/tokens", methods=["POST"])
@tag(USERS)
@security_scheme([{"basic": []}])
@answers(200, schemas.Token, 401, 429)
async def create_token() -> ResponseReturnValue:
    """Get an API token (valid 30 days) with HTTP Basic: username or email, and password."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, encoded = header.partition(" ")
    login = password = None
    if scheme.lower() == "basic" and len(encoded) <= 4096:
        try:
            login, _colon, password = base64.b64decode(
                encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            login = None
    user = await accounts.authenticate(login, password, client_address()) if login else None
    if user is None:
        response = error_response(401, _("Invalid username or password."))
        response.headers["WWW-Authenticate"] = 'Basic realm="api"'
        return response
    token, expires = await accounts.issue_api_token(user)
    return json_response(schemas.Token(token=token, expires_at=expires))


@bp.route("/tokens", methods=["DELETE"])
@tag(USERS)
@token_required
@answers(204, NO_CONTENT)
async def revoke_token() -> ResponseReturnValue:
    """Revoke the token this request carries."""
    await accounts.revoke_api_token(bearer_token() or "")
    return no_content()


@bp.route("/me", methods=["DELETE"])
@tag(USERS)
@token_required
@validate_request(schemas.DeleteAccount)
@answers(204, NO_CONTENT, 400, 429)
async def delete_account(data: schemas.DeleteAccount) -> ResponseReturnValue:
    """Delete the caller's account for good, with everything in it: posts, comments,
    private messages (both sides of each conversation), follows, notifications, exports and
    tokens; every session and socket ends.

    The password is checked like a sign-in: a wrong one is a 400 naming `password` and
    counts as a failed attempt (429 past the limits), and nothing is deleted."""
    await accounts.delete_account(api_user(), data.password, address=client_address())
    return no_content()


@bp.route("/users/<id(32):user_id>")
@tag(USERS)
@token_required
@answers(200, schemas.User, 404)
async def get_user(user_id: int) -> ResponseReturnValue:
    """A user's profile."""
    return json_response(await user_document(await accounts.get_user(user_id)))


@bp.route("/users/<id(32):user_id>/posts")
@tag(USERS)
@token_required
@validate_querystring(schemas.PostsQuery)
@answers(200, schemas.Collection[schemas.Post], 400, 404)
async def user_posts(user_id: int, query_args: schemas.PostsQuery) -> ResponseReturnValue:
    """A user's posts, newest first."""
    user = await accounts.get_user(user_id)
    page = await posts.posts_by(user, page_of(query_args), count=True,
                                since_id=query_args.since_id, viewer=api_user())
    return json_response(schemas.Collection[schemas.Post](**collection(
        page, map(schemas.Post.of, page.items), "api.user_posts", user_id=user_id)))


@bp.route("/users/<id(32):user_id>/followers")
@tag(USERS)
@token_required
@validate_querystring(schemas.PageQuery)
@answers(200, schemas.Collection[schemas.User], 400, 404)
async def user_followers(user_id: int, query_args: schemas.PageQuery) -> ResponseReturnValue:
    """Who follows a user."""
    user = await accounts.get_user(user_id)
    page = await social.followers(user, page_of(query_args), count=True)
    return json_response(schemas.Collection[schemas.User](**collection(
        page, [await user_document(u) for u in page.items], "api.user_followers",
        user_id=user_id)))


@bp.route("/users/<id(32):user_id>/following")
@tag(USERS)
@token_required
@validate_querystring(schemas.PageQuery)
@answers(200, schemas.Collection[schemas.User], 400, 404)
async def user_following(user_id: int, query_args: schemas.PageQuery) -> ResponseReturnValue:
    """Whom a user follows."""
    user = await accounts.get_user(user_id)
    page = await social.following(user, page_of(query_args), count=True)
    return json_response(schemas.Collection[schemas.User](**collection(
        page, [await user_document(u) for u in page.items], "api.user_following",
        user_id=user_id)))


@bp.route("/me/following/<id(32):user_id>", methods=["POST"])
@tag(USERS)
@token_required
@answers(204, NO_CONTENT, 400, 403, 404, 429)
async def follow(user_id: int) -> ResponseReturnValue:
    """Follow a user (400 for yourself, 403 when they blocked you)."""
    await social.follow(api_user(), await accounts.get_user(user_id))
    return no_content()


@bp.route("/me/following/<id(32):user_id>", methods=["DELETE"])
@tag(USERS)
@token_required
@answers(204, NO_CONTENT, 400, 404, 429)
async def unfollow(user_id: int) -> ResponseReturnValue:
    """Stop following a user."""
    await social.unfollow(api_user(), await accounts.get_user(user_id))
    return no_content()


# --- posts --------------------------------------------------------------------------------

POSTS = ["posts"]


@bp.route("/posts", methods=["POST"])
@tag(POSTS)
@token_required
@validate_request(schemas.NewPost)
@answers(201, schemas.Post, 400, 409, 429)
@answers(202, schemas.ScheduledPost)
async def create_post(data: schemas.NewPost) -> ResponseReturnValue:
    """Post now, or schedule it for later.

    201 and the post; with `publish_at`, 202 and a scheduled post. 409 when you already
    have the most scheduled posts one can have waiting."""
    if data.publish_at is not None:
        row = await scheduled.schedule_post(api_user(), data.body, data.publish_at)
        return located(scheduled_document(row), 202, "api.get_scheduled_post",
                       scheduled_id=row.id)
    post = await posts.create_post(api_user(), data.body)
    return located(schemas.Post.of(post), 201, "api.get_post", post_id=post.id)


@bp.route("/posts/<id:post_id>")
@tag(POSTS)
@token_required
@answers(200, schemas.Post, 404)
async def get_post(post_id: int) -> ResponseReturnValue:
    """One post, with your like and repost."""
    return json_response(schemas.Post.of(await posts.view_of(post_id, api_user().id)))


@bp.route("/posts/<id:post_id>", methods=["PATCH"])
@tag(POSTS)
@token_required
@validate_request(schemas.PostChange)
@answers(200, schemas.Post, 400, 403, 404, 429)
async def edit_post(post_id: int, data: schemas.PostChange) -> ResponseReturnValue:
    """Edit the text of one of your posts.

    The earlier text stays in its history; hashtags, search and translations follow the new
    text, people it newly mentions are notified, and every page showing it gets
    `post.updated`."""
    return json_response(schemas.Post.of(await posts.edit_post(api_user(), post_id,
                                                               data.body)))


@bp.route("/posts/<id:post_id>/history")
@tag(POSTS)
@token_required
@answers(200, schemas.PostHistory, 404)
async def post_history(post_id: int) -> ResponseReturnValue:
    """A post's earlier texts, newest first."""
    post, edits = await posts.history(post_id)
    return json_response(schemas.PostHistory(
        id=post.id, body=post.body, edited_at=post.edited_at,
        versions=[schemas.PostEdit(body=e.body, written_at=e.written_at) for e in edits]))


@bp.route("/posts/<id:post_id>/like", methods=["POST"])
@tag(POSTS)
@token_required
@answers(204, NO_CONTENT, 403, 404, 429)
async def like_post(post_id: int) -> ResponseReturnValue:
    """Like a post (again: nothing changes). Its author is notified."""
    await engagement.like(api_user(), post_id)
    return no_content()


@bp.route("/posts/<id:post_id>/like", methods=["DELETE"])
@tag(POSTS)
@token_required
@answers(204, NO_CONTENT, 403, 404)
async def unlike_post(post_id: int) -> ResponseReturnValue:
    """Take your like back."""
    await engagement.unlike(api_user(), post_id)
    return no_content()


@bp.route("/posts/<id:post_id>/repost", methods=["POST"])
@tag(POSTS)
@token_required
@answers(204, NO_CONTENT, 403, 404, 429)
async def repost_post(post_id: int) -> ResponseReturnValue:
    """Repost: the post joins your followers' home timelines as reposted by you."""
    await engagement.repost(api_user(), post_id)
    return no_content()


@bp.route("/posts/<id:post_id>/repost", methods=["DELETE"])
@tag(POSTS)
@token_required
@answers(204, NO_CONTENT, 403, 404)
async def unrepost_post(post_id: int) -> ResponseReturnValue:
    """Undo your repost."""
    await engagement.unrepost(api_user(), post_id)
    return no_content()


TAGS = ["tags"]


@bp.route("/tags/trending")
@tag(TAGS)
@token_required
@answers(200, schemas.TrendingTags)
async def trending_tags() -> ResponseReturnValue:
    """The hashtags of the last 24 hours, by how many people used them, then how often."""
    return json_response(schemas.TrendingTags(items=[
        schemas.TrendingTag(name=t.name, uses=t.uses, people=t.people)
        for t in await tags.trending()]))


@bp.route("/tags/<segment:name>")
@tag(TAGS)
@token_required
@validate_querystring(schemas.PostsQuery)
@answers(200, schemas.Collection[schemas.Post], 400, 404)
async def tag_posts(name: str, query_args: schemas.PostsQuery) -> ResponseReturnValue:
    """Posts with a hashtag (`name` without '#', any case), newest first."""
    canonical = tags.clean_tag(name)
    page = await tags.tagged(canonical, page_of(query_args), count=True,
                             since_id=query_args.since_id, viewer=api_user())
    return json_response(schemas.Collection[schemas.Post](**collection(
        page, map(schemas.Post.of, page.items), "api.tag_posts", name=canonical)))


@bp.route("/posts/<id:post_id>", methods=["DELETE"])
@tag(POSTS)
@token_required
@answers(204, NO_CONTENT, 403, 404)
async def delete_post(post_id: int) -> ResponseReturnValue:
    """Delete one of your posts."""
    await posts.delete_post(api_user(), post_id)
    return no_content()


TRANSLATION = ["translation"]


@bp.route("/posts/<id:post_id>/translate", methods=["POST"])
@tag(TRANSLATION)
@token_required
@validate_request(schemas.TranslationRequest)
@answers(200, schemas.Translation, 400, 404, 422, 429, 503)
async def translate_post(post_id: int, data: schemas.TranslationRequest) -> ResponseReturnValue:
    """Translate a post into `lang` (by default, your language).

    Each translation is made once per post text and language and kept: asking again is
    answered from the cache. 404 when the site has no translator (or no such post), 422 when
    the post is already in that language or the service cannot translate between them, 429
    when you ask for too many new translations too fast, 503 when the translation service
    fails or refuses (`message` says why)."""
    target = translation.clean_target(data.lang, i18n.get_locale())
    view = await translation.translate_post(api_user(), post_id, target)
    return json_response(schemas.Translation.of(view))


@bp.route("/comments/<id:comment_id>/translate", methods=["POST"])
@tag(TRANSLATION)
@token_required
@validate_request(schemas.TranslationRequest)
@answers(200, schemas.Translation, 400, 404, 422, 429, 503)
async def translate_comment(comment_id: int,
                            data: schemas.TranslationRequest) -> ResponseReturnValue:
    """Translate a comment into `lang` (by default, your language); as for posts."""
    target = translation.clean_target(data.lang, i18n.get_locale())
    view = await translation.translate_comment(api_user(), comment_id, target)
    return json_response(schemas.Translation.of(view))


@bp.route("/posts")
@tag(POSTS)
@token_required
@validate_querystring(schemas.PostsQuery)
@answers(200, schemas.Collection[schemas.Post], 400)
async def explore(query_args: schemas.PostsQuery) -> ResponseReturnValue:
    """Everyone's posts, newest first (explore)."""
    page = await posts.explore(page_of(query_args), count=True, since_id=query_args.since_id,
                               viewer=api_user())
    return json_response(schemas.Collection[schemas.Post](**collection(
        page, map(schemas.Post.of, page.items), "api.explore")))


SEARCH = ["search"]


@bp.route("/search")
@tag(SEARCH)
@token_required
@validate_querystring(schemas.SearchParams)
@answers(200, schemas.SearchResults, 400, 503)
async def search(query_args: schemas.SearchParams) -> ResponseReturnValue:
    """Search posts (the query language: words, "phrases", -exclusion, OR, from:, lang:,
    after:, before:, #tag), people or hashtags.

    Posts come with `highlight`; `_meta.suggestion` offers a corrected query when a word
    looks misspelt. 400 when the query cannot mean anything (the message says why); 503
    when the search engine cannot answer."""
    req = page_of(query_args)
    values = {"q": query_args.q, "type": query_args.type, "sort": query_args.sort}
    items: list[Any]
    if query_args.type == "users":
        page = await search_service.search_users(api_user(), query_args.q, req)
        counts = social.counts_of(page.items)
        items = [schemas.User.of(u, counts[u.id]) for u in page.items]
    elif query_args.type == "tags":
        page = await search_service.search_tags(query_args.q, req)
        items = [schemas.TagHit(name=t.name, uses=t.uses) for t in page.items]
    else:
        page = await search_service.search_posts(api_user(), query_args.q, query_args.sort,
                                                 req)
        items = [schemas.PostHit.hit(h.post, str(h.highlight)) for h in page.items]
    envelope = collection(page, items, "api.search", **values)
    envelope["meta"] = schemas.SearchMeta(**envelope["meta"].model_dump(),
                                          suggestion=page.suggestion)
    return json_response(schemas.SearchResults(**envelope))


@bp.route("/timeline")
@tag(POSTS)
@token_required
@validate_querystring(schemas.PostsQuery)
@answers(200, schemas.Collection[schemas.Post], 400)
async def timeline(query_args: schemas.PostsQuery) -> ResponseReturnValue:
    """Your home timeline: your posts and those of the people you follow, and what you and
    they reposted (with `reposted_by`), newest first, each post once."""
    page = await posts.home_timeline(api_user(), page_of(query_args), count=True,
                                     since_id=query_args.since_id)
    return json_response(schemas.Collection[schemas.Post](**collection(
        page, map(schemas.Post.of, page.items), "api.timeline")))


# --- notifications ------------------------------------------------------------------------

NOTIFICATIONS = ["notifications"]


@bp.route("/notifications")
@tag(NOTIFICATIONS)
@token_required
@validate_querystring(schemas.PageQuery)
@answers(200, schemas.NotificationPage, 400)
async def list_notifications(query_args: schemas.PageQuery) -> ResponseReturnValue:
    """Your notifications, newest first, and how many are unread."""
    page = await notifications.notifications(api_user(), page_of(query_args), count=True)
    return json_response(schemas.NotificationPage(
        **collection(page, map(schemas.Notification.of, page.items),
                     "api.list_notifications"),
        unread=api_user().unread_notifications))


@bp.route("/notifications/read", methods=["POST"])
@tag(NOTIFICATIONS)
@token_required
@validate_request(schemas.ReadNotifications)
@answers(200, schemas.Unread, 400)
async def read_notifications(data: schemas.ReadNotifications) -> ResponseReturnValue:
    """Mark notifications read: all (an empty body or `{}`), or up to `up_to_id`."""
    return json_response(schemas.Unread(
        unread=await notifications.mark_read(api_user(), data.up_to_id)))


# --- background tasks (exports) -----------------------------------------------------------

TASKS = ["tasks"]


@bp.route("/exports", methods=["POST"])
@tag(TASKS)
@token_required
@answers(202, schemas.TaskStarted, 409, 429, 503)
async def start_export() -> ResponseReturnValue:
    """Export your posts (CSV and JSON in a zip) in the background.

    202 and the task to watch; 409 while one of your exports is still running; 503 when
    the job queue cannot be reached (nothing was started)."""
    task = await tasks.start_export(api_user())
    task_url = url_for("api.get_task", task_id=task.id)
    return located(schemas.TaskStarted(task_id=task.id, links=schemas.TaskLinks(task=task_url)),
                   202, "api.get_task", task_id=task.id)


@bp.route("/tasks/<segment(32):task_id>")
@tag(TASKS)
@token_required
@answers(200, schemas.Task, 404)
async def get_task(task_id: str) -> ResponseReturnValue:
    """One of your background tasks."""
    return json_response(schemas.Task.of(await tasks.get_task(api_user(), task_id)))


@bp.route("/tasks/<segment(32):task_id>/download/<segment(64):filename>")
@tag(TASKS)
@token_required
@answers(200, bytes, 404)
async def download_export(task_id: str, filename: str) -> ResponseReturnValue:
    """Download a finished export's file.

    Only its owner can; anyone else gets the same 404 as for a missing file."""
    user = api_user()
    path = await tasks.export_file(user, task_id, filename)
    response = await send_file(path, as_attachment=True,
                               attachment_filename=f"microblog-{user.username}-{filename}")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- private messages ---------------------------------------------------------------------

MESSAGES = ["messages"]


@bp.route("/messages")
@tag(MESSAGES)
@token_required
@validate_querystring(schemas.HistoryQuery)
@answers(200, schemas.MessageHistory, 400, 404)
async def message_history(query_args: schemas.HistoryQuery) -> ResponseReturnValue:
    """A conversation with someone, newest first.

    `before=<id>` pages back to older messages (`_links.next` gives it)."""
    partner = await accounts.get_user_by_username(query_args.with_)
    page = await messages.history(api_user(), partner, query_args.before, query_args.per_page)
    older = None
    if page.has_next and page.items:
        values: dict[str, Any] = {"with": partner.username, "before": page.items[-1].id,
                                  "per_page": page.per_page}
        older = url_for("api.message_history", **values)
    here: dict[str, Any] = {"with": partner.username, "per_page": page.per_page}
    if query_args.before is not None:
        here["before"] = query_args.before
    return json_response(schemas.MessageHistory(
        items=[schemas.Message.of(m) for m in page.items],
        meta=schemas.HistoryMeta(per_page=page.per_page, before=query_args.before),
        links=schemas.Links(self_=url_for("api.message_history", **here), next=older,
                            prev=None)))


@bp.route("/messages", methods=["POST"])
@tag(MESSAGES)
@token_required
@validate_request(schemas.NewMessage)
@answers(201, schemas.Message, 400, 403, 404, 429)
@answers(200, schemas.Message)
async def send_message(data: schemas.NewMessage) -> ResponseReturnValue:
    """Send a private message.

    201 and the message; 200 and the message already sent under the same `client_id`
    (a retry sends nothing twice). 403 when blocked, 429 when sending too fast."""
    message, created = await messages.send_message(api_user(), data.to, data.body,
                                                   data.client_id)
    return json_response(schemas.Message.of(message), 201 if created else 200)


@bp.route("/messages/read", methods=["POST"])
@tag(MESSAGES)
@token_required
@validate_request(schemas.ReadMessages)
@answers(200, schemas.Unread, 400, 404)
async def read_messages(data: schemas.ReadMessages) -> ResponseReturnValue:
    """Mark a conversation read up to a message; the answer is your unread total."""
    return json_response(schemas.Unread(unread=await messages.read_up_to(
        api_user(), data.with_, data.last_read_id)))


@bp.route("/conversations")
@tag(MESSAGES)
@token_required
@validate_querystring(schemas.PageQuery)
@answers(200, schemas.ConversationPage, 400)
async def conversations(query_args: schemas.PageQuery) -> ResponseReturnValue:
    """Your inbox: conversations, most recent first, and your unread total."""
    req = page_of(query_args)
    rows = await messages.conversations(api_user(), req.per_page + 1, req.offset)
    page = Page(rows[: req.per_page], req.page, req.per_page, len(rows) > req.per_page)
    return json_response(schemas.ConversationPage(
        **collection(page, map(schemas.Conversation.of, page.items), "api.conversations"),
        unread=api_user().unread_messages))


@bp.route("/conversations/<id:conversation_id>", methods=["DELETE"])
@tag(MESSAGES)
@token_required
@answers(204, NO_CONTENT, 404)
async def remove_conversation(conversation_id: int) -> ResponseReturnValue:
    """Remove a conversation with a deleted account (`partner` null) from your inbox."""
    await messages.remove_deleted_conversation(api_user(), conversation_id)
    return no_content()


@bp.route("/me/blocks/<id(32):user_id>", methods=["POST"])
@tag(MESSAGES)
@token_required
@answers(204, NO_CONTENT, 400, 404)
async def block(user_id: int) -> ResponseReturnValue:
    """Block a user: they can no longer message or follow you."""
    await messages.block(api_user(), await accounts.get_user(user_id))
    return no_content()


@bp.route("/me/blocks/<id(32):user_id>", methods=["DELETE"])
@tag(MESSAGES)
@token_required
@answers(204, NO_CONTENT, 404)
async def unblock(user_id: int) -> ResponseReturnValue:
    """Unblock a user."""
    await messages.unblock(api_user(), await accounts.get_user(user_id))
    return no_content()


# --- scheduled posts ----------------------------------------------------------------------

SCHEDULED = ["scheduled"]


def scheduled_document(row: Any) -> schemas.ScheduledPost:
    post_id = row.post_id
    return schemas.ScheduledPost(
        id=row.id, body=row.body, publish_at=row.publish_at, status=scheduled.status(row),
        post_id=post_id, created_at=row.created_at, updated_at=row.updated_at,
        links=schemas.ScheduledPostLinks(
            self_=url_for("api.get_scheduled_post", scheduled_id=row.id),
            post=url_for("api.get_post", post_id=post_id) if post_id is not None else None))


@bp.route("/scheduled-posts")
@tag(SCHEDULED)
@token_required
@validate_querystring(schemas.PageQuery)
@answers(200, schemas.Collection[schemas.ScheduledPost], 400)
async def list_scheduled_posts(query_args: schemas.PageQuery) -> ResponseReturnValue:
    """Your posts waiting to be published, soonest first."""
    page = await scheduled.list_scheduled(api_user(), page_of(query_args))
    return json_response(schemas.Collection[schemas.ScheduledPost](**collection(
        page, map(scheduled_document, page.items), "api.list_scheduled_posts")))


@bp.route("/scheduled-posts/<id:scheduled_id>")
@tag(SCHEDULED)
@token_required
@answers(200, schemas.ScheduledPost, 404)
async def get_scheduled_post(scheduled_id: int) -> ResponseReturnValue:
    """One of your scheduled posts."""
    return json_response(scheduled_document(
        await scheduled.get_scheduled(api_user(), scheduled_id)))


@bp.route("/scheduled-posts/<id:scheduled_id>", methods=["PATCH"])
@tag(SCHEDULED)
@token_required
@validate_request(schemas.ScheduledPostChange)
@answers(200, schemas.ScheduledPost, 400, 404, 409)
async def update_scheduled_post(scheduled_id: int,
                                data: schemas.ScheduledPostChange) -> ResponseReturnValue:
    """Change the text or the time of a post not yet published (409 once published)."""
    row = await scheduled.update_scheduled(api_user(), scheduled_id, data.body,
                                           data.publish_at)
    return json_response(scheduled_document(row))


@bp.route("/scheduled-posts/<id:scheduled_id>", methods=["DELETE"])
@tag(SCHEDULED)
@token_required
@answers(204, NO_CONTENT, 404, 409)
async def cancel_scheduled_post(scheduled_id: int) -> ResponseReturnValue:
    """Cancel a post not yet published."""
    await scheduled.cancel_scheduled(api_user(), scheduled_id)
    return no_content()
