"""Rate limits: every limit users meet is declared here and counted in Redis by the `limits`
package (a moving window, exact at window boundaries), so all instances share the counts.

A service asks `allowed(RATE, *who)` and raises its own clear error (a 429 for the API and the
pages, a `rate_limited` ack for a socket) when the answer is no. Without Redis (tools that run
without one) nothing is limited.
"""

from __future__ import annotations

from limits import RateLimitItem, parse

from microblog.infra import resources

__all__ = ["MESSAGES", "TRANSLATIONS", "RateLimitItem", "allowed"]

# private messages a user sends (every tab and instance together)
MESSAGES = parse("30 per 10 seconds")
# translations a user asks of the translation service (answers from the cache are free)
TRANSLATIONS = parse("20 per minute")


async def allowed(rate: RateLimitItem, *identifiers: object) -> bool:
    """Count one hit of `rate` for `identifiers` (e.g. "messages", user id); False when the
    limit is already reached (the hit is then not counted)."""
    limiter = resources.limiter
    if limiter is None:
        return True
    return await limiter.hit(rate, *map(str, identifiers))
