"""Executions of a recipe: what a person did, step by step, before anything is drawn.

Two sources:
  - reenact(): a real CaptainCook4D recording: its step order, its skipped steps and its
    mistakes, each mistake turned into slot changes by the parser. A mistake the parser cannot
    read keeps its real category and step, and gets a sampled change of that category.
  - sample_execution(): a new execution of a recipe: a random order the task graph allows, and
    optionally deviations of chosen categories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from stepdiff.models.data.captaincook import Recipe, Recording, clean_text, load_recipes
from stepdiff.models.data.deviations import (
    Deviation,
    change_for,
    order_deviation,
    skip_deviation,
    slot_deviation,
    visible,
)
from stepdiff.models.data.parse_mistakes import parse_mistake
from stepdiff.models.data.parse_steps import parse_step
from stepdiff.models.data.slots import Slots


@dataclass(frozen=True)
class ExecutedStep:
    step_id: int
    text: str  # the recipe's step text (what should happen), without the verb prefix
    reference: Slots  # the step as the recipe says
    slots: Slots  # the step as done
    deviations: tuple[Deviation, ...] = ()


@dataclass(frozen=True)
class Execution:
    video_id: str
    recipe: str
    steps: tuple[ExecutedStep, ...]  # in the order performed
    skipped: tuple[ExecutedStep, ...] = ()  # steps not performed (their Missing Step deviations)
    source: str = "sampled"  # "captaincook4d:<recording id>" for re-enactments
    seed: int = 0
    notes: dict = field(default_factory=dict)

    @property
    def deviations(self) -> tuple[Deviation, ...]:
        return tuple(d for s in (*self.steps, *self.skipped) for d in s.deviations)

    @property
    def correct(self) -> bool:
        return not self.deviations


def step_slots(text: str) -> Slots:
    return parse_step(text).slots


def _successors(recipe: Recipe) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {i: set() for i in recipe.steps}
    for a, b in recipe.edges:
        out[a].add(b)
    return out


def order_violation(recipe: Recipe, order: list[int], step_id: int) -> tuple[str, int] | None:
    """How a step breaks the task graph in this order: ("before", a) when it came before a step
    it depends on, ("after", b) when it came after a step that depends on it."""
    pos = {s: i for i, s in enumerate(order)}
    if step_id not in pos:
        return None
    for a, b in recipe.edges:
        if b == step_id and a in pos and pos[a] > pos[step_id]:
            return "before", a
    for a, b in recipe.edges:
        if a == step_id and b in pos and pos[b] < pos[step_id]:
            return "after", b
    return None


def _anchor_step(recipe: Recipe, anchor: str, exclude: int) -> int | None:
    """The recipe step an annotator's 'Step performed after heating the pan' refers to."""
    words = set(re.findall(r"[a-z]+", anchor.lower())) - {"the", "a", "and", "of", "to", "in"}
    best, score = None, 0
    for sid, text in recipe.steps.items():
        if sid == exclude:
            continue
        s = parse_step(text).slots
        keys = {s.verb, *(w for i in s.ingredients for w in i.split()), s.container or ""}
        stems = {w[:4] for w in words}
        hit = sum(1 for k in keys if k and k[:4] in stems)
        if hit > score:
            best, score = sid, hit
    return best


def reenact(recording: Recording, rng: np.random.Generator) -> Execution:
    """A real recording as an execution: real order, real skips, real mistakes as slot changes."""
    recipe = load_recipes()[recording.recipe]
    succ = _successors(recipe)
    order = [s.step_id for s in recording.steps if not s.skipped]
    performed = [s for s in recording.steps if not s.skipped]
    steps: list[ExecutedStep] = []
    for idx, rs in enumerate(performed):
        ref = step_slots(rs.text)
        cur = ref
        devs: list[Deviation] = []
        for m in rs.mistakes:
            if m.category == "Other":
                continue
            if m.category == "Order":
                v = order_violation(recipe, order, rs.step_id)
                if v is None:
                    p = parse_mistake(rs.text, "Order", rs.modified_description, m.description)
                    other = _anchor_step(recipe, p.anchor or "", rs.step_id) if p.anchor else None
                    rel = p.relation or "before"
                    violates = False
                else:
                    rel, other = v
                    violates = True
                if other is None:
                    neighbour = (
                        performed[idx + 1] if idx + 1 < len(performed) else performed[idx - 1]
                    )
                    other, rel = (
                        neighbour.step_id,
                        ("before" if idx + 1 < len(performed) else "after"),
                    )
                other_slots = step_slots(recipe.steps.get(other, ""))
                devs.append(
                    order_deviation(rs.step_id, ref, other_slots, rel, violates, "captaincook4d")
                )
                continue
            p = parse_mistake(rs.text, m.category, rs.modified_description, m.description)
            usable = p.modified is not None and p.changes and p.complete
            if usable and visible(
                cur, cur.with_changes(**{c: getattr(p.modified, c) for c in p.changes}), p.changes
            ):
                new = cur.with_changes(**{c: getattr(p.modified, c) for c in p.changes})
                changes = p.changes
                source = "captaincook4d"
            else:
                got = change_for(m.category, cur, rng)
                if got is None:
                    continue  # nothing of this category can be shown for this step
                new, changes = got
                source = "captaincook4d-category"
            devs.append(slot_deviation(rs.step_id, m.category, ref, new, changes, source))
            cur = new
        steps.append(ExecutedStep(rs.step_id, clean_text(rs.text), ref, cur, tuple(devs)))
    skipped = []
    for rs in recording.steps:
        if not rs.skipped or rs.step_id in order:
            continue  # performed, or a repeat of a step that was done once
        ref = step_slots(rs.text)
        nxt = _next_performed(recipe, order, rs.step_id)
        dev = skip_deviation(
            rs.step_id,
            ref,
            step_slots(recipe.steps[nxt]) if nxt is not None else None,
            bool(succ.get(rs.step_id)),
            "captaincook4d",
        )
        skipped.append(ExecutedStep(rs.step_id, clean_text(rs.text), ref, ref, (dev,)))
    return Execution(
        video_id=f"cc4d_{recording.recording_id}",
        recipe=recording.recipe,
        steps=tuple(steps),
        skipped=tuple(skipped),
        source=f"captaincook4d:{recording.recording_id}",
    )


