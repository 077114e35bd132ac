"""The strings the browser shows (live.js, chat.js, translate.js…), in the page's language:
one JSON object per locale, made once per process and put in every page by base.html
(`i18n-strings`), read by static/js/realtime.js `t()`."""

from __future__ import annotations

from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from microblog.i18n import get_locale, translations
from microblog.i18n import gettext as _

_made: dict[str, Markup] = {}


def client_strings() -> Markup:
    locale = get_locale()
    found = _made.get(locale)
    if found is None:
        found = _made[locale] = htmlsafe_json_dumps(_strings())
    return found


def _plural(singular: str, plural: str, num: int) -> str:
    """The plural form for `num`, with `{user}` and `{n}` left for the browser to fill."""
    text = translations(get_locale()).ungettext(singular, plural, num)
    return text % {"user": "{user}", "num": "{n}"}


def _strings() -> dict[str, str]:
    return {
        "live": _("Live"),
        "reconnecting": _("Reconnecting…"),
        "offline": _("Offline"),
        "follow": _("%(user)s started following you", user="{user}"),
        "comment": _(
            "%(user)s commented on your post: %(excerpt)s", user="{user}", excerpt="{excerpt}"
        ),
        "mention": _("%(user)s mentioned you: %(excerpt)s", user="{user}", excerpt="{excerpt}"),
        "like_one": _("%(user)s liked your post", user="{user}"),
        "like_two": _("%(user)s and %(other)s liked your post", user="{user}", other="{other}"),
        "like_others_one": _plural(
            "%(user)s and %(num)s other liked your post",
            "%(user)s and %(num)s others liked your post",
            1,
        ),
        "like_others_many": _plural(
            "%(user)s and %(num)s other liked your post",
            "%(user)s and %(num)s others liked your post",
            2,
        ),
        "repost_one": _("%(user)s reposted your post", user="{user}"),
        "repost_two": _(
            "%(user)s and %(other)s reposted your post", user="{user}", other="{other}"
        ),
        "repost_others_one": _plural(
            "%(user)s and %(num)s other reposted your post",
            "%(user)s and %(num)s others reposted your post",
            1,
        ),
        "repost_others_many": _plural(
            "%(user)s and %(num)s other reposted your post",
            "%(user)s and %(num)s others reposted your post",
            2,
        ),
        "notification": _("You have a new notification"),
        "none": _("No notifications yet."),
        "new_posts_one": _("1 new post"),
        "new_posts_many": _("%(num)s new posts", num="{n}"),
        "sending": _("Sending…"),
        "sent": _("Sent"),
        "seen": _("Seen"),
        "failed": _("Not sent"),
        "retry": _("Retry"),
        "typing": _("%(name)s is typing…", name="{name}"),
        "you": _("You:"),
        "older_failed": _("Could not load older messages."),
        "export_ready": _("Your export is ready to download"),
        "export_failed": _("Your export failed"),
        "task_queued": _("Queued"),
        "task_active": _("Running"),
        "task_complete": _("Ready"),
        "task_failed": _("Failed"),
        "translate": _("Translate"),
        "translating": _("Translating…"),
        "translated_from": _("Translated from %(language)s", language="{language}"),
        "show_original": _("Show original"),
        "show_translation": _("Show translation"),
        "translation_unavailable": _("Translation is unavailable right now"),
        "sign_in_to_translate": _("Sign in to translate"),
        "you_reposted": _("You reposted"),
        "reposted_by": _("%(name)s reposted", name="{name}"),
        "edited": _("edited"),
        "reply": _("Reply"),
        "repost": _("Repost"),
        "like": _("Like"),
        "share": _("Share"),
        "more": _("More"),
        "edit": _("Edit"),
        "delete": _("Delete"),
        "delete_confirm": _("Delete this post? This cannot be undone."),
        "link_copied": _("Link copied"),
        "copy_link": _("Copy this link"),
        "edit_post": _("Edit post"),
        "save": _("Save"),
        "cancel": _("Cancel"),
        "saving": _("Saving…"),
        "action_failed": _("That did not work. Please try again."),
    }
