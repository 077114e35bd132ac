"""URL converters that refuse, before any lookup, what no row can match: an id that is not
ASCII digits, a username that is not a username, an over-long segment. A refused segment
does not match the route, so the answer is a 404; an id too large for its PostgreSQL column
becomes 0, which no row has, so its lookup is a 404 without the driver ever seeing it.

Each carries `openapi_schema`, which the API's OpenAPI document shows for the parameter.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import BaseConverter, Map

from microblog.limits import BIGINT_MAX, INT_MAX
from microblog.text import USERNAME_PATTERN


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
        # beyond the column is 0, an id no row has: the lookup answers its own 404. (Raising
        # ValidationError instead can turn into a 405 when a sibling rule differs by method.)
        number = int(value)
        return number if number <= self.maximum else 0

    def to_url(self, value: Any) -> str:
        return str(int(value))


class UsernameConverter(BaseConverter):
    """`<username:username>`: only what a username can be (so `al%00ice` is a 404)."""

    regex = USERNAME_PATTERN
    part_isolating = True
    openapi_schema: dict[str, Any] = {"type": "string", "pattern": f"^{USERNAME_PATTERN}$"}


class SegmentConverter(BaseConverter):
    """`<segment(32):task_id>`: one path segment of at most that many printable characters."""

    part_isolating = True

    def __init__(self, map: Map, maxlength: int = 64) -> None:  # noqa: A002
        super().__init__(map)
        self.regex = f"[^/\\x00-\\x1f]{{1,{maxlength}}}"
        self.openapi_schema = {"type": "string", "minLength": 1, "maxLength": maxlength}


CONVERTERS: dict[str, type[BaseConverter]] = {
    "id": IdConverter, "username": UsernameConverter, "segment": SegmentConverter}
