"""Private messages pages: the inbox, a conversation, and a form POST that needs no JS."""

from __future__ import annotations

from quart import Blueprint, flash, redirect, request, url_for
from quart.typing import ResponseReturnValue

from microblog.errors import ServiceError
from microblog.i18n import gettext as _
from microblog.services import accounts, messages
from microblog.web.common import login_required, require_user, safe_next
from microblog.web.forms import EmptyForm, MessageForm
from microblog.web.rendering import render

bp = Blueprint("messages", __name__, url_prefix="/messages")


@bp.route("")
@login_required
async def inbox() -> ResponseReturnValue:
    user = require_user()
    return await render("messages/inbox.html", title=_("Messages"),
                        conversations=await messages.conversations(user))


@bp.route("/<username:username>", methods=["GET", "POST"])
@login_required
async def conversation(username: str) -> ResponseReturnValue:
    user = require_user()
    partner = await accounts.get_user_by_username(username)
    form = await MessageForm.create_form()
    status = 200
    if await form.validate_on_submit():
        try:
            await messages.send_message(user, partner.username, form.body.data)
        except ServiceError as exc:
            await flash(exc.message, "danger")
            status = exc.status
        else:
            return redirect(url_for("messages.conversation", username=partner.username))
    elif request.method == "POST":
        status = 400
        for error in form.body.errors:  # shown as a service's errors are (the box has none)
            await flash(error, "danger")
    page = await messages.history(user, partner)
    newest_from_partner = next((m.id for m in page.items if m.sender.id == partner.id), None)
    if newest_from_partner is not None and request.method == "GET":
        # the page shows them: they are read
        await messages.mark_read(user, partner, newest_from_partner)
    my_read, partner_read = await messages.conversation_state(user, partner)
    return await render(
        "messages/conversation.html", title=partner.username, partner=partner, form=form,
        items=list(reversed(page.items)), has_older=page.has_next, partner_read_id=partner_read,
        blocked=await messages.is_blocked(user, partner),
        blocked_by=await messages.is_blocked(partner, user)), status


@bp.route("/deleted/<id:conversation_id>/remove", methods=["POST"])
@login_required
async def remove_deleted(conversation_id: int) -> ResponseReturnValue:
    """Take a deleted account's conversation out of the inbox."""
    form = await EmptyForm.create_form()
    if await form.validate_on_submit():
        await messages.remove_deleted_conversation(require_user(), conversation_id)
    return redirect(url_for("messages.inbox"))


@bp.route("/block/<username:username>", methods=["POST"])
@login_required
async def block(username: str) -> ResponseReturnValue:
    return await _block(username, True)


@bp.route("/unblock/<username:username>", methods=["POST"])
@login_required
async def unblock(username: str) -> ResponseReturnValue:
    return await _block(username, False)


async def _block(username: str, block: bool) -> ResponseReturnValue:
    form = await EmptyForm.create_form()
    target = await accounts.get_user_by_username(username)
    if await form.validate_on_submit():
        try:
            if block:
                await messages.block(require_user(), target)
                await flash(_("You blocked %(name)s. They cannot message or follow you.",
                              name=target.username), "info")
            else:
                await messages.unblock(require_user(), target)
                await flash(_("You unblocked %(name)s.", name=target.username), "info")
        except ServiceError as exc:
            await flash(exc.message, "danger")
    return redirect(safe_next(request.args.get("next"))
                    or url_for("main.user", username=target.username))
