"""What every search backend does, and the plain data it gets and gives.

A backend answers one question — which posts match, in what order, with which words marked —
and keeps its index up to date when it has one of its own. Everything relational (who the
viewer is, whom `from:` names, who blocked the viewer, loading the posts, people and tag
search) is the service's (`microblog.services.search`), the same for both backends.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from markupsafe import Markup, escape

from microblog.search.query import Phrase, Query, Word, cjk_runs

# around a matched term in a backend's highlighted text; private-use characters, removed
# from bodies before highlighting, so a post cannot forge a mark
MARK_OPEN = "\ue000"
MARK_CLOSE = "\ue001"
CANDIDATES = 1000  # sort=top ranks at most this many of the newest matches


class Sort(enum.StrEnum):
    LATEST = "latest"
    TOP = "top"


@dataclass(frozen=True)
class PostSearch:
    """One page of a post search, with the query's names already resolved to ids."""

    query: Query
    sort: Sort = Sort.LATEST
    offset: int = 0
    limit: int = 25
    authors: tuple[int, ...] | None = None  # from: — None means anyone
    not_authors: tuple[int, ...] = ()  # -from: and everyone who blocked the viewer


@dataclass(frozen=True)
class PostMatches:
    ids: list[int]  # in order
    total: int  # how many match, at most SEARCH_HITS_MAX
    # the body with MARK_OPEN/MARK_CLOSE around matched terms (raw text, not yet escaped)
    highlights: dict[int, str] = field(default_factory=dict)


Progress = Callable[[int, int], None]  # (done, total)


class SearchBackend(Protocol):
    name: str

    async def ping(self) -> None:
        """Raise microblog.errors.Unavailable when the backend cannot answer."""

    async def search_posts(self, search: PostSearch) -> PostMatches: ...

    async def index_posts(self, ids: list[int]) -> None:
        """Bring these posts' entries up to date (missing posts are removed)."""

    async def remove_posts(self, ids: list[int]) -> None: ...

    async def reindex(self, progress: Progress | None = None) -> int:
        """Rebuild the whole index from PostgreSQL; searchers never see it empty."""
        ...

    async def status(self) -> dict[str, object]:
        """What an operator checks: documents indexed against posts in PostgreSQL."""
        ...

    async def close(self) -> None: ...


def strip_marks(body: str) -> str:
    return body.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")


def mark_cjk(marked: str, query: Query) -> str:
    """Mark the query's CJK runs in a text (backends whose analysis cannot highlight them)."""
    runs = sorted({run for term in query.positive_terms() if isinstance(term, Word | Phrase)
                   for run in cjk_runs(term.text)}, key=len, reverse=True)
    for run in runs:
        marked = marked.replace(run, f"{MARK_OPEN}{run}{MARK_CLOSE}")
    return marked


def render_highlight(marked: str) -> Markup:
    """HTML of a highlighted body: every mark a <mark>, everything else escaped."""
    out: list[str] = []
    depth = 0
    for piece in _split_marks(marked):
        if piece == MARK_OPEN:
            if depth == 0:
                out.append("<mark>")
            depth += 1
        elif piece == MARK_CLOSE:
            if depth == 1:
                out.append("</mark>")
            depth = max(0, depth - 1)
        else:
            out.append(str(escape(piece)))
    if depth:
        out.append("</mark>")
    return Markup("".join(out))  # noqa: S704 - every piece of text above is escaped


def _split_marks(text: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for i, ch in enumerate(text):
        if ch in (MARK_OPEN, MARK_CLOSE):
            if i > start:
                pieces.append(text[start:i])
            pieces.append(ch)
            start = i + 1
    if start < len(text):
        pieces.append(text[start:])
    return pieces
