"""Whatever a Socket.IO client sends, it gets an ack: every client event is validated
(microblog.schemas.client_events), counted against the socket's budget, and answered
`{ok: true, ...}` or `{ok: false, error, code}` — never silence, never an ack the client
cannot decode. Real clients against real `microblog serve` processes."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microblog.i18n import gettext, locale_context
from microblog.infra import resources
from microblog.limits import USERNAME_MAX, USERNAME_MIN
from microblog.models import Message, User
from microblog.realtime.personal import EVENT_BURST, EVENT_RATE
from microblog.schemas.client_events import CLIENT_EVENTS
from microblog.services.messages import TYPING_INTERVAL
from tests.realtime import Api, Recorder

CODES = {"invalid", "not_found", "forbidden", "bad_request", "rate_limited",
         "too_many_streams", "unknown_event", "not_connected", "internal", "malformed"}


@pytest.fixture
async def duo(server, server2, db, settings):
    """ann on the first instance, ben on the second (`db` clears the typing throttle left
    over from an earlier test's users: ids restart with every test)."""
    made = {}
    for name, base in (("ann", server.url), ("ben", server2.url)):
        api = Api(base)
        made[name] = (api, await api.register(name))
    yield made
    for api, _ in made.values():
        await api.close()


async def sockets(url: str, api: Api, count: int, name: str) -> list[Recorder]:
    return [await Recorder(f"{name}-{i}").connect(url, api.token) for i in range(count)]


async def close(*groups: list[Recorder]) -> None:
    for group in groups:
        for recorder in group:
            await recorder.disconnect()


def assert_ack(ack: Any) -> None:
    """An answer a browser can use: a dict with `ok`; when not ok, a message and a code."""
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    # what any JSON encoder can send as UTF-8 (no lone surrogate, no NaN)
    json.dumps(ack, ensure_ascii=False, allow_nan=False).encode("utf-8")
    if not ack["ok"]:
        assert isinstance(ack.get("error"), str) and ack["error"], ack
        assert ack.get("code") in CODES, ack
        if ack["code"] == "invalid":
            assert isinstance(ack.get("errors"), dict) and ack["errors"], ack


# --- random payloads ----------------------------------------------------------------------

FIELDS = sorted({name for model in CLIENT_EVENTS.values()
                 for name in (f.alias or n for n, f in model.model_fields.items())})
TRICKY_TEXT = ["", " ", "\x00", "ben\x00", "\ud800", "ann\udfff", "١٢٣", "²", "ben\n", " ben ",
               "ben", "ann", "nobody_here", "explore", "post:1", "post:٣", "user:1", "tag:x",
               "search", "post:99999999999999999999", "x" * 3000, "é" * 300]
TRICKY_INTS = [0, 1, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**30, -(10**30)]

texts = st.one_of(
    st.sampled_from(TRICKY_TEXT),
    # every category, surrogates and control characters included
    st.text(st.characters(categories=["L", "N", "P", "Z", "C"]), max_size=40),
    st.builds(lambda c, n: c * n, st.characters(categories=["L", "N", "Cs", "Cc"]),
              st.integers(0, 5000)),
)
leaves = st.one_of(
    st.none(), st.booleans(),
    st.sampled_from(TRICKY_INTS), st.integers(-(2**200), 2**200),
    st.floats(),  # NaN and infinities included: the client sends them as JSON's NaN
    texts, st.binary(max_size=16),
)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=4),
    max_leaves=10)


usernames = st.sampled_from(["ben", "ann", "BEN", "nobody_here"])
# what a well-behaved client sends, so that the services run too
VALID: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "subscribe": st.fixed_dictionaries(
        {"stream": st.sampled_from(["explore", "post:1", "user:1", "user:2", "tag:x"])},
        optional={"q": st.text(max_size=20)}),
    "message.send": st.fixed_dictionaries(
        {"to": usernames, "body": st.text(min_size=1, max_size=50)},
        optional={"client_id": st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True)}),
    "message.read": st.fixed_dictionaries(
        {"with": usernames, "last_read_id": st.integers(0, 2**63 - 1)}),
    "typing": st.fixed_dictionaries({"to": usernames}),
}
VALID["unsubscribe"] = VALID["subscribe"]


