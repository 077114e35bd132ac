"""The one check every piece of text a person sends goes through (posts, comments,
messages, about me, usernames, logins, search queries, socket events): PostgreSQL cannot
store NUL and UTF-8 cannot encode a lone surrogate (JSON's `"\\ud800"` makes one), so both
are refused with a message a person can act on — never a 500 from deep inside a query.

Also the one parser of numbers that arrive as text: ASCII digits only (`str.isdigit()`
accepts `²` and `٣`), within the range the column holds.
"""

from __future__ import annotations

import re

from microblog.i18n import gettext as _
from microblog.limits import USERNAME_MAX, USERNAME_MIN

_DIGITS = re.compile(r"[0-9]{1,19}")
# what a username is (registration, lookups, URL segments, socket events)
USERNAME_PATTERN = f"[A-Za-z0-9_]{{{USERNAME_MIN},{USERNAME_MAX}}}"
_USERNAME = re.compile(USERNAME_PATTERN)


class BadText(ValueError):
    """Text that cannot be stored; `message` says why, in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored, or None when it can."""
    if "\x00" in value:
        return _("The text contains a NUL character (\\0), which cannot be stored.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("The text contains an invalid character (a lone UTF-16 surrogate).")
    return None


def check_text(value: str) -> str:
    """`value` unchanged, or BadText."""
    problem = text_problem(value)
    if problem is not None:
        raise BadText(problem)
    return value


def parse_int(raw: str | None, maximum: int, minimum: int = 0) -> int | None:
    """`raw` as an int when it is 1-19 ASCII digits within [minimum, maximum], else None."""
    if raw is None or not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if minimum <= value <= maximum else None


def is_username(value: object) -> bool:
    """Whether `value` could be someone's username (a lookup of anything else finds no one)."""
    return isinstance(value, str) and _USERNAME.fullmatch(value) is not None
