"""WTForms forms. Rules live in the services; forms carry fields, labels and CSRF."""

from __future__ import annotations

from quart_wtf import QuartForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import EqualTo

from microblog.i18n import lazy_gettext as _l
from microblog.limits import (
    ABOUT_ME_MAX,
    COMMENT_MAX,
    EMAIL_MAX,
    MESSAGE_MAX,
    POST_MAX,
    USERNAME_MAX,
)


class LoginForm(QuartForm):
    username = StringField(_l("Username or email"),
                           render_kw={"autocomplete": "username", "required": True})
    password = PasswordField(_l("Password"),
                             render_kw={"autocomplete": "current-password", "required": True})
    remember_me = BooleanField(_l("Remember me"))
    submit = SubmitField(_l("Sign in"))


class RegistrationForm(QuartForm):
    username = StringField(_l("Username"), render_kw={
        "autocomplete": "username", "maxlength": USERNAME_MAX, "required": True})
    email = EmailField(_l("Email"), render_kw={
        "autocomplete": "email", "maxlength": EMAIL_MAX, "required": True})
    password = PasswordField(_l("Password"),
                             render_kw={"autocomplete": "new-password", "required": True})
    password2 = PasswordField(
        _l("Repeat password"), validators=[EqualTo("password", _l("Passwords must match."))],
        render_kw={"autocomplete": "new-password", "required": True})
    submit = SubmitField(_l("Register"))


class ResetPasswordRequestForm(QuartForm):
    email = EmailField(_l("Email"), render_kw={"autocomplete": "email", "required": True})
    submit = SubmitField(_l("Request password reset"))


class ResetPasswordForm(QuartForm):
    password = PasswordField(_l("New password"),
                             render_kw={"autocomplete": "new-password", "required": True})
    password2 = PasswordField(
        _l("Repeat password"), validators=[EqualTo("password", _l("Passwords must match."))],
        render_kw={"autocomplete": "new-password", "required": True})
    submit = SubmitField(_l("Set password"))


class EditProfileForm(QuartForm):
    username = StringField(_l("Username"),
                           render_kw={"maxlength": USERNAME_MAX, "required": True})
    about_me = TextAreaField(_l("About me"), render_kw={"maxlength": ABOUT_ME_MAX, "rows": 3})
    submit = SubmitField(_l("Save"))


class PostForm(QuartForm):
    post = TextAreaField(_l("Say something"), render_kw={
        "maxlength": POST_MAX, "rows": 3, "required": True})
    # optional; static/js/schedule.js fills tz_offset so the time is read as the browser's
    publish_at = StringField(_l("Schedule for later"),
                             render_kw={"type": "datetime-local", "data-schedule": ""})
    tz_offset = HiddenField()
    submit = SubmitField(_l("Post"))


class ScheduledPostForm(QuartForm):
    body = TextAreaField(_l("Text"), render_kw={
        "maxlength": POST_MAX, "rows": 3, "required": True})
    publish_at = StringField(_l("Publish at"), render_kw={
        "type": "datetime-local", "data-schedule": "", "required": True})
    tz_offset = HiddenField()
    submit = SubmitField(_l("Save"))


class CommentForm(QuartForm):
    body = TextAreaField(_l("Add a comment"), render_kw={
        "maxlength": COMMENT_MAX, "rows": 2, "required": True})
    submit = SubmitField(_l("Comment"))


class MessageForm(QuartForm):
    body = TextAreaField(_l("Message"), render_kw={
        "maxlength": MESSAGE_MAX, "rows": 2, "required": True})
    submit = SubmitField(_l("Send"))


class NotificationSettingsForm(QuartForm):
    email_on_follow = BooleanField(_l("Someone follows me"))
    email_on_comment = BooleanField(_l("Someone comments on my post"))
    email_on_messages = BooleanField(_l(
        "I have private messages I have not read for a while (one email for all of them)"))
    submit = SubmitField(_l("Save"))


class EmptyForm(QuartForm):
    """A POST button (follow, unfollow, log out, delete): only CSRF."""

    submit = SubmitField(_l("Submit"))
