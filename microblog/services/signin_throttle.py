"""Throttled password guessing: every sign-in attempt (the login form, `POST /api/tokens`, the
jobs admin UI) is counted per account and per client address in Redis, on every instance.

An attempt on an account is counted before the password is checked, atomically (one Lua
script that also checks the address), so parallel guesses are counted too and refused ones
cost no password hashing; an address counts its failed attempts only (an office's people
signing in successfully never slow each other down). The first `delay_after` in the window
are free; after that each makes the next attempt wait twice as long (1, 2, 4 … seconds, at
most `max_delay`), and the `lock_after`th locks for `lock_seconds`. A lock lifts by itself;
signing in successfully clears the account's count, and so does a password reset (the owner
proved they hold the email). Accounts that do not exist are counted the same way, under the
name that was typed, so the answers never tell whether an account exists.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass

from redis.exceptions import RedisError

from microblog import ratelimit
from microblog.errors import RateLimited
from microblog.i18n import gettext as _
from microblog.infra import resources

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Policy:
    delay_after: int   # attempts in the window before each one adds a wait
    lock_after: int    # the attempt that locks
    lock_seconds: int
    max_delay: int
    window: int        # seconds without an attempt after which the count starts over


# one person mistyping a few times never waits; a guesser gets ~10 tries per lock
ACCOUNT = Policy(delay_after=5, lock_after=10, lock_seconds=15 * 60, max_delay=60,
                 window=15 * 60)
# one address may serve many people (an office's NAT): more room before it is slowed down
ADDRESS = Policy(delay_after=20, lock_after=100, lock_seconds=15 * 60, max_delay=60,
                 window=15 * 60)


class TooManyAttempts(RateLimited):
    """Refused before the password was checked; `retry_after` seconds until the next try."""

    retry_after: int


# KEYS: counters to check; ARGV: now, how many of KEYS (the first ones) to count, then per
# counted key its policy (delay_after, lock_after, lock_seconds, max_delay, window). Refuses
# (returns the seconds to wait and which key) when any key must still wait; else counts one
# attempt in the counted keys and sets when each may be tried next.
_ATTEMPT = """
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local next_at = tonumber(redis.call('HGET', KEYS[i], 'next') or '0')
  if now < next_at then return {0, tostring(next_at - now), i} end
end
for i = 1, tonumber(ARGV[2]) do
  local base = 2 + (i - 1) * 5
  local delay_after, lock_after = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  local lock_seconds, max_delay = tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
  local window = tonumber(ARGV[base + 5])
  local count = redis.call('HINCRBY', KEYS[i], 'count', 1)
  local wait = 0
  if count >= lock_after then
    wait = lock_seconds
  elseif count >= delay_after then
    wait = math.min(2 ^ (count - delay_after), max_delay)
  end
  redis.call('HSET', KEYS[i], 'next', tostring(now + wait))
  redis.call('EXPIRE', KEYS[i], math.ceil(math.max(window, wait)))
end
return {1, '0', 0}
"""

def account_key(user_id: int | None, login: str) -> str:
    """An existing account by id (so its username and email share one count), else the name
    that was typed."""
    if user_id is not None:
        return resources.key("signin", "user", user_id)
    return resources.key("signin", "name", login.strip().lower()[:254])


def address_key(address: str | None) -> str | None:
    client = ratelimit.client_key(address)
    return resources.key("signin", "addr", client) if client else None


async def attempt(account: str, address: str | None) -> None:
    """Count one sign-in attempt on `account`, or refuse it (TooManyAttempts, not counted)
    while the account or the address must wait."""
    keys = [account]
    address_counter = address_key(address)
    if address_counter is not None:
        keys.append(address_counter)
    await _run(keys, [ACCOUNT])


async def failed(address: str | None) -> None:
    """The password was wrong: count it against the client's address."""
    address_counter = address_key(address)
    if address_counter is not None:
        await _run([address_counter], [ADDRESS], refuse=False)


async def _run(keys: list[str], policies: list[Policy], refuse: bool = True) -> None:
    redis = resources.redis
    if redis is None:
        return
    args: list[float] = [time.time(), len(policies)]
    for policy in policies:
        args += [policy.delay_after, policy.lock_after, policy.lock_seconds, policy.max_delay,
                 policy.window]
    try:
        allowed, wait, which = await redis.eval(  # type: ignore[misc]
            _ATTEMPT, len(keys), *keys, *args)
    except RedisError as exc:  # counted again once Redis is back
        log.warning("sign-in throttle not applied: Redis is unreachable (%r)", exc)
        return
    if int(allowed) or not refuse:
        return
    seconds = max(1, math.ceil(float(wait)))
    if seconds > ACCOUNT.max_delay:
        minutes = math.ceil(seconds / 60)
        message = (_("Too many failed sign-ins for this account. Try again in %(minutes)d "
                     "minutes, or reset your password.", minutes=minutes) if int(which) == 1
                   else _("Too many failed sign-ins from your network. Try again in "
                          "%(minutes)d minutes.", minutes=minutes))
    else:
        message = _("Too many failed sign-ins. Wait %(seconds)d seconds and try again.",
                    seconds=seconds)
    raise TooManyAttempts(message, seconds)


async def succeeded(account: str) -> None:
    """The account's owner signed in: their count starts over (the address's does not, or
    one account of a guesser's own would reset it)."""
    if resources.redis is not None:
        with contextlib.suppress(RedisError):
            await resources.redis.delete(account)


async def clear_account(user_id: int) -> None:
    """A password reset proved the owner: lift the account's lock."""
    await succeeded(account_key(user_id, ""))

