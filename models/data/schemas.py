"""Schemas of everything the data engine writes, and a tiny validator for them.

The validator reads a small subset of JSON Schema (type, properties, required,
additionalProperties, items, minItems, maxItems, enum, minimum, maximum, pattern) so the schemas
stay readable as JSON Schema, without a dependency. Errors name the field as a path:
"field 'steps[3].start': expected a number, got 'abc'".
"""

from __future__ import annotations

import re
from typing import Any

from stepdiff.models.data.slots import CATEGORIES as STEP_CATEGORIES

CATEGORIES = (*STEP_CATEGORIES, "Other")
CLIP_ID = r"^.+_-?\d+(\.\d+)?_-?\d+(\.\d+)?$"

_NUM = {"type": "number", "minimum": 0}
_STR = {"type": "string", "minLength": 1}
_CLIP = {"type": "string", "pattern": CLIP_ID}

ANNOTATION = {
    "type": "object",
    "required": ["video_id", "recipe", "fps", "duration", "steps", "narrations", "deviations"],
    "properties": {
        "video_id": _STR,
        "recipe": _STR,
        "fps": {"type": "number", "minimum": 0.001},
        "duration": _NUM,
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["step_id", "text", "start", "end"],
                "properties": {
                    "step_id": {"type": ["integer", "string"]},
                    "text": _STR,
                    "start": _NUM,
                    "end": _NUM,
                },
            },
        },
        "narrations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["start", "end", "text"],
                "properties": {"start": _NUM, "end": _NUM, "text": {"type": "string"}},
            },
        },
        "deviations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["step_id", "category", "did", "instead_of", "severity"],
                "properties": {
                    "step_id": {"type": ["integer", "string"]},
                    "category": {"type": "string", "enum": list(CATEGORIES)},
                    "did": _STR,
                    "instead_of": {"type": "string"},
                    "severity": {"type": "integer", "minimum": 0, "maximum": 5},
                },
            },
        },
    },
}

DIFFCAP = {
    "type": "object",
    "required": ["reference", "candidate", "category", "text"],
    "additionalProperties": False,
    "properties": {
        "reference": _CLIP,
        "candidate": _CLIP,
        "category": _STR,
        "text": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "pattern": r" instead of "},
        },
    },
}

_PAIR = {"type": "array", "minItems": 2, "maxItems": 2, "items": _CLIP}
DIFFMCQ = {
    "type": "object",
    "required": ["difference", "category", "options", "answer"],
    "additionalProperties": False,
    "properties": {
        "difference": _STR,
        "category": _STR,
        "options": {"type": "array", "minItems": 4, "maxItems": 4, "items": _PAIR},
        "answer": _PAIR,
    },
}

DIFFRANK = {
    "type": "object",
    "required": ["reference", "targets", "category", "scores"],
    "additionalProperties": False,
    "properties": {
        "reference": _CLIP,
        "targets": {"type": "array", "minItems": 4, "maxItems": 4, "items": _CLIP},
        "category": _STR,
        "scores": {
            "type": "array",
            "minItems": 4,
            "maxItems": 4,
            "items": {"type": "integer", "minimum": 0, "maximum": 5},
        },
    },
}

PAIRQA_TASKS = ("diffcap", "diffmcq", "diffrank", "same_or_different", "multi_video")
PAIRQA = {
    "type": "object",
    "required": ["id", "task", "videos", "prompt", "answer"],
    "properties": {
        "id": _STR,
        "task": {"type": "string", "enum": list(PAIRQA_TASKS)},
        "subtask": {"type": "string"},
        "category": {"type": ["string", "null"]},
        "videos": {"type": "array", "minItems": 1, "items": _CLIP},
        "prompt": _STR,
        "answer": _STR,
        "options": {"type": "array", "items": {"type": "string"}},
        "answer_index": {"type": "integer", "minimum": 0},
        "scores": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 5}},
        "recipe": {"type": "string"},
        "step_id": {"type": ["integer", "string", "null"]},
    },
}

CLIP_ENTRY = {
    "type": "object",
    "required": ["video", "start", "end"],
    "properties": {"video": _STR, "start": _NUM, "end": _NUM},
}

CARD = {
    "type": "object",
    "required": ["scale", "seed", "videos", "pairqa", "bench", "splits", "categories"],
    "properties": {
        "scale": _STR,
        "seed": {"type": "integer"},
        "videos": {"type": "object"},
        "pairqa": {"type": "object"},
        "bench": {"type": "object"},
        "splits": {"type": "object"},
        "categories": {"type": "object"},
    },
}

_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _is(value: Any, t: str) -> bool:
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    return isinstance(value, _TYPES[t])


def errors(value: Any, schema: dict, path: str = "") -> list[str]:
    """Every violation, as "field '<path>': <problem>"; empty when the value is valid."""
    out: list[str] = []
    where = path or "<root>"
    types = schema.get("type")
    if types is not None:
        tl = [types] if isinstance(types, str) else list(types)
        if not any(_is(value, t) for t in tl):
            shown = repr(value) if len(repr(value)) < 40 else repr(value)[:37] + "..."
            return [f"field '{where}': expected {' or '.join(tl)}, got {shown}"]
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"field '{where}': {value!r} is not one of {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"field '{where}': {value} is below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"field '{where}': {value} is above {schema['maximum']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.append(f"field '{where}': is empty")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"field '{where}': {value!r} does not match {schema['pattern']!r}")
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value:
                out.append(f"field '{path + '.' if path else ''}{key}': missing")
        props = schema.get("properties", {})
        for key, sub in props.items():
            if key in value:
                out += errors(value[key], sub, f"{path}.{key}" if path else key)
        if schema.get("additionalProperties") is False:
            for key in value:
                if key not in props:
                    out.append(f"field '{path + '.' if path else ''}{key}': not allowed here")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            out.append(
                f"field '{where}': has {len(value)} items, needs at least {schema['minItems']}"
            )
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(
                f"field '{where}': has {len(value)} items, allows at most {schema['maxItems']}"
            )
        if "items" in schema:
            for i, item in enumerate(value):
                out += errors(item, schema["items"], f"{path}[{i}]")
    return out


def validate(value: Any, schema: dict) -> None:
    """Raises ValueError with the first violation."""
    errs = errors(value, schema)
    if errs:
        raise ValueError(errs[0])


BENCH_SCHEMAS = {"diffcap": DIFFCAP, "diffmcq": DIFFMCQ, "diffrank": DIFFRANK}
