"""Likes, reposts, mentions, edits and hashtags at the service level, against real
PostgreSQL and Redis: who is notified (grouped, blocked, mentioned once), what the home
timeline shows, what account deletion leaves behind, and trending by people."""

from __future__ import annotations

import asyncio
import time

import pytest

from microblog.errors import Forbidden
from microblog.models import Notification, NotificationKind, Post, PostEdit, User
from microblog.services import accounts, engagement, messages, posts, social, tags
from microblog.services.pagination import PageRequest
from tests.helpers import make_user
from tests.test_email_notifications import bodies

PAGE = PageRequest(1, 25)


async def bell(user: User, kind: NotificationKind) -> list[Notification]:
    return await Notification.filter(user_id=user.id, kind=kind).order_by("id")


async def test_likes_notify_the_author_once_per_post_while_unread(db):
    alice = await make_user("alice")
    post = await posts.create_post(alice, "a post worth liking")
    likers = [await make_user(name) for name in ("bob", "carol", "dave", "erin", "fred")]
    for liker in likers:
        await engagement.like(liker, post.id)
    await engagement.like(likers[0], post.id)  # again: nothing changes
    await engagement.settle()  # the notification is brought up to date once a second
    [grouped] = await bell(alice, NotificationKind.LIKE)
    assert grouped.data["count"] == 5
    assert [u["username"] for u in grouped.data["users"]] == ["fred", "erin", "dave"]
    assert (await User.get(id=alice.id)).unread_notifications == 1
    assert (await Post.get(id=post.id)).like_count == 5
    # read: the next like starts a new notification
    from microblog.services import notifications

    await notifications.mark_read(alice)
    await engagement.unlike(likers[1], post.id)
    await engagement.like(likers[1], post.id)
    await engagement.settle()
    likes = await bell(alice, NotificationKind.LIKE)
    assert len(likes) == 2 and likes[1].data["count"] == 1
    # liking your own post tells nobody
    await engagement.like(alice, post.id)
    await engagement.settle()
    assert len(await bell(alice, NotificationKind.LIKE)) == 2
    assert (await Post.get(id=post.id)).like_count == 6
    await engagement.settle()


async def test_concurrent_likes_lose_no_update(db):
    alice = await make_user("alice")
    post = await posts.create_post(alice, "everyone at once")
    people = [await make_user(f"fan{n}") for n in range(20)]
    await asyncio.gather(*(engagement.like(p, post.id) for p in people))
    await engagement.settle()
    await asyncio.gather(*(engagement.unlike(p, post.id) for p in people[:7]))
    assert (await Post.get(id=post.id)).like_count == 13
    [grouped] = await bell(alice, NotificationKind.LIKE)
    assert grouped.data["count"] == 20
    await engagement.settle()


async def test_a_block_stops_likes_reposts_and_mentions(db):
    alice, mallory = await make_user("alice"), await make_user("mallory")
    post = await posts.create_post(alice, "not for mallory")
    await messages.block(alice, mallory)
    with pytest.raises(Forbidden):
        await engagement.like(mallory, post.id)
    with pytest.raises(Forbidden):
        await engagement.repost(mallory, post.id)
    await posts.create_post(mallory, "hey @alice look at me")
    assert await bell(alice, NotificationKind.MENTION) == []
    assert (await Post.get(id=post.id)).like_count == 0


async def test_mentions_notify_each_person_once(db):
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    post = await posts.create_post(alice, "hello @Bob and @bob, and @nobody, and me @alice")
    [mention] = await bell(bob, NotificationKind.MENTION)
    assert mention.data["post_id"] == post.id and mention.data["user"]["username"] == "alice"
    assert await bell(alice, NotificationKind.MENTION) == []
    # an edit tells only the newly mentioned
    await posts.edit_post(alice, post.id, "hello @bob and now @carol too")
    assert len(await bell(bob, NotificationKind.MENTION)) == 1
    [carols] = await bell(carol, NotificationKind.MENTION)
    assert carols.data["post_id"] == post.id
    # in a comment: the post's author is told of the comment, not also of the mention
    comment = await posts.add_comment(carol, post.id, "@alice @bob agreed")
    assert await bell(alice, NotificationKind.MENTION) == []
    assert len(await bell(alice, NotificationKind.COMMENT)) == 1
    bobs = await bell(bob, NotificationKind.MENTION)
    assert len(bobs) == 2 and bobs[1].data["comment_id"] == comment.id
    assert (await Post.get(id=post.id)).comment_count == 1
    await engagement.settle()


