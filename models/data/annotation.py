"""The annotated-video format (design.md): build it, check it, read it, and clip ids.

{"video_id", "recipe", "fps", "duration",
 "steps": [{"step_id", "text", "start", "end"}],
 "narrations": [{"start", "end", "text"}],
 "deviations": [{"step_id", "category", "did", "instead_of", "severity"}]}
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator

from stepdiff.models.data.captaincook import Recording, clean_text, load_recipes
from stepdiff.models.data.deviations import (
    severity_of_change,
    severity_of_order,
    severity_of_skip,
)
from stepdiff.models.data.parse_mistakes import ORDER_RE, parse_mistake
from stepdiff.models.data.parse_steps import parse_step
from stepdiff.models.data.schemas import ANNOTATION, errors
from stepdiff.runtime.errors import BadInput


def fmt_time(t: float) -> str:
    """Seconds as in StepDiff clip ids: up to 3 decimals, no trailing zeros ('12.5', '3')."""
    s = f"{t:.3f}".rstrip("0").rstrip(".")
    return s if s not in ("", "-0") else "0"


def clip_id(video_id: str, start: float, end: float) -> str:
    return f"{video_id}_{fmt_time(start)}_{fmt_time(end)}"


def parse_clip_id(cid: str) -> tuple[str, float, float]:
    """'cc4d_1_7_12.5_20' -> ('cc4d_1_7', 12.5, 20.0); video ids may hold underscores."""
    parts = cid.rsplit("_", 2)
    if len(parts) != 3:
        raise ValueError(f"clip id {cid!r} is not <video_id>_<start>_<end>")
    try:
        return parts[0], float(parts[1]), float(parts[2])
    except ValueError:
        raise ValueError(f"clip id {cid!r} is not <video_id>_<start>_<end>") from None


def check(ann: object, path: str) -> dict:
    """The annotation if it is valid; else BadInput naming the file and the first bad field."""
    errs = errors(ann, ANNOTATION)
    if errs:
        raise BadInput(path, errs[0])
    assert isinstance(ann, dict)
    dur = float(ann["duration"])
    for i, s in enumerate(ann["steps"]):
        if s["end"] < s["start"]:
            raise BadInput(path, f"field 'steps[{i}].end': {s['end']} is before start {s['start']}")
        if s["end"] > dur + 1e-3:
            raise BadInput(
                path, f"field 'steps[{i}].end': {s['end']} is after the video's duration {dur}"
            )
    for i, n in enumerate(ann["narrations"]):
        if n["end"] < n["start"]:
            raise BadInput(
                path, f"field 'narrations[{i}].end': {n['end']} is before start {n['start']}"
            )
    ids = {str(s["step_id"]) for s in ann["steps"]}
    for i, d in enumerate(ann["deviations"]):
        if d["category"] == "Missing Step" and str(d["step_id"]) in ids:
            raise BadInput(
                path,
                f"field 'deviations[{i}].step_id': step {d['step_id']} is marked Missing Step but has a segment in 'steps'",
            )
    return ann


def load(path: str) -> dict:
    """Reads and checks one annotation file."""
    try:
        with open(path, encoding="utf-8") as f:
            ann = json.load(f)
    except FileNotFoundError:
        raise BadInput(path, "no such file") from None
    except json.JSONDecodeError as e:
        raise BadInput(
            path, f"is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
        ) from None
    except UnicodeDecodeError:
        raise BadInput(path, "is not UTF-8 text") from None
    return check(ann, path)


def iter_files(paths: Iterable[str]) -> Iterator[str]:
    """Annotation files: each path is a .json file or a directory of them."""
    for p in paths:
        if os.path.isdir(p):
            for name in sorted(os.listdir(p)):
                if name.endswith(".json"):
                    yield os.path.join(p, name)
        elif os.path.exists(p):
            yield p
        else:
            raise BadInput(p, "no such file or directory")


def load_all(paths: Iterable[str]) -> list[dict]:
    anns = [load(p) for p in iter_files(paths)]
    seen: dict[str, int] = {}
    for a in anns:
        seen[a["video_id"]] = seen.get(a["video_id"], 0) + 1
    dup = [v for v, n in seen.items() if n > 1]
    if dup:
        raise BadInput(
            str(next(iter(paths), "")),
            f"video_id {dup[0]!r} appears in more than one annotation file",
        )
    return anns


# ---------------------------------------------------------------- real annotations, no video

_DEFAULT_SEVERITY = {
    "Preparation": 3,
    "Measurement": 2,
    "Timing": 2,
    "Technique": 2,
    "Temperature": 3,
    "Order": 2,
    "Other": 2,
}


def from_captaincook(rec: Recording) -> dict:
    """A real recording in the annotation format, with its real times and real mistake texts.

    A deviation's "did" is the annotators' modified_description (what the person did), else
    their error description; "instead_of" is the recipe step. No narrations: the dataset has none.
    """
    recipe = load_recipes()[rec.recipe]
    has_successors = {a for a, _ in recipe.edges}
    steps, devs = [], []
    end = 0.0
    performed = {s.step_id for s in rec.steps if not s.skipped}
    for s in rec.steps:
        if s.skipped and s.step_id in performed:
            continue  # a repeat of a step that was done once: the step itself was not skipped
        text = clean_text(s.text)
        ref = parse_step(s.text).slots
        if not s.skipped:
            steps.append(
                {
                    "step_id": s.step_id,
                    "text": text,
                    "start": round(s.start, 3),
                    "end": round(s.end, 3),
                }
            )
            end = max(end, s.end)
        for m in s.mistakes:
            md = s.modified_description
            order = ORDER_RE.search(m.description) if m.category == "Order" else None
            if order:
                # "Step performed after heating the pan": the recipe wanted it the other way
                rel = (
                    "before" if order.group(1).lower().startswith(("before", "prior")) else "after"
                )
                anchor = order.group(2).strip(" .")
                did = f"did this step ({text[:1].lower() + text[1:]}) {rel} {anchor}"
                instead = f"{'after' if rel == 'before' else 'before'} {anchor}"
                devs.append(
                    {
                        "step_id": s.step_id,
                        "category": "Order",
                        "did": did,
                        "instead_of": instead,
                        "severity": severity_of_order(True),
                    }
                )
                continue
            if md and md.strip().lower() != "skipped this step":
                did = clean_text(md)
            else:
                did = m.description.strip() or "did the step differently"
            if m.category == "Missing Step":
                sev = severity_of_skip(ref, s.step_id in has_successors)
            elif m.category == "Order":
                sev = severity_of_order(True)
            else:
                p = parse_mistake(s.text, m.category, md, m.description)
                if p.complete and p.modified is not None:
                    sev = severity_of_change(p.reference, p.modified, p.changes)
                else:
                    sev = _DEFAULT_SEVERITY.get(m.category, 2)
            devs.append(
                {
                    "step_id": s.step_id,
                    "category": m.category,
                    "did": did,
                    "instead_of": text,
                    "severity": int(sev),
                }
            )
        if s.skipped and not any(m.category == "Missing Step" for m in s.mistakes):
            # an optional step left out ("Top with more parmesan if desired"): still a skip
            devs.append(
                {
                    "step_id": s.step_id,
                    "category": "Missing Step",
                    "did": f"skipped: {text}",
                    "instead_of": text,
                    "severity": severity_of_skip(ref, s.step_id in has_successors),
                }
            )
    return {
        "video_id": f"cc4d_{rec.recording_id}",
        "recipe": rec.recipe,
        "fps": 30.0,
        "duration": round(end + 1.0, 3),
        "steps": steps,
        "narrations": [],
        "deviations": devs,
    }
