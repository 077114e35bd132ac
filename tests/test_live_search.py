"""Live search over real Socket.IO clients and two real `microblog serve` instances: a socket
that follows a search gets each new matching post, highlighted, wherever it was posted, and
nothing else; privacy holds live too."""

import pytest

from tests.realtime import Api, Recorder


@pytest.fixture
async def people(server, server2, db):
    made = {}
    for name, base in (("author", server.url), ("reader", server2.url), ("other", server2.url)):
        api = Api(base)
        made[name] = (api, await api.register(name))
    yield made
    for api, _ in made.values():
        await api.close()


async def test_matching_posts_arrive_highlighted_and_nothing_else(server, server2, people):
    (author, _), (reader, _) = people["author"], people["reader"]
    socket = await Recorder("reader").connect(server2.url, reader.token)
    try:
        ack = await socket.call("subscribe", {"stream": "search", "q": "kayak -river"})
        assert ack == {"ok": True}
        for body in ("Nothing to see here today", "A kayak trip down the river",
                     "New kayak for the lake trip"):
            assert (await author.http.post("/api/posts", json={"body": body})).status_code == 201
        got = await socket.wait_for("search.result")
        assert got[0]["q"] == "kayak -river"
        assert got[0]["post"]["body"] == "New kayak for the lake trip"
        assert got[0]["post"]["highlight"] == "New <mark>kayak</mark> for the lake trip"
        assert got[0]["post"]["author"]["username"] == "author"
        assert [e["post"]["body"] for e in socket.of("search.result")] == [
            "New kayak for the lake trip"]
        assert socket.invalid == []

        assert await socket.call("unsubscribe", {"stream": "search", "q": "kayak -river"}) == {
            "ok": True}
        assert await socket.call("subscribe", {"stream": "search", "q": "#lake"}) == {"ok": True}
        await author.http.post("/api/posts", json={"body": "Another kayak, no tag"})
        await author.http.post("/api/posts", json={"body": "Sunset at the #lake"})
        got = await socket.wait_for("search.result", count=2)
        assert [e["post"]["body"] for e in got] == ["New kayak for the lake trip",
                                                   "Sunset at the #lake"]
    finally:
        await socket.disconnect()


async def test_a_blocked_reader_gets_nothing_live(server, server2, people):
    (author, _), (reader, reader_doc), (other, _) = (
        people["author"], people["reader"], people["other"])
    blocked = await Recorder("reader").connect(server2.url, reader.token)
    watcher = await Recorder("other").connect(server.url, other.token)
    try:
        for s in (blocked, watcher):
            assert await s.call("subscribe", {"stream": "search", "q": "meteor"}) == {"ok": True}
        response = await author.http.post(f"/api/me/blocks/{reader_doc['id']}")
        assert response.status_code == 204, response.text
        await author.http.post("/api/posts", json={"body": "Meteor shower tonight"})
        await watcher.wait_for("search.result")
        await other.http.post("/api/posts", json={"body": "I saw the meteor too"})
        got = await blocked.wait_for("search.result")
        assert [e["post"]["body"] for e in got] == ["I saw the meteor too"]
    finally:
        await blocked.disconnect()
        await watcher.disconnect()


@pytest.mark.parametrize("data, code", [
    ({"stream": "search"}, "invalid"),
    ({"stream": "search", "q": ""}, "invalid"),
    ({"stream": "search", "q": "-only"}, "invalid"),
    ({"stream": "search", "q": "x" * 501}, "invalid"),
    ({"stream": "search", "q": 42}, "invalid"),
])
async def test_bad_searches_are_refused_with_an_ack(server, people, data, code):
    reader, _ = people["reader"]
    socket = await Recorder("reader").connect(server.url, reader.token)
    try:
        ack = await socket.call("subscribe", data)
        assert ack["ok"] is False and ack["code"] == code and ack["error"]
    finally:
        await socket.disconnect()


async def test_a_socket_follows_a_bounded_number_of_searches(server, people):
    reader, _ = people["reader"]
    socket = await Recorder("reader").connect(server.url, reader.token)
    try:
        for n in range(5):
            assert await socket.call("subscribe", {"stream": "search", "q": f"w{n}x"}) == {
                "ok": True}
        ack = await socket.call("subscribe", {"stream": "search", "q": "one more"})
        assert ack["ok"] is False and "at most 5" in ack["error"]
    finally:
        await socket.disconnect()