def payloads(event: str) -> st.SearchStrategy[Any]:
    """Valid data, anything at all, and objects with the event's own field names holding
    plausible or random values (so the handlers run, not only the validation)."""
    model = CLIENT_EVENTS.get(event)
    fields = ([f.alias or n for n, f in model.model_fields.items()] if model is not None
              else FIELDS)
    plausible = st.one_of(values, texts, st.sampled_from(TRICKY_INTS))
    shaped = st.fixed_dictionaries({}, optional={name: plausible for name in fields})
    with_extra = st.tuples(shaped, st.dictionaries(st.text(max_size=8), values, max_size=2)
                           ).map(lambda pair: {**pair[1], **pair[0]})
    # a tuple is sent as several arguments; None as none at all
    return st.one_of(VALID.get(event, shaped), shaped, with_extra, values,
                     st.tuples(values, values))


unknown_names = st.one_of(
    st.sampled_from(["connect", "disconnect", "message", "connect_error", "", "*",
                     "subscribe ", "Typing", "message.send\x00", "\ud800"]),
    st.text(max_size=30)).filter(lambda name: name not in CLIENT_EVENTS)


class Driver:
    """Sends events from Hypothesis's (synchronous) thread on the test's event loop, over a
    few sockets in turn, no faster than their budgets allow."""

    def __init__(self, loop: asyncio.AbstractEventLoop, recorders: list[Recorder]) -> None:
        self.loop = loop
        self.recorders = recorders
        self.turn = 0
        self.next_at = 0.0
        # 90% of what the sockets' budgets allow together
        self.spacing = 1 / (EVENT_RATE * len(recorders) * 0.9)
        self.acks: list[tuple[str, Any, dict[str, Any]]] = []

    async def _call(self, event: str, payload: Any) -> Any:
        delay = self.next_at - self.loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        self.next_at = max(self.next_at, self.loop.time()) + self.spacing
        recorder = self.recorders[self.turn % len(self.recorders)]
        self.turn += 1
        return await recorder.call(event, payload)  # TimeoutError: no ack within 10 s

    def send(self, event: str, payload: Any) -> None:
        ack = asyncio.run_coroutine_threadsafe(self._call(event, payload), self.loop).result(30)
        assert_ack(ack)
        # nothing a client sends makes a handler fail
        assert ack.get("code") != "internal", (event, payload, ack)
        self.acks.append((event, payload, ack))


FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


def fuzz_event(driver: Driver, event: str) -> None:
    @FUZZ
    @given(payloads(event))
    def one(payload: Any) -> None:
        driver.send(event, payload)

    one()


def fuzz(driver: Driver) -> None:
    for event in CLIENT_EVENTS:
        fuzz_event(driver, event)

    @FUZZ
    @given(unknown_names, payloads("*"))
    def unknown(event: str, payload: Any) -> None:
        driver.send(event, payload)

    unknown()


async def test_random_payloads_to_every_event_are_always_acked(server, duo):
    (ann, _), (ben, _) = duo["ann"], duo["ben"]
    await ben.http.post("/api/messages", json={"to": "ann", "body": "a thread to read"})
    recorders = await sockets(server.url, ann, 4, "fuzzer")
    try:
        driver = Driver(asyncio.get_running_loop(), recorders)
        await asyncio.to_thread(fuzz, driver)
        assert len(driver.acks) >= 60 * (len(CLIENT_EVENTS) + 1)
        codes = {ack.get("code") for _e, _p, ack in driver.acks}
        assert "invalid" in codes and "unknown_event" in codes
        # some payloads were valid and reached the services
        served = {event for event, _p, ack in driver.acks if ack["ok"]}
        assert served == set(CLIENT_EVENTS), served
        for recorder in recorders:  # every socket lived through it and still answers
            assert recorder.client.connected
            assert await recorder.call("unsubscribe", {"stream": "explore"}) == {"ok": True}
            assert not recorder.invalid, recorder.invalid
    finally:
        await close(recorders)


