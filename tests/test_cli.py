"""The `microblog` command's data tools, and the mail outbox used without MAIL_SERVER."""

import asyncio
import subprocess
import sys
from email import message_from_bytes, policy

from microblog.mail import render_email, send_email
from microblog.models import Conversation, Follow, Message, Post, User
from microblog.settings import ROOT
from tests.conftest import settings_env
from tests.helpers import make_user


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

    seeded = await User.exclude(username="existing").first()
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
    assert "/auth/reset/abc" in stored.get_body(("plain",)).get_content()
