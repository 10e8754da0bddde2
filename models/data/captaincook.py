"""The vendored CaptainCook4D annotations as Python values: recipes, task graphs, recordings.

Recordings name steps by global ids, task graphs by ids local to a recipe; the two are joined
through the step text, which both files carry verbatim.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from stepdiff.models.data.parse_steps import split_prefix, starts_with_verb

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "captaincook4d")

# CaptainCook4D tags -> the StepDiff deviation categories.
CATEGORY_OF_TAG = {
    "Preparation Error": "Preparation",
    "Measurement Error": "Measurement",
    "Order Error": "Order",
    "Timing Error": "Timing",
    "Technique Error": "Technique",
    "Temperature Error": "Temperature",
    "Missing Step": "Missing Step",
    "Other": "Other",
}


def clean_text(text: str) -> str:
    """The readable step text: the description without the annotators' verb prefix, unless the
    description does not start with a verb ("add-1/4 tsp salt to a bowl" -> "Add 1/4 tsp salt
    to a bowl")."""
    prefix, body = split_prefix(text)
    body = re.sub(r"\s+", " ", body).strip()
    if prefix and body:
        if not starts_with_verb(body):
            body = f"{prefix.strip().lower()} {body}"
    return body[:1].upper() + body[1:] if body else body


@dataclass(frozen=True)
class Recipe:
    key: str  # task graph file stem, e.g. "mugcake"
    name: str  # "Mug Cake"
    activity_id: int
    steps: dict[int, str]  # local id -> raw step text, without START/END
    edges: tuple[tuple[int, int], ...]  # (before, after) among the real steps

    def predecessors(self, step_id: int) -> tuple[int, ...]:
        return tuple(a for a, b in self.edges if b == step_id)


@dataclass(frozen=True)
class Mistake:
    category: str  # StepDiff category (CATEGORY_OF_TAG)
    description: str  # the annotators' error description


@dataclass(frozen=True)
class RecordedStep:
    step_id: int  # local id in the recipe's task graph
    text: str
    start: float  # seconds; -1 when the step was skipped
    end: float
    mistakes: tuple[Mistake, ...] = ()
    modified_description: str | None = None

    @property
    def skipped(self) -> bool:
        return self.start < 0 or any(m.category == "Missing Step" for m in self.mistakes)


@dataclass(frozen=True)
class Recording:
    recording_id: str  # "1_7"
    recipe: str  # Recipe.key
    steps: tuple[RecordedStep, ...]  # performed steps in time order, then skipped ones

    @property
    def has_mistakes(self) -> bool:
        return any(s.mistakes for s in self.steps)


def _path(*parts: str) -> str:
    return os.path.join(ROOT, *parts)


@lru_cache(maxsize=1)
def load_recipes() -> dict[str, Recipe]:
    """The 24 recipes, keyed by task graph name."""
    names: dict[str, tuple[int, str]] = {}
    with open(_path("metadata", "average_segment_length.csv"), newline="") as f:
        for row in csv.reader(f):
            if row and row[0].isdigit():
                names[re.sub(r"[^a-z]", "", row[1].lower())] = (int(row[0]), row[1])
    recipes = {}
    graph_dir = _path("task_graphs")
    for fname in sorted(os.listdir(graph_dir)):
        if not fname.endswith(".json"):
            continue
        key = fname[: -len(".json")]
        with open(os.path.join(graph_dir, fname)) as f:
            graph = json.load(f)
        raw = {int(k): v for k, v in graph["steps"].items()}
        steps = {k: v for k, v in raw.items() if v not in ("START", "END")}
        edges = tuple((int(a), int(b)) for a, b in graph["edges"] if a in steps and b in steps)
        activity_id, name = names[key]
        recipes[key] = Recipe(key, name, activity_id, steps, edges)
    return recipes


def _depth(recipe: Recipe) -> dict[int, int]:
    """Longest path from a source to each step in the task graph."""
    depth = {i: 0 for i in recipe.steps}
    for _ in range(len(recipe.steps)):
        changed = False
        for a, b in recipe.edges:
            if depth[b] < depth[a] + 1:
                depth[b] = depth[a] + 1
                changed = True
        if not changed:
            break
    return depth


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@lru_cache(maxsize=1)
def load_recordings() -> tuple[Recording, ...]:
    """The 384 real recordings: step order, skipped steps and mistakes as annotated."""
    recipes = load_recipes()
    by_activity = {r.activity_id: r for r in recipes.values()}
    with open(_path("annotation_json", "error_annotations.json")) as f:
        raw = json.load(f)
    out = []
    for rec in raw:
        recipe = by_activity[int(rec["activity_id"])]
        rank = _depth(recipe)
        local: dict[str, list[int]] = {}
        for i in sorted(recipe.steps, key=lambda i: (rank[i], i)):
            local.setdefault(_norm(recipe.steps[i]), []).append(i)
        used: set[int] = set()
        steps = []
        # Some recipes repeat a step text under two ids ("Stir the contents in the microwave"):
        # the earlier performance takes the id that comes first in the graph.
        timed = sorted(
            rec["step_annotations"], key=lambda s: (s["start_time"] < 0, s["start_time"])
        )
        for s in timed:
            ids = local.get(_norm(s["description"]), [])
            sid = next((i for i in ids if i not in used), ids[-1] if ids else None)
            if sid is None:
                # Two annotation texts differ from the task graph by a typo or a number; match on
                # the longest common prefix so the step keeps its graph id.
                want = _norm(s["description"])
                sid = max(
                    recipe.steps,
                    key=lambda i, d=want: len(os.path.commonprefix([_norm(recipe.steps[i]), d])),
                )
            used.add(sid)
            mistakes = tuple(
                Mistake(CATEGORY_OF_TAG.get(e["tag"], "Other"), e.get("description") or "")
                for e in s.get("errors", [])
            )
            md = s.get("modified_description")
            steps.append(
                RecordedStep(
                    step_id=sid,
                    text=s["description"],
                    start=float(s["start_time"]),
                    end=float(s["end_time"]),
                    mistakes=mistakes,
                    modified_description=md if md and md.strip() else None,
                )
            )
        done = sorted((s for s in steps if not s.skipped), key=lambda s: s.start)
        skipped = [s for s in steps if s.skipped]
        out.append(Recording(rec["recording_id"], recipe.key, tuple(done + skipped)))
    return tuple(out)


@lru_cache(maxsize=1)
def recording_split() -> dict[str, str]:
    """The CaptainCook4D authors' split by recording: recording id -> train/val/test."""
    with open(_path("data_splits", "recordings_data_split_combined.json")) as f:
        raw = json.load(f)
    return {rid: split for split, ids in raw.items() for rid in ids}


def distinct_step_texts() -> list[str]:
    """Every distinct step text of the 24 recipes, from the task graphs and the recordings."""
    texts = {t for r in load_recipes().values() for t in r.steps.values()}
    texts |= {s.text for rec in load_recordings() for s in rec.steps}
    return sorted(texts)


def iter_real_mistakes():
    """(recording, step, mistake) for every annotated CaptainCook4D mistake."""
    for rec in load_recordings():
        for step in rec.steps:
            for m in step.mistakes:
                yield rec, step, m
