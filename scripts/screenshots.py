"""Take the README's tour screenshots from a running Microblog.

    make run > /tmp/run.log 2>&1 &          # or any running instance
    .venv/bin/python scripts/screenshots.py [--url http://127.0.0.1:5000] [--out docs]

It creates a small cast of demo accounts through the product's own HTTP API (register, or
sign in when the account already exists, so it can run again and again against the same
instance), gives them posts with @mentions and #hashtags, follows, likes, reposts and private
messages in English, Spanish and Chinese, then drives headless Chromium through the sign-in
form and writes six PNGs:

    timeline.png          maya's home timeline at desktop width, a post arriving live
    chat.png              maya and tom in private messages: a live message, "Seen", typing
    notifications-es.png  lucia's bell menu and a live toast, interface in Spanish
    explore.png           Explore at 1280 wide for tom: likes and reposts, trending tags, who
                          to follow, and the card that opens over a username
    phone.png             liwei's timeline on a 390x844 phone, interface in Chinese
    repost-phone.png      tom's timeline on a phone: "maya reposted", an unread mention and a
                          message in the navbar's badges

New accounts confirm their email address with the link the product wrote to its outbox
(instance/outbox/ when MAIL_SERVER is unset; --outbox for another one), so no "Confirm your
email address" banner shows. Every step waits for a condition (a selector, a live event,
images loaded, the network idle), never for a fixed time. Nothing is fetched from the
internet: avatars are the product's locally drawn identicons. Chinese text needs a CJK font on
this machine (Debian: `apt-get install fonts-wqy-microhei` or `fonts-noto-cjk`); the script
warns without one.
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import (
    Browser,
    BrowserContext,
    Error,
    Page,
    Playwright,
    Response,
    ViewportSize,
    sync_playwright,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
PASSWORD = "tour-of-microblog"  # noqa: S105 - demo accounts on a development instance
DESKTOP: ViewportSize = {"width": 1100, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
CHAT: ViewportSize = {"width": 1000, "height": 760}
NOTIFICATIONS: ViewportSize = {"width": 1100, "height": 800}
EXPLORE: ViewportSize = {"width": 1280, "height": 900}
TIMEOUT_MS = 20_000


# --- the cast and what they say --------------------------------------------------------------

@dataclass
class Person:
    username: str
    locale: str
    token: str = ""
    id: int = 0


CAST = {
    "maya": "en",     # product designer; the timeline and the chat are hers
    "tom": "en",      # her running partner
    "lucia": "es",    # Valencia; reads the product in Spanish
    "diego": "es",    # Mexico City
    "liwei": "zh",    # Shanghai; reads the product in Chinese, on his phone
    "xiaoyu": "zh",   # Hangzhou
}

# who follows whom before the tour starts (lucia's followers are added live, in her scene)
FOLLOWS = {
    "maya": ["tom", "lucia", "diego", "liwei", "xiaoyu"],
    "tom": ["maya", "lucia"],
    "liwei": ["maya", "tom", "lucia", "diego", "xiaoyu"],
    "xiaoyu": ["liwei", "maya"],
    "diego": ["maya"],
}

# oldest first, each under a key the reactions below name: the timeline shows them newest
# first. #design (4 people by Explore's scene) and #running (2) trend; the rest are used once.
POSTS = [
    ("coffee", "xiaoyu", "今天在杭州的小咖啡馆里写代码，窗外下着小雨，"
                         "一杯拿铁就是整个下午。 #咖啡"),
    ("comala", "diego", "Terminé de leer «Pedro Páramo» por tercera vez. Cada vez encuentro algo "
                        "nuevo en Comala. #libros"),
    ("river", "tom", "Ran the river loop before work: 10 km in 52 minutes, and the fog was just "
                     "lifting off the water. Best start to a Monday. #running"),
    ("museum", "liwei", "周末带孩子去了科技馆，他在机器人展区待了整整两个小时，怎么都不肯走。"),
    ("onboarding", "maya", "Shipped the new onboarding today: three screens instead of seven. "
                           "Sign-ups from the landing page are up 18% in the first week. #design"),
    ("turia", "lucia", "Diez kilómetros corriendo por el jardín del Turia sin cruzar una sola "
                       "calle. Valencia en otoño es otra cosa. #running"),
    ("hot-take", "tom", "Hot take: the best feature of any app is a fast, honest loading state."),
]
# edited after it was posted (the card says "edited", with the earlier text in its history)
EDITS = {"hot-take": "Hot take: the best feature of any app is a fast, honest loading state. "
                     "@maya, your new onboarding nails it. #design"}
# who likes and reposts what before the tour starts, in this order (a timeline shows a
# reposted post once, under its newest repost)
LIKES = {
    "onboarding": ["tom", "lucia", "liwei", "xiaoyu", "diego"],
    "river": ["maya", "lucia"],
    "turia": ["maya", "diego", "tom"],
    "coffee": ["liwei", "maya"],
    "comala": ["lucia"],
    "hot-take": ["maya", "xiaoyu", "diego"],
    "museum": ["xiaoyu", "maya"],
}
REPOSTS = [("liwei", "coffee"), ("liwei", "onboarding"), ("tom", "onboarding")]
LIVE_POST = ("xiaoyu", "刚看到 @maya 的新版引导流程，三步就完成注册，太清爽了！ #design")
LUCIA_POST = ("Primer día de la conferencia en Lisboa: muchísimas ideas y más pasteles de nata. "
              "#design")
# on Explore, before tom looks: the newest posts get their first likes
TRENDING = ("design", 4)  # Explore's first trending tag then, and how many people used it
EXPLORE_LIKES = {"lucia": ["maya", "diego", "xiaoyu"], "live": ["maya", "liwei"]}
# tom's phone: maya reposts xiaoyu's post (tom does not follow xiaoyu), lucia mentions him, and
# maya writes to him
MENTION_POST = ("lucia", "@tom ¿Nos vemos el sábado en el río? Estreno zapatillas. #running")
PHONE_MESSAGE = ("maya", "tom", "Lucía is in for Saturday. See you at the boathouse!")

CHAT_HISTORY = [
    ("tom", "maya", "Saw your post about the onboarding. 18% is huge, congrats!"),
    ("maya", "tom", "Thanks! Three months of user interviews finally paid off."),
    ("tom", "maya", "Are we still on for the river loop on Saturday?"),
    ("maya", "tom", "Yes! 8:00 at the boathouse?"),
    ("tom", "maya", "Perfect. I'll bring coffee for after."),
    ("maya", "tom", "Deal. Can we do the long version this time? 15 km."),
]
CHAT_LIVE = "15 km it is. My legs will hate me on Sunday."
CHAT_REPLY = "Ha! I'll pace you for the last kilometre, promise."
CHAT_TYPING = "Lucía might join us too, she's"
COMMENT = "¡Qué envidia! Guárdame uno de esos pasteles."


# --- the product's HTTP API ------------------------------------------------------------------

class Api:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             basic: tuple[str, str] | None = None) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if basic:
            headers["Authorization"] = "Basic " + base64.b64encode(
                ":".join(basic).encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - the URL given on the command line
            self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, raw.decode(errors="replace")

    def expect(self, status: int | tuple[int, ...], method: str, path: str,
               **kwargs: Any) -> Any:
        wanted = status if isinstance(status, tuple) else (status,)
        got, body = self.call(method, path, **kwargs)
        if got not in wanted:
            raise SystemExit(f"{method} {path}: expected {wanted}, got {got}: {body}")
        return body


def register_or_sign_in(api: Api, person: Person) -> None:
    """Register through the API; an account that already exists (a re-run) signs in."""
    status, body = api.call("POST", "/api/users", body={
        "username": person.username, "email": f"{person.username}@example.com",
        "password": PASSWORD})
    if status == 201:
        person.id = body["id"]
    elif status != 400:
        raise SystemExit(f"POST /api/users for {person.username}: {status} {body}")
    status, body = api.call("POST", "/api/tokens", basic=(person.username, PASSWORD))
    if status != 200:
        raise SystemExit(f"{person.username!r} exists on this instance with another password; "
                         "run again with --suffix to use other usernames")
    person.token = body["token"]
    if not person.id:
        # the API answers a user by id only; an account's own new post names its author
        probe = post(api, person, "hello")
        person.id = probe["author"]["id"]
        api.expect(204, "DELETE", f"/api/posts/{probe['id']}", token=person.token)


def reset(api: Api, people: dict[str, Person]) -> None:
    """Make a re-run look like the first run: no old posts, only the planned follows (kept
    ones are not redone, so a re-run does not notify anyone of them again)."""
    for name, person in people.items():
        while True:
            page = api.expect(200, "GET", f"/api/users/{person.id}/posts?per_page=100",
                              token=person.token)
            if not page["items"]:
                break
            for item in page["items"]:
                if item["author"]["id"] == person.id:
                    api.expect((204, 404), "DELETE", f"/api/posts/{item['id']}",
                               token=person.token)
                else:  # someone else's post this person reposted
                    api.expect((204, 404), "DELETE", f"/api/posts/{item['id']}/repost",
                               token=person.token)
        for other_name, other in people.items():
            if other is not person and other_name not in FOLLOWS.get(name, []):
                api.expect(204, "DELETE", f"/api/me/following/{other.id}", token=person.token)


def post(api: Api, person: Person, body: str) -> dict[str, Any]:
    result: dict[str, Any] = api.expect(201, "POST", "/api/posts", body={"body": body},
                                        token=person.token)
    return result


def react(api: Api, person: Person, kind: str, post_id: int) -> None:
    """`kind`: "like" or "repost"."""
    api.expect(204, "POST", f"/api/posts/{post_id}/{kind}", token=person.token)


def wait_for_grouped(api: Api, author: Person, kind: str, post_id: int, count: int) -> None:
    """Until the author's "N people liked (reposted) your post" counts `count` people: the
    product brings it up to date a moment after the likes, and a tour that marked everything
    read before that would find it unread again."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        page = api.expect(200, "GET", "/api/notifications?per_page=100", token=author.token)
        if any(n["kind"] == kind and n["data"].get("post_id") == post_id
               and n["data"].get("count") == count for n in page["items"]):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"{author.username} was not notified of {count} {kind}s of "
                             f"post {post_id}")
        time.sleep(0.2)


