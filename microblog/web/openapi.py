"""The API's contract as data: quart-schema validates request bodies and query strings
against microblog.schemas and serves `/openapi.json` (OpenAPI 3.1); JSON is read and written
with orjson.

Also the one JSON body reader: a body that is not UTF-8, not JSON or nested too deep is a
400 naming the problem (orjson refuses all three; the standard library's decoder raised a
RecursionError, a 500), and an empty body reads as `{}` so a missing field is named like
any other.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python
from quart import Quart, Response
from quart.json.provider import DefaultJSONProvider
from quart.wrappers import Request
from quart_schema import QuartSchema, document_response
from quart_schema.openapi import OpenAPIProvider
from werkzeug.routing import BaseConverter, Rule

from microblog.errors import ServiceError
from microblog.i18n import gettext as _
from microblog.schemas import Error, Schema, field_errors

F = TypeVar("F", bound=Callable[..., Any])

API_DESCRIPTION = """\
The microblog's HTTP API: people, posts, timelines, notifications, private messages,
background exports and scheduled posts. Real-time events (Socket.IO) are described in
the README.

**Authentication**: `POST /api/tokens` with HTTP Basic (username or email, password) gives
a token; send it as `Authorization: Bearer <token>`. Read-only requests from the web pages
may use the login cookie instead.

**Conventions**: JSON in and out (UTF-8); times are ISO 8601 UTC (`2026-01-31T12:00:00Z`);
lists are collections `{items, _meta: {page, per_page, total_pages, total_items}, _links:
{self, next, prev}}` with `?page=` and `?per_page=` (1-100); every error is `{error,
message}` with its HTTP status, and a 400 for invalid input adds `errors: {field:
message}`. Messages follow the `Accept-Language` header (en, es, zh).
"""

NO_CONTENT = None  # an answer without a body (204)


def _dumps_default(value: Any) -> Any:
    return to_jsonable_python(value)


class JsonProvider(DefaultJSONProvider):
    """orjson for every JSON the app reads or writes (pages' `tojson` included)."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=_dumps_default,
                            option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        value = args[0] if len(args) == 1 else (args or kwargs)
        return Response(orjson.dumps(value, default=_dumps_default,
                                     option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS),
                        mimetype="application/json")


class JsonRequest(Request):
    async def get_json(self, force: bool = False, silent: bool = False,
                       cache: bool = True) -> Any:
        """The body as JSON whatever its Content-Type (clients like `curl -d` omit it)."""
        if cache and self._cached_json[silent] is not Ellipsis:
            return self._cached_json[silent]
        raw = await self.get_data(cache=cache, as_text=False)
        if not raw.strip():
            result: Any = {}
        else:
            try:
                result = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                if not silent:
                    raise ServiceError(_("The request body is not valid JSON (%(reason)s).",
                                         reason=str(exc).split(":")[0])) from None
                result = None
        if cache:
            self._cached_json[silent] = result
        return result


class ApiDocument(OpenAPIProvider):
    """Only the API (not the pages); path parameters typed by our converters; 204s without
    a body; built once."""

    def generate_rules(self) -> Any:
        return (rule for rule in super().generate_rules()
                if rule.endpoint.startswith("api."))

    def build_path_parameter(self, name: str, converter: BaseConverter) -> dict[str, Any]:
        parameter = super().build_path_parameter(name, converter)
        schema = getattr(converter, "openapi_schema", None)
        if schema is not None:
            parameter["schema"] = dict(schema)
        return parameter

    def build_response_object(self, model: Any, headers_model: Any) -> tuple[dict, dict]:
        if model is NO_CONTENT:
            return {"description": "Done; no content."}, {}
        if model is bytes:
            return {"description": "The file", "content": {
                "application/octet-stream": {"schema": {"type": "string",
                                                        "format": "binary"}}}}, {}
        return super().build_response_object(model, headers_model)

    def build_paths(self, rule: Rule) -> tuple[dict, dict]:
        paths, components = super().build_paths(rule)
        for operations in paths.values():
            for operation in operations.values():
                if "description" in operation:
                    operation["description"] = operation["description"].strip()
                responses = {str(code): dict(answer)
                             for code, answer in operation["responses"].items()}
                for code, answer in responses.items():
                    if int(code) in ERROR_DESCRIPTIONS:
                        answer["description"] = ERROR_DESCRIPTIONS[int(code)]
                operation["responses"] = dict(sorted(responses.items()))
        return paths, components

    def operation_id(self, method: str, path: str, func: Callable[..., Any]) -> str:
        """The handler's name: `get_user`, `create_post`, `revoke_token`."""
        return func.__name__

    @cache  # noqa: B019 - one provider per app, the document never changes
    def schema(self) -> dict[str, Any]:
        return super().schema()


ERROR_DESCRIPTIONS = {
    400: "Invalid input: `errors` names each invalid field",
    401: "No valid credentials",
    403: "Not allowed",
    404: "No such resource",
    409: "Conflicts with the current state",
    422: "Understood but cannot be done",
    429: "Too many requests",
    503: "A service it needs is unavailable; nothing was done",
}


def answers(status: int, model: type[BaseModel] | type[bytes] | None,
            *errors: int) -> Callable[[F], F]:
    """Document a route's success answer and the errors it can give (each an Error)."""

    def decorate(view: F) -> F:
        return fails(*errors)(document_response(model, status)(view))  # type: ignore[arg-type]

    return decorate


def fails(*codes: int) -> Callable[[F], F]:
    """Document the errors a route can give (each an Error)."""

    def decorate(view: F) -> F:
        for code in codes:
            view = document_response(Error, code)(view)  # type: ignore[arg-type]
        return view

    return decorate


def json_response(model: Schema, status: int = 200) -> Response:
    """A resource as the answer, serialised by pydantic (no intermediate dicts)."""
    return Response(model.json_bytes(), status=status, mimetype="application/json")


def validation_errors(error: Exception | None) -> dict[str, str]:
    if isinstance(error, ValidationError):
        return field_errors(error)
    return {"": _("The request could not be understood. Please check what you sent.")}


def install(app: Quart) -> None:
    app.request_class = JsonRequest
    schema = QuartSchema(
        openapi_path="/openapi.json", swagger_ui_path=None, redoc_ui_path=None,
        scalar_ui_path=None, openapi_provider_class=ApiDocument,
        info={"title": "Microblog API", "version": "1.0", "description": API_DESCRIPTION},
        security_schemes={
            "bearer": {"type": "http", "scheme": "bearer"},  # a token from POST /api/tokens
            "basic": {"type": "http", "scheme": "basic"},  # username (or email), password
        },
        tags=[{"name": name, "description": text} for name, text in (
            ("users", "Accounts, profiles, tokens and following"),
            ("posts", "Posts and timelines, likes, reposts and edits"),
            ("tags", "Hashtags: their posts, and what is trending"),
            ("notifications", "What happened to you"),
            ("messages", "Private messages and blocking"),
            ("tasks", "Background exports"),
            ("scheduled", "Posts written for later"))],
    )
    schema.init_app(app)
    app.json = JsonProvider(app)
