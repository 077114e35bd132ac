"""Pages: timelines, profiles, posts and comments."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError as PydanticValidationError
from quart import Blueprint, abort, flash, redirect, request, url_for
from quart.typing import ResponseReturnValue

from microblog import schemas
from microblog.errors import ServiceError, ValidationFailed
from microblog.i18n import get_locale, language_name
from microblog.i18n import gettext as _
from microblog.limits import BIGINT_MAX
from microblog.models import NotificationKind, User
from microblog.realtime import presence
from microblog.realtime.rooms import author_room, explore_room, user_room
from microblog.services import (
    accounts,
    engagement,
    notifications,
    posts,
    scheduled,
    social,
    tags,
    translation,
)
from microblog.services.pagination import PageRequest
from microblog.text import parse_int
from microblog.web.common import (
    apply_errors,
    current_user,
    error_response,
    login_required,
    require_user,
    safe_next,
    wants_json,
)
from microblog.web.forms import (
    CommentForm,
    EditPostForm,
    EditProfileForm,
    EmptyForm,
    PostForm,
)
from microblog.web.rendering import Spliced, blank_form, feed_rooms, fragment, render
from microblog.web.scheduled import when_label

bp = Blueprint("main", __name__)


def page_request() -> PageRequest:
    return PageRequest.parse(request.args.get("page"), None)


@bp.route("/index", methods=["GET", "POST"])
@bp.route("/", methods=["GET", "POST"])  # registered first: url_for gives "/"
async def index() -> ResponseReturnValue:
    user = current_user()
    if user is None:  # visitors: what people are saying, and how to join
        return await render("main/welcome.html", title=_("Welcome"),
                            recent=await posts.explore(PageRequest(1, 10)))
    if request.method == "GET":  # the usual case: an empty composer, rendered once
        return await render("main/index.html", title=_("Home"), composer=await blank_form(
            "main/_composer.html", "composer_form", PostForm), feed=await home_feed(user))
    form = await PostForm.create_form()
    if await form.validate_on_submit():
        later = None
        try:
            if form.publish_at.data:  # for later: not a post until the worker publishes it
                later = await scheduled.schedule_post(
                    user, form.post.data, form.publish_at.data, form.tz_offset.data)
            else:
                await posts.create_post(user, form.post.data)
        except ServiceError as exc:
            apply_errors(form, exc)
        else:
            if later is not None:
                await flash(_("Scheduled for %(time)s.", time=when_label(
                    later.publish_at, form.tz_offset.data)), "success")
                return redirect(url_for("scheduled.index"))
            await flash(_("Your post is now live!"), "success")
            return redirect(url_for("main.index"))
    return await render("main/index.html", title=_("Home"), form=form,
                        feed=await home_feed(user)), 400


HOME_TTL = 300  # seconds a rendered first page of a home timeline may be kept
EXPLORE_TTL = 30  # explore's: every new post anywhere replaces it anyway
PROFILE_TTL = 300


async def home_feed(user: User) -> Spliced:
    """The home timeline's page: its first page from the page cache (per reader)."""
    req = page_request()

    async def load() -> tuple[dict[str, Any], list[str] | None]:
        page = await posts.home_timeline(user, req)
        # an empty home invites you in: people to follow (not kept: they change)
        suggested = await social.suggestions(user) if len(page.items) < 5 else []
        context = {"page": page, "endpoint": "main.index", "suggested": suggested,
                   "label": _("Your timeline"), "stream": "home", "empty": _(
                       "Nothing here yet. Post something, or find people to follow on "
                       "Explore.")}
        if suggested:
            return context, None
        followed = await social.followed_ids(user)
        return context, [user_room(user.id), *map(author_room, [*followed, user.id]),
                         *feed_rooms(page.items)]

    return await fragment("home", (user.id,), HOME_TTL, load, cached=req.page == 1)


