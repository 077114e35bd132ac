"""The `microblog` command's data tools, and the mail outbox used without MAIL_SERVER."""

import asyncio
import random
import re
import subprocess
import sys
from collections import Counter
from email import message_from_bytes, policy

from tortoise import connections

from microblog.limits import POST_MAX
from microblog.mail import render_email, send_email
from microblog.models import Conversation, Follow, Like, Message, Post, Repost, User
from microblog.seed import RARE_TAIL, PostWriter, Reactions
from microblog.settings import ROOT
from microblog.text import hashtags
from tests.conftest import settings_env
from tests.helpers import make_user, present


async def run_cli(settings, *args):
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "microblog.cli", *args],
        env=settings_env(settings), cwd=ROOT, capture_output=True, text=True, timeout=120)


async def test_seed_bulk_inserts_users_follows_and_posts(settings, db):
    await make_user("existing")
    result = await run_cli(settings, "seed", "--users", "30", "--posts", "500",
                           "--follows", "5", "--likes", "10", "--reposts", "3",
                           "--messages", "200")
    assert result.returncode == 0, result.stderr
    assert await User.all().count() == 31
    assert await Post.all().count() == 500
    assert await Follow.all().count() == 150
    assert await Message.all().count() == 200
    # about 10 likes and 3 reposts per user (how many varies from person to person)
    likes, reposts = await Like.all().count(), await Repost.all().count()
    assert 100 < likes < 600 and 30 < reposts < 200
    assert f"{likes} likes, {reposts} reposts" in result.stdout
    conn = connections.get("default")

    async def none(source: str, where: str) -> None:
        query = f"SELECT count(*) AS n FROM {source} WHERE {where}"  # noqa: S608 - constants
        assert await conn.execute_query_dict(query) == [{"n": 0}], (source, where)

    # the posts' counters are the real counts (no comments are seeded)
    await none("posts p", "like_count <> (SELECT count(*) FROM likes l WHERE l.post_id = p.id)")
    await none("posts p",
               "repost_count <> (SELECT count(*) FROM reposts r WHERE r.post_id = p.id)")
    await none("posts", "comment_count <> 0 OR edited_at IS NOT NULL")
    # people like and repost posts of those they follow, after they were posted
    for table in ("likes", "reposts"):
        await none(f"{table} x JOIN posts p ON p.id = x.post_id",
                   "x.created_at <= p.created_at OR x.created_at > now() OR NOT EXISTS ("
                   "SELECT 1 FROM follows f WHERE f.follower_id = x.user_id "
                   "AND f.followed_id = p.author_id)")
    # reposts take their ids from the posts' sequence in time order: one timeline orders
    # both by id
    await none("""(SELECT created_at < lag(created_at) OVER (ORDER BY id) AS early
                   FROM (SELECT id, created_at FROM posts
                         UNION ALL SELECT id, created_at FROM reposts) e) o""", "early")
    # every conversation has both sides, pointing at its newest message
    conversations = await Conversation.all()
    assert conversations and len(conversations) % 2 == 0
    newest = max(m.id for m in await Message.all())
    assert max(c.last_message_id for c in conversations) == newest
    # timelines order by id; seeded ids follow creation time
    times = [p.created_at for p in await Post.all().order_by("id")]
    assert times == sorted(times)
    # seeded accounts can sign in with the announced password
    from microblog.services import accounts

    seeded = present(await User.exclude(username="existing").first())
    assert await accounts.authenticate(seeded.username, "password") is not None


CJK = re.compile(r"[\u4e00-\u9fff]")
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,32})")


