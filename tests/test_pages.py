"""Every page flow through the test client, with CSRF, as a browser would submit it."""

import re

import pytest

from microblog.models import Comment, Follow, Post, User
from tests.helpers import csrf_from, login, make_user, page, present, submit


async def test_register_then_login_then_logout(client):
    response = await submit(client, "/auth/register", {
        "username": "newbie", "email": "newbie@example.com",
        "password": "long enough pw", "password2": "long enough pw"})
    # registering signs in: home, welcomed, asked to confirm the address
    assert response.status_code == 302 and response.location == "/"
    assert await User.filter(username_key="newbie").count() == 1
    status, html = await page(client, "/")
    assert status == 200 and "Hi, newbie!" in html
    assert "Welcome to Microblog, newbie!" in html and 'id="verify-email-banner"' in html
    response = await client.post("/auth/logout", form={"csrf_token": csrf_from(html)})
    assert response.status_code == 302
    status, html = await page(client, "/")
    assert "Hi, newbie!" not in html and "Create an account" in html
    await login(client, "newbie", "long enough pw")
    status, html = await page(client, "/")
    assert status == 200 and "Hi, newbie!" in html


@pytest.mark.parametrize("data, field_error", [
    ({"username": "", "email": "a@example.com"}, "Please choose a username."),
    ({"username": "no spaces", "email": "a@example.com"}, "letters, digits and underscores"),
    ({"username": "x" * 33, "email": "a@example.com"}, "letters, digits and underscores"),
    ({"username": "ALICE", "email": "other@example.com"}, "That username is taken."),
    ({"username": "bob", "email": "not-an-email"}, "not a valid email address"),
    ({"username": "bob", "email": "Alice@Example.com"}, "already registered"),
])
async def test_register_rejects_bad_input_and_writes_nothing(client, data, field_error):
    await make_user("alice")
    response = await submit(client, "/auth/register", {
        "password": "long enough pw", "password2": "long enough pw", **data})
    html = await response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_error in html and "is-invalid" in html
    assert await User.all().count() == 1


async def test_register_password_rules(client):
    response = await submit(client, "/auth/register", {
        "username": "bob", "email": "bob@example.com", "password": "short",
        "password2": "short"})
    assert response.status_code == 400
    assert "at least 8 characters" in await response.get_data(as_text=True)
    response = await submit(client, "/auth/register", {
        "username": "bob", "email": "bob@example.com", "password": "long enough pw",
        "password2": "different pw"})
    assert response.status_code == 400
    assert "Passwords must match." in await response.get_data(as_text=True)
    assert await User.all().count() == 0


async def test_login_wrong_password_and_unknown_user(client):
    await make_user("alice")
    for username, password in (("alice", "wrong password"), ("ghost", "whatever1")):
        response = await submit(client, "/auth/login",
                                {"username": username, "password": password})
        assert response.status_code == 400
        assert "Invalid username or password." in await response.get_data(as_text=True)
    status, html = await page(client, "/")
    assert "Hi, alice" not in html


