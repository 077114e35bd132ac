"""The one check every piece of text a person sends goes through (posts, comments,
messages, about me, usernames, logins, search queries, socket events): PostgreSQL cannot
store NUL and UTF-8 cannot encode a lone surrogate (JSON's `"\\ud800"` makes one), so both
are refused with a message a person can act on — never a 500 from deep inside a query.

Also the one parser of numbers that arrive as text: ASCII digits only (`str.isdigit()`
accepts `²` and `٣`), within the range the column holds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from markupsafe import Markup, escape

from microblog.i18n import gettext as _
from microblog.limits import (
    MENTIONS_PER_TEXT,
    TAG_MAX,
    TAGS_PER_POST,
    USERNAME_MAX,
    USERNAME_MIN,
)

_DIGITS = re.compile(r"[0-9]{1,19}")
# what a username is (registration, lookups, URL segments, socket events)
USERNAME_PATTERN = f"[A-Za-z0-9_]{{{USERNAME_MIN},{USERNAME_MAX}}}"
_USERNAME = re.compile(USERNAME_PATTERN)
# a hashtag: '#' not inside a word (so `a#b` and URL fragments are not tags), then letters
# of any script, digits and '_', with at least one letter (`#1` is a number, not a tag)
_HASHTAG = re.compile(rf"(?<![\w#&/])#(\w{{1,{TAG_MAX}}})(?!\w)")


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


# Usernames that read alike map to one skeleton, and a skeleton has one owner (the unique
# users.username_skeleton): `aIice` (capital i) cannot sit next to `alice`. After lower-casing:
#   0 → o      1, i, l → l      5 → s      rn → m      vv → w
# Characters first, then the pairs, each pass left to right: the same steps as the SQL that
# backfilled the column (migrations/models/7_*_confusable.py), which must stay in step.
_SKELETON_CHARS = str.maketrans("01i5", "olls")
_SKELETON_PAIRS = (("rn", "m"), ("vv", "w"))


def username_skeleton(username: str) -> str:
    """What `username` looks like, for refusing names too similar to an existing one."""
    skeleton = username.lower().translate(_SKELETON_CHARS)
    for pair, single in _SKELETON_PAIRS:
        skeleton = skeleton.replace(pair, single)
    return skeleton


def tag_name(raw: str) -> str:
    """The canonical form of a hashtag's name: `#Café`, `#CAFÉ` and `#café` are one tag."""
    return unicodedata.normalize("NFKC", raw).casefold()


def is_tag(name: str) -> bool:
    return 0 < len(name) <= TAG_MAX and any(ch.isalpha() for ch in name) and all(
        ch.isalnum() or ch == "_" for ch in name)


def hashtags(text: str) -> list[str]:
    """The distinct hashtags of a text, canonical, in order of appearance."""
    seen: dict[str, None] = {}
    for match in _HASHTAG.finditer(text):
        name = tag_name(match.group(1))
        if is_tag(name):
            seen.setdefault(name, None)
            if len(seen) == TAGS_PER_POST:
                break
    return list(seen)


# an @mention: '@' not inside a word or an address (`bob@example.com` mentions nobody), then a
# username
_MENTION = re.compile(rf"(?<![\w@/.])@({USERNAME_PATTERN})(?![\w@])")


def mentions(text: str) -> list[str]:
    """The distinct usernames a text mentions, lower-cased, in order of appearance."""
    seen: dict[str, None] = {}
    for match in _MENTION.finditer(text):
        seen.setdefault(match.group(1).lower(), None)
        if len(seen) == MENTIONS_PER_TEXT:
            break
    return list(seen)


# links people write: http(s) URLs up to whitespace, without trailing punctuation
_URL = r"https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}]"
_RICH = re.compile(rf"(?P<url>{_URL})|(?P<mention>{_MENTION.pattern})|(?P<tag>{_HASHTAG.pattern})")


def rich_text(text: str, mention_url: Callable[[str], str], tag_url: Callable[[str], str]
              ) -> Markup:
    """A post's or comment's text as HTML: everything escaped, links, @mentions and #tags
    made links (links written by people carry rel="nofollow noopener ugc"). The same rules
    as static/js/richtext.js, which does this for live cards."""
    out: list[str] = []
    last = 0
    for match in _RICH.finditer(text):
        out.append(escape(text[last:match.start()]))
        whole = match.group(0)
        if match.group("url"):
            out.append(Markup('<a href="{0}" rel="nofollow noopener ugc" target="_blank">{1}'
                              '</a>').format(whole, whole))
        elif match.group("mention"):
            out.append(Markup('<a class="mention" href="{0}">{1}</a>').format(
                mention_url(whole[1:]), whole))
        else:
            name = tag_name(whole[1:])
            if is_tag(name):
                out.append(Markup('<a class="hashtag" href="{0}">{1}</a>').format(
                    tag_url(name), whole))
            else:
                out.append(escape(whole))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