# --- what the security review found -------------------------------------------------------

BAD_INPUT = [
    ("message.send", {"to": "ben\x00", "body": "hi"}, "to"),
    ("message.send", {"to": "\ud800", "body": "hi"}, "to"),
    ("message.send", {"to": "x" * 100_000, "body": "hi"}, "to"),
    ("message.send", {"to": "bén", "body": "hi"}, "to"),
    ("message.send", {"to": "ben\n", "body": "hi"}, "to"),
    ("message.send", {"to": "ben", "body": "nul \x00 inside"}, "body"),
    ("message.send", {"to": "ben", "body": "lone \ud800"}, "body"),
    ("message.send", {"to": "ben", "body": "x" * 100_000}, "body"),
    ("message.send", {"to": "ben", "body": ["hi"]}, "body"),
    ("message.send", {"to": "ben", "body": "hi", "client_id": "c\x00"}, "client_id"),
    ("message.send", {"to": "ben", "body": "hi", "client_id": "c-1\n"}, "client_id"),
    ("message.send", {"to": "ben", "body": "hi", "client_id": 7}, "client_id"),
    ("message.send", {"to": "ben", "body": "hi", "sneaky": True}, "sneaky"),
    ("message.read", {"with": "ben", "last_read_id": 10**30}, "last_read_id"),
    ("message.read", {"with": "ben", "last_read_id": 2**63}, "last_read_id"),
    ("message.read", {"with": "ben", "last_read_id": -1}, "last_read_id"),
    ("message.read", {"with": "ben", "last_read_id": "١٢٣"}, "last_read_id"),
    ("message.read", {"with": "ben", "last_read_id": "5"}, "last_read_id"),
    ("message.read", {"with": "ben", "last_read_id": True}, "last_read_id"),
    ("message.read", {"with": "ben", "last_read_id": 1.5}, "last_read_id"),
    ("message.read", {"with": "ben", "last_read_id": math.inf}, "last_read_id"),
    ("message.read", {"with": "ben\x00", "last_read_id": 1}, "with"),
    ("message.read", {"with": "\ud800", "last_read_id": 1}, "with"),
    ("message.read", {"with": "١٢٣", "last_read_id": 1}, "with"),
    ("message.read", {"with": "b" * 10_000, "last_read_id": 1}, "with"),
    ("message.read", {"with_": "ben", "last_read_id": 1}, "with_"),
    ("typing", {"to": "\x00"}, "to"),
    ("typing", {"to": "\ud800"}, "to"),
    ("typing", {"to": "x" * 10_000}, "to"),
    ("typing", {"to": "ben\n"}, "to"),
    ("typing", {"to": None}, "to"),
    ("subscribe", {"stream": "\x00"}, "stream"),
    ("subscribe", {"stream": "\ud800"}, "stream"),
    ("subscribe", {"stream": "x" * 100_000}, "stream"),
    ("subscribe", {"stream": "post:99999999999999999999"}, "stream"),
    ("subscribe", {"stream": "explore", "q": "\ud800"}, "q"),
    ("subscribe", {"stream": "explore", "q": "q" * 10_000}, "q"),
    ("unsubscribe", {"stream": 42}, "stream"),
    ("unsubscribe", {}, "stream"),
]