@bp.route("/explore")
async def explore() -> ResponseReturnValue:
    viewer = current_user()
    req = page_request()

    async def load() -> tuple[dict[str, Any], list[str] | None]:
        page = await posts.explore(req, viewer=viewer)
        context = {"page": page, "endpoint": "main.explore", "label": _("Everyone's posts"),
                   "stream": "explore", "empty": _("No posts yet.")}
        return context, [explore_room(), *reader_rooms(viewer), *feed_rooms(page.items)]

    async def load_aside() -> tuple[dict[str, Any], list[str] | None]:
        suggested = await social.suggestions(viewer) if viewer else []
        # the people suggested: their names and about-me lines
        return {"trending": await tags.trending(), "suggested": suggested}, [
            *reader_rooms(viewer), *(author_room(person.id) for person in suggested)]

    reader = (viewer.id if viewer else 0,)
    return await render("main/explore.html", title=_("Explore"), feed=await fragment(
        "explore", reader, EXPLORE_TTL, load, cached=req.page == 1), aside=await fragment(
        "explore-aside", reader, EXPLORE_TTL, load_aside, cached=not request.args,
        template="main/_explore_aside.html"))


@bp.route("/tags/<segment:name>")
async def tag(name: str) -> ResponseReturnValue:
    """A hashtag's posts, newest first; new ones arrive live (stream tag:<name>)."""
    canonical = tags.clean_tag(name)
    page = await tags.tagged(canonical, page_request(), viewer=current_user())
    return await render("main/tag.html", title=f"#{canonical}", tag=canonical, page=page,
                        endpoint="main.tag", trending=await tags.trending())


@bp.route("/user/<username:username>")
async def user(username: str) -> ResponseReturnValue:
    viewer = current_user()
    profile, following, blocked = await social.profile(username, viewer)
    req = page_request()

    async def load() -> tuple[dict[str, Any], list[str] | None]:
        page = await posts.posts_by(profile, req, viewer=viewer)
        context = {"page": page, "endpoint": "main.user", "label": _("Posts"),
                   "stream": f"user:{profile.id}", "empty": _("No posts yet."),
                   "pager_args": {"username": profile.username}}
        return context, [author_room(profile.id), *reader_rooms(viewer),
                         *feed_rooms(page.items)]

    return await render(
        "main/user.html", title=profile.username, profile=profile, counts=social.counts(
            profile), following=following, blocked=blocked,
        online=await presence.is_online(profile.id),
        feed=await fragment("profile", (profile.id, viewer.id if viewer else 0), PROFILE_TTL, load,
                        cached=req.page == 1))


def reader_rooms(viewer: User | None) -> list[str]:
    """A reader's own room: their follows and blocks change what pages show them."""
    return [user_room(viewer.id)] if viewer is not None else []


@bp.route("/user/<username:username>/followers")
async def followers(username: str) -> ResponseReturnValue:
    profile = await accounts.get_user_by_username(username)
    page = await social.followers(profile, page_request())
    viewer = current_user()
    follow_back: set[int] = set()  # on your own list: those you do not follow yet
    if viewer is not None and viewer.id == profile.id:
        ids = [person.id for person in page.items]
        follow_back = set(ids) - await social.followed_among(viewer, ids)
    return await render("main/people.html", profile=profile, page=page,
                                 title=_("Followers of %(name)s", name=profile.username),
                                 endpoint="main.followers", follow_back=follow_back)


@bp.route("/user/<username:username>/following")
async def following(username: str) -> ResponseReturnValue:
    profile = await accounts.get_user_by_username(username)
    page = await social.following(profile, page_request())
    return await render("main/people.html", profile=profile, page=page,
                                 title=_("People %(name)s follows", name=profile.username),
                                 endpoint="main.following")


@bp.route("/edit_profile", methods=["GET", "POST"])
@login_required
async def edit_profile() -> ResponseReturnValue:
    user = require_user()
    form = await EditProfileForm.create_form()
    if await form.validate_on_submit():
        try:
            await accounts.update_profile(user, form.username.data, form.about_me.data)
        except ServiceError as exc:
            apply_errors(form, exc)
        else:
            await flash(_("Your changes have been saved."), "success")
            return redirect(url_for("main.user", username=user.username))
    elif request.method == "GET":
        form.username.data = user.username
        form.about_me.data = user.about_me
    status = 400 if request.method == "POST" else 200
    return await render("main/edit_profile.html", title=_("Edit profile"),
                                 form=form), status


