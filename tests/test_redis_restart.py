"""A Redis restart loses no personal event: instances resubscribe by themselves and repair
what was published while Redis was down from the database."""


from tests.conftest import start_server
from tests.realtime import Api, Recorder


async def test_redis_restart_loses_no_personal_event(settings, own_redis, db, worker):
    server = start_server(settings, REDIS_URL=own_redis.url)
    author, fan, other = Api(server.url), Api(server.url), Api(server.url)
    socket = Recorder("author")
    try:
        author_doc = await author.register("author")
        await fan.register("fan")
        await other.register("other")
        await socket.connect(server.url, author.token)
        await fan.http.post(f"/api/me/following/{author_doc['id']}")
        await socket.wait_for("notification")

        own_redis.stop()
        # while Redis is down: the follows commit; their live events cannot be sent
        assert (await other.http.post(
            f"/api/me/following/{author_doc['id']}")).status_code == 204
        await fan.http.delete(f"/api/me/following/{author_doc['id']}")
        assert (await fan.http.post(
            f"/api/me/following/{author_doc['id']}")).status_code == 204
        own_redis.start()

        await socket.wait_for("notification", count=3, within=30)
        # and live delivery works again afterwards
        await other.http.delete(f"/api/me/following/{author_doc['id']}")
        await other.http.post(f"/api/me/following/{author_doc['id']}")
        await socket.wait_for("notification", count=4, within=30)
        assert socket.personal_ids() == [1, 2, 3, 4]
        assert socket.client.connected
    finally:
        await socket.disconnect()
        for api in (author, fan, other):
            await api.close()
        server.stop()
