"""Settings pages: which emails a user gets, and the one-click unsubscribe links in them."""

from __future__ import annotations

from quart import Blueprint, flash, redirect, request, url_for
from quart.typing import ResponseReturnValue

from microblog.i18n import gettext as _
from microblog.limits import TOKEN_MAX
from microblog.services import emails
from microblog.web.common import login_required, require_user
from microblog.web.forms import EmptyForm, NotificationSettingsForm
from microblog.web.rendering import render

bp = Blueprint("settings", __name__)


def kind_names() -> dict[str, str]:
    return {
        "follow": _("new followers"),
        "comment": _("comments on your posts"),
        "messages": _("private messages you have not read"),
    }


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
async def notifications() -> ResponseReturnValue:
    user = require_user()
    form = await NotificationSettingsForm.create_form()
    if await form.validate_on_submit():
        await emails.set_preferences(
            user, follow=bool(form.email_on_follow.data),
            comment=bool(form.email_on_comment.data),
            messages=bool(form.email_on_messages.data))
        await flash(_("Your email settings have been saved."), "success")
        return redirect(url_for("settings.notifications"))
    if request.method == "GET":
        form.email_on_follow.data = user.email_on_follow
        form.email_on_comment.data = user.email_on_comment
        form.email_on_messages.data = user.email_on_messages
    status = 400 if request.method == "POST" else 200
    return await render("settings/notifications.html", form=form,
                        title=_("Email settings")), status


# Exempt from CSRF in create_app: the signed token is the credential, and a mail client's
# one-click unsubscribe (RFC 8058) POSTs here with no cookie and no form token. A GET changes
# nothing (mail scanners and link previews open every link in an email): it shows a button
# that POSTs what a mail client sends. A bad token raises BadUnsubscribeLink, a 400 page.
@bp.route(f"/unsubscribe/<segment({TOKEN_MAX}):token>", methods=["GET", "POST"])
async def unsubscribe(token: str) -> ResponseReturnValue:
    if request.method != "POST":  # GET and HEAD
        _user, kind = await emails.unsubscribe_target(token)
        return await render("settings/unsubscribe.html", token=token,
                            kind_name=kind_names()[kind], title=_("Unsubscribe"))
    _user, kind = await emails.unsubscribe(token)
    return await render("settings/unsubscribed.html", token=token, form=EmptyForm(),
                        kind_name=kind_names()[kind], subscribed=False,
                        title=_("Unsubscribed"))


@bp.route(f"/unsubscribe/<segment({TOKEN_MAX}):token>/undo", methods=["POST"])
async def resubscribe(token: str) -> ResponseReturnValue:
    _user, kind = await emails.resubscribe(token)
    return await render("settings/unsubscribed.html", token=token, form=EmptyForm(),
                        kind_name=kind_names()[kind], subscribed=True,
                        title=_("Subscribed again"))
