"""Room names and who may join them. Every room is named here, never by a literal elsewhere.

Who receives what is a security decision made in this file:

- personal events (notifications, messages) never use rooms: they are delivered by
  `microblog.realtime.personal` to the sockets of exactly one authenticated user;
- `author_room(a)` gets a's public posts: a's own sockets, the sockets of everyone who
  follows a (joined at connect and on follow), and viewers of a's profile page;
- `explore_room()` gets every public post, for sockets viewing explore;
- `post_room(p)` gets the comments, edits and counts of post p, for sockets viewing its
  page, and so does `user_room(author of p)`;
- `tag_room(t)` gets every public post carrying hashtag t, for sockets viewing its page.

Posts and comments are public, so any authenticated socket may subscribe to those streams.
"""

from __future__ import annotations

import re

from microblog.text import is_tag, tag_name

_STREAM = re.compile(r"explore|post:([0-9]{1,18})|user:([0-9]{1,18})|tag:(\w{1,64})")


# `subscribe {stream: "search", q}`: not a room but a query the instance matches new posts
# against (microblog.web.live_search); its results go to the subscribing socket only
SEARCH_STREAM = "search"


def user_room(user_id: int) -> str:
    """Every socket of one user, for public events that concern them (comments on their
    posts). Personal events (notifications, messages) are never sent through rooms."""
    return f"user:{user_id}"


def author_room(author_id: int) -> str:
    return f"author:{author_id}"


def explore_room() -> str:
    return "explore"


def post_room(post_id: int) -> str:
    return f"post:{post_id}"


def tag_room(tag: str) -> str:
    """`tag` canonical (microblog.text.tag_name)."""
    return f"tag:{tag}"


def stream_room(stream: object) -> str | None:
    """The room behind a client's `subscribe` stream name, or None if it is not one."""
    if not isinstance(stream, str):
        return None
    match = _STREAM.fullmatch(stream)
    if match is None:
        return None
    if match.group(1):
        return post_room(int(match.group(1)))
    if match.group(2):
        return author_room(int(match.group(2)))
    if match.group(3):
        tag = tag_name(match.group(3))
        return tag_room(tag) if is_tag(tag) else None
    return explore_room()
