"""The parts every schema shares (mediafeed.toml, feeds/*.yaml, episode front matter), on pydantic v2.

The schemas describe the *shape* of what a producer writes: which keys exist (an unknown key is an error with a
"did you mean"), their types, the allowed values. Each schema model is also published as a JSON Schema
(`mediafeed schema`, checked in under `schemas/`), so an editor completes and validates the same rules.

pydantic's own messages are written for programmers ("Input should be a valid string"); `problems_from` turns
each error into today's `file: field: what is wrong; how to fix it`, the fix coming from the field's `hint`
(or its first example). Value types that need a producer-facing message raise `bad(message, hint)`.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Annotated, Any, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from mediafeed.errors import Problem
from mediafeed.urls import is_http_url

FIX = "fix"  # the pydantic error type our validators raise, carrying message and hint


class Schema(BaseModel):
    """A mapping a producer writes: unknown keys are errors, values are never silently coerced across types."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def bad(message: str, hint: str = "") -> PydanticCustomError:
    """An error for a value validator to raise; `{field}` in the hint is replaced by the field's name."""
    return PydanticCustomError(FIX, "{message}", {"message": message, "hint": hint})


def _text(value: object) -> object:
    """Text as written; a bare number (`title: 1984`) is text too. Lists, mappings and booleans are mistakes."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise bad(f"must be text, not {str(value).lower()}", 'quote it: {field}: "..."')
    if isinstance(value, int | float):
        return str(value)
    kind = "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else type(value).__name__
    raise bad(f"must be text, not {kind}", 'write it on one line: {field}: "..."')


Text = Annotated[str, BeforeValidator(_text)]  # text (numbers read as text); never a list, mapping or boolean


def _filled(value: str) -> str:
    if not value.strip():
        raise bad("missing", "")  # the fix is the field's own hint
    return value


Filled = Annotated[Text, AfterValidator(_filled)]  # text that is not blank


def _http_url(value: object) -> object:
    value = _text(value)
    if isinstance(value, str) and is_http_url(value) and not _has_gap(value.strip()):
        return value.strip()
    if value is None:
        return value
    if isinstance(value, str) and is_http_url(value):
        raise bad(f"has a space or line break inside ({value!r})", "write the address on one line; spaces are %20")
    raise bad(f"not an absolute http(s) URL ({value!r})", "write the full address, starting with https://")


def _has_gap(url: str) -> bool:
    """A space, line break or control character inside a URL: apps would cut it there."""
    return any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url)


HttpUrl = Annotated[str, BeforeValidator(_http_url), Field(json_schema_extra={"format": "uri", "pattern": "^https?://"})]


def _strict_bool(value: object) -> object:
    if value is None or isinstance(value, bool):
        return value
    raise bad(f"must be true or false ({value!r})", "write {field}: true or {field}: false")


Flag = Annotated[bool, BeforeValidator(_strict_bool)]


def _whole(value: object) -> object:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise bad(f"must be a whole number ({value!r})", "")


# Whole numbers from 1 (10) up; the bound sits inside the validator, so JSON Schema gets `minimum`.
Count = Annotated[int, Field(ge=1, le=1_000_000), BeforeValidator(_whole)]
PageSize = Annotated[int, Field(ge=10, le=100_000), BeforeValidator(_whole)]


def hint_of(info: FieldInfo, name: str) -> str:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    hint = extra.get("hint")
    if isinstance(hint, str):
        return hint.replace("{field}", name)
    if info.examples:
        example = info.examples[0]
        return f"e.g. {name}: {example}" if not isinstance(example, dict | list) else f"e.g. {name}: {_flow(example)}"
    return ""


def _flow(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _walk(
    model: type[BaseModel], loc: tuple[int | str, ...]
) -> tuple[tuple[int | str, ...], type[BaseModel], FieldInfo | None, Any]:
    """`loc` without pydantic's branch tags, the model holding its last key, that key's FieldInfo, and the type the
    schema expects at `loc`."""
    clean: list[int | str] = []
    holder: type[BaseModel] = model
    info: FieldInfo | None = None
    annotation: Any = model
    for part in loc:
        if isinstance(part, str) and "[" in part:  # e.g. function-before[...]: a validator, not a key
            continue
        annotation = _unwrap(annotation)
        origin = typing.get_origin(annotation)
        if origin is Union or isinstance(annotation, types.UnionType):
            branches = [_unwrap(a) for a in typing.get_args(annotation) if a is not type(None)]
            models = [b for b in branches if _is_model(b)]
            if isinstance(part, str) and models and not any(part in _keys_of(m) for m in models):
                named = [m for m in models if m.__name__ == part]
                if named:  # a `Model | None` names its branch by the class
                    annotation = named[0]
                    continue
                tagged = [m for m in models if part in _tags_of(m)]
                if tagged:  # a discriminated union names the branch by its tag: not a key either
                    annotation = tagged[0]
                    continue
            if part in ("str", "int", "float", "bool", "none", "list", "dict"):
                # a plain branch (or a Tag named like one): follow it, so the keys of list items are found
                same = [b for b in branches if typing.get_origin(b) is {"list": list, "dict": dict}.get(part, ())]
                annotation = same[0] if same else annotation
                continue
            annotation = models[0] if len(models) == 1 else (branches[0] if len(branches) == 1 else annotation)
            annotation = _unwrap(annotation)
            origin = typing.get_origin(annotation)
        clean.append(part)
        if _is_model(annotation) and isinstance(part, str):
            holder = annotation
            info = annotation.model_fields.get(part) or next(
                (f for f in annotation.model_fields.values() if f.alias == part), None
            )
            annotation = info.annotation if info is not None else None
        elif origin in (list, tuple) and isinstance(part, int):
            annotation = typing.get_args(annotation)[0] if typing.get_args(annotation) else None
        elif origin is dict:
            args = typing.get_args(annotation)
            annotation = args[1] if len(args) == 2 else None
        else:
            annotation = None
    return tuple(clean), holder, info, annotation


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The schema model a type is (Foo, Foo | None), for a `must be a mapping` hint."""
    annotation = _unwrap(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is Union:
        models = [_unwrap(a) for a in typing.get_args(annotation) if _is_model(_unwrap(a))]
        annotation = models[0] if models else None
    return annotation if _is_model(annotation) else None


def _tags_of(model: type[BaseModel]) -> tuple[Any, ...]:
    info = model.model_fields.get("type")
    return typing.get_args(_unwrap(info.annotation)) if info is not None else ()


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def problems_from(error: ValidationError, file: str, model: type[BaseModel], prefix: str = "") -> list[Problem]:
    """One Problem per pydantic error, in the `file: field: problem; fix` form, fixes taken from the schema."""
    problems: list[Problem] = []
    seen: dict[tuple[int | str, ...], int] = {}
    for err in sorted(error.errors(include_url=False), key=_specific):
        loc, holder, info, expects = _walk(model, tuple(err["loc"]))
        if loc in seen:  # one message per field: a union reports each branch it tried; the most specific wins
            continue
        seen[loc] = len(problems)
        kind = err["type"]
        name = str(loc[-1]) if loc and isinstance(loc[-1], str) else (_where(loc) or "value")
        value = err.get("input")
        ctx = err.get("ctx") or {}
        hint = hint_of(info, name) if info is not None else ""
        field = _where(loc)
        if kind == FIX:
            message, hint = ctx["message"], (ctx.get("hint") or hint).replace("{field}", name)
        elif kind == "missing":
            message = "missing"
            hint = hint or f"add `{name}: ...`"
        elif kind == "extra_forbidden":
            known = _keys_of(holder)
            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
            message = "unknown field"
            hint = f"did you mean `{close[0]}`?" if close else f"remove it; the fields here are: {', '.join(known)}"
        elif kind == "literal_error":
            message = f"unknown value {value!r}"
            hint = f"use one of: {ctx.get('expected', '')}".replace("'", "")
        elif kind in ("bool_type", "bool_parsing"):
            message = f"must be true or false ({value!r})"
            hint = f"write {name}: true or {name}: false"
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            message = f"must be a whole number ({value!r})"
            hint = hint or f"e.g. {name}: 3"
        elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            bound = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most"}.get(
                kind, "less than"
            )
            limit = next(iter(ctx.values()), "")
            message = f"must be {bound} {limit} ({value!r})"
        elif kind in ("float_type", "float_parsing", "finite_number"):
            message = f"must be a number ({value!r})"
        elif kind in ("string_type", "string_unicode"):
            message = f"must be text ({value!r})"
            hint = hint or f'quote it: {name}: "..."'
        elif kind == "string_too_long":
            message = f"too long ({len(value) if isinstance(value, str) else '?'} characters, at most {ctx.get('max_length')})"
            hint = hint or "shorten it"
        elif kind in ("list_type", "tuple_type"):
            message = f"must be a list ({_short(value)})"
            hint = hint or f"write {name}: [...], or one item per line starting with -"
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            message = f"must be a mapping of fields ({_short(value)})"
            expected = _model_of(expects)
            keys = [k for k, f in expected.model_fields.items() if f.is_required()] if expected else []
            example = "{" + ", ".join(f"{k}: ..." for k in keys or (_keys_of(expected)[:2] if expected else [])) + "}"
            hint = hint if hint and not isinstance(loc[-1], int) else f"write it as {example}"
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            key = str(ctx.get("discriminator", "type")).strip("'\"")
            field = f"{field}.{key}" if field else key
            tags = str(ctx.get("expected_tags", "")).replace("'", "")
            message = "missing" if kind == "union_tag_not_found" else f"unknown {key} {ctx.get('tag')!r}"
            hint = f"use one of: {tags}"
        elif kind == "too_long" and isinstance(value, str):
            message = f"too long ({len(value)} characters, at most {ctx.get('max_length')})"
            hint = hint or "shorten it"
        elif kind == "too_long":
            message = f"too many items (at most {ctx.get('max_length')})"
            hint = "shorten the list"
        else:
            message = err["msg"]
        if file.endswith(".toml"):
            hint = hint.replace(f"{name}: ", f"{name} = ")  # the fixes are written as YAML; TOML assigns with =
        problems.append(Problem(file, (prefix + "." + field) if prefix and field else (prefix or field), message, hint))
    return problems


