"""Demo data, fast: COPY straight into PostgreSQL through asyncpg, with a progress bar."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

import asyncpg
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from microblog.db import asyncpg_dsn
from microblog.security import _hasher

ADJECTIVES = ["quiet", "bright", "lazy", "brave", "curious", "sunny", "misty", "swift", "calm",
              "wild", "gentle", "clever", "happy", "silver", "golden", "little"]
NOUNS = ["fox", "river", "owl", "maple", "comet", "harbor", "falcon", "meadow", "pixel",
         "otter", "cedar", "lantern", "willow", "panda", "tiger", "violet"]
SENTENCES = {
    "en": ["Just finished a long walk by the river and the light was perfect.",
           "Does anyone else think Mondays should start at noon?",
           "Reading a great book about the history of maps tonight.",
           "Coffee first, then code. That is the rule around here.",
           "The new bakery on the corner makes the best bread in town.",
           "Shipping a small feature today and it feels great.",
           "Rain all day, so I am catching up on old films.",
           "Learning to play the guitar, my fingers disagree with this plan."],
    "es": ["Hoy di un paseo largo por el parque y hacía un tiempo estupendo.",
           "¿Alguien más piensa que el café de la mañana es sagrado?",
           "Estoy leyendo un libro fascinante sobre la historia del mar.",
           "La nueva panadería de la esquina tiene el mejor pan de la ciudad.",
           "Llueve todo el día, así que veré películas antiguas en casa."],
    "zh": ["今天在河边散步，阳光特别好。",
           "晚上读了一本关于地图历史的好书。",
           "先喝咖啡，再写代码，这是我的规矩。",
           "街角新开的面包店做的面包真好吃。",
           "下了一整天的雨，正好在家看老电影。"],
}
LANGUAGE_WEIGHTS = [("en", 0.75), ("es", 0.15), ("zh", 0.10)]
ABOUT = ["Coffee, code and long walks.", "Amateur photographer.", "Here for the conversation.",
         "Writing about small things.", "Ciclista y lector.", "喜欢旅行和读书。", ""]

BATCH = 20_000


async def seed(database_url: str, *, users: int, posts: int, follows: int, messages: int,
               password: str, rng_seed: int | None = None) -> dict[str, int]:
    rng = random.Random(rng_seed)  # noqa: S311 - demo data
    started = time.perf_counter()
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    password_hash = _hasher.hash(password)  # once: argon2 per user would take minutes
    now = datetime.now(UTC)
    try:
        with Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn()) as progress:
            first = (await conn.fetchval("SELECT COALESCE(MAX(id), 0) FROM users")) + 1
            task = progress.add_task("users", total=users)
            records = []
            for n in range(first, first + users):
                name = f"{rng.choice(ADJECTIVES)}_{rng.choice(NOUNS)}{n}"
                created = now - timedelta(days=rng.uniform(30, 400))
                records.append((name, name.lower(), f"{name.lower()}@example.com", password_hash,
                                rng.choice(ABOUT), None, 0,
                                now - timedelta(minutes=rng.uniform(0, 60 * 24 * 30)), created))
            await conn.copy_records_to_table(
                "users", records=records,
                columns=["username", "username_key", "email", "password_hash", "about_me",
                         "locale", "session_epoch", "last_seen", "created_at"])
            progress.update(task, completed=users)
            ids = [r["id"] for r in await conn.fetch(
                "SELECT id FROM users WHERE id >= $1 ORDER BY id", first)]
            everyone = [r["id"] for r in await conn.fetch("SELECT id FROM users")]

            task = progress.add_task("follows", total=len(ids) * min(follows, len(everyone) - 1))
            pairs = []
            for uid in ids:
                targets = rng.sample(everyone, min(follows + 1, len(everyone)))
                for target in [t for t in targets if t != uid][:follows]:
                    pairs.append((uid, target, now - timedelta(days=rng.uniform(0, 30))))
            existing = {(r["follower_id"], r["followed_id"]) for r in await conn.fetch(
                "SELECT follower_id, followed_id FROM follows WHERE follower_id >= $1", first)}
            pairs = [p for p in pairs if (p[0], p[1]) not in existing]
            for i in range(0, len(pairs), BATCH):
                await conn.copy_records_to_table(
                    "follows", records=pairs[i:i + BATCH],
                    columns=["follower_id", "followed_id", "created_at"])
                progress.update(task, advance=len(pairs[i:i + BATCH]))

            task = progress.add_task("posts", total=posts)
            # ids grow with time, so timelines ordered by id are ordered by time
            span = timedelta(days=60).total_seconds()
            offsets = sorted(rng.uniform(0, span) for _ in range(posts))
            languages = [lang for lang, _ in LANGUAGE_WEIGHTS]
            weights = [w for _, w in LANGUAGE_WEIGHTS]
            for i in range(0, posts, BATCH):
                chunk = []
                for offset in offsets[i:i + BATCH]:
                    lang = rng.choices(languages, weights)[0]
                    body = rng.choice(SENTENCES[lang])
                    if rng.random() < 0.5:
                        body = f"{body} #{rng.choice(NOUNS)}"
                    created = now - timedelta(seconds=span - offset)
                    chunk.append((rng.choice(ids), body[:280], lang, created))
                await conn.copy_records_to_table(
                    "posts", records=chunk,
                    columns=["author_id", "body", "language", "created_at"])
                progress.update(task, advance=len(chunk))
            task = progress.add_task("messages", total=messages)
            # conversations mostly between people who follow each other's posts
            pair_pool = [(p[0], p[1]) for p in pairs] or [(ids[0], ids[-1])]
            lines = [s for lang in SENTENCES.values() for s in lang] + [
                "Are you coming tonight?", "Ha, that's great!", "Let me check and get back to you.",
                "¿Quedamos mañana?", "好的，明天见！"]
            msg_offsets = sorted(rng.uniform(0, span) for _ in range(messages))
            for i in range(0, messages, BATCH):
                chunk = []
                for offset in msg_offsets[i:i + BATCH]:
                    a, b = rng.choice(pair_pool)
                    if rng.random() < 0.5:
                        a, b = b, a
                    chunk.append((a, b, rng.choice(lines), now - timedelta(seconds=span - offset)))
                await conn.copy_records_to_table(
                    "messages", records=chunk,
                    columns=["sender_id", "recipient_id", "body", "created_at"])
                progress.update(task, advance=len(chunk))
            if messages:
                # both sides of each conversation, everything seeded counted as read
                await conn.execute("""
                    WITH pairs AS (
                      SELECT sender_id AS u, recipient_id AS p, max(id) AS last,
                             max(created_at) AS at FROM messages GROUP BY 1, 2
                      UNION ALL
                      SELECT recipient_id, sender_id, max(id), max(created_at)
                      FROM messages GROUP BY 1, 2)
                    INSERT INTO conversations
                      (user_id, partner_id, last_message_id, last_read_id, unread, updated_at)
                    SELECT u, p, max(last), max(last), 0, max(at) FROM pairs GROUP BY u, p
                    ON CONFLICT (user_id, partner_id) DO UPDATE SET
                      last_message_id = EXCLUDED.last_message_id,
                      last_read_id = EXCLUDED.last_read_id, unread = 0,
                      updated_at = EXCLUDED.updated_at""")
        await conn.execute("ANALYZE users; ANALYZE follows; ANALYZE posts; ANALYZE messages; "
                           "ANALYZE conversations;")
    finally:
        await conn.close()
    elapsed = time.perf_counter() - started
    print(f"seeded {users} users, {len(pairs)} follows, {posts} posts, {messages} messages "
          f"in {elapsed:.1f}s "
          f"(password for every seeded user: {password!r})")
    return {"users": users, "follows": len(pairs), "posts": posts, "messages": messages}