def follow(api: Api, person: Person, other: Person) -> None:
    api.expect(204, "POST", f"/api/me/following/{other.id}", token=person.token)


def message(api: Api, sender: Person, recipient: Person, body: str) -> dict[str, Any]:
    sent: dict[str, Any] = api.expect(
        (200, 201), "POST", "/api/messages", token=sender.token,
        body={"to": recipient.username, "body": body, "client_id": uuid.uuid4().hex})
    return sent


def mark_all_read(api: Api, person: Person) -> None:
    api.expect(200, "POST", "/api/notifications/read", body={}, token=person.token)


def verification_path(outbox: Path, person: Person) -> str | None:
    """The path of the newest "confirm your address" link the product wrote to `person` in
    its outbox (when it sends no real email), or None."""
    address = f"{person.username}@example.com"
    newest: tuple[float, str] | None = None
    for path in outbox.glob("*.eml") if outbox.is_dir() else ():
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address not in str(message.get("To", "")):
            continue
        for part in message.walk():
            if part.get_content_maintype() != "text":
                continue
            match = re.search(r"/auth/verify/[A-Za-z0-9_.-]+", str(part.get_content()))
            if match and (newest is None or path.stat().st_mtime > newest[0]):
                newest = (path.stat().st_mtime, match.group(0))
    return newest[1] if newest else None


