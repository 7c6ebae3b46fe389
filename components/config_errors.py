"""Turning pydantic's validation errors into problems that name the file, key path and rule.

A platform team reads ``Pulumi.us.yaml: partner-apps:region.keyVault.name: ...``, never a
pydantic traceback: key paths are written as in the file (camelCase, list indexes), unknown keys
list the allowed ones, and a YAML value of the wrong type says what YAML made of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, get_args, get_origin

from pydantic import (
    BaseModel,
    ValidationError,
)

from .files import (
    Problem,
)

# --- Errors -------------------------------------------------------------------------------------


def _key_path(prefix: str, loc: Sequence[int | str]) -> str:
    path = prefix
    for part in loc:
        name = str(part) or '""'  # an empty YAML key
        if isinstance(part, int):
            path += f"[{part}]"
        elif path:
            path += f".{name}"
        else:
            path = name
    return path


def _strip(annotation: Any) -> Any:
    """The model or container type behind Annotated[...] and Optional[...]."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if get_origin(annotation) not in (list, dict) and len(args) == 1:
            annotation = args[0]
            continue
        return annotation


def _allowed_keys(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Aliases allowed at ``loc`` (the parent of an unknown key), for 'unknown key' messages."""
    current: Any = model
    for part in loc:
        current = _strip(current)
        if get_origin(current) in (list, dict):
            current = get_args(current)[-1]  # the part is an index or a mapping key
            continue
        tagged = [
            member
            for member in get_args(current)
            if isinstance(member, type)
            and issubclass(member, BaseModel)
            and "type" in member.model_fields
            and get_args(member.model_fields["type"].annotation) == (part,)
        ]
        if tagged:  # the part is the tag of a discriminated union (credential type)
            current = tagged[0]
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        fields = {
            info.alias or name: info.annotation for name, info in current.model_fields.items()
        }
        if part not in fields:
            return []
        current = fields[str(part)]
    current = _strip(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(info.alias or name for name, info in current.model_fields.items())
    return []


# Loc parts pydantic adds that are not YAML keys: the tag of the credential union (only right
# after `credential`: an app may be keyed `certificate`), validator labels such as
# `function-after[_guid(), str]` (app keys never contain '['), and `[key]` for a mapping key.
_CREDENTIAL_TAGS = ("password", "certificate")
_VALIDATOR_LABEL = re.compile(r"^function-[a-z]+\[")


def _yaml_loc(loc: Sequence[int | str], *, keep_tags: bool = False) -> list[int | str]:
    result: list[int | str] = []
    for part in loc:
        if isinstance(part, str) and (
            part == "[key]"
            or _VALIDATOR_LABEL.match(part)
            or (
                not keep_tags
                and part in _CREDENTIAL_TAGS
                and len(result) == 3
                and result[::2] == ["apps", "credential"]
            )
        ):
            continue
        result.append(part)
    return result


def _yaml_type(value: Any) -> str:
    """How a YAML reader would name the type of a parsed value."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def problems_from_validation(
    error: ValidationError, file: str, prefix: str, model: type[BaseModel]
) -> list[Problem]:
    """Turn pydantic's errors into one readable line each."""
    problems = []
    for item in error.errors(include_url=False):
        loc = _yaml_loc(item["loc"])
        if item["loc"][-1:] == ("[key]",) and isinstance(item.get("input"), bool) and loc:
            # A mapping key read as a boolean (an unquoted `on:`): pydantic reports it as 1 or 0.
            loc[-1] = str(item["input"]).lower()
        kind = item["type"]
        message = str(item["msg"])
        if kind in ("model_type", "model_attributes_type"):
            message = f"must be a mapping of keys, not {_yaml_type(item.get('input'))}"
        elif kind == "extra_forbidden":
            allowed = _allowed_keys(model, _yaml_loc(item["loc"], keep_tags=True)[:-1])
            message = "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
        elif kind == "missing":
            message = "required key is missing"
        elif kind in ("value_error", "assertion_error"):
            message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        elif kind == "union_tag_invalid":
            message = "type must be 'password' or 'certificate'"
        elif isinstance(item.get("input"), bool) and kind != "bool_type":
            word = "true" if item.get("input") else "false"
            message = (
                f"is the boolean {word}, not text: YAML reads unquoted yes, no, on, off, true and "
                f'false as booleans; quote the value ("no") if text is meant ({message})'
            )
        elif kind == "date_from_datetime_parsing" or kind.startswith("date_"):
            message = f"{item.get('input')!r} is not a date (expected YYYY-MM-DD)"
        problems.append(Problem(file, _key_path(prefix, loc) or "(file)", message))
    return problems