@bp.route("/follow/<username:username>", methods=["POST"])
@login_required
async def follow(username: str) -> ResponseReturnValue:
    return await _follow_action(username, follow=True)


@bp.route("/unfollow/<username:username>", methods=["POST"])
@login_required
async def unfollow(username: str) -> ResponseReturnValue:
    return await _follow_action(username, follow=False)


async def _follow_action(username: str, follow: bool) -> ResponseReturnValue:
    form = await EmptyForm.create_form()
    if not await form.validate_on_submit():
        abort(400)
    user = require_user()
    target = await accounts.get_user_by_username(username)
    try:
        if follow:
            await social.follow(user, target)
            await flash(_("You are following %(name)s.", name=target.username), "success")
        else:
            await social.unfollow(user, target)
            await flash(_("You are not following %(name)s.", name=target.username), "info")
    except ServiceError as exc:
        await flash(exc.message, "danger")
        return redirect(url_for("main.user", username=target.username)), 400
    return redirect(safe_next(request.args.get("next"))
                    or url_for("main.user", username=target.username))


@bp.route("/post/<id:post_id>", methods=["GET", "POST"])
async def post(post_id: int) -> ResponseReturnValue:
    item = await posts.get_post(post_id)
    form = await CommentForm.create_form()
    status = 200
    if request.method == "POST":
        user = current_user()
        if user is None:
            return redirect(url_for("auth.login", next=request.path))
        status = 400
        if await form.validate_on_submit():
            try:
                await posts.add_comment(user, post_id, form.body.data)
            except ServiceError as exc:
                apply_errors(form, exc)
                status = exc.status  # 403 for someone the author blocked
            else:
                await flash(_("Your comment has been added."), "success")
                return redirect(url_for("main.post", post_id=post_id))
    comments = await posts.comments(item, page_request())
    viewer = current_user()
    view = await posts.view_of(post_id, viewer.id if viewer is not None else None)
    return await render(
        "main/post.html", title=_("Post by %(name)s", name=item.author.username), post=view,
        form=form, comments=comments, delete_form=EmptyForm()), status


@bp.route("/post/<id:post_id>/delete", methods=["POST"])
@login_required
async def delete_post(post_id: int) -> ResponseReturnValue:
    form = await EmptyForm.create_form()
    if not await form.validate_on_submit():
        abort(400)
    user = require_user()
    await posts.delete_post(user, post_id)
    await flash(_("Your post has been deleted."), "info")
    return redirect(url_for("main.user", username=user.username))


@bp.route("/post/<id:post_id>/edit", methods=["GET", "POST"])
@login_required
async def edit_post(post_id: int) -> ResponseReturnValue:
    """The author's form to change a post's text (a fetch with JSON `{body}` from the card's
    Edit action gets the post as the API shows it)."""
    user = require_user()
    item = await posts.get_post(post_id)
    if item.author_id != user.id:  # type: ignore[attr-defined]
        abort(403)
    if request.method == "POST" and wants_json():
        body = await request.get_json(silent=True)
        text = body.get("body") if isinstance(body, dict) else None
        view = await posts.edit_post(user, post_id, text)
        return schemas.Post.of(view).model_dump(mode="json")
    form = await EditPostForm.create_form()
    status = 200
    if await form.validate_on_submit():
        try:
            await posts.edit_post(user, post_id, form.post.data)
        except ServiceError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            await flash(_("Your post has been updated."), "success")
            return redirect(url_for("main.post", post_id=post_id))
    elif request.method == "POST":
        status = 400
    else:
        form.post.data = item.body
    return await render("main/edit_post.html", title=_("Edit post"), form=form, post=item), status


@bp.route("/post/<id:post_id>/history")
async def post_history(post_id: int) -> ResponseReturnValue:
    item, edits = await posts.history(post_id)
    return await render("main/history.html", title=_("Edit history"), post=item, edits=edits)


