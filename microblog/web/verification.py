"""Confirming an email address (the emailed link, "Send it again") and changing it."""

from __future__ import annotations

from quart import Blueprint, flash, redirect, request, url_for
from quart.typing import ResponseReturnValue

from microblog.errors import ServiceError, ValidationFailed
from microblog.i18n import get_locale
from microblog.i18n import gettext as _
from microblog.limits import TOKEN_MAX
from microblog.services import verification
from microblog.services.signin_throttle import TooManyAttempts
from microblog.services.verification import LinkKind
from microblog.web.common import (
    apply_errors,
    client_address,
    current_user,
    login_required,
    require_user,
    safe_next,
)
from microblog.web.errors import retry_headers
from microblog.web.forms import EmailChangeForm, EmptyForm
from microblog.web.rendering import render

bp = Blueprint("verification", __name__)


# A GET changes nothing (mail scanners and link previews open every link in an email): it
# shows what the link confirms and a button that POSTs. A bad link is a 404 page, an
# expired one a 400 page (emails.read_verification_token).
@bp.route(f"/auth/verify/<segment({TOKEN_MAX}):token>", methods=["GET", "POST"])
async def verify(token: str) -> ResponseReturnValue:
    if request.method != "POST":  # GET and HEAD
        link = await verification.link_target(token)
        return await render("auth/verify.html", link=link, token=token, form=EmptyForm(),
                            title=_("Confirm your email address"))
    form = await EmptyForm.create_form()
    if not await form.validate_on_submit():  # CSRF failures never get here (a 400 page)
        return redirect(url_for("verification.verify", token=token))
    link = await verification.confirm(token)
    if link.kind is LinkKind.CHANGE:
        await flash(_("Your email address is now %(email)s.", email=link.address), "success")
    else:
        await flash(_("Thank you: your email address %(email)s is confirmed.",
                      email=link.address), "success")
    return redirect(url_for("main.index") if current_user() else url_for("auth.login"))


@bp.route("/settings/email/resend", methods=["POST"])
@login_required
async def resend() -> ResponseReturnValue:
    """The banner's "Send it again". Past ratelimit.VERIFICATION_EMAILS: a 429 page."""
    user = require_user()
    form = await EmptyForm.create_form()
    back = safe_next((await request.form).get("next")) or url_for("main.index")
    if await form.validate_on_submit():
        if await verification.resend(user, get_locale()):
            await flash(_("We sent a new link to %(email)s. It works for 48 hours.",
                          email=user.email), "info")
        else:
            await flash(_("Your email address is already confirmed."), "info")
    return redirect(back)


@bp.route("/settings/email", methods=["GET", "POST"])
@login_required
async def email_settings() -> ResponseReturnValue:
    user = require_user()
    form = await EmailChangeForm.create_form()
    status = 400 if request.method == "POST" else 200
    headers: dict[str, str] = {}
    if await form.validate_on_submit():
        try:
            address = await verification.request_change(
                user, form.email.data, form.email_password.data, client_address(),
                get_locale())
        except TooManyAttempts as exc:  # password guessing: shown under the password
            form.email_password.errors = [exc.message]
            status, headers = 429, retry_headers(exc)
        except ValidationFailed as exc:
            apply_errors(form, ValidationFailed({
                ("email_password" if name == "password" else name): message
                for name, message in exc.errors.items()}))
        except ServiceError as exc:
            apply_errors(form, exc)
            status, headers = exc.status, retry_headers(exc)
        else:
            await flash(_("We sent a link to %(email)s. Open it within 48 hours to start "
                          "using that address.", email=address), "info")
            return redirect(url_for("verification.email_settings"))
    return await render("settings/email.html", form=form, cancel_form=EmptyForm(),
                        title=_("Email address")), status, headers


@bp.route("/settings/email/cancel", methods=["POST"])
@login_required
async def cancel_change() -> ResponseReturnValue:
    form = await EmptyForm.create_form()
    if await form.validate_on_submit():
        await verification.cancel_change(require_user())
        await flash(_("The change of email address is cancelled."), "info")
    return redirect(url_for("verification.email_settings"))
