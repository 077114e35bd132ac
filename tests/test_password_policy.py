"""The password policy (OWASP ASVS 5.0 V6.2): at least PASSWORD_MIN characters, long
passphrases welcome, no character-class rules; refused when common, blank, one character
repeated, or containing the username or the email's local part. Wherever a password is set:
registration (form and API), reset, change."""

import pytest

from microblog.clock import now
from microblog.errors import ValidationFailed
from microblog.limits import PASSWORD_MAX, PASSWORD_MIN
from microblog.models import PasswordResetToken, User
from microblog.passwords import COMMON_PASSWORDS_FILE, common_passwords, password_problem
from microblog.security import new_token, token_digest, verify_password
from microblog.services import accounts
from microblog.services.accounts import RESET_TOKEN_TTL, clean_password
from tests.conftest import artifact
from tests.helpers import make_user, page, submit

COMMON = "one of the most common passwords"


def refused(password, **owner):
    with pytest.raises(ValidationFailed) as info:
        clean_password(password, **owner)
    assert set(info.value.errors) == {"password"}
    return info.value.errors["password"]


def test_the_list_ships_with_the_package_and_loads_once():
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("#") and any("License" in line for line in lines if line[0] == "#")
    entries = [line for line in lines if not line.startswith("#")]
    assert len(entries) == 10_000 and entries[:3] == ["123456", "password", "12345678"]
    assert common_passwords() is common_passwords()
    assert all(len(entry) >= PASSWORD_MIN for entry in common_passwords())
    assert "password" in common_passwords() and "123456" not in common_passwords()


@pytest.mark.parametrize("password", [
    "password", "PASSWORD", "PassWord", "12345678", "  password  ", "iloveyou", "qwertyuiop",
    "Password1", "password123", "trustno1",
])
def test_common_passwords_are_refused_in_any_case(password):
    assert password.strip().casefold() in common_passwords()
    assert COMMON in refused(password)


@pytest.mark.parametrize("password, message", [
    (" " * 8, "only spaces"), ("\t \t \t \t ", "only spaces"), (" " * 64, "only spaces"),
    ("aaaaaaaa", "one character repeated"), ("ZzZzZzZzZz", "one character repeated"),
    ("éééééééééééé", "one character repeated"),
])
def test_blank_and_repeated_are_refused(password, message):
    assert message in refused(password)


def test_too_short_and_too_long():
    assert "at least 8 characters" in refused("a1b2c3d")
    assert "at least 8 characters" in refused("")
    assert "too long" in refused("x" * (PASSWORD_MAX + 1))


def test_the_username_and_email_local_part_are_refused_inside():
    assert "your username" in refused("xxalice99xx", username="alice")
    assert "your username" in refused("xxALICE99xx", username="Alice", email="a@b.example")
    assert "your email address" in refused("the wonderland.al dream",
                                           username="alice", email="Wonderland.AL@example.com")
    # shorter than 3 characters: too many good passwords contain them
    assert clean_password("xxal99xx yy", username="al", email="al@example.com")
    # the domain is not personal
    assert clean_password("example rocks 42", email="zed@example.com")


@pytest.mark.parametrize("password", [
    "correct horse battery staple",
    "granite umbrella whispers over the quiet harbour at dawn, and nobody minds it at all 7",
    "".join(chr(ord("a") + i % 26) for i in range(1000)),
    "Zq7#mK2p",
    "纸飞机在雨里慢慢飞",
    "        spaces around are fine when the rest is good        ",
])
def test_good_passwords_are_accepted(password):
    assert clean_password(password, username="alice", email="alice@example.com") == password


def test_long_passphrases_are_accepted():
    assert len(clean_password("a long and unusual passphrase of several words " * 2)) >= 64
    thousand = ("the quick brown fox jumps over the lazy dog " * 30)[:1000]
    assert clean_password(thousand) == thousand
    at_limit = ("ab" * PASSWORD_MAX)[:PASSWORD_MAX]
    assert clean_password(at_limit) == at_limit


def test_password_problem_is_none_for_a_good_one():
    assert password_problem("vintage lamp orbit", username="alice", email="a@x.example") is None


async def test_registration_form_refuses_a_common_password_and_says_why(client):
    status, html = await page(client, "/auth/register")
    assert status == 200
    assert "common passwords and your username are refused" in html
    assert 'aria-describedby="password-help"' in html and 'id="password-meter"' in html
    assert "js/password.js" in html
    response = await submit(client, "/auth/register", {
        "username": "alice", "email": "alice@example.com",
        "password": "password", "password2": "password"})
    assert response.status_code == 400
    html = await response.get_data(as_text=True)
    assert COMMON in html
    assert 'aria-describedby="password-error password-help"' in html
    assert await User.all().count() == 0


