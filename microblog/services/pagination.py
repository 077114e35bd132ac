"""Page-numbered collections, shared by pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    per_page: int = 25

    @classmethod
    def parse(cls, page: object, per_page: object, default_per_page: int = 25) -> PageRequest:
        """Lenient parsing: a bad or out-of-range value falls back to the nearest valid one."""
        return cls(page=max(1, _int(page, 1)),
                   per_page=min(MAX_PER_PAGE, max(1, _int(per_page, default_per_page))))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


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