async def test_seed_writes_varied_posts_in_three_languages_with_tags_and_mentions(settings, db):
    """What search and its benchmark need from the demo data: three languages in about the
    announced shares, hashtags stored exactly as posting computes them (and indexed by the
    database's triggers), mentions of people who exist, inflected words and variety."""
    await make_user("existing")
    result = await run_cli(settings, "seed", "--users", "40", "--posts", "2000",
                           "--follows", "3", "--messages", "0")
    assert result.returncode == 0, result.stderr
    assert re.search(r"seeded 40 users, 120 follows, 2000 posts \([\d,]+ posts/s\)",
                     result.stdout), result.stdout
    conn = connections.get("default")
    rows = await conn.execute_query_dict("SELECT body, language, tags FROM posts")
    assert len(rows) == 2000
    assert await User.all().count() == 41

    shares = Counter(r["language"] for r in rows)
    assert set(shares) == {"en", "es", "zh"}
    assert 0.60 < shares["en"] / 2000 < 0.80
    assert 0.12 < shares["es"] / 2000 < 0.25
    assert 0.07 < shares["zh"] / 2000 < 0.18
    assert all(CJK.search(r["body"]) for r in rows if r["language"] == "zh")

    assert all(0 < len(r["body"]) <= POST_MAX for r in rows)
    assert all(list(r["tags"]) == hashtags(r["body"]) for r in rows)
    tagged = [r for r in rows if r["tags"]]
    assert 0.30 < len(tagged) / 2000 < 0.50
    assert max(len(r["tags"]) for r in rows) <= 3
    tags = {t for r in rows for t in r["tags"]}
    assert {"café", "北京"} & tags and len(tags) > 25
    # the database indexed them (migration 5's triggers run for COPY too)
    assert await conn.execute_query_dict("SELECT count(*) AS n FROM post_tags") == [
        {"n": sum(len(r["tags"]) for r in rows)}]

    usernames = {u.username for u in await User.all()}
    mentioned = [m for r in rows for m in MENTION.findall(r["body"])]
    assert 0.08 < len(mentioned) / 2000 < 0.22
    assert set(mentioned) <= usernames

    assert len({r["body"] for r in rows}) > 0.9 * 2000
    words = Counter(w for r in rows for w in set(re.findall(r"\w+", r["body"].lower())))
    assert {"running", "ran", "runs", "niños", "mañana"} <= set(words)
    assert words["today"] > 0.05 * 2000  # common words for search to rank


def test_post_writer_is_deterministic_for_a_seed():
    names = ["quiet_fox1", "brave_owl2"]
    first = PostWriter(random.Random(7), names)
    again = PostWriter(random.Random(7), names)
    other = PostWriter(random.Random(8), names)
    posts = [first.post() for _ in range(300)]
    assert posts == [again.post() for _ in range(300)]
    assert posts != [other.post() for _ in range(300)]
    # the rare tail: each word is rare, and there are many of them
    assert len(RARE_TAIL) >= 1900 and len(set(RARE_TAIL)) == len(RARE_TAIL)


def test_reactions_are_skewed_follow_the_graph_and_are_deterministic():
    """Likes and reposts: about the average per person, of followed people's posts only, at
    least a second after the post and no later than now, popular posts far more than most."""
    def react(seed: int) -> list[list[tuple[int, float]]]:
        rng = random.Random(seed)
        people = list(range(1, 201))
        span = 60 * 86400.0
        follows = {u: [t for t in rng.sample(people, 21) if t != u][:20] for u in people}
        offsets = sorted(rng.uniform(0, span) for _ in range(5000))
        authors = [rng.choice(people) for _ in range(5000)]
        reactions = Reactions(rng, authors, offsets, span, follows)
        picked = [reactions.pick(u, 20) for u in people]
        for u, picks in zip(people, picked, strict=True):
            assert len({i for i, _ in picks}) == len(picks)
            assert all(authors[i] in follows[u] for i, _ in picks)
            assert all(offsets[i] + 1 <= at <= span for i, at in picks)
        return picked

    picked = react(7)
    assert picked == react(7) and picked != react(8)
    counts = Counter(i for picks in picked for i, _ in picks)
    total = sum(counts.values())
    assert 16 * 200 < total < 24 * 200
    assert len({len(picks) for picks in picked}) > 30  # some react a lot, some hardly
    # the top 1% of posts (50) hold about 10% of the likes (evenly, about 4%)
    assert sum(n for _, n in counts.most_common(50)) > 0.07 * total