async def test_registration_form_refuses_the_username_inside(client):
    response = await submit(client, "/auth/register", {
        "username": "alice", "email": "someone@example.com",
        "password": "xxalice99xx", "password2": "xxalice99xx"})
    assert response.status_code == 400
    assert "must not contain your username" in await response.get_data(as_text=True)
    assert await User.all().count() == 0


async def test_api_registration_refuses_a_common_password(client):
    response = await client.post("/api/users", json={
        "username": "dora", "email": "dora@example.com", "password": "password"})
    assert response.status_code == 400
    body = await response.get_json()
    assert set(body["errors"]) == {"password"} and COMMON in body["errors"]["password"]
    response = await client.post("/api/users", json={
        "username": "dora", "email": "explorer@example.com", "password": "the explorer dora"})
    assert response.status_code == 400
    assert "your username" in (await response.get_json())["errors"]["password"]
    assert await User.all().count() == 0


async def test_api_registration_accepts_a_long_passphrase(client):
    passphrase = "paper kites drift over the old harbour wall while gulls argue about chips"
    response = await client.post("/api/users", json={
        "username": "dora", "email": "dora@example.com", "password": passphrase})
    assert response.status_code == 201
    user = await User.get(username="dora")
    assert await verify_password(user.password_hash, passphrase)


async def reset_link(user: User) -> str:
    token = new_token()
    await PasswordResetToken.create(user=user, token_hash=token_digest(token),
                                    expires_at=now() + RESET_TOKEN_TTL)
    return f"/auth/reset/{token}"


async def test_reset_refuses_common_and_personal_passwords(client):
    user = await make_user("bob", "old password 1", email="robert@example.com")
    link = await reset_link(user)
    status, html = await page(client, link)
    assert status == 200 and "common passwords and your username are refused" in html
    for password, message in (("password", COMMON), ("bob bob bob", "your username"),
                              ("i am robert!", "your email address"),
                              (" " * 8, "only spaces")):
        response = await submit(client, link, {"password": password, "password2": password})
        assert response.status_code == 400
        assert message in await response.get_data(as_text=True)
    assert (await PasswordResetToken.get()).used_at is None
    response = await submit(client, link, {"password": "new password 2",
                                           "password2": "new password 2"})
    assert response.status_code == 302 and response.location.endswith("/auth/login")


async def test_change_password_refuses_too(db):
    user = await make_user("carol", "old password 1")
    with pytest.raises(ValidationFailed) as info:
        await accounts.change_password(user, "password", current_password="old password 1")
    assert COMMON in info.value.errors["password"]
    with pytest.raises(ValidationFailed) as info:
        await accounts.change_password(user, "carol's new one",
                                       current_password="old password 1")
    assert "your username" in info.value.errors["password"]
    fresh = await User.get(id=user.id)
    assert await verify_password(fresh.password_hash, "old password 1")
    await accounts.change_password(user, "a brand new password",
                                   current_password="old password 1")


async def test_the_meter_hints_as_you_type(server, browser, db):
    """Real Chromium: the hint under the field follows what is typed, and the server still
    has the last word on a common password the page cannot know."""
    context = await browser.new_context(viewport={"width": 900, "height": 800})
    page_ = await context.new_page()
    errors: list[str] = []
    page_.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await page_.goto(f"{server.url}/auth/register")
        meter = page_.locator("#password-meter")
        assert await meter.get_attribute("aria-live") == "polite"
        assert await meter.inner_text() == ""
        await page_.fill("#username", "alice")
        await page_.fill("#email", "wonder@example.com")
        for typed, shown in (("abc", "too short"), ("xxalice99xx", "too easy to guess"),
                             ("my wonder years", "too easy to guess"),
                             ("        ", "too easy to guess"), ("zzzzzzzzz", "too easy to guess"),
                             ("vintage lamp", "OK"),
                             ("vintage lamp orbit velvet", "strong")):
            await page_.fill("#password", typed)
            await page_.wait_for_function(
                "shown => document.getElementById('password-meter').textContent.endsWith(shown)",
                arg=shown)
        await page_.screenshot(path=artifact("register-password-meter.png"))
        await page_.fill("#password", "")
        await page_.wait_for_function(
            "() => document.getElementById('password-meter').textContent === ''")
        await page_.fill("#password", "password")  # 'OK' here: the list stays on the server
        await page_.fill("#password2", "password")
        await page_.click("#submit")
        assert COMMON in await page_.inner_text("#password-error")
        await page_.screenshot(path=artifact("register-password-policy.png"), full_page=True)
        assert not errors
    finally:
        await context.close()