# --- the browser -----------------------------------------------------------------------------

class Tour:
    def __init__(self, pw: Playwright, base: str, out: Path, outbox: Path) -> None:
        self.pw = pw
        self._browser: Browser | None = None
        self.base = base.rstrip("/")
        self.out = out
        self.outbox = outbox
        self.problems: list[str] = []

    def browser(self) -> Browser:
        if self._browser is None:
            self._browser = self.pw.chromium.launch(executable_path=CHROMIUM,
                                                    args=CHROMIUM_ARGS)
        return self._browser

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()

    def context(self, viewport: ViewportSize, locale: str = "en-US", scale: float = 1,
                phone: bool = False) -> BrowserContext:
        context = self.browser().new_context(
            viewport=viewport, device_scale_factor=scale, locale=locale, is_mobile=phone,
            has_touch=phone, timezone_id="Europe/Madrid", color_scheme="light")
        context.set_default_timeout(TIMEOUT_MS)
        return context

    def watch(self, page: Page, who: str) -> None:
        def script_error(exc: Error) -> None:
            self.problems.append(f"{who}: script error on {page.url}: {exc}")

        def server_error(response: Response) -> None:
            if response.status >= 500:
                self.problems.append(f"{who}: {response.status} from {response.url}")

        page.on("pageerror", script_error)
        page.on("response", server_error)

    def goto(self, page: Page, path: str) -> None:
        response = page.goto(self.base + path)
        if response is None or not response.ok:
            status = response.status if response else "no response"
            raise SystemExit(f"GET {path} answered {status}: {page.content()[:300]}")

    def sign_in(self, context: BrowserContext, person: Person) -> Page:
        page = context.new_page()
        self.watch(page, person.username)
        self.goto(page, "/auth/login")
        page.fill("#username", person.username)
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("main form [type=submit]")
        if page.url.rstrip("/") != self.base:
            raise SystemExit(f"signing in as {person.username} did not reach the home page: "
                             f"{page.url}")
        if page.locator("#verify-email-banner").count():
            self.confirm_email(page, person)
        if page.input_value("#locale-select") != person.locale:
            with page.expect_navigation():  # the language menu submits itself
                page.select_option("#locale-select", person.locale)
        self.settle(page)
        return page

    def confirm_email(self, page: Page, person: Person) -> None:
        """Follow the link the product wrote to the outbox when the account was registered
        (the worker writes it: wait for it), then come back home without the flash."""
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while (link := verification_path(self.outbox, person)) is None:
            if time.monotonic() > deadline:
                print(f"warning: no email confirmation link for {person.username} in "
                      f"{self.outbox}; the pictures will show the banner that asks for it "
                      "(--outbox names the instance's outbox)", file=sys.stderr)
                return
            time.sleep(0.2)
        self.goto(page, link)
        with page.expect_navigation():  # not the banner's "Send it again" above it
            page.click('main form[action*="/auth/verify/"] [type=submit]')
        self.goto(page, "/")
        if page.locator("#verify-email-banner").count():
            raise SystemExit(f"confirming {person.username}'s email address did not work")

    @staticmethod
    def settle(page: Page) -> None:
        """Live, every image drawn, nothing loading."""
        page.wait_for_selector('#live-status[data-state="live"]', state="attached")
        page.wait_for_load_state("networkidle")
        page.wait_for_function(
            "[...document.images].every((img) => img.complete && img.naturalWidth > 0)")

    def shot(self, page: Page, name: str, bottom: float | None = None) -> Path:
        path = self.out / name
        viewport = page.viewport_size or DESKTOP
        height = viewport["height"] if bottom is None else bottom
        # a full-page shot resizes the window, which closes the card over a username: only
        # when the picture is taller than the window
        page.screenshot(path=str(path), full_page=height > viewport["height"], clip={
            "x": 0, "y": 0, "width": viewport["width"], "height": height})
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
        return path