@bp.route("/post/<id:post_id>/<any(like, unlike, repost, unrepost):action>", methods=["POST"])
async def react(post_id: int, action: str) -> ResponseReturnValue:
    """The card's like and repost buttons: a fetch with the CSRF header gets the counts as
    JSON; a plain form goes back where it came from."""
    user = current_user()
    if user is None:
        if wants_json():
            return error_response(401, _("Sign in to like or repost."))
        return redirect(url_for("auth.login", next=url_for("main.post", post_id=post_id)))
    form = await EmptyForm.create_form()
    if not wants_json() and not await form.validate_on_submit():
        abort(400)
    change = {"like": engagement.like, "unlike": engagement.unlike,
              "repost": engagement.repost, "unrepost": engagement.unrepost}[action]
    try:
        counts = await change(user, post_id)
    except ServiceError as exc:
        if wants_json():
            raise
        await flash(exc.message, "danger")
        return redirect(safe_next(request.args.get("next"))
                        or url_for("main.post", post_id=post_id))
    if wants_json():
        return {"id": counts.id, "like_count": counts.like_count,
                "repost_count": counts.repost_count, "comment_count": counts.comment_count,
                "liked": counts.liked, "reposted": counts.reposted}
    return redirect(safe_next(request.args.get("next")) or url_for("main.post", post_id=post_id))


@bp.route("/post/<id:post_id>/translate", methods=["POST"])
async def translate_post(post_id: int) -> ResponseReturnValue:
    """The Translate link under a post (a fetch with the CSRF header): JSON only."""
    return await _translated("post", post_id)


@bp.route("/comment/<id:comment_id>/translate", methods=["POST"])
async def translate_comment(comment_id: int) -> ResponseReturnValue:
    return await _translated("comment", comment_id)


async def _translated(kind: translation.Kind, item_id: int) -> ResponseReturnValue:
    """The API's translation plus what the page shows: the source language's name in the
    reader's language and the service's name."""
    user = current_user()
    if user is None:
        return error_response(401, _("Sign in to translate."))
    body = await request.get_json(silent=True)
    try:
        data = schemas.TranslationRequest.model_validate(body if body is not None else {})
    except PydanticValidationError as exc:
        raise ValidationFailed(schemas.field_errors(exc)) from None
    target = translation.clean_target(data.lang, get_locale())
    if kind == "post":
        view = await translation.translate_post(user, item_id, target)
    else:
        view = await translation.translate_comment(user, item_id, target)
    return {**schemas.Translation.of(view).model_dump(mode="json"),
            "source_name": language_name(view.source_language),
            "provider_name": view.provider_title}


@bp.route("/language", methods=["POST"])
async def language() -> ResponseReturnValue:
    """Choose the interface language: stored on the account, or in a cookie when signed out."""
    form = await request.form
    response = redirect(safe_next(form.get("next")) or url_for("main.index"))
    user = current_user()
    try:
        choice = accounts.clean_locale(form.get("locale"))
        if user is not None:
            await accounts.set_locale(user, choice)
    except ServiceError:
        abort(400)
    if choice:
        response.set_cookie("locale", choice, max_age=365 * 86400, samesite="Lax",
                            httponly=True)
    else:
        response.delete_cookie("locale")
    return response


@bp.route("/notifications")
@login_required
async def notifications_page() -> ResponseReturnValue:
    user = require_user()
    # the Mentions tab (?kind=mention); anything else is the All tab
    kind = NotificationKind.MENTION if request.args.get("kind") == "mention" else None
    page = await notifications.notifications(user, page_request(), kind=kind)
    return await render("main/notifications.html", title=_("Notifications"), page=page,
                        endpoint="main.notifications_page", form=EmptyForm(), kind=kind)


@bp.route("/notifications/read", methods=["POST"])
@login_required
async def notifications_read() -> ResponseReturnValue:
    """Mark all read (the page's form, or the bell menu's fetch with the CSRF header)."""
    form = await request.form
    raw = form.get("up_to_id") or None  # absent or empty: everything
    up_to = parse_int(raw, BIGINT_MAX)
    if raw is not None and up_to is None:  # never "all" for a value we cannot read
        raise ValidationFailed({"up_to_id": _(
            "up_to_id must be a notification id: a whole number from 0 to %(max)d.",
            max=BIGINT_MAX)})
    unread = await notifications.mark_read(require_user(), up_to)
    if wants_json():
        return {"unread": unread}
    return redirect(url_for("main.notifications_page"))
