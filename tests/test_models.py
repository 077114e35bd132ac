"""The tutorial's model semantics, on the real database."""

import hashlib

from microblog.models import Follow, Post, User
from microblog.security import hash_password, verify_password
from microblog.services import accounts, posts, sessions, social
from microblog.services.pagination import PageRequest
from tests.helpers import make_user, present


async def test_password_hashing_is_argon2id_and_verifies(db):
    hashed = await hash_password("cat-in-a-hat")
    assert hashed.startswith("$argon2id$")
    assert await verify_password(hashed, "cat-in-a-hat")
    assert not await verify_password(hashed, "dog-in-a-hat")
    assert not await verify_password(None, "anything")


async def test_authenticate_by_username_any_case_or_email(db):
    user = await make_user("Alice", "s3cret-pass")
    assert present(await accounts.authenticate("alice", "s3cret-pass")).id == user.id
    assert present(await accounts.authenticate("ALICE@example.com", "s3cret-pass")).id == user.id
    assert await accounts.authenticate("alice", "wrong-pass") is None
    assert await accounts.authenticate("nobody", "s3cret-pass") is None


async def test_avatar_is_gravatar_identicon_of_lowercased_email(db):
    user = await make_user("john", email="John@Example.com")
    digest = hashlib.md5(b"john@example.com").hexdigest()  # noqa: S324
    assert user.avatar(128) == f"https://www.gravatar.com/avatar/{digest}?d=identicon&s=128"


async def test_follow_unfollow_and_counts(db):
    john, susan = await make_user("john"), await make_user("susan")
    assert await social.follow(john, susan) is True
    assert await social.follow(john, susan) is False  # idempotent, no duplicate row
    assert await Follow.filter(follower_id=john.id).count() == 1
    assert await social.is_following(john, susan)
    assert not await social.is_following(susan, john)
    # the rows' counts, kept by the database (read again: john and susan are as registered)
    assert social.counts(await User.get(id=john.id))["following_count"] == 1
    assert social.counts(await User.get(id=susan.id))["follower_count"] == 1
    followers = await social.followers(susan, PageRequest(), count=True)
    assert [u.username for u in followers.items] == ["john"] and followers.total_items == 1
    assert await social.unfollow(john, susan) is True
    assert social.counts(await User.get(id=susan.id))["follower_count"] == 0
    assert await social.unfollow(john, susan) is False


async def test_home_timeline_order_own_posts_and_no_duplicates(db):
    john, susan, mary, david = [await make_user(n) for n in ("john", "susan", "mary", "david")]
    p1 = await posts.create_post(john, "post from john")
    p2 = await posts.create_post(susan, "post from susan")
    p3 = await posts.create_post(mary, "post from mary")
    p4 = await posts.create_post(david, "post from david")
    await social.follow(john, susan)
    await social.follow(john, david)
    await social.follow(susan, mary)
    await social.follow(mary, david)
    # following yourself is refused, so own posts come from the query, never twice
    ids = lambda page: [p.id for p in page.items]  # noqa: E731
    req = PageRequest()
    assert ids(await posts.home_timeline(john, req)) == [p4.id, p2.id, p1.id]
    assert ids(await posts.home_timeline(susan, req)) == [p3.id, p2.id]
    assert ids(await posts.home_timeline(mary, req)) == [p4.id, p3.id]
    assert ids(await posts.home_timeline(david, req)) == [p4.id]


async def test_timeline_pagination(db):
    author = await make_user("author")
    created = [await posts.create_post(author, f"post number {i}") for i in range(7)]
    first = await posts.posts_by(author, PageRequest(page=1, per_page=3), count=True)
    second = await posts.posts_by(author, PageRequest(page=3, per_page=3), count=True)
    assert [p.id for p in first.items] == [p.id for p in reversed(created)][:3]
    assert first.has_next and not first.has_prev and first.total_pages == 3
    assert [p.id for p in second.items] == [created[0].id] and not second.has_next


async def test_post_language_is_detected(db):
    author = await make_user("polyglot")
    es = await posts.create_post(author, "Hoy es un día maravilloso para pasear por la playa")
    en = await posts.create_post(author, "Today is a wonderful day for a walk on the beach")
    short = await posts.create_post(author, "ok")
    assert (es.language, en.language, short.language) == ("es", "en", "")
    assert await Post.filter(author_id=author.id).count() == 3


async def test_password_change_invalidates_sessions_and_tokens(db):
    user = await make_user("carol")
    token, _ = await accounts.issue_api_token(user)
    old_auth_id = await sessions.start(user, remember=True)
    assert present(await sessions.user_for(old_auth_id)).id == user.id
    await accounts.change_password(user, "a brand new passphrase",
                                   current_password="correct horse")
    assert await sessions.user_for(old_auth_id) is None
    assert await accounts.user_for_api_token(token) is None
    fresh = await User.get(id=user.id)
    assert await sessions.user_for(await sessions.start(fresh, remember=False)) is not None
