"""The search query language (DESIGN.md, Search) parsed once into a small tree that each
backend compiles: `microblog.search.postgres` to tsqueries, `microblog.search.elasticsearch`
to a bool query, and `microblog.search.live` matches new posts against it.

    word word        every word must match (stemmed in the post's language)
    "exact phrase"   the words in that order
    -word -"phrase"  must not match (also -#tag, -from:user, -lang:xx)
    a OR b           either
    from:username    written by that user (from:me too)
    lang:es          written in that language
    after:2026-01-31 / before:2026-02-28   dates, UTC: after the end of that day / before it
    #tag             has the hashtag

The parser is forgiving, because people type: an unbalanced quote runs to the end, an
unknown `name:value` is searched as words, a dangling OR or a lone '-' is ignored, and words
without a letter or digit (`!!!`) are dropped. It refuses (QueryError, a 400) only what
cannot mean anything: an empty query, one that only excludes, a known operator with a
value it cannot use (`after:yesterday`, `lang:english`), or an overlong query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from microblog.errors import ValidationFailed
from microblog.i18n import gettext as _
from microblog.limits import SEARCH_QUERY_MAX
from microblog.text import check_text, is_tag, is_username, tag_name

# runs of characters written without spaces between words (Han, kana, Hangul): indexed as
# single characters plus bigrams, like Lucene's CJK analyzer. The same ranges are in the
# migration's mb_cjk_grams() (tests/test_search.py checks that both agree).
CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF),
              (0xF900, 0xFAFF))
CJK_RUN = re.compile("[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in CJK_RANGES) + "]+")
MAX_CLAUSES = 32  # words, phrases and tags of one query; more is not a search but a dump
LANGUAGE = re.compile(r"[a-z]{2,3}")
OPERATOR = re.compile(r"(-?)([A-Za-z]+):(.*)", re.DOTALL)
_TOKEN = re.compile(r'(-?)"([^"]*)("?)|(\S+)')


class QueryError(ValidationFailed):
    """A query that cannot be searched; the message says what to type instead."""

    def __init__(self, message: str) -> None:
        super().__init__({"q": message})


@dataclass(frozen=True, slots=True)
class Word:
    text: str


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str


@dataclass(frozen=True, slots=True)
class Tag:
    name: str


Term = Word | Phrase | Tag


@dataclass(frozen=True, slots=True)
class AnyOf:
    """`a OR b OR c`: at least one of the terms."""

    terms: tuple[Term, ...]


Clause = Term | AnyOf


@dataclass(frozen=True)
class Query:
    """Every clause of `must` and none of `must_not`, within the filters."""

    raw: str
    must: tuple[Clause, ...] = ()
    must_not: tuple[Term, ...] = ()
    authors: tuple[str, ...] = ()  # usernames (or "me"); any of them
    not_authors: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()  # any of them
    not_languages: tuple[str, ...] = ()
    after: datetime | None = None  # created at or after this instant
    before: datetime | None = None  # created before this instant

    @property
    def has_text(self) -> bool:
        return bool(self.must)

    def positive_terms(self) -> list[Term]:
        """What a result can be highlighted for."""
        terms: list[Term] = []
        for clause in self.must:
            terms.extend(clause.terms if isinstance(clause, AnyOf) else (clause,))
        return terms

    def words(self) -> list[str]:
        """The plain words that must match (candidates for typo correction)."""
        return [c.text for c in self.must if isinstance(c, Word)]

    def with_alternatives(self, alternatives: dict[str, list[str]]) -> Query:
        """The query with each misspelt word replaced by itself OR its corrections."""
        must: list[Clause] = []
        for clause in self.must:
            if isinstance(clause, Word) and alternatives.get(clause.text):
                options = [clause.text, *alternatives[clause.text]]
                must.append(AnyOf(tuple(Word(w) for w in options)))
            else:
                must.append(clause)
        return Query(self.raw, tuple(must), self.must_not, self.authors, self.not_authors,
                     self.languages, self.not_languages, self.after, self.before)


def cjk_runs(text: str) -> list[str]:
    return CJK_RUN.findall(text)


def cjk_grams(run: str) -> list[str]:
    """The lexemes of a run of CJK characters: every character and every pair."""
    grams = list(dict.fromkeys(run))
    grams.extend(dict.fromkeys(run[i:i + 2] for i in range(len(run) - 1)))
    return grams


def query_grams(run: str) -> list[str]:
    """What a CJK run in a query must match: its pairs (each character if it is one)."""
    if len(run) == 1:
        return [run]
    return list(dict.fromkeys(run[i:i + 2] for i in range(len(run) - 1)))


def searchable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _day(value: str, operator: str) -> date:
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad_date(operator)
    except ValueError:
        return _bad_date(operator)


def _bad_date(operator: str) -> date:
    raise QueryError(_("%(op)s needs a date like 2026-01-31.", op=f"{operator}:"))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _term(text: str, phrase: bool) -> Term | None:
    text = " ".join(text.split())
    if phrase:
        return Phrase(text) if searchable(text) else None
    if text.startswith("#") and is_tag(tag_name(text[1:])):
        return Tag(tag_name(text[1:]))
    return Word(text) if searchable(text) else None


def _tokens(raw: str) -> list[tuple[bool, str, bool]]:
    """(negated, text, is_phrase) in order; an unbalanced quote runs to the end."""
    tokens: list[tuple[bool, str, bool]] = []
    for match in _TOKEN.finditer(raw):
        if match.group(4) is not None:
            word = match.group(4)
            negated = word.startswith("-") and len(word) > 1
            tokens.append((negated, word[1:] if negated else word, False))
        else:
            tokens.append((bool(match.group(1)), match.group(2), True))
    return tokens


def parse(raw: str | None) -> Query:
    """The tree of a query; QueryError (400) when there is nothing it could mean."""
    text = check_text(raw or "") if isinstance(raw, str) or raw is None else ""
    text = text.strip()
    if len(text) > SEARCH_QUERY_MAX:
        raise QueryError(_("That query is %(len)d characters; the limit is %(max)d.",
                           len=len(text), max=SEARCH_QUERY_MAX))
    if not text:
        raise QueryError(_("Type a word, a #tag or from:someone to search for."))
    must: list[Clause] = []
    must_not: list[Term] = []
    filters: dict[str, list[str]] = {"from": [], "-from": [], "lang": [], "-lang": []}
    after: datetime | None = None
    before: datetime | None = None
    pending_or = False
    for negated, value, phrase in _tokens(text):
        if not phrase and not negated and value == "OR":
            pending_or = bool(must)
            continue
        if not phrase:
            operator = OPERATOR.fullmatch(value)
            name = operator.group(2).lower() if operator else ""
            if operator and name in ("from", "lang", "after", "before"):
                arg = operator.group(3)
                if name == "from":
                    user = arg.lstrip("@")
                    if not (user.lower() == "me" or is_username(user)):
                        raise QueryError(_("from: needs a username, like from:alice."))
                    filters["-from" if negated else "from"].append(user)
                elif name == "lang":
                    if not LANGUAGE.fullmatch(arg.lower()):
                        raise QueryError(_("lang: needs a language code, like lang:es."))
                    filters["-lang" if negated else "lang"].append(arg.lower())
                else:
                    if negated:
                        raise QueryError(_("after: and before: cannot be excluded with '-'."))
                    day = _day(arg, name)
                    if name == "after":
                        start = _midnight(day) + timedelta(days=1)
                        after = start if after is None else max(after, start)
                    else:
                        end = _midnight(day)
                        before = end if before is None else min(before, end)
                pending_or = False
                continue
        term = _term(value, phrase)
        if term is None:
            continue
        if negated:
            must_not.append(term)
            pending_or = False
            continue
        if pending_or and must:
            previous = must.pop()
            terms = previous.terms if isinstance(previous, AnyOf) else (previous,)
            must.append(AnyOf((*terms, term)))
        else:
            must.append(term)
        pending_or = False
        if len(must) + len(must_not) > MAX_CLAUSES:
            raise QueryError(_("That query has more than %(max)d words; search for fewer.",
                               max=MAX_CLAUSES))
    if not must and not filters["from"] and not filters["lang"] and after is None \
            and before is None:
        if must_not or filters["-from"] or filters["-lang"]:
            raise QueryError(_("Add a word to look for: '-' only excludes."))
        raise QueryError(_("Type a word, a #tag or from:someone to search for."))
    return Query(text, tuple(must), tuple(must_not), tuple(filters["from"]),
                 tuple(filters["-from"]), tuple(filters["lang"]), tuple(filters["-lang"]),
                 after, before)


__all__ = ["CJK_RANGES", "AnyOf", "Clause", "Phrase", "Query", "QueryError", "Tag",
           "Term", "Word", "cjk_grams", "cjk_runs", "parse", "query_grams", "searchable"]