def _specific(err: Any) -> int:
    return {FIX: 0, "none_required": 9}.get(err["type"], 1)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def partial_model(model: type[BaseModel]) -> type[BaseModel]:
    """The same schema with every top-level field optional: what is left of a mapping once its bad keys are gone."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        copy = FieldInfo.merge_field_infos(info)
        copy.default, copy.default_factory = None, None
        fields[name] = (info.annotation, copy)  # defaults are not validated: a key left out is simply None
    partial: type[BaseModel] = create_model(f"{model.__name__}Partial", __base__=model.__base__, **fields)
    partial.model_config = model.model_config
    partial.model_rebuild(force=True)
    return partial


def validate_collecting(
    model: type[BaseModel],
    partial: type[BaseModel],
    data: dict[str, Any],
    file: str,
    problems: list[Problem],
    prefix: str = "",
) -> Any:
    """Validate `data`, adding a Problem per mistake; returns a model of every key that is right (the others None).

    So the checks that need more than the shape (files on disk, topics in mediafeed.toml) still run on the fields
    that are right, and a producer sees every problem in one go.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from(exc, file, model, prefix))
        wrong = {err["loc"][0] for err in exc.errors() if err["loc"]}
        rest = {k: v for k, v in data.items() if k not in wrong}
        try:
            return partial.model_validate(rest)
        except ValidationError:  # cannot happen for a mapping of keys that each validated; stay safe
            return None


def words(value: object) -> object:
    """A list of words; one word may be written without brackets."""
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value