async def test_db_upgrade_is_idempotent(settings):
    result = await run_cli(settings, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


async def test_without_mail_server_email_goes_to_the_outbox(settings, tmp_path):
    local = settings.with_(mail_server=None, instance_dir=tmp_path)
    message = render_email(local, to="someone@example.com", subject="Hello <there>",
                           template="email/reset_password",
                           user=type("U", (), {"username": "someone"})(),
                           url="http://127.0.0.1:5000/auth/reset/abc")
    await send_email(local, message)
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    stored = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert stored["To"] == "someone@example.com"
    assert "/auth/reset/abc" in present(stored.get_body(("plain",))).get_content()


def test_settings_lists_every_variable_with_secrets_masked():
    """`microblog settings`: what an operator reads to configure a deployment and to check
    what a process would run with, without printing a credential."""
    from microblog.settings import Settings
    from microblog.testing import settings_env

    env = settings_env(
        Settings(), SECRET_KEY="key-" + "k" * 40, MAIL_PASSWORD="smtp-pass-123",
        DATABASE_URL="postgres://app:db-pass-456@db.example:5432/microblog",
        REDIS_URL="redis://:redis-pass-789@cache:6379/0", ADMINS="alice, bob",
        PUBLIC_URL="https://example.com/", MAIL_SERVER="")
    result = subprocess.run([sys.executable, "-m", "microblog.cli", "settings"],  # noqa: S603
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    words = " ".join(out.split())
    for name, field in Settings.model_fields.items():
        assert f"\n{name.upper()} = " in out, f"{name.upper()} is not listed"
        assert " ".join((field.description or "").split()) in words, f"{name}: no description"
    for group in ("Core and secrets", "Services", "Mail", "Web and security", "Real-time",
                  "Jobs", "Logging and metrics", "Paths"):
        assert f"{group}\n" in out
    for secret in ("k" * 40, "smtp-pass-123", "db-pass-456", "redis-pass-789"):
        assert secret not in out + result.stderr
    assert "SECRET_KEY = ****" in out and "MAIL_PASSWORD = ****" in out
    assert "DATABASE_URL = postgres://app:****@db.example:5432/microblog" in out
    assert "REDIS_URL = redis://:****@cache:6379/0" in out
    # parsed as the app parses them: lists, the trailing slash, derived defaults
    assert "ADMINS = alice,bob" in out
    assert "PUBLIC_URL = https://example.com\n" in out
    assert "COOKIE_SECURE = on" in out and "default: on when PUBLIC_URL is https://" in out
    assert "MAIL_SERVER = unset" in out and "MAIL_PORT = 25\n" in out

    env["METRICS_ALLOWED"] = "10.0.0.0/8,localhost"
    bad = subprocess.run([sys.executable, "-m", "microblog.cli", "settings"],  # noqa: S603
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "METRICS_ALLOWED = 10.0.0.0/8,localhost" in bad.stdout  # shown as set
    assert "METRICS_ALLOWED: 'localhost' is not an IP address or CIDR" in bad.stderr
    assert "db-pass-456" not in bad.stdout + bad.stderr


def test_settings_markdown_is_a_table_row_per_variable():
    from microblog.settings import Settings

    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "microblog.cli", "settings", "--markdown"], cwd=ROOT,
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == [n.upper() for n in Settings.model_fields]
    assert "| `MAIL_SENDER` | `Microblog <no-reply@microblog.local>` |" in result.stdout
    # README's configuration section is this table, kept current
    readme = (ROOT / "README.md").read_text()
    stale = [row for row in rows if row not in readme]
    assert not stale, "README.md: run `microblog settings --markdown` and paste:\n" + "\n".join(stale)
