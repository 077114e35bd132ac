"""Room names. Every room is named here, never by a string literal elsewhere."""

from __future__ import annotations


def user_room(user_id: int) -> str:
    """Every tab of one user: personal events go here."""
    return f"user:{user_id}"
