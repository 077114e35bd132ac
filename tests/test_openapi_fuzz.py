"""Schemathesis against a real `microblog serve`: every operation of /openapi.json, with a
real token, valid and invalid input. Zero failures: no 5xx, every status documented, every
answer matching its documented schema and content type.

Path ids and usernames are drawn, most of the time, from rows that exist (schemathesis
"dictionaries"), so the fuzzing reaches the code behind the lookups and the 200 answers'
schemas are checked too; the rest of the time they are generated (404s)."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

CHECKS = ("not_a_server_error,status_code_conformance,response_schema_conformance,"
          "content_type_conformance")
# revoking the token under test would leave the rest of the run unauthenticated
SKIPPED = "revoke_token"
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "50")
SEED = os.environ.get("FUZZ_SEED", "20261203")  # reproducible in CI; FUZZ_SEED varies it


def account(http: httpx.Client, username: str) -> tuple[int, str]:
    user = http.post("/api/users", json={"username": username,
                                         "email": f"{username}@example.com",
                                         "password": "fuzzing pass 1"})
    assert user.status_code == 201, user.text
    token = http.post("/api/tokens", auth=(username, "fuzzing pass 1"))
    assert token.status_code == 200, token.text
    return user.json()["id"], token.json()["token"]


def existing_rows(base: str) -> tuple[str, dict[str, list[object]]]:
    """The fuzzer's token, and ids and names that exist, by parameter."""
    with httpx.Client(base_url=base, timeout=10) as http:
        me, token = account(http, "fuzzer")
        other, _ = account(http, "fuzzed")
        http.headers["Authorization"] = f"Bearer {token}"
        post = http.post("/api/posts", json={"body": "something to fuzz around"}).json()
        when = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        later = http.post("/api/posts", json={"body": "for later", "publish_at": when}).json()
        task = http.post("/api/exports").json()
        message = http.post("/api/messages", json={"to": "fuzzed", "body": "hello"}).json()
    return token, {
        "path.user_id": [other, me], "path.post_id": [post["id"]],
        "path.scheduled_id": [later["id"]], "path.task_id": [task["task_id"]],
        "path.filename": ["posts.zip"], "query.with": ["fuzzed"], "body.to": ["fuzzed"],
        "body.with": ["fuzzed"], "body.last_read_id": [message["id"]],
    }


def config_file(path: Path, rows: dict[str, list[object]]) -> Path:
    lines = []
    for key, values in rows.items():
        name = key.replace(".", "_")
        lines.append(f"[dictionaries.{name}]\nvalues = {json.dumps(values)}\n")
    lines.append("[parameters]")
    lines += [f'"{key}" = {{ dictionary = "{key.replace(".", "_")}", probability = 0.7 }}'
              for key in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_schemathesis_finds_nothing(server, tmp_path: Path) -> None:
    token, rows = existing_rows(server.url)
    config = config_file(tmp_path / "schemathesis.toml", rows)
    # one worker: two in threads tripped a CPython 3.11 ast.parse race inside Hypothesis
    command = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config),
               "run", f"{server.url}/openapi.json", "--checks", CHECKS,
               "--header", f"Authorization: Bearer {token}",
               "--exclude-operation-id", SKIPPED, "--max-examples", MAX_EXAMPLES,
               "--seed", SEED, "--phases", "examples,coverage,fuzzing", "--workers", "1",
               "--request-timeout", "20", "--no-color"]
    # its cache directory lands in tmp_path; coverage of the suite's processes is not for it
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    result = subprocess.run(command, capture_output=True, text=True, timeout=1200,
                            cwd=tmp_path, env=env)
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode == 0, output[-20000:]
    assert "Tested: 41" in output and " passed" in output
