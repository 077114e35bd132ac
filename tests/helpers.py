"""Helpers for driving pages as a browser would: fetch a form, keep its CSRF token, submit."""

from __future__ import annotations

import asyncio
import time
from email.message import EmailMessage
from typing import Any, TypeVar

from microblog.models import User
from microblog.services import accounts
from microblog.testing import Mailbox
from microblog.testing import csrf_token as csrf_from

__all__ = ["csrf_from", "email_about", "login", "make_user", "page", "present", "submit"]

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
                    email: str | None = None, *, verified: bool = True) -> User:
    """A registered user. `verified`: their address counts as confirmed (no link is sent),
    so they get every email as before email verification existed; False registers as the
    forms do: a confirmation link is queued, and nothing else is emailed until it is opened."""
    return await accounts.register(username, email or f"{username.lower()}@example.com", password,
                                   verified=verified)


async def email_about(mailbox: Mailbox, to: str, words: str,
                      timeout: float = 20.0) -> EmailMessage:  # noqa: ASYNC109
    """The first email to `to` whose subject contains `words`, once it has arrived."""
    deadline = time.monotonic() + timeout
    while True:
        for arrival in mailbox.to(to):
            if words in str(arrival.message["Subject"]):
                return arrival.message
        assert time.monotonic() < deadline, f"no email about {words!r} to {to} in {timeout}s"
        await asyncio.sleep(0.02)


async def login(client: Any, username: str = "alice", password: str = "correct horse") -> Any:
    response = await submit(client, "/auth/login",
                            {"username": username, "password": password})
    assert response.status_code == 302, await response.get_data(as_text=True)
    return response


async def sign_in_browser(page: Any, base: str, username: str, password: str) -> None:
    """Sign in through the form in a Chromium page; back on the home page."""
    await page.goto(f"{base}/auth/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#submit")
    await page.wait_for_url(f"{base}/")
