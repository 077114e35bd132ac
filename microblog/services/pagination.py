"""Page-numbered collections, shared by pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from microblog.errors import ValidationFailed
from microblog.i18n import gettext as _
from microblog.limits import MAX_PER_PAGE, PAGE_MAX
from microblog.text import parse_int

T = TypeVar("T")



@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    per_page: int = 25

    @classmethod
    def parse(cls, page: str | None, per_page: str | None,
              default_per_page: int = 25) -> PageRequest:
        """From a query string: absent means the default; anything but ASCII digits in range
        is a ValidationFailed (400) naming the parameter."""
        number = 1 if page is None else parse_int(page, PAGE_MAX, 1)
        if number is None:
            raise ValidationFailed({"page": _(
                "page must be a whole number from 1 to %(max)d.", max=PAGE_MAX)})
        size = default_per_page if per_page is None else parse_int(per_page, MAX_PER_PAGE, 1)
        if size is None:
            raise ValidationFailed({"per_page": _(
                "per_page must be a whole number from 1 to %(max)d.", max=MAX_PER_PAGE)})
        return cls(page=number, per_page=size)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    has_next: bool
    # counted only where someone shows it (the API); pages need just has_next
    total_items: int | None = None

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def total_pages(self) -> int | None:
        if self.total_items is None:
            return None
        return max(1, -(-self.total_items // self.per_page))
