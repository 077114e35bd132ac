"""URL converters that refuse, before any lookup, what no row can match: an id that is not
ASCII digits or does not fit its PostgreSQL column, a username that is not a username, an
over-long segment. A refused segment does not match the route, so the answer is a 404.

Each carries `openapi_schema`, which the API's OpenAPI document shows for the parameter.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import BaseConverter, Map, ValidationError

from microblog.limits import BIGINT_MAX, INT_MAX, USERNAME_MAX, USERNAME_MIN


class IdConverter(BaseConverter):
    """`<id:post_id>` (a bigint column) or `<id(32):user_id>` (an integer column)."""

    regex = "[0-9]{1,19}"
    weight = 50
    part_isolating = True

    def __init__(self, map: Map, bits: int = 64) -> None:  # noqa: A002
        super().__init__(map)
        self.maximum = INT_MAX if bits == 32 else BIGINT_MAX
        self.openapi_schema: dict[str, Any] = {
            "type": "integer", "minimum": 1, "maximum": self.maximum}

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= self.maximum:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


class UsernameConverter(BaseConverter):
    """`<username:username>`: only what a username can be (so `al%00ice` is a 404)."""

    regex = f"[A-Za-z0-9_]{{{USERNAME_MIN},{USERNAME_MAX}}}"
    part_isolating = True
    openapi_schema: dict[str, Any] = {
        "type": "string", "pattern": f"^[A-Za-z0-9_]{{{USERNAME_MIN},{USERNAME_MAX}}}$"}


class SegmentConverter(BaseConverter):
    """`<segment(32):task_id>`: one path segment of at most that many printable characters."""

    part_isolating = True

    def __init__(self, map: Map, maxlength: int = 64) -> None:  # noqa: A002
        super().__init__(map)
        self.regex = f"[^/\\x00-\\x1f]{{1,{maxlength}}}"
        self.openapi_schema = {"type": "string", "minLength": 1, "maxLength": maxlength}


CONVERTERS: dict[str, type[BaseConverter]] = {
    "id": IdConverter, "username": UsernameConverter, "segment": SegmentConverter}
