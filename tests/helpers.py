"""Helpers for driving pages as a browser would: fetch a form, keep its CSRF token, submit."""

from __future__ import annotations

from typing import Any, TypeVar

from microblog.models import User
from microblog.services import accounts
from microblog.testing import csrf_token as csrf_from

__all__ = ["csrf_from", "login", "make_user", "page", "present", "submit"]

T = TypeVar("T")


def present(value: T | None) -> T:
    """`value`, which the test expects to be there (a row, a match, a MIME part)."""
    assert value is not None, "expected a value, got None"
    return value


async def page(client: Any, path: str) -> tuple[int, str]:
    response = await client.get(path)
    return response.status_code, await response.get_data(as_text=True)


async def submit(client: Any, form_path: str, data: dict[str, Any],
                 action: str | None = None) -> Any:
    """GET the page holding the form, then POST it with the page's CSRF token."""
    _status, html = await page(client, form_path)
    return await client.post(action or form_path, form={**data, "csrf_token": csrf_from(html)})


async def make_user(username: str = "alice", password: str = "correct horse",
                    email: str | None = None) -> User:
    return await accounts.register(username, email or f"{username.lower()}@example.com", password)


async def login(client: Any, username: str = "alice", password: str = "correct horse") -> Any:
    response = await submit(client, "/auth/login",
                            {"username": username, "password": password})
    assert response.status_code == 302, await response.get_data(as_text=True)
    return response
