"""Pydantic models whose bad input raises ``events.ValidationError``, worded for a person, not a parser.

Callers catch one error tree (``ArenaError``), so pydantic's ``ValidationError`` never escapes a model of
ours: ``ValidatedModel`` translates it on construction, and ``validation_error`` does the same for code that
validates another way (``model_validate`` on a mapping read from a file or an event).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, get_args

import pydantic
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ConfigDict

from events import ValidationError

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo
    from pydantic_core import ErrorDetails

__all__ = ["ValidatedModel", "validation_error"]


def validation_error(
    subject: str, model: type[BaseModel], error: pydantic.ValidationError
) -> ValidationError:
    """Word pydantic's first problem as our ``ValidationError``, naming the (dotted) field and its bounds.

    Only the first problem is reported: it is the one to fix first, and one line reads better on a CLI.
    Models nest (``graduate_to_arena.min_fitness``), and a nested model's own ``__init__`` may already have
    worded its error for itself; that wording is unwrapped so the message names the full path. Raise the
    result ``from error`` so the original stays in the traceback.
    """
    loc, first = _innermost(error)
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ValidationError):  # raised by one of our own validators: already worded
        return ValidationError(cause.msg, field=cause.field, value=cause.value)
    name = ".".join(loc)
    problem = first["msg"][:1].lower() + first["msg"][1:]
    if first["type"] == "missing":
        msg = f"{subject} field {name!r}: {problem}; pass a value for it"
        return ValidationError(msg, field=name, value=None)
    owner, info = _locate(model, loc)
    if first["type"] == "extra_forbidden":
        known = ", ".join(owner.model_fields)
        msg = f"{subject} field {name!r}: {problem}; remove it or use a known field ({known})"
        return ValidationError(msg, field=name, value=first["input"])
    msg = f"{subject} field {name!r}: {problem}, got {first['input']!r}; {_fix(info, first['type'])}"
    return ValidationError(msg, field=name, value=first["input"])


def _innermost(error: pydantic.ValidationError) -> tuple[list[str], ErrorDetails]:
    """Return the full location and details of the first problem, looking through nested models."""
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ValidationError) and isinstance(cause.__cause__, pydantic.ValidationError):
        inner_loc, inner = _innermost(cause.__cause__)  # a nested ValidatedModel.__init__ translated it
        return loc + inner_loc, inner
    return loc, first


def _locate(model: type[BaseModel], loc: list[str]) -> tuple[type[BaseModel], FieldInfo | None]:
    """Return the model that owns the last part of ``loc`` and that field's info (None if unknown)."""
    owner, info = model, None
    for depth, part in enumerate(loc):
        info = owner.model_fields.get(part)
        nested = info.annotation if info is not None else None
        if depth < len(loc) - 1 and isinstance(nested, type) and issubclass(nested, BaseModel):
            owner = nested
        elif depth < len(loc) - 1:
            break
    return owner, info


def _fix(info: FieldInfo | None, error_type: str) -> str:
    """Say what a valid value looks like: the listed values, or a number within the field's bounds."""
    if error_type == "literal_error":
        return "pass one of the listed values"
    if info is None:
        return "pass a value of the documented type"
    kinds = {info.annotation, *get_args(info.annotation)}
    optional = " or leave it out" if type(None) in kinds else ""
    if Decimal in kinds:
        kind = "a Decimal"  # not "a number": Decimal fields are exact and may reject floats
    elif int in kinds and float not in kinds:
        kind = "an integer"
    elif float in kinds:
        kind = "a finite number"
    else:  # a string, a flag or a nested model: pydantic's message already names the type
        return f"pass a value of the documented type{optional}"
    low = next((f" >= {m.ge}" for m in info.metadata if isinstance(m, Ge)), "")
    low = low or next((f" > {m.gt}" for m in info.metadata if isinstance(m, Gt)), "")
    high = next((f" <= {m.le}" for m in info.metadata if isinstance(m, Le)), "")
    high = high or next((f" < {m.lt}" for m in info.metadata if isinstance(m, Lt)), "")
    return f"pass {kind}{low}{' and' if low and high else ''}{high}{optional}"


class ValidatedModel(BaseModel):
    """Frozen, closed pydantic model whose bad input raises ``events.ValidationError``, not pydantic's.

    A subclass may add settings in its own ``model_config`` (pydantic merges it with this one), e.g.
    ``strict=True`` where a coerced value would hide a mistake.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    if not TYPE_CHECKING:  # hidden from mypy so the pydantic plugin still types each subclass's __init__

        def __init__(self, **data: object) -> None:
            try:
                super().__init__(**data)
            except pydantic.ValidationError as e:
                raise validation_error(type(self).__name__, type(self), e) from e
