"""The `microblog` command's data tools, and the mail outbox used without MAIL_SERVER."""

import asyncio
import subprocess
import sys
from email import message_from_bytes, policy

from microblog.mail import render_email, send_email
from microblog.models import Conversation, Follow, Message, Post, User
from microblog.settings import ROOT
from tests.conftest import settings_env
from tests.helpers import make_user, present


async def run_cli(settings, *args):
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "microblog.cli", *args],
        env=settings_env(settings), cwd=ROOT, capture_output=True, text=True, timeout=120)


async def test_seed_bulk_inserts_users_follows_and_posts(settings, db):
    await make_user("existing")
    result = await run_cli(settings, "seed", "--users", "30", "--posts", "500",
                           "--follows", "5", "--messages", "200")
    assert result.returncode == 0, result.stderr
    assert await User.all().count() == 31
    assert await Post.all().count() == 500
    assert await Follow.all().count() == 150
    assert await Message.all().count() == 200
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
