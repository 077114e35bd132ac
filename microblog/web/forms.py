"""WTForms forms. Rules live in the services; forms carry fields, labels and CSRF, and
refuse, as the first line, text the database cannot store (`Storable` on every text field)."""

from __future__ import annotations

from typing import Any

from quart_wtf import QuartForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    Form,
    HiddenField,
    PasswordField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import EqualTo, StopValidation

from microblog.i18n import lazy_gettext as _l
from microblog.limits import (
    ABOUT_ME_MAX,
    COMMENT_MAX,
    EMAIL_MAX,
    MESSAGE_MAX,
    PASSWORD_MIN,
    POST_MAX,
    USERNAME_MAX,
)
from microblog.text import text_problem


class Storable:
    """Refuses text that cannot be stored (a NUL, a lone surrogate: microblog.text's one check)
    with the field's error, before any service or query sees it; no later validator runs.
    Put it first on every text field (services check again: services.errors.storable)."""

    field_flags: dict[str, Any] = {}

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, str):
            problem = text_problem(field.data)
            if problem is not None:
                raise StopValidation(problem)


class _ShowsHiddenErrors(QuartForm):
    """A form whose hidden inputs' errors show on the visible field they belong to
    (`hidden_errors_on`: hidden field name -> visible field name): a hidden input has
    nowhere to show one."""

    hidden_errors_on: dict[str, str] = {}

    async def validate(self, extra_validators: dict[str, Any] | None = None) -> bool:
        valid: bool = await super().validate(extra_validators)
        for hidden, visible in self.hidden_errors_on.items():
            target = self._fields[visible]
            new = [e for e in self._fields[hidden].errors if e not in target.errors]
            target.errors = [*target.errors, *new]
        return valid


class LoginForm(QuartForm):
    username = StringField(_l("Username or email"), validators=[Storable()],
                           render_kw={"autocomplete": "username", "required": True})
    password = PasswordField(_l("Password"), validators=[Storable()],
                             render_kw={"autocomplete": "current-password", "required": True})
    remember_me = BooleanField(_l("Remember me"))
    submit = SubmitField(_l("Sign in"))


# under a new password's field (microblog/passwords.py has the rules)
NEW_PASSWORD_HELP = _l(
    "At least %(min)d characters. A few unrelated words make a strong, memorable password; "
    "common passwords and your username are refused.", min=PASSWORD_MIN)


class RegistrationForm(QuartForm):
    username = StringField(_l("Username"), validators=[Storable()], render_kw={
        "autocomplete": "username", "maxlength": USERNAME_MAX, "required": True})
    email = EmailField(_l("Email"), validators=[Storable()], render_kw={
        "autocomplete": "email", "maxlength": EMAIL_MAX, "required": True})
    password = PasswordField(_l("Password"), validators=[Storable()],
                             description=NEW_PASSWORD_HELP,
                             render_kw={"autocomplete": "new-password", "required": True})
    password2 = PasswordField(
        _l("Repeat password"),
        validators=[Storable(), EqualTo("password", _l("Passwords must match."))],
        render_kw={"autocomplete": "new-password", "required": True})
    submit = SubmitField(_l("Register"))


class ResetPasswordRequestForm(QuartForm):
    email = EmailField(_l("Email"), validators=[Storable()],
                       render_kw={"autocomplete": "email", "required": True})
    submit = SubmitField(_l("Request password reset"))


class ResetPasswordForm(QuartForm):
    password = PasswordField(_l("New password"), validators=[Storable()],
                             description=NEW_PASSWORD_HELP,
                             render_kw={"autocomplete": "new-password", "required": True})
    password2 = PasswordField(
        _l("Repeat password"),
        validators=[Storable(), EqualTo("password", _l("Passwords must match."))],
        render_kw={"autocomplete": "new-password", "required": True})
    submit = SubmitField(_l("Set password"))


class EditProfileForm(QuartForm):
    username = StringField(_l("Username"), validators=[Storable()],
                           render_kw={"maxlength": USERNAME_MAX, "required": True})
    about_me = TextAreaField(_l("About me"), validators=[Storable()],
                             render_kw={"maxlength": ABOUT_ME_MAX, "rows": 3})
    submit = SubmitField(_l("Save"))


# text areas that suggest usernames after an "@" (static/js/composer.js): the list's name
MENTIONS_LABEL = _l("People to mention")