async def test_login_remember_me_sets_a_persistent_cookie(client):
    await make_user("alice")
    response = await submit(client, "/auth/login", {
        "username": "alice", "password": "correct horse", "remember_me": "y"})
    cookie = response.headers.get("Set-Cookie", "")
    assert "QUART_AUTH=" in cookie and "Max-Age=" in cookie and "HttpOnly" in cookie
    other = client.app.test_client()
    response = await submit(other, "/auth/login", {
        "username": "alice", "password": "correct horse"})
    assert "Max-Age=" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("next_url, expected", [
    ("/explore", "/explore"),
    ("/user/alice?page=2", "/user/alice?page=2"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
async def test_login_honours_next_only_for_local_paths(client, next_url, expected):
    await make_user("alice")
    _s, html = await page(client, "/auth/login")
    response = await client.post("/auth/login", query_string={"next": next_url}, form={
        "username": "alice", "password": "correct horse", "csrf_token": csrf_from(html)})
    assert response.status_code == 302
    assert response.location == expected


async def test_pages_that_need_login_redirect_there(client):
    response = await client.get("/edit_profile")
    assert response.status_code == 302
    assert response.location.startswith("/auth/login?next=/edit_profile")


async def test_post_from_home_appears_on_timeline_and_is_escaped(client):
    await make_user("alice")
    await login(client)
    body = "<script>alert('x')</script> & <b>bold</b>"
    response = await submit(client, "/", {"post": body})
    assert response.status_code == 302
    for path in ("/", "/explore", "/user/alice", f"/post/{present(await Post.first()).id}"):
        status, html = await page(client, path)
        assert status == 200
        assert "<script>alert" not in html and "<b>bold</b>" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


@pytest.mark.parametrize("body, message", [
    ("", "the text is empty"),
    ("   \n ", "the text is empty"),
    ("x" * 281, "the limit is 280"),
])
async def test_empty_and_oversized_posts_are_refused(client, body, message):
    await make_user("alice")
    await login(client)
    response = await submit(client, "/", {"post": body})
    assert response.status_code == 400
    assert message in await response.get_data(as_text=True)
    assert await Post.all().count() == 0


async def test_post_of_exactly_280_characters_is_accepted(client):
    await make_user("alice")
    await login(client)
    response = await submit(client, "/", {"post": "y" * 280})
    assert response.status_code == 302
    assert present(await Post.first()).body == "y" * 280


async def test_missing_or_invalid_csrf_token_is_refused_and_writes_nothing(client):
    await make_user("alice")
    await login(client)
    missing = await client.post("/", form={"post": "hello"})
    forged = await client.post("/", form={"post": "hello", "csrf_token": "forged"})
    for response in (missing, forged):
        assert response.status_code == 400
        assert "The form expired or was not sent from this site" in await response.get_data(
            as_text=True)
    assert await Post.all().count() == 0
    bob = await make_user("bob")
    response = await client.post(f"/follow/{bob.username}", form={})
    assert response.status_code == 400
    assert await Follow.all().count() == 0


async def test_follow_and_unfollow_buttons(client):
    await make_user("alice")
    bob = await make_user("bob")
    await posts_by(bob, "hello from bob")
    await login(client)
    status, html = await page(client, "/user/bob")
    assert re.search(r'action="/follow/bob"', html)
    assert "0 followers" in html
    response = await client.post("/follow/bob", form={"csrf_token": csrf_from(html)})
    assert response.status_code == 302
    status, html = await page(client, "/user/bob")
    assert 'action="/unfollow/bob"' in html and "1 follower<" in html
    status, home = await page(client, "/")
    assert "hello from bob" in home
    status, followers = await page(client, "/user/bob/followers")
    assert ">alice</a>" in followers
    response = await client.post("/unfollow/bob", form={"csrf_token": csrf_from(html)})
    assert response.status_code == 302
    assert await Follow.all().count() == 0
    status, home = await page(client, "/")
    assert "hello from bob" not in home


async def posts_by(user, body):
    from microblog.services import posts

    return await posts.create_post(user, body)


async def test_cannot_follow_yourself_or_unknown_users(client):
    await make_user("alice")
    await login(client)
    _s, html = await page(client, "/user/alice")
    token = csrf_from(html)
    response = await client.post("/follow/alice", form={"csrf_token": token})
    assert response.status_code == 400
    response = await client.post("/follow/ghost", form={"csrf_token": token})
    assert response.status_code == 404
    assert await Follow.all().count() == 0


async def test_profile_shows_avatar_about_me_last_seen_and_counts(client):
    alice = await make_user("alice")
    await login(client)
    response = await submit(client, "/edit_profile", {"username": "alice",
                                                      "about_me": "I <3 tea"})
    assert response.status_code == 302
    status, html = await page(client, "/user/ALICE")
    assert status == 200
    assert "I &lt;3 tea" in html and "Last seen" in html
    assert alice.avatar_hash() in html and "gravatar.com/avatar/" in html
    assert "0 posts" in html


async def test_edit_profile_rejects_taken_and_invalid_names(client):
    await make_user("alice")
    await make_user("bob")
    await login(client)
    for username, message in (("BOB", "That username is taken."),
                              ("bad name!", "letters, digits and underscores")):
        response = await submit(client, "/edit_profile",
                                {"username": username, "about_me": "x"})
        assert response.status_code == 400
        assert message in await response.get_data(as_text=True)
    response = await submit(client, "/edit_profile", {"username": "alice",
                                                      "about_me": "z" * 281})
    assert response.status_code == 400
    assert (await User.get(username_key="alice")).about_me == ""


async def test_comments_on_a_post_page(client):
    alice = await make_user("alice")
    post = await posts_by(alice, "a post to discuss")
    await make_user("bob")
    await login(client, "bob")
    response = await submit(client, f"/post/{post.id}", {"body": "Nice <i>post</i>"})
    assert response.status_code == 302
    status, html = await page(client, f"/post/{post.id}")
    assert "Nice &lt;i&gt;post&lt;/i&gt;" in html
    response = await submit(client, f"/post/{post.id}", {"body": ""})
    assert response.status_code == 400
    assert await Comment.all().count() == 1


async def test_only_the_author_deletes_a_post(client):
    alice = await make_user("alice")
    post = await posts_by(alice, "mine")
    await make_user("bob")
    await login(client, "bob")
    _s, html = await page(client, f"/post/{post.id}")
    assert "Delete post" not in html
    response = await client.post(f"/post/{post.id}/delete",
                                 form={"csrf_token": csrf_from(html)})
    assert response.status_code == 403
    assert await Post.all().count() == 1
    other = client.app.test_client()
    await login(other, "alice")
    _s, html = await page(other, f"/post/{post.id}")
    response = await other.post(f"/post/{post.id}/delete",
                                form={"csrf_token": csrf_from(html)})
    assert response.status_code == 302 and await Post.all().count() == 0


async def test_404_is_html_or_json_as_the_client_prefers(client):
    html_response = await client.get("/user/ghost")
    assert html_response.status_code == 404
    assert "text/html" in html_response.content_type
    json_response = await client.get("/user/ghost", headers={"Accept": "application/json"})
    assert json_response.status_code == 404
    assert (await json_response.get_json())["error"] == "Not Found"
    missing = await client.get("/no/such/page", headers={"Accept": "application/json"})
    assert missing.status_code == 404 and "message" in await missing.get_json()


async def test_locale_from_accept_language_then_user_choice(client):
    await make_user("alice")
    _s, html = await page(client, "/auth/login")
    assert "Sign in" in html
    response = await client.get("/auth/login", headers={"Accept-Language": "es-ES,es;q=0.9"})
    html = await response.get_data(as_text=True)
    assert 'lang="es"' in html and "Iniciar sesión" in html
    response = await client.get("/auth/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    html = await response.get_data(as_text=True)
    assert 'lang="zh"' in html and "登录" in html
    response = await client.get("/auth/login", headers={"Accept-Language": "fr, es;q=0.5"})
    assert 'lang="es"' in await response.get_data(as_text=True)
    await login(client)
    _s, html = await page(client, "/")
    response = await client.post("/language", form={
        "locale": "es", "next": "/explore", "csrf_token": csrf_from(html)})
    assert response.status_code == 302 and response.location == "/explore"
    assert (await User.get(username_key="alice")).locale == "es"
    response = await client.get("/", headers={"Accept-Language": "zh"})
    assert 'lang="es"' in await response.get_data(as_text=True)
    response = await client.post("/language", form={
        "locale": "xx", "csrf_token": csrf_from(html)})
    assert response.status_code == 400


async def test_healthz_and_readyz(client):
    assert (await client.get("/healthz")).status_code == 200
    response = await client.get("/readyz")
    assert response.status_code == 200 and (await response.get_json())["status"] == "ready"


async def test_register_reports_every_problem_at_once(client):
    await make_user("alice")
    response = await submit(client, "/auth/register", {
        "username": "ALICE", "email": "nope", "password": "long enough pw",
        "password2": "different pw"})
    html = await response.get_data(as_text=True)
    assert response.status_code == 400
    for message in ("That username is taken.", "not a valid email address",
                    "Passwords must match."):
        assert message in html
    assert await User.all().count() == 1
