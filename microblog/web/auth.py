"""Register, log in and out, reset a forgotten password."""

from __future__ import annotations

from quart import Blueprint, flash, redirect, request, session, url_for
from quart.typing import ResponseReturnValue
from quart_auth import AuthUser, login_user, logout_user
from quart_auth import current_user as auth_user

from microblog.errors import ServiceError, ValidationFailed
from microblog.i18n import get_locale
from microblog.i18n import gettext as _
from microblog.limits import TOKEN_MAX
from microblog.models import User
from microblog.services import accounts, sessions
from microblog.services.signin_throttle import TooManyAttempts
from microblog.web.common import apply_errors, client_address, current_user, safe_next
from microblog.web.errors import retry_headers
from microblog.web.forms import (
    EmptyForm,
    LoginForm,
    RegistrationForm,
    ResetPasswordForm,
    ResetPasswordRequestForm,
)
from microblog.web.rendering import render

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/register", methods=["GET", "POST"])
async def register() -> ResponseReturnValue:
    if current_user():
        return redirect(url_for("main.index"))
    form = await RegistrationForm.create_form()
    status = 400 if request.method == "POST" else 200
    headers: dict[str, str] = {}
    if await form.validate_on_submit():
        try:
            user = await accounts.register(form.username.data, form.email.data,
                                           form.password.data, client_address())
        except ServiceError as exc:
            apply_errors(form, exc)
            status, headers = exc.status, retry_headers(exc)
        else:
            # signed in at once, the same way as through the sign-in form; the banner on
            # every page asks to confirm the address until it is
            await sign_in(user, remember=False)
            await flash(_("Welcome to Microblog, %(name)s!", name=user.username), "success")
            return redirect(url_for("main.index"))
    elif form.is_submitted:
        # the passwords differ, or a field holds what cannot be stored: still tell every
        # other problem now, not one per attempt (a field the form refused keeps its error)
        try:
            await accounts.validate_registration(
                form.username.data, form.email.data, form.password.data)
        except ValidationFailed as exc:
            others = {name: message for name, message in exc.errors.items()
                      if not (name in form._fields and form._fields[name].errors)}
            if others:
                apply_errors(form, ValidationFailed(others))
        except ServiceError as exc:
            apply_errors(form, exc)
    return await render("auth/register.html", form=form, title=_("Register")), status, headers


@bp.route("/login", methods=["GET", "POST"])
async def login() -> ResponseReturnValue:
    next_page = safe_next(request.args.get("next"))
    if current_user():
        return redirect(next_page or url_for("main.index"))
    form = await LoginForm.create_form()
    status = 200
    headers: dict[str, str] = {}
    if await form.validate_on_submit():
        try:
            user = await accounts.authenticate(form.username.data, form.password.data,
                                               client_address())
        except TooManyAttempts as exc:
            form.password.errors = [exc.message]
            status, headers = 429, {"Retry-After": str(exc.retry_after)}
        else:
            if user is None:
                form.password.errors = [_("Invalid username or password.")]
                status = 400
            else:
                await sign_in(user, remember=bool(form.remember_me.data))
                return redirect(next_page or url_for("main.index"))
    elif request.method == "POST":
        status = 400
    return await render("auth/login.html", form=form, title=_("Sign in")), status, headers


@bp.route("/logout", methods=["POST"])
async def logout() -> ResponseReturnValue:
    form = await EmptyForm.create_form()
    if await form.validate_on_submit():
        await sessions.end(auth_user.auth_id)  # a replayed cookie is refused from now on
        logout_user()
        session.clear()  # a new CSRF secret
        await flash(_("You have signed out."), "info")
    return redirect(url_for("main.index"))


async def sign_in(user: User, remember: bool) -> None:
    """Start a new server-side session for this browser: a new login cookie and a new Quart
    session (so a new CSRF secret; nothing from before signing in carries over)."""
    session.clear()
    login_user(AuthUser(await sessions.start(user, remember)), remember=remember)


@bp.route("/reset", methods=["GET", "POST"])
async def reset_password_request() -> ResponseReturnValue:
    if current_user():
        return redirect(url_for("main.index"))
    form = await ResetPasswordRequestForm.create_form()
    status = 400 if request.method == "POST" else 200
    headers: dict[str, str] = {}
    if await form.validate_on_submit():
        try:
            await accounts.request_password_reset(form.email.data, get_locale(),
                                                  client_address())
        except ServiceError as exc:
            apply_errors(form, exc)
            status = exc.status
            headers = retry_headers(exc)
        else:
            # the same words whether or not the address is registered
            await flash(_("If that address belongs to an account, we have emailed it "
                          "a link to reset the password."), "info")
            return redirect(url_for("auth.login"))
    return await render("auth/reset_request.html", form=form,
                        title=_("Reset password")), status, headers


@bp.route(f"/reset/<segment({TOKEN_MAX}):token>", methods=["GET", "POST"])
async def reset_password(token: str) -> ResponseReturnValue:
    try:
        await accounts.check_reset_token(token)
    except ServiceError as exc:
        await flash(exc.message, "danger")
        return redirect(url_for("auth.reset_password_request"))
    form = await ResetPasswordForm.create_form()
    if await form.validate_on_submit():
        try:
            await accounts.reset_password(token, form.password.data)
        except ServiceError as exc:
            if exc.status == 404:
                await flash(exc.message, "danger")
                return redirect(url_for("auth.reset_password_request"))
            apply_errors(form, exc)
        else:
            logout_user()
            await flash(_("Your password has been changed. Sign in with it now."), "success")
            return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return await render("auth/reset.html", form=form,
                                 title=_("Choose a new password")), status