async def test_bad_input_gets_an_invalid_ack_naming_the_field(server, duo):
    (ann, ann_doc), (ben, _) = duo["ann"], duo["ben"]
    await ben.http.post("/api/messages", json={"to": "ann", "body": "a thread to read"})
    [socket] = await sockets(server.url, ann, 1, "ann")
    assert len(BAD_INPUT) < EVENT_BURST  # one socket's budget at once
    try:
        for event, payload, field in BAD_INPUT:
            ack = await socket.call(event, payload)
            assert_ack(ack)
            assert ack["ok"] is False and ack["code"] == "invalid", (event, payload, ack)
            assert field in ack["errors"], (event, payload, ack)
        assert await Message.filter(sender_id=ann_doc["id"]).count() == 0
        # the socket lived through it and answers the next event
        assert await socket.call("subscribe", {"stream": "explore"}) == {"ok": True}
    finally:
        await close([socket])


async def test_anything_but_one_object_is_invalid(server, duo):
    (ann, _) = duo["ann"]
    [socket] = await sockets(server.url, ann, 1, "ann")
    try:
        # None: no argument at all; a tuple: several
        for payload in (None, "text", 7, [1, 2], ("two", "arguments"),
                        ({"to": "ben"}, {"to": "ben"})):
            for event in CLIENT_EVENTS:
                ack = await socket.call(event, payload)
                assert_ack(ack)
                assert ack["ok"] is False and ack["code"] == "invalid", (event, payload, ack)
                assert "JSON object" in ack["error"], ack
    finally:
        await close([socket])


async def test_unknown_events_and_lifecycle_names_are_refused(server, duo):
    """`connect` and `disconnect` sent as events are a client's, not python-socketio's:
    they neither log the socket in again (as someone else) nor detach it."""
    (ann, _), (ben, _) = duo["ann"], duo["ben"]
    [socket] = await sockets(server.url, ann, 1, "ann")
    try:
        for event in ("no.such.event", "connect", "disconnect", "message", "",
                      "\ud800" * 3, "x" * 10_000):
            for payload in (None, {"HTTP_COOKIE": "x", "token": ben.token}, ("a", "b", "c")):
                ack = await socket.call(event, payload)
                assert_ack(ack)
                assert ack["ok"] is False and ack["code"] == "unknown_event", (event, ack)
                assert len(ack["error"]) < 200
        # still ann's socket, still attached: a message to ann reaches it
        assert await socket.call("subscribe", {"stream": "explore"}) == {"ok": True}
        await ben.http.post("/api/messages", json={"to": "ann", "body": "still there?"})
        got = await socket.wait_for("message.created")
        assert got[0]["body"] == "still there?"
    finally:
        await close([socket])


async def test_errors_are_in_the_users_language(server, duo):
    (ann, ann_doc) = duo["ann"]
    await User.filter(id=ann_doc["id"]).update(locale="es")
    [socket] = await sockets(server.url, ann, 1, "ann")
    try:
        ack = await socket.call("typing", {"to": "no way!"})
        with locale_context("es"):
            expected = gettext("Usernames are %(min)d to %(max)d characters: letters, "
                               "digits and underscores.", min=USERNAME_MIN, max=USERNAME_MAX)
        assert expected.startswith("Los nombres")
        assert ack["code"] == "invalid" and ack["errors"] == {"to": expected}
    finally:
        await close([socket])


# --- the budget ---------------------------------------------------------------------------

async def test_a_burst_beyond_the_budget_is_refused_then_events_work_again(server, duo):
    (ann, _) = duo["ann"]
    greedy, other = await sockets(server.url, ann, 2, "ann")
    try:
        acks = await asyncio.gather(*(greedy.call("unsubscribe", {"stream": "explore"})
                                      for _ in range(60)))
        for ack in acks:
            assert_ack(ack)
        served = [a for a in acks if a["ok"]]
        refused = [a for a in acks if not a["ok"]]
        # the burst, and perhaps a token or two that came back while they arrived
        assert EVENT_BURST <= len(served) < 60, acks
        assert {a["code"] for a in refused} == {"rate_limited"}
        assert "slow down" in refused[0]["error"]
        # the budget is the socket's: the user's other socket is served meanwhile
        assert await other.call("unsubscribe", {"stream": "explore"}) == {"ok": True}
        # tokens come back at EVENT_RATE a second
        deadline = asyncio.get_running_loop().time() + 5
        while (ack := await greedy.call("unsubscribe", {"stream": "explore"})) != {"ok": True}:
            assert ack["code"] == "rate_limited"
            assert asyncio.get_running_loop().time() < deadline, "the budget never refilled"
            await asyncio.sleep(1 / EVENT_RATE)
        assert greedy.client.connected
    finally:
        await close([greedy, other])