def bottom_of(page: Page, selector: str, margin: int = 16) -> float:
    box = page.locator(selector).bounding_box()
    if box is None:
        raise SystemExit(f"{selector} is not on {page.url}")
    return box["y"] + box["height"] + margin


# --- the scenes ------------------------------------------------------------------------------

def timeline_scene(tour: Tour, api: Api, people: dict[str, Person],
                   posts: dict[str, int]) -> None:
    """maya's home timeline; a post from someone she follows arrives while she looks."""
    context = tour.context(DESKTOP)
    follow(api, people["lucia"], people["maya"])  # news in maya's bell
    page = tour.sign_in(context, people["maya"])
    page.wait_for_function("document.getElementById('bell-count').textContent === '1'")
    author, body = LIVE_POST
    live = post(api, people[author], body)
    posts["live"] = live["id"]
    card = f'#timeline article.post-new[data-post-id="{live["id"]}"]'
    page.wait_for_selector(card)
    tour.settle(page)
    tour.shot(page, "timeline.png", bottom_of(page, "#timeline article.post:nth-of-type(6)", 4))
    context.close()


def chat_scene(tour: Tour, api: Api, people: dict[str, Person],
               posts: dict[str, int]) -> None:
    """maya and tom: history, a message that arrives live, "Seen", tom typing."""
    maya, tom = people["maya"], people["tom"]
    maya_context = tour.context(CHAT)
    maya_page = tour.sign_in(maya_context, maya)
    tour.goto(maya_page, f"/messages/{tom.username}")
    tour.settle(maya_page)

    tom_context = tour.context(CHAT)
    tom_page = tour.sign_in(tom_context, tom)
    tour.goto(tom_page, f"/messages/{maya.username}")  # the page marks maya's messages read
    tour.settle(tom_page)
    seen = ("(text) => { const mine = [...document.querySelectorAll('#chat .msg.mine')];"
            " const last = mine.at(-1); return last && last.textContent.includes(text)"
            " && last.querySelector('.state').dataset.kind === 'seen'; }")
    maya_page.wait_for_function(seen, arg=CHAT_HISTORY[-1][2])

    live = message(api, tom, maya, CHAT_LIVE)  # arrives on maya's open page, no reload
    maya_page.wait_for_selector(f'#chat .msg.theirs[data-message-id="{live["id"]}"]')

    maya_page.fill("#body", CHAT_REPLY)
    maya_page.press("#body", "Enter")
    tom_page.wait_for_function(
        "(text) => document.querySelector('#chat .msg:last-child')?.textContent.includes(text)",
        arg=CHAT_REPLY)
    maya_page.wait_for_function(seen, arg=CHAT_REPLY)  # tom's open page read it

    tom_page.fill("#body", CHAT_TYPING)  # not sent: maya sees that tom is typing
    maya_page.wait_for_function(
        "(name) => document.getElementById('typing').textContent.includes(name)",
        arg=tom.username)
    tour.shot(maya_page, "chat.png", bottom_of(maya_page, "main .card"))
    tom_context.close()
    maya_context.close()


