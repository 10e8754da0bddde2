"""Mistake parser: a real CaptainCook4D mistake's text -> the slots it changes in its step.

The step itself is read by parse_steps.py; a mistake is read from the step as the person did it
(the modified description) or from the annotators' error description, and restricted to the slots
its category may change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from stepdiff.models.data import lexicon as lx
from stepdiff.models.data.parse_steps import choose_kinds, parse_draft, parse_step, tokenize
from stepdiff.models.data.slots import SLOT_NAMES, Slots, manner_set

# Which slots a deviation category may change; the first group is what the category is about,
# the second what it may change on the side ("cooked until burnt" for Timing).
CATEGORY_SLOTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Preparation": (("ingredients", "tool", "container", "manner"), ("quantity", "unit")),
    "Measurement": (("quantity", "unit", "manner"), ("ingredients",)),
    "Technique": (("verb", "manner", "tool"), ()),
    "Timing": (("duration_s",), ("manner",)),
    "Temperature": (("heat",), ("manner",)),
    "Order": (("order",), ()),
    "Missing Step": (("skipped",), ()),
    "Other": (SLOT_NAMES, ()),
}

_SLOT_NAMES = SLOT_NAMES
# The slots a text names outright; manner is read separately (words like "roughly", negation).
_CONTENT_SLOTS = tuple(n for n in SLOT_NAMES if n != "manner")


def _same_ingredients(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """'cheese' names the same thing as 'cheddar cheese'; 'cherry tomato' is not 'tomato'."""
    if set(a) == set(b):
        return True
    if not a or not b:
        return False

    def base(x: str) -> str:
        return x.split(" ", 1)[1] if x.split(" ", 1)[0] in lx.STATES and " " in x else x

    return {base(x) for x in a} == {base(x) for x in b}


def slot_diff(a: Slots, b: Slots) -> tuple[str, ...]:
    """Slots that differ, comparing ingredient lists as sets and manners as phrase sets."""
    out = []
    for name in _SLOT_NAMES:
        x, y = getattr(a, name), getattr(b, name)
        if name == "ingredients":
            x, y = set(x), set(y)
        elif name == "manner":
            x, y = manner_set(x), manner_set(y)
        if x != y:
            out.append(name)
    return tuple(out)


_SKIP = re.compile(
    r"\b(skip\w*|missed|missing|forgot|forget|did ?n[o']?t|didnt|do ?n[o']?t|dont|not|no|never|without|omit\w*)\b",
    re.I,
)
ORDER_RE = re.compile(
    r"\b(?:performed|done|did|started|added|step)\b.*?\b(before|after|prior to)\b\s*(.*)", re.I
)
_INSTEAD = re.compile(
    r"(.*?)\b(?:instead of|rather than|in place of|as opposed to|contrary to)\b(.*)", re.I
)
_TIMES = re.compile(r"\b(twice|double|half|thrice|triple|three times|two times)\b", re.I)


@dataclass(frozen=True)
class MistakeParse:
    category: str
    step_text: str
    text: str  # what it was parsed from: modified_description, else the error description
    reference: Slots
    modified: Slots | None  # the step as done; None for Order and Missing Step
    changes: tuple[str, ...]  # slot names, or ("order",) / ("skipped",)
    complete: bool
    relation: str | None = None  # Order: "before" / "after"
    anchor: str | None = None  # Order: what it was done before/after


def _restrict(ref: Slots, mod: Slots, category: str) -> tuple[Slots, tuple[str, ...]]:
    primary, side = CATEGORY_SLOTS.get(category, ((), ()))
    # a slot the other text just does not mention has not changed (manner aside: dropping
    # "slowly" is a change)
    changed = [
        s
        for s in slot_diff(ref, mod)
        if s in primary + side and (s == "manner" or getattr(mod, s) not in (None, ()))
    ]
    if "ingredients" in changed and _same_ingredients(ref.ingredients, mod.ingredients):
        changed.remove("ingredients")
    if "quantity" in changed or "unit" in changed:
        changed = sorted(
            set(changed)
            | {"quantity", "unit"}
            - {n for n in ("quantity", "unit") if getattr(ref, n) == getattr(mod, n)},
            key=_SLOT_NAMES.index,
        )
    return ref.with_changes(**{s: getattr(mod, s) for s in changed}), tuple(changed)


def _from_modified(ref: Slots, md: str) -> tuple[Slots, bool]:
    """The step as the person did it, from a full modified step text."""
    p = parse_step(md)
    mod = p.slots
    if not p.verb_known:
        mod = mod.with_changes(verb=ref.verb)
    return mod, not p.unknown_words


def _from_error_description(ref: Slots, desc: str) -> tuple[Slots, bool]:
    """'Use plate instead of cutting board', '15 secs', 'Add twice the amount of salt'."""
    m = _INSTEAD.match(desc)
    did, recipe = (m.group(1), m.group(2)) if m and m.group(1).strip() else (desc, "")
    if m and not m.group(1).strip():
        # "Instead of 1 shallot using only half shallot"
        parts = re.split(r",|\busing\b|\bused\b", m.group(2), maxsplit=1)
        recipe, did = (parts[0], parts[1]) if len(parts) == 2 else ("", m.group(2))
    frag, toks, _ = parse_draft(did)
    unknown = [t for t in toks if t.kind == "UNKNOWN"]
    said: set[str] | None = None
    if recipe.strip():
        other, _, _ = parse_draft(recipe)
        said = {n for n in _CONTENT_SLOTS if getattr(other, n) not in (None, [], ())} | (
            {"manner"} if other.manner or other.negated else set()
        )
    mod = ref

    named = {n for n in _CONTENT_SLOTS if getattr(frag, n) not in (None, [], ())}

    def allowed(name: str) -> bool:
        # "use spoon instead of whisk": the recipe side names the slot that changed, unless it
        # names none of the slots the done side names
        return said is None or name in said or not (said & named)

    if frag.ingredients and allowed("ingredients"):
        if said and "ingredients" in said:
            # "salt in place of sugar": the named recipe ingredient is swapped, the rest stay
            old = set(other.ingredients)
            kept = [i for i in ref.ingredients if i not in old]
            mod = mod.with_changes(ingredients=tuple(dict.fromkeys([*frag.ingredients, *kept])))
        elif not set(frag.ingredients) & set(ref.ingredients) and ref.ingredients:
            mod = mod.with_changes(ingredients=(frag.ingredients[0], *ref.ingredients[1:]))
    for name in ("tool", "container", "heat", "duration_s"):
        v = getattr(frag, name)
        if v is not None and allowed(name):
            mod = mod.with_changes(**{name: v})
    if frag.quantity is not None:
        mod = mod.with_changes(quantity=frag.quantity, unit=frag.unit or ref.unit)
    tm = _TIMES.search(did)
    if tm and ref.quantity is not None and frag.quantity is None:
        k = {"twice": 2, "double": 2, "two times": 2, "half": 0.5}.get(tm.group(1).lower(), 3)
        mod = mod.with_changes(quantity=ref.quantity * k)
    extra = list(frag.manner) + [f"without {v}" for v in frag.negated]
    if frag.verb in ("splash", "drizzle") and frag.verb != ref.verb:
        extra.append("spilled")  # "splash some egg outside" is spilling, not a new action
    elif frag.verb and frag.verb != ref.verb and allowed("verb"):
        mod = mod.with_changes(verb=frag.verb)
    if extra:
        mod = mod.with_changes(manner=", ".join(sorted(manner_set(ref.manner) | set(extra))))
    return mod, not unknown


@lru_cache(maxsize=16384)
def parse_mistake(
    step_text: str,
    category: str,
    modified_description: str | None = None,
    error_description: str | None = None,
) -> MistakeParse:
    """What a real mistake changed in its step.

    Two readings are tried: the modified description (the step as the person did it) minus the
    step, and the error description read as "<did> instead of <recipe>" or as a bare fragment
    ("15 secs", "use a fork"). Each is restricted to the slots the category may change, and the
    first that changes a slot the category is about wins. Complete means: such a slot changed
    and every word of the text it came from is known.
    """
    ref = parse_step(step_text).slots
    md = (modified_description or "").strip() or None
    ed = (error_description or "").strip()
    if category == "Missing Step":
        ok = bool(_SKIP.search(md or "") or _SKIP.search(ed))
        return MistakeParse(category, step_text, md or ed, ref, None, ("skipped",), ok)
    if category == "Order":
        m = ORDER_RE.search(ed) or ORDER_RE.search(md or "")
        if m:
            rel = "before" if m.group(1).lower().startswith(("before", "prior")) else "after"
            anchor = m.group(2).strip(" .")
            toks = tokenize(anchor)
            choose_kinds(toks)
            known = bool(anchor) and all(t.kind != "UNKNOWN" for t in toks)
            return MistakeParse(category, step_text, ed, ref, None, ("order",), known, rel, anchor)
        return MistakeParse(category, step_text, ed, ref, None, ("order",), False)
    primary = CATEGORY_SLOTS.get(category, ((), ()))[0]
    readings = []
    if md and md.lower() not in ("skipped this step", "skip this step"):
        mod, known = _from_modified(ref, md)
        readings.append((md, *_restrict(ref, mod, category), known))
    if ed:
        mod, known = _from_error_description(ref, ed)
        readings.append((ed, *_restrict(ref, mod, category), known))
    for text, mod, changed, known in readings:
        if any(c in primary for c in changed):
            return MistakeParse(category, step_text, text, ref, mod, changed, known)
    for text, mod, changed, _ in readings:
        if changed:
            return MistakeParse(category, step_text, text, ref, mod, changed, False)
    return MistakeParse(category, step_text, md or ed, ref, None, (), False)
