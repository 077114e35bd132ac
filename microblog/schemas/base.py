"""What every schema shares: the text type every user-written field uses, id types sized
to their columns, and the one translation of pydantic's errors into `{field: message}` in
the reader's language (the API's 400s, the socket acks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from microblog.i18n import gettext as _
from microblog.limits import BIGINT_MAX, INT_MAX
from microblog.text import text_problem


def storable(value: str) -> str:
    """A pydantic validator: microblog.text's check, as a field error."""
    problem = text_problem(value)
    if problem is not None:
        raise PydanticCustomError("bad_text", problem)
    return value


# any text a person writes: no NUL, no lone surrogate (microblog.text)
Text = Annotated[str, AfterValidator(storable)]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# a moment, shown as ISO 8601 UTC with a `Z` (stored times are UTC)
Timestamp = Annotated[datetime, AfterValidator(_utc)]
# ids as their columns hold them (users are `integer`, the rest `bigint`)
UserId = Annotated[int, Field(ge=1, le=INT_MAX)]
RowId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
# a position in a stream of ids where 0 means "before the first"
Cursor = Annotated[int, Field(ge=0, le=BIGINT_MAX)]


class Schema(BaseModel):
    """A resource or a request: unknown fields are refused, instances are immutable; fields
    named like `_links` are declared as `links` with an alias."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def json_bytes(self) -> bytes:
        """As the API and the events send it (pydantic's Rust serializer)."""
        return self.__pydantic_serializer__.to_json(self, by_alias=True)


class Body(Schema):
    """A JSON request body: types as JSON has them (`"5"` is not a number, `true` is not 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)


class Query(BaseModel):
    """A query string: unknown parameters are ignored (cache busters and the like)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


MAX_FIELDS = 20
MAX_FIELD_NAME = 64


def _message(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("This field is not expected here.")
    if kind in ("string_type", "string_unicode"):
        return _("This must be text.")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _("This must be a whole number.")
    if kind in ("bool_type", "bool_parsing"):
        return _("This must be true or false.")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
        if kind.startswith("greater"):
            return _("This must be at least %(min)s.", min=bound)
        return _("This must be at most %(max)s.", max=bound)
    if kind == "string_too_short":
        return _("This must not be empty.")
    if kind == "string_too_long":
        return _("This is longer than %(max)s characters.", max=ctx.get("max_length"))
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return _("This must be a JSON object.")
    if kind in ("datetime_type", "datetime_parsing", "datetime_from_date_parsing"):
        return _("This must be a date and time (ISO 8601).")
    if kind in ("literal_error", "enum"):
        return _("This must be one of: %(values)s.", values=ctx.get("expected", ""))
    if kind == "string_pattern_mismatch":
        return _("This is not in the expected format.")
    return str(error["msg"])  # our own PydanticCustomError messages are already translated


def field_errors(exc: ValidationError) -> dict[str, str]:
    """`{field: message}`, the first problem of each field; a problem with the whole input
    is under `""`."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        # a client's unknown field names come back: only a few, never long ones, and
        # encodable whatever they hold (a socket event's JSON may carry a lone surrogate)
        field = ".".join(str(part) for part in error["loc"])[:MAX_FIELD_NAME]
        field = field.encode("utf-8", "backslashreplace").decode("utf-8")
        errors.setdefault(field, _message(error))
        if len(errors) == MAX_FIELDS:
            break
    return errors


def summary(errors: dict[str, str]) -> str:
    """One sentence for a 400 or an error ack: `Invalid input: body: This field is
    required.` (a problem with the whole input is said as it is)."""
    if set(errors) == {""}:
        return errors[""]
    return _("Invalid input: %(details)s", details="; ".join(
        f"{field}: {message}" if field else message for field, message in errors.items()))