def notifications_scene(tour: Tour, api: Api, people: dict[str, Person],
                        posts: dict[str, int]) -> None:
    """lucia, in Spanish: new followers and a comment in the bell, a toast for a live one."""
    lucia = people["lucia"]
    mark_all_read(api, lucia)
    her_post = post(api, lucia, LUCIA_POST)
    posts["lucia"] = her_post["id"]
    for name in ("liwei", "maya"):  # they follow her already: again, so it is news
        api.expect(204, "DELETE", f"/api/me/following/{lucia.id}", token=people[name].token)
        follow(api, people[name], lucia)

    diego_context = tour.context(DESKTOP, locale="es-MX")
    diego_page = tour.sign_in(diego_context, people["diego"])
    tour.goto(diego_page, f"/post/{her_post['id']}")
    diego_page.fill("#body", COMMENT)
    with diego_page.expect_navigation():
        diego_page.click("main form:has(#body) [type=submit]")
    diego_page.wait_for_selector("#comments .comment-body")  # her post is new: one comment
    diego_context.close()

    context = tour.context(NOTIFICATIONS, locale="es-ES")
    page = tour.sign_in(context, lucia)
    page.click("#bell")
    page.wait_for_selector("#notification-items [data-notification-id]")
    live = people["xiaoyu"]
    follow(api, live, lucia)  # arrives live: the open menu and the count grow
    page.locator("#notification-items .list-group-item-primary", has_text=live.username
                 ).wait_for()
    page.wait_for_function("document.getElementById('bell-count').textContent === '4'")
    tour.settle(page)
    # down to the last new (unread) notification; older ones further down are left out
    tour.shot(page, "notifications-es.png",
              bottom_of(page, "#notification-items .list-group-item-primary >> nth=-1", 6))
    context.close()


def phone_scene(tour: Tour, api: Api, people: dict[str, Person],
                posts: dict[str, int]) -> None:
    """liwei's timeline on a phone, in Chinese."""
    context = tour.context(PHONE, locale="zh-CN", scale=2, phone=True)
    page = tour.sign_in(context, people["liwei"])
    page.wait_for_selector("#timeline article.post")
    tour.settle(page)
    tour.shot(page, "phone.png")
    context.close()


def explore_scene(tour: Tour, api: Api, people: dict[str, Person],
                  posts: dict[str, int]) -> None:
    """tom on Explore: counts on every card, his like and repost, the trending tags, people
    to follow, and the card over a username he rests the pointer on."""
    for key, likers in EXPLORE_LIKES.items():
        for name in likers:
            react(api, people[name], "like", posts[key])
    context = tour.context(EXPLORE)
    page = tour.sign_in(context, people["tom"])
    # the trending tags are read again every 30 s: until #design counts all who used it
    tag, users = TRENDING
    deadline = time.monotonic() + 45
    while True:
        tour.goto(page, "/explore")
        line = page.locator(".trending li", has=page.locator(f'a[href$="/tags/{tag}"]'))
        if line.count() and line.locator("span").inner_text().startswith(f"{users} "):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"Explore does not show #{tag} used by {users} people")
        time.sleep(1)
    tour.settle(page)
    page.wait_for_selector(".who-to-follow li")
    mine = f'#timeline article.post[data-post-id="{posts["onboarding"]}"]'
    page.wait_for_selector(f'{mine} .like-action[aria-pressed="true"]')
    page.hover(f'#timeline article.post[data-post-id="{posts["live"]}"] .post-meta a.fw-semibold')
    page.wait_for_selector("#user-card-pop .user-card")
    tour.settle(page)
    tour.shot(page, "explore.png", max(bottom_of(page, mine, 4), bottom_of(page, "#user-card-pop"),
                                       bottom_of(page, ".explore-aside .who-to-follow")))
    context.close()