class PostForm(_ShowsHiddenErrors):
    # the limit is in Unicode code points, as the server counts (services.posts.clean_body):
    # static/js/app.js's counter enforces data-maxlength; a browser's maxlength counts UTF-16
    # units (an emoji is two), so it only bounds what can be pasted
    post = TextAreaField(_l("Say something"), validators=[Storable()], render_kw={
        "maxlength": 2 * POST_MAX, "data-maxlength": POST_MAX, "data-mentions": MENTIONS_LABEL,
        "rows": 3, "required": True})
    # optional; static/js/schedule.js fills tz_offset so the time is read as the browser's
    publish_at = StringField(_l("Schedule for later"), validators=[Storable()],
                             render_kw={"type": "datetime-local", "data-schedule": ""})
    tz_offset = HiddenField(validators=[Storable()])
    submit = SubmitField(_l("Post"))
    hidden_errors_on = {"tz_offset": "publish_at"}


class EditPostForm(QuartForm):
    post = TextAreaField(_l("Text"), validators=[Storable()], render_kw={
        "maxlength": 2 * POST_MAX, "data-maxlength": POST_MAX, "data-mentions": MENTIONS_LABEL,
        "rows": 4, "required": True})
    submit = SubmitField(_l("Save"))


class ScheduledPostForm(_ShowsHiddenErrors):
    body = TextAreaField(_l("Text"), validators=[Storable()], render_kw={
        "maxlength": 2 * POST_MAX, "data-maxlength": POST_MAX, "data-mentions": MENTIONS_LABEL,
        "rows": 3, "required": True})
    publish_at = StringField(_l("Publish at"), validators=[Storable()], render_kw={
        "type": "datetime-local", "data-schedule": "", "required": True})
    tz_offset = HiddenField(validators=[Storable()])
    submit = SubmitField(_l("Save"))
    hidden_errors_on = {"tz_offset": "publish_at"}


class CommentForm(QuartForm):
    body = TextAreaField(_l("Add a comment"), validators=[Storable()], render_kw={
        "maxlength": 2 * COMMENT_MAX, "data-maxlength": COMMENT_MAX,
        "data-mentions": MENTIONS_LABEL, "rows": 2, "required": True})
    submit = SubmitField(_l("Comment"))


class MessageForm(QuartForm):
    # a browser's maxlength counts UTF-16 units (an emoji is two): the server's limit, in
    # characters, is the judge
    body = TextAreaField(_l("Message"), validators=[Storable()], render_kw={
        "maxlength": 2 * MESSAGE_MAX, "rows": 2, "required": True})
    submit = SubmitField(_l("Send"))


class NotificationSettingsForm(QuartForm):
    email_on_follow = BooleanField(_l("Someone follows me"))
    email_on_comment = BooleanField(_l("Someone comments on my post"))
    email_on_mention = BooleanField(_l("Someone mentions me in a post or a comment"))
    email_on_messages = BooleanField(_l(
        "I have private messages I have not read for a while (one email for all of them)"))
    submit = SubmitField(_l("Save"))


class ChangePasswordForm(QuartForm):
    current_password = PasswordField(_l("Current password"), validators=[Storable()], render_kw={
        "autocomplete": "current-password", "required": True})
    password = PasswordField(_l("New password"), validators=[Storable()],
                             description=NEW_PASSWORD_HELP,
                             render_kw={"autocomplete": "new-password", "required": True})
    password2 = PasswordField(
        _l("Repeat new password"),
        validators=[Storable(), EqualTo("password", _l("Passwords must match."))],
        render_kw={"autocomplete": "new-password", "required": True})
    submit = SubmitField(_l("Change password"))


class DeleteAccountForm(QuartForm):
    # not `password`: the change-password form on the same page has that id
    delete_password = PasswordField(_l("Password"), validators=[Storable()], render_kw={
        "autocomplete": "current-password", "required": True})
    confirm = BooleanField(_l(
        "I understand that my account and everything in it will be deleted for good."))
    delete = SubmitField(_l("Delete my account"))


class EmailChangeForm(QuartForm):
    email = EmailField(_l("New email address"), validators=[Storable()], render_kw={
        "autocomplete": "email", "maxlength": EMAIL_MAX, "required": True})
    # not `password`: the account settings page's forms use that id
    email_password = PasswordField(_l("Current password"), validators=[Storable()], render_kw={
        "autocomplete": "current-password", "required": True})
    submit = SubmitField(_l("Send a confirmation link"))


class EmptyForm(QuartForm):
    """A POST button (follow, unfollow, log out, delete): only CSRF."""

    submit = SubmitField(_l("Submit"))