async def test_a_mention_emails_who_wants_it(db, worker, mailbox):
    alice = await make_user("alice")
    await make_user("bob")
    carol = await make_user("carol")
    await User.filter(id=carol.id).update(email_on_mention=False)
    await posts.create_post(alice, "@bob and @carol, see this")
    # (earlier tests' mentions may be mailed too: the queue outlives a test)
    deadline = time.monotonic() + 25
    while not (mine := [m for m in mailbox.messages if "see this" in bodies(m)[0]]):
        assert time.monotonic() < deadline, "no mention email within 25 s"
        await asyncio.sleep(0.05)
    [message] = mine
    assert message["To"] == "bob@example.com" and "alice mentioned you" in message["Subject"]
    assert message["List-Unsubscribe"]
    # (an earlier test's carol may still get its follow emails: only this mention counts)
    assert not [m for m in mailbox.messages
                if m["To"] == "carol@example.com" and "see this" in bodies(m)[0]]


async def test_the_home_timeline_shows_a_repost_once_at_its_newest_reason(db):
    me, bob, carol, dave = [await make_user(n) for n in ("reader", "bob", "carol", "dave")]
    await social.follow(me, bob)
    await social.follow(me, carol)
    old = await posts.create_post(dave, "dave's post, days ago")
    mine = await posts.create_post(me, "my own post")
    await engagement.repost(bob, old.id)
    await engagement.repost(carol, old.id)
    page = await posts.home_timeline(me, PAGE)
    assert [p.id for p in page.items] == [old.id, mine.id]
    shown = page.items[0]
    assert shown.reposted_by is not None and shown.reposted_by.username == "carol"
    assert shown.repost_count == 2 and not shown.reposted
    total = await posts.home_timeline(me, PAGE, count=True)
    assert total.total_items == 2
    # carol undoes hers: bob's is the reason now; bob too: dave's post leaves my home
    await engagement.unrepost(carol, old.id)
    page = await posts.home_timeline(me, PAGE)
    assert page.items[0].reposted_by is not None and page.items[0].reposted_by.username == "bob"
    await engagement.unrepost(bob, old.id)
    assert [p.id for p in (await posts.home_timeline(me, PAGE)).items] == [mine.id]
    # a repost of a post whose author blocked me stays out of my home
    await engagement.repost(bob, old.id)
    await messages.block(dave, me)
    assert [p.id for p in (await posts.home_timeline(me, PAGE)).items] == [mine.id]
    # a profile shows the person's reposts
    assert [p.id for p in (await posts.posts_by(bob, PAGE)).items] == [old.id]
    await engagement.settle()


async def test_an_edit_keeps_the_history_and_moves_the_tags(db):
    alice, bob = await make_user("alice"), await make_user("bob")
    post = await posts.create_post(alice, "first words #Before")
    with pytest.raises(Forbidden):
        await posts.edit_post(bob, post.id, "bob was here")
    view = await posts.edit_post(alice, post.id, "second words #After")
    assert view.body == "second words #After" and view.edited_at is not None
    _post, edits = await posts.history(post.id)
    assert [e.body for e in edits] == ["first words #Before"]
    assert [p.id for p in (await tags.tagged("after", PAGE)).items] == [post.id]
    assert (await tags.tagged("before", PAGE)).items == []
    await posts.edit_post(alice, post.id, "second words #After")  # the same text: no edit
    assert await PostEdit.filter(post_id=post.id).count() == 1


async def test_trending_counts_people_not_uses(db):
    tags.forget_trending()
    spammer = await make_user("spammer")
    for n in range(5):
        await posts.create_post(spammer, f"buy now #deals number {n}")
    for name in ("amy", "ben", "cat"):
        await posts.create_post(await make_user(name), f"{name} says #Café is open")
    trending = await tags.trending()
    assert [(t.name, t.uses, t.people) for t in trending[:2]] == [
        ("café", 3, 3), ("deals", 5, 1)]
    tags.forget_trending()


async def test_deleting_an_account_takes_its_likes_reposts_and_comments_off_the_counts(db):
    alice, bob = await make_user("alice"), await make_user("bob")
    post = await posts.create_post(alice, "counted")
    await engagement.like(bob, post.id)
    await engagement.repost(bob, post.id)
    await posts.add_comment(bob, post.id, "a comment")
    await accounts.delete_account(bob, "correct horse")
    row = await Post.get(id=post.id)
    assert (row.like_count, row.repost_count, row.comment_count) == (0, 0, 0)
    await engagement.settle()