def _next_performed(recipe: Recipe, order: list[int], skipped_id: int) -> int | None:
    """The performed step that took the skipped step's place: its first successor performed,
    else the step performed right after its last performed predecessor."""
    succ = [b for a, b in recipe.edges if a == skipped_id and b in order]
    if succ:
        return min(succ, key=order.index)
    preds = [a for a, b in recipe.edges if b == skipped_id and a in order]
    if preds:
        i = max(order.index(a) for a in preds)
        return order[i + 1] if i + 1 < len(order) else None
    return order[0] if order else None


def topological_order(recipe: Recipe, rng: np.random.Generator) -> list[int]:
    """A random order of the recipe's steps that respects every precedence edge."""
    indeg = {s: 0 for s in recipe.steps}
    for _, b in recipe.edges:
        indeg[b] += 1
    ready = sorted(s for s, d in indeg.items() if d == 0)
    out: list[int] = []
    while ready:
        s = ready.pop(int(rng.integers(len(ready))))
        out.append(s)
        for a, b in recipe.edges:
            if a == s:
                indeg[b] -= 1
                if indeg[b] == 0:
                    ready.append(b)
    # A cycle would leave steps out; keep them, in id order, rather than drop them.
    out += [s for s in sorted(recipe.steps) if s not in out]
    return out


def _order_swap(
    recipe: Recipe, order: list[int], rng: np.random.Generator
) -> tuple[list[int], int, str, int] | None:
    """Move one step before a step it depends on: (new order, moved step, relation, other)."""
    pos = {s: i for i, s in enumerate(order)}
    edges = [(a, b) for a, b in recipe.edges if pos.get(a, -1) < pos.get(b, -1)]
    if not edges:
        return None
    a, b = edges[int(rng.integers(len(edges)))]
    new = [s for s in order if s != b]
    new.insert(new.index(a), b)
    return new, b, "before", a


def sample_execution(
    recipe: Recipe,
    video_id: str,
    rng: np.random.Generator,
    categories: tuple[str, ...] = (),
    seed: int = 0,
) -> Execution:
    """A new execution: a graph-respecting order, with one deviation per requested category
    (each on a different step where possible). No categories: a correct execution."""
    order = topological_order(recipe, rng)
    succ = _successors(recipe)
    refs = {s: step_slots(recipe.steps[s]) for s in recipe.steps}
    done: dict[int, tuple[Slots, list[Deviation]]] = {s: (refs[s], []) for s in order}
    used: set[int] = set()
    skipped_ids: list[int] = []
    order_dev: tuple[int, str, int] | None = None
    for cat in categories:
        if cat == "Order":
            got = _order_swap(recipe, order, rng)
            if got is None:
                continue
            order, moved, rel, other = got
            order_dev = (moved, rel, other)
            used.add(moved)
            continue
        fresh = [s for s in order if s not in used and s not in skipped_ids]
        rng.shuffle(fresh)
        # a step already changed in another category only when no fresh step can take this one
        again = [
            s
            for s in order
            if s in used and s not in skipped_ids and s != (order_dev or (None,))[0]
        ]
        candidates = fresh + again
        if cat == "Missing Step":
            # never the first step: a video starts with something
            candidates = [s for s in fresh if s != order[0]]
            if candidates:
                skipped_ids.append(candidates[0])
                used.add(candidates[0])
            continue
        for s in candidates:
            got = change_for(cat, refs[s], rng)
            if got is None:
                continue
            new, changes = got
            cur, devs = done[s]
            if cur != refs[s]:
                new = cur.with_changes(**{c: getattr(new, c) for c in changes})
                if not visible(cur, new, changes):
                    continue
            done[s] = (new, [*devs, slot_deviation(s, cat, refs[s], new, changes)])
            used.add(s)
            break
    performed = [s for s in order if s not in skipped_ids]
    steps = []
    for s in performed:
        slots, devs = done[s]
        if order_dev and order_dev[0] == s:
            _, rel, other = order_dev
            devs = [*devs, order_deviation(s, refs[s], refs[other], rel, True)]
        steps.append(ExecutedStep(s, clean_text(recipe.steps[s]), refs[s], slots, tuple(devs)))
    skipped = []
    for s in skipped_ids:
        nxt = _next_performed(recipe, performed, s)
        dev = skip_deviation(s, refs[s], refs[nxt] if nxt is not None else None, bool(succ.get(s)))
        skipped.append(ExecutedStep(s, clean_text(recipe.steps[s]), refs[s], refs[s], (dev,)))
    return Execution(video_id, recipe.key, tuple(steps), tuple(skipped), "sampled", seed)
