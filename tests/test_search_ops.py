"""Operating search: `microblog search reindex` and `status`, and an instance whose
Elasticsearch is down (named by /readyz, 503 with a clear message on search, posting
unaffected)."""

import httpx

from microblog.devservices import free_port
from microblog.models import Post
from microblog.services import posts
from microblog.services import search as search_service
from microblog.services.pagination import PageRequest
from tests.conftest import start_server
from tests.helpers import make_user
from tests.test_cli import run_cli
from tests.test_health import wait_status


async def test_reindex_recomputes_tags_and_vectors_and_status_counts(settings, db):
    alice = await make_user("alice")
    made = await posts.create_post(alice, "Cycling along the #coast today")
    # as a post written before search existed: no tags, no vector
    await Post.filter(id=made.id).update(tags=[])
    from tortoise import connections

    await connections.get("default").execute_query(
        "UPDATE posts SET search = NULL WHERE id = $1", [made.id])
    assert (await search_service.search_posts(alice, "#coast", None, PageRequest())).items == []

    result = await run_cli(settings, "search", "reindex")
    assert result.returncode == 0, result.stderr
    assert "reindexed 1 posts" in result.stdout
    assert (await Post.get(id=made.id)).tags == ["coast"]
    found = await search_service.search_posts(alice, "#coast cycle", None, PageRequest())
    assert [h.post.id for h in found.items] == [made.id]

    result = await run_cli(settings, "search", "status", "--json")
    assert result.returncode == 0, result.stderr
    import json

    status = json.loads(result.stdout)
    assert status["backend"] == "postgres" and status["posts"] == 1 and status["indexed"] == 1
    assert status["tags"] == 1 and set(status["extensions"]) == {
        "unaccent", "pg_trgm", "fuzzystrmatch"}


async def test_elasticsearch_down_is_named_and_search_answers_503(settings, db):
    dead = f"http://127.0.0.1:{free_port()}"
    server = start_server(settings, ELASTICSEARCH_URL=dead)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
            down = await wait_status(http, "/readyz", 503)
            assert set(down.json()["failing"]) == {"elasticsearch"}
            response = await http.post("/api/users", json={
                "username": "erin", "email": "erin@example.com", "password": "long enough"})
            assert response.status_code == 201
            token = (await http.post("/api/tokens", auth=("erin", "long enough"))).json()
            headers = {"Authorization": f"Bearer {token['token']}"}
            posted = await http.post("/api/posts", json={"body": "Posting works anyway"},
                                     headers=headers)
            assert posted.status_code == 201
            response = await http.get("/api/search", params={"q": "posting"}, headers=headers)
            assert response.status_code == 503
            assert "Search is unavailable" in response.json()["message"]
            # people and tags live in PostgreSQL and still answer
            response = await http.get("/api/search", params={"q": "erin", "type": "users"},
                                      headers=headers)
            assert response.status_code == 200
    finally:
        server.stop()
