"""Pages: export my posts, watch the progress live, download the result."""

from __future__ import annotations

from quart import Blueprint, flash, redirect, url_for
from quart.typing import ResponseReturnValue

from microblog.errors import ServiceError
from microblog.i18n import gettext as _
from microblog.models import RUNNING
from microblog.services import tasks
from microblog.web.common import login_required, require_user
from microblog.web.forms import EmptyForm
from microblog.web.rendering import render

bp = Blueprint("exports", __name__)


@bp.route("/exports")
@login_required
async def list_exports() -> ResponseReturnValue:
    user = require_user()
    items = await tasks.recent_tasks(user)
    running = any(t.status in RUNNING for t in items)
    return await render("main/exports.html", title=_("Export my posts"), tasks=items,
                        running=running, form=EmptyForm())


@bp.route("/exports", methods=["POST"])
@login_required
async def start_export() -> ResponseReturnValue:
    form = EmptyForm()
    if not await form.validate_on_submit():
        await flash(_("The form expired; please try again."), "warning")
        return redirect(url_for("exports.list_exports"))
    try:
        await tasks.start_export(require_user())
    except ServiceError as exc:
        await flash(exc.message, "warning")
    else:
        # shown as "info"; the page removes it once the export is ready (static/js/live.js)
        await flash(_("Your export has started. You can leave this page: we will notify you "
                      "and email you the file when it is ready."), "export-started")
    return redirect(url_for("exports.list_exports"))
