"""Rate limits: every limit users meet is declared here, once, and counted in Redis by the
`limits` package (a moving window, exact at window boundaries), so all instances share the
counts.

A service calls `enforce(RATE, "what", who, message=...)`: past the limit it raises
RateLimited with the seconds until the oldest counted hit leaves the window, which the API
and the pages send as `Retry-After` (a socket gets a `rate_limited` ack). `allowed` only
answers yes or no. Without Redis (tools that run without one) nothing is limited.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import time

from limits import RateLimitItem, parse
from redis.exceptions import RedisError

from microblog.errors import RateLimited
from microblog.infra import resources

log = logging.getLogger(__name__)

__all__ = ["COMMENTS", "COMMENT_EMAILS", "EDITS", "EXPORTS", "FOLLOWS", "MENTION_EMAILS",
           "MESSAGES", "POSTS", "REACTIONS", "REGISTRATIONS", "RESETS_PER_ADDRESS",
           "RESETS_PER_EMAIL", "TRANSLATIONS", "VERIFICATION_EMAILS", "RateLimitItem",
           "allowed", "client_key", "enforce"]

# private messages a user sends (every tab and instance together)
MESSAGES = parse("30 per 10 seconds")
# translations a user asks of the translation service (answers from the cache are free)
TRANSLATIONS = parse("20 per minute")
# posts a user publishes (scheduled ones are capped at 100 waiting) and comments they write
POSTS = parse("50 per 10 minutes")
COMMENTS = parse("50 per 10 minutes")
# likes and reposts a user makes, together (each may notify someone)
REACTIONS = parse("120 per minute")
# edits of their posts a user makes
EDITS = parse("30 per 10 minutes")
# follows and unfollows a user makes (each one notifies, and may email, someone)
FOLLOWS = parse("60 per hour")
# accounts registered from one client address
REGISTRATIONS = parse("5 per hour")
# password reset emails: per address asked for, and per client address asking
RESETS_PER_EMAIL = parse("3 per hour")
RESETS_PER_ADDRESS = parse("10 per hour")
# exports a user starts (one runs at a time besides)
EXPORTS = parse("5 per hour")
# comment emails one person receives: past this, comments still notify in the app only
COMMENT_EMAILS = parse("5 per hour")
# mention emails one person receives: past this, mentions still notify in the app only
MENTION_EMAILS = parse("5 per hour")
# links to confirm an email address a user asks for (sent again, or to a new address)
VERIFICATION_EMAILS = parse("3 per hour")


def client_key(address: str | None) -> str | None:
    """The client address to count per-address limits under, or None for none: an unknown
    one, or the machine itself (loopback: the tools and tests on the host; every request from
    the reverse proxy names its client in X-Forwarded-For, see web.common.client_address)."""
    if not address:
        return None
    try:
        if ipaddress.ip_address(address).is_loopback:
            return None
    except ValueError:
        return None
    return address


async def allowed(rate: RateLimitItem, *identifiers: object) -> bool:
    """Count one hit of `rate` for `identifiers` (e.g. "messages", user id); False when the
    limit is already reached (the hit is then not counted). While Redis cannot be reached,
    everything is allowed (and logged): a limit must not take the product down with it."""
    limiter = resources.limiter
    if limiter is None:
        return True
    try:
        return await limiter.hit(rate, *map(str, identifiers))
    except RedisError as exc:
        log.warning("rate limit %s not applied: Redis is unreachable (%r)", rate, exc)
        return True


async def enforce(rate: RateLimitItem, *identifiers: object, message: str) -> None:
    """Count one hit, or raise RateLimited(message) with the seconds until one is allowed."""
    if await allowed(rate, *identifiers):
        return
    retry_after = None
    limiter = resources.limiter
    if limiter is not None:
        with contextlib.suppress(RedisError):
            stats = await limiter.get_window_stats(rate, *map(str, identifiers))
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
    raise RateLimited(message, retry_after)
