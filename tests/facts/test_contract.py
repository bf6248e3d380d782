"""publisher.facts.contract against facts.schema.json: every object in the schema has a TypedDict
with the same keys, the same required keys and matching value types, recursively. When the schema
gains a key, this test names it and the TypedDict to add it to."""

from __future__ import annotations

import json
import types
import typing
from importlib import resources
from typing import Any, Literal, NotRequired, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from publisher.facts import contract

SCHEMA = json.loads(resources.files("publisher.facts").joinpath("facts.schema.json").read_text(encoding="utf-8"))
JSON_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool, "null": type(None)}


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow $ref and merge allOf, as a validator would read the node."""
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        return resolve({**SCHEMA["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}})
    if "allOf" in node:
        merged: dict[str, Any] = {}
        for part in [*node["allOf"], {k: v for k, v in node.items() if k != "allOf"}]:
            part = resolve(part)
            props = dict(merged.get("properties", {}))
            for key, value in part.get("properties", {}).items():  # {"unit": {"const": "%"}} narrows, not replaces
                props[key] = {**props.get(key, {}), **value}
            required = [*merged.get("required", []), *(k for k in part.get("required", []) if k not in merged.get("required", []))]
            merged = {**merged, **part, "properties": props, "required": required}  # allOf: every part's keys are required
        return merged
    return node


def options(hint: Any) -> list[Any]:
    """The members of a union (`X | None` -> [X, None]); a single type as a one-item list."""
    if get_origin(hint) in (Union, types.UnionType):
        return list(get_args(hint))
    return [hint]


def mismatches(node: dict[str, Any], hint: Any, where: str) -> list[str]:
    node = resolve(node)
    if "oneOf" in node:  # null or an object, in this schema
        variants = [resolve(v) for v in node["oneOf"]]
        found = options(hint)
        problems = [] if (type(None) in found) == any(v.get("type") == "null" for v in variants) else [
            f"{where}: None allowed in one and not the other"]
        rest = [h for h in found if h is not type(None)]
        objects = [v for v in variants if v.get("type") != "null"]
        if len(rest) != len(objects):
            return [*problems, f"{where}: {len(objects)} non-null variants in the schema, {rest} in the contract"]
        for variant, member in zip(objects, rest, strict=True):
            problems += mismatches(variant, member, where)
        return problems
    if "const" in node or "enum" in node:
        allowed = [node["const"]] if "const" in node else node["enum"]
        ok = get_origin(hint) is Literal and sorted(map(str, get_args(hint))) == sorted(map(str, allowed))
        return [] if ok else [f"{where}: schema allows {allowed}, contract says {hint}"]
    kind = node.get("type")
    if kind == "object" and "properties" in node:
        if not is_typeddict(hint):
            return [f"{where}: an object in the schema, {hint} in the contract (expected a TypedDict)"]
        hints = get_type_hints(hint, include_extras=True)
        schema_keys, type_keys = set(node["properties"]), set(hints)
        problems = [f"{where}.{key}: in the schema, missing from {hint.__name__}" for key in sorted(schema_keys - type_keys)]
        problems += [f"{where}.{key}: in {hint.__name__}, not in the schema" for key in sorted(type_keys - schema_keys)]
        required = set(node.get("required", []))
        for key in sorted(schema_keys & type_keys):
            if (key in required) != (key in hint.__required_keys__):
                problems.append(f"{where}.{key}: required in {'the schema' if key in required else hint.__name__} only")
            value = hints[key]
            if get_origin(value) is NotRequired:
                value = get_args(value)[0]
            problems += mismatches(node["properties"][key], value, f"{where}.{key}")
        return problems
    if kind == "object" and "additionalProperties" in node:
        if get_origin(hint) is not dict or get_args(hint)[0] is not str:
            return [f"{where}: a mapping in the schema, {hint} in the contract"]
        return mismatches(node["additionalProperties"], get_args(hint)[1], f"{where}[*]")
    if kind == "array":
        if get_origin(hint) is not list:
            return [f"{where}: an array in the schema, {hint} in the contract"]
        return mismatches(node["items"], get_args(hint)[0], f"{where}[]")
    kinds = kind if isinstance(kind, list) else [kind]
    expected = {JSON_TYPES[k] for k in kinds}
    if float in expected:
        expected.add(int)  # a JSON number may be an integer
    found = set(options(hint))
    if float in found:
        found.add(int)
    return [] if expected == found else [f"{where}: schema type {kinds}, contract {hint}"]


def test_every_schema_object_has_a_matching_typeddict() -> None:
    assert mismatches(SCHEMA, contract.Facts, "facts") == []


def test_the_check_finds_a_key_missing_from_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: a key the schema gains is named, with the TypedDict to add it to."""
    grown = json.loads(json.dumps(SCHEMA))
    grown["properties"]["week"]["properties"]["previous"] = {"type": "string"}
    grown["properties"]["week"]["required"].append("previous")
    monkeypatch.setitem(globals(), "SCHEMA", grown)
    assert mismatches(grown, contract.Facts, "facts") == ["facts.week.previous: in the schema, missing from Week"]


def test_the_check_finds_a_wrong_value_type() -> None:
    # Functional form (noqa UP013): with string annotations, Python 3.11 misses NotRequired.
    Week = typing.TypedDict("Week", {  # noqa: UP013
        "iso": str,
        "iso_year": str,  # the schema says integer
        "week": int,
        "start": str,
        "end": str,
        "timezone": str,
        "label": NotRequired[str],
    })

    assert mismatches(SCHEMA["properties"]["week"], Week, "facts.week") == [
        "facts.week.iso_year: schema type ['integer'], contract <class 'str'>"]
