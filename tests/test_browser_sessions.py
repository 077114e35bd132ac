"""Real headless Chromium, two browsers of one person: a password changed in the account
settings of one drops the other's open tab to the sign-in page, live."""

from tests.conftest import artifact
from tests.test_browser import register_and_login


async def sign_in(page, base: str, username: str, password: str) -> None:
    await page.goto(f"{base}/auth/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#submit")
    await page.wait_for_url(f"{base}/")


async def test_a_new_password_drops_the_other_browsers_tab_to_signed_out(server, browser, db):
    base = server.url
    desktop_ctx = await browser.new_context(viewport={"width": 1100, "height": 800})
    phone_ctx = await browser.new_context(viewport={"width": 390, "height": 844})
    desktop, phone = await desktop_ctx.new_page(), await phone_ctx.new_page()
    try:
        await register_and_login(desktop, base, "alice")
        await sign_in(phone, base, "alice", "browser pass 1")
        await phone.goto(f"{base}/explore")
        await phone.wait_for_selector("#live-status[data-state=live]", state="attached")

        await desktop.goto(f"{base}/settings/account")
        form = "form[action$='/settings/account/password']"
        await desktop.fill(f"{form} [name=current_password]", "browser pass 1")
        await desktop.fill(f"{form} [name=password]", "a fresh passphrase 42")
        await desktop.fill(f"{form} [name=password2]", "a fresh passphrase 42")
        await desktop.click(f"{form} [type=submit]")
        await desktop.wait_for_selector("text=you were signed out everywhere else")

        # the phone's tab notices by itself: its socket is closed, the session is gone
        await phone.wait_for_url(f"{base}/auth/login?next=%2Fexplore", timeout=15_000)
        await phone.screenshot(path=artifact("signed-out-elsewhere-phone.png"))
        # the desktop stays signed in, live
        await desktop.goto(f"{base}/explore")
        await desktop.wait_for_selector("#live-status[data-state=live]", state="attached")
        # and the phone signs in again with the new password
        await sign_in(phone, base, "alice", "a fresh passphrase 42")
    finally:
        await desktop_ctx.close()
        await phone_ctx.close()
