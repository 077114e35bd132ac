from tests.helpers import login, make_user, page


async def test_home_page_after_login(client):
    await make_user()
    await login(client)
    status, html = await page(client, "/")
    assert status == 200
    assert "Hi, alice!" in html
