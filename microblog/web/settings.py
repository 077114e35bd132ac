"""Settings pages: the account (password, signing out everywhere, deleting it), which emails
a user gets, and the one-click unsubscribe links in them."""

from __future__ import annotations

from quart import Blueprint, flash, redirect, request, session, url_for
from quart.typing import ResponseReturnValue
from quart_auth import current_user as auth_user
from quart_auth import logout_user

from microblog.errors import ServiceError, ValidationFailed
from microblog.i18n import gettext as _
from microblog.limits import TOKEN_MAX
from microblog.services import accounts, emails, sessions
from microblog.web.auth import sign_in
from microblog.web.common import apply_errors, client_address, login_required, require_user
from microblog.web.errors import retry_headers
from microblog.web.forms import (
    ChangePasswordForm,
    DeleteAccountForm,
    EmptyForm,
    NotificationSettingsForm,
)
from microblog.web.rendering import render

bp = Blueprint("settings", __name__)


def kind_names() -> dict[str, str]:
    return {
        "follow": _("new followers"),
        "comment": _("comments on your posts"),
        "mention": _("mentions of you"),
        "messages": _("private messages you have not read"),
    }


# --- the account: three forms on one page, each posting to its own address ------------------


async def account_page(status: int = 200, headers: dict[str, str] | None = None,
                       password_form: ChangePasswordForm | None = None,
                       delete_form: DeleteAccountForm | None = None) -> ResponseReturnValue:
    """The page, with the form that was just refused (its errors shown) and fresh others."""
    return await render(
        "settings/account.html", title=_("Account settings"),
        password_form=password_form or await ChangePasswordForm.create_form(formdata=None),
        sign_out_form=await EmptyForm.create_form(formdata=None),
        delete_form=delete_form or await DeleteAccountForm.create_form(formdata=None),
    ), status, headers or {}


@bp.route("/settings/account")
@login_required
async def account() -> ResponseReturnValue:
    return await account_page()


def remembered() -> bool:
    """Whether this browser's session was one to remember (the new one will be too)."""
    current = sessions.parse(auth_user.auth_id)
    return current is not None and current.ttl == sessions.REMEMBERED_TTL


@bp.route("/settings/account/password", methods=["POST"])
@login_required
async def change_password() -> ResponseReturnValue:
    user = require_user()
    form = await ChangePasswordForm.create_form()
    if not await form.validate_on_submit():
        # the repeat differs (or a field holds what cannot be stored): a new password that
        # the rules refuse is told now too, not after the next attempt
        if not form.password.errors:
            try:
                accounts.clean_password(form.password.data, username=user.username,
                                        email=user.email)
            except ValidationFailed as exc:
                apply_errors(form, exc)
        return await account_page(400, password_form=form)
    try:
        await accounts.change_password(user, form.password.data,
                                       current_password=form.current_password.data,
                                       address=client_address())
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return await account_page(exc.status, password_form=form)
    except ServiceError as exc:  # too many wrong passwords: TooManyAttempts
        form.current_password.errors = [exc.message]
        return await account_page(exc.status, retry_headers(exc), password_form=form)
    # every session ended with the old password, this one too: this browser gets a new one
    await sign_in(user, remember=remembered())
    await flash(_("Your password has been changed; you were signed out everywhere else."),
                "success")
    return redirect(url_for("settings.account"))


@bp.route("/settings/account/sign-out-everywhere", methods=["POST"])
@login_required
async def sign_out_everywhere() -> ResponseReturnValue:
    user = require_user()
    form = await EmptyForm.create_form()
    if not await form.validate_on_submit():
        return await account_page(400)
    await sessions.end_all(user.id)  # API tokens stay: they are revoked one by one
    logout_user()
    session.clear()
    await flash(_("You have been signed out on every device, this one too."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/settings/account/delete", methods=["POST"])
@login_required
async def delete_account() -> ResponseReturnValue:
    user = require_user()
    form = await DeleteAccountForm.create_form()
    if not await form.validate_on_submit():
        return await account_page(400, delete_form=form)
    if not form.confirm.data:  # asked first: no password attempt is counted without it
        form.confirm.errors = [_("Tick the box to confirm that you want this.")]
        return await account_page(400, delete_form=form)
    try:
        await accounts.delete_account(user, form.delete_password.data,
                                      address=client_address())
    except ServiceError as exc:
        form.delete_password.errors = [exc.message]
        return await account_page(exc.status, retry_headers(exc), delete_form=form)
    logout_user()
    session.clear()
    await flash(_("Your account has been deleted."), "info")
    return redirect(url_for("main.index"))


# --- email notifications ------------------------------------------------------------------


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
async def notifications() -> ResponseReturnValue:
    user = require_user()
    form = await NotificationSettingsForm.create_form()
    if await form.validate_on_submit():
        await emails.set_preferences(
            user, follow=bool(form.email_on_follow.data),
            comment=bool(form.email_on_comment.data),
            mention=bool(form.email_on_mention.data),
            messages=bool(form.email_on_messages.data))
        await flash(_("Your email settings have been saved."), "success")
        return redirect(url_for("settings.notifications"))
    if request.method == "GET":
        form.email_on_follow.data = user.email_on_follow
        form.email_on_comment.data = user.email_on_comment
        form.email_on_mention.data = user.email_on_mention
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
