"""What every schema shares: the text type every user-written field uses, id types sized
to their columns, and the one translation of pydantic's errors into `{field: message}` in
the reader's language (the API's 400s, the socket acks)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from microblog.i18n import gettext as _
from microblog.limits import BIGINT_MAX, INT_MAX
from microblog.text import text_problem


def _storable(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise PydanticCustomError("bad_text", problem)
    return value


# any text a person writes: no NUL, no lone surrogate (microblog.text)
Text = Annotated[str, AfterValidator(_storable)]
# ids as their columns hold them (users are `integer`, the rest `bigint`)
UserId = Annotated[int, Field(ge=1, le=INT_MAX)]
RowId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
# a position in a stream of ids where 0 means "before the first"
Cursor = Annotated[int, Field(ge=0, le=BIGINT_MAX)]


class Schema(BaseModel):
    """A resource or a request: unknown fields are refused, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
        field = ".".join(str(part) for part in error["loc"])
        errors.setdefault(field, _message(error))
    return errors
