"""Pages: the signed-in user's scheduled posts (list, edit, cancel).

Times travel as a datetime-local value plus the browser's offset from UTC (filled in by
static/js/schedule.js); without JavaScript the value is read, and shown, as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from babel import Locale
from babel.dates import format_date, format_time, get_datetime_format
from quart import Blueprint, abort, flash, redirect, request, url_for
from quart.typing import ResponseReturnValue

from microblog.errors import ServiceError, ValidationFailed
from microblog.i18n import get_locale
from microblog.i18n import gettext as _
from microblog.services import scheduled
from microblog.web.common import apply_errors, login_required, require_user
from microblog.web.forms import EmptyForm, ScheduledPostForm
from microblog.web.rendering import render

bp = Blueprint("scheduled", __name__, url_prefix="/scheduled")


def wall_time(when: datetime) -> str:
    """Date and time to the minute (a scheduled time has no seconds worth reading), as the
    clock on the wall of `when`'s own zone shows it, in the page's language."""
    locale = Locale.parse(get_locale())
    wall = when.replace(tzinfo=None)
    return (str(get_datetime_format("medium", locale=locale))
            .replace("{1}", format_date(wall, "medium", locale=locale))
            .replace("{0}", format_time(wall, "short", locale=locale)))


@bp.app_template_filter("utc_time")
def utc_time(when: datetime) -> str:
    return _("%(time)s UTC", time=wall_time(when.astimezone(UTC)))


def when_label(when: datetime, tz_offset: object) -> str:
    """The time as the user picked it: in their zone when the browser told us its offset."""
    try:
        minutes = scheduled.offset_minutes(tz_offset)
    except ValidationFailed:
        tz_offset = None
    if tz_offset in (None, ""):
        return utc_time(when)
    return wall_time(when.astimezone(timezone(-timedelta(minutes=minutes))))


def input_value(when: datetime) -> str:
    """A datetime-local input's value, in UTC (the page's script turns it into local time)."""
    value = when.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    return value.isoformat(timespec="minutes" if value.second == 0 else "seconds")


@bp.route("")
@login_required
async def index() -> ResponseReturnValue:
    page = await scheduled.list_scheduled(require_user())
    return await render("scheduled/index.html", title=_("Scheduled posts"), items=page.items,
                        form=EmptyForm(), max_pending=scheduled.PENDING_MAX)


@bp.route("/<id:scheduled_id>/edit", methods=["GET", "POST"])
@login_required
async def edit(scheduled_id: int) -> ResponseReturnValue:
    user = require_user()
    row = await scheduled.get_scheduled(user, scheduled_id)
    if row.post_id is not None:
        await flash(_("This post has already been published."), "info")
        return redirect(url_for("main.post", post_id=row.post_id))
    form = await ScheduledPostForm.create_form()
    status, utc_value = 200, None
    if await form.validate_on_submit():
        try:
            row = await scheduled.update_scheduled(
                user, scheduled_id, form.body.data or "", form.publish_at.data or "",
                form.tz_offset.data)
        except ServiceError as exc:
            apply_errors(form, exc)
            status = 400
        else:
            await flash(_("Scheduled for %(time)s.",
                          time=when_label(row.publish_at, form.tz_offset.data)), "success")
            return redirect(url_for("scheduled.index"))
    elif request.method == "POST":
        status = 400
    else:
        form.body.data = row.body
        utc_value = input_value(row.publish_at)
        form.publish_at.data = utc_value
    return await render("scheduled/edit.html", title=_("Edit scheduled post"), form=form,
                        row=row, utc_value=utc_value), status


@bp.route("/<id:scheduled_id>/cancel", methods=["POST"])
@login_required
async def cancel(scheduled_id: int) -> ResponseReturnValue:
    form = await EmptyForm.create_form()
    if not await form.validate_on_submit():
        abort(400)
    try:
        await scheduled.cancel_scheduled(require_user(), scheduled_id)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        await flash(exc.message, "danger")
    else:
        await flash(_("Cancelled: that post will not be published."), "info")
    return redirect(url_for("scheduled.index"))
