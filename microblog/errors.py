"""Errors the services (and the real-time layer below them) raise; every handler turns them
into a 4xx the user understands: a page, a JSON error or a socket ack."""

from __future__ import annotations

from microblog.text import text_problem


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(ServiceError):
    """One or more fields are invalid; `errors` maps field name to message."""

    def __init__(self, errors: dict[str, str]) -> None:
        first_field, first_message = next(iter(errors.items()))
        super().__init__(first_message, first_field)
        self.errors = errors


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    """The request contradicts the current state (an export already running)."""

    status = 409
    code = "conflict"


class RateLimited(ServiceError):
    """Too many of these too fast (microblog.ratelimit); nothing was done. `retry_after`:
    seconds until it would be accepted, when known (the Retry-After header)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unprocessable(ServiceError):
    """Well-formed, but this cannot be done to this resource (translating a post into its own
    language)."""

    status = 422
    code = "unprocessable"


class AuthenticationFailed(ServiceError):
    status = 401
    code = "unauthorized"


class Unavailable(ServiceError):
    """A service this action needs (the job queue) cannot be reached; nothing was done."""

    status = 503
    code = "unavailable"


def storable(value: str, field: str) -> str:
    """`value` unchanged, or ValidationFailed for `field` when it cannot be stored (NUL, a
    lone surrogate: microblog.text) — every service cleaner of user text calls this."""
    problem = text_problem(value)
    if problem is not None:
        raise ValidationFailed({field: problem})
    return value