# --- typing -------------------------------------------------------------------------------

async def nothing_more(recorder: Recorder, name: str, count: int) -> None:
    """`count` events named `name` arrived, and no more within a short while."""
    await recorder.wait_for(name, count=count)
    await asyncio.sleep(0.5)
    assert len(recorder.of(name)) == count, recorder.of(name)


async def test_typing_from_five_sockets_is_one_indicator_per_interval(server, server2, duo):
    (ann, _), (ben, ben_doc) = duo["ann"], duo["ben"]
    [receiver] = await sockets(server.url, ann, 1, "ann")
    typists = [*await sockets(server.url, ben, 2, "ben-a"),
               *await sockets(server2.url, ben, 3, "ben-b")]
    try:
        acks = await asyncio.gather(*(t.call("typing", {"to": "ann"}) for t in typists))
        assert sorted(a["sent"] for a in acks) == [False] * 4 + [True], acks
        await nothing_more(receiver, "typing", 1)
        assert receiver.of("typing") == [{"from": ben_doc["id"], "username": "ben"}]
        # the next interval lets one more through, whichever socket it comes from
        deadline = asyncio.get_running_loop().time() + TYPING_INTERVAL * 3
        turn = 0
        while not (await typists[turn % 5].call("typing", {"to": "ANN"}))["sent"]:
            assert asyncio.get_running_loop().time() < deadline
            turn += 1
            await asyncio.sleep(0.1)
        await nothing_more(receiver, "typing", 2)
    finally:
        await close([receiver], typists)


async def test_junk_recipient_names_never_reset_the_typing_throttle(server, duo):
    (ann, ann_doc), (ben, _) = duo["ann"], duo["ben"]
    [receiver] = await sockets(server.url, ben, 1, "ben")
    # 300 events are more than one socket's budget: spread over seven of ann's sockets
    typists = await sockets(server.url, ann, 7, "ann")
    try:
        assert await typists[0].call("typing", {"to": "ben"}) == {"ok": True, "sent": True}
        junk = [f"junk {i}" if i % 3 == 0 else ("j" * (USERNAME_MAX + 1 + i) if i % 3 == 1
                                                else f"\x00{i}") for i in range(300)]
        acks = await asyncio.gather(*(typists[1 + i % 6].call("typing", {"to": name})
                                      for i, name in enumerate(junk)))
        for ack in acks:
            assert_ack(ack)
            assert ack["code"] == "invalid" and "to" in ack["errors"], ack
        # the junk touched no throttle: ann's only typing key is ben's, still running
        redis = resources.redis
        assert redis is not None
        pattern = resources.key("typing", ann_doc["id"], "*")
        keys = [k async for k in redis.scan_iter(pattern)]
        assert keys == [resources.key("typing", ann_doc["id"], "ben")]
        assert await redis.pttl(keys[0]) > 300, "the junk took too long to tell"
        assert await typists[0].call("typing", {"to": "ben"}) == {"ok": True, "sent": False}
        await nothing_more(receiver, "typing", 1)
    finally:
        await close([receiver], typists)


async def test_typing_to_someone_who_does_not_exist_or_to_oneself(server, duo):
    (ann, _) = duo["ann"]
    [socket] = await sockets(server.url, ann, 1, "ann")
    try:
        ack = await socket.call("typing", {"to": "nobody_here"})
        assert ack["ok"] is False and ack["code"] == "not_found", ack
        ack = await socket.call("typing", {"to": "ann"})
        assert ack["ok"] is False and ack["code"] == "invalid" and "to" in ack["errors"], ack
    finally:
        await close([socket])