def repost_phone_scene(tour: Tour, api: Api, people: dict[str, Person],
                       posts: dict[str, int]) -> None:
    """tom's timeline on a phone: maya reposted a post by someone he does not follow, and
    the navbar's badges count a mention and a message."""
    tom = people["tom"]
    mark_all_read(api, tom)
    sender, recipient, text = PHONE_MESSAGE
    message(api, people[sender], people[recipient], text)
    author, body = MENTION_POST
    post(api, people[author], body)
    react(api, people["maya"], "repost", posts["live"])
    context = tour.context(PHONE, scale=2, phone=True)
    page = tour.sign_in(context, tom)
    page.wait_for_selector(
        f'#timeline article.post[data-post-id="{posts["live"]}"] .repost-line')
    page.wait_for_function("document.getElementById('bell-count').textContent === '1'")
    page.wait_for_selector(".messages-link [data-messages-count]:not(.d-none)")
    tour.settle(page)
    tour.shot(page, "repost-phone.png")
    context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5000", help="a running Microblog")
    parser.add_argument("--out", default="docs", type=Path, help="where the PNGs go")
    parser.add_argument("--suffix", default="",
                        help="appended to every username, for an instance where the demo "
                             "names are taken by someone else")
    parser.add_argument("--outbox", default=Path(__file__).resolve().parents[1] / "instance"
                        / "outbox", type=Path,
                        help="the instance's mail outbox, for the links that confirm the demo "
                             "accounts' email addresses (default: instance/outbox)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    fc_list = shutil.which("fc-list")
    if fc_list and not subprocess.run([fc_list, ":lang=zh"],  # noqa: S603
                                      capture_output=True, text=True, check=False).stdout:
        print("warning: no Chinese font installed; Chinese text will show as boxes "
              "(apt-get install fonts-wqy-microhei)", file=sys.stderr)

    api = Api(args.url)
    status, _body = api.call("GET", "/readyz")
    if status != 200:
        raise SystemExit(f"{args.url}/readyz answered {status}: start the product first "
                         "(make run)")
    people = {name: Person(name + args.suffix, locale) for name, locale in CAST.items()}
    for person in people.values():
        register_or_sign_in(api, person)
    reset(api, people)
    for name, followed in FOLLOWS.items():
        for other in followed:
            follow(api, people[name], people[other])
    posts: dict[str, int] = {}
    for key, author, body in POSTS:
        posts[key] = post(api, people[author], body)["id"]
    for key, body in EDITS.items():
        api.expect(200, "PATCH", f"/api/posts/{posts[key]}", body={"body": body},
                   token=people[next(a for k, a, _b in POSTS if k == key)].token)
    for key, likers in LIKES.items():
        for name in likers:
            react(api, people[name], "like", posts[key])
    reposters: dict[str, int] = {}
    for name, key in REPOSTS:
        react(api, people[name], "repost", posts[key])
        reposters[key] = reposters.get(key, 0) + 1
    authors = {key: people[author] for key, author, _body in POSTS}
    for key, likers in LIKES.items():
        wait_for_grouped(api, authors[key], "like", posts[key], len(likers))
    for key, count in reposters.items():
        wait_for_grouped(api, authors[key], "repost", posts[key], count)
    for person in people.values():  # the tour starts with nothing new in anyone's bell
        mark_all_read(api, person)
    for sender, recipient, body in CHAT_HISTORY:  # unread in maya's navbar on her timeline
        message(api, people[sender], people[recipient], body)

    with sync_playwright() as pw:
        tour = Tour(pw, args.url, args.out, args.outbox)
        for scene in (timeline_scene, chat_scene, notifications_scene, explore_scene,
                      phone_scene, repost_phone_scene):
            scene(tour, api, people, posts)
        tour.close()
    for problem in tour.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if tour.problems else 0


if __name__ == "__main__":
    sys.exit(main())
