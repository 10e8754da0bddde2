"""Deviations: how an execution of a step departs from the recipe, and how bad that is.

A deviation is a slot change (or a skip, or a step moved out of order) with a category, a
"<did> instead of <instead_of>" description and a severity on the rubric below. Real
CaptainCook4D mistakes become deviations through the parser; new ones are sampled per category
from substitution tables of visible changes.

Severity rubric (0..5; DiffRank scores are 5 - severity, so 5 means "as the reference"):

  0  no difference.
  1  cosmetic: how, not what: speed, neatness, a small spill; a tool or container of the same
     use (spoon for fork, cup for mug); an amount or a time within 25% of the recipe.
  2  minor: an amount or a time off by up to 2x; the heat one level off; a container of another
     kind (bowl for plate); a verb of the same hand motion (mince for chop); a step moved where
     the recipe does not care about the order.
  3  moderate: an amount or a time off by 2x to 4x (teaspoon for tablespoon is 3x); the heat
     two levels off; a verb of another motion (pour for sprinkle); a tool of another use (hands
     for a whisk); a step done before a step it depends on; an extra or a missing ingredient
     in a mix; skipping a finishing step (garnish, serve).
  4  major: an amount or a time off by more than 4x; the heat from off to high; a wrong
     ingredient; skipping a step that later steps build on.
  5  critical: the dish is ruined: a swap that flips the taste (salt for sugar), skipping a
     cooking step (the food stays raw), burning (high heat for over twice the time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stepdiff.models.data.phrases import (
    describe_difference,
    order_difference,
    shown_tool,
    skip_difference,
)
from stepdiff.models.data.slots import DEFAULT_CONTAINER, HEATS, VERB_MOTION, Slots, manner_set

HEATING_VERBS = frozenset(
    {"heat", "cook", "boil", "simmer", "melt", "toast", "fry", "microwave", "saute"}
)


@dataclass(frozen=True)
class Deviation:
    step_id: int
    category: str
    did: str
    instead_of: str
    severity: int
    changes: tuple[str, ...] = ()  # slot names, or ("order",) / ("skipped",)
    source: str = "sampled"  # "captaincook4d" when re-enacted from a real mistake

    def as_json(self) -> dict:
        return {
            "step_id": self.step_id,
            "category": self.category,
            "did": self.did,
            "instead_of": self.instead_of,
            "severity": self.severity,
        }


# ---------------------------------------------------------------- severity

_ML = {
    "tsp": 5.0,
    "tbsp": 15.0,
    "cup": 240.0,
    "oz": 30.0,
    "g": 1.0,
    "ml": 1.0,
    "pinch": 0.4,
    "spoonful": 15.0,
    "knob": 15.0,
    "drop": 0.05,
}
# Swaps that ruin the dish, whatever the amount.
RUINOUS = {
    frozenset(p)
    for p in (
        ("salt", "sugar"),
        ("baking soda", "sugar"),
        ("salt", "cinnamon"),
        ("chilli powder", "sugar"),
        ("salt", "honey"),
        ("vinegar", "milk"),
    )
}


def _amount_ratio(ref: Slots, mod: Slots) -> float:
    def ml(s: Slots) -> float | None:
        if s.quantity is None:
            return None
        return s.quantity * _ML.get(s.unit or "", 1.0)

    a, b = ml(ref), ml(mod)
    if a is None or b is None or a <= 0 or b <= 0:
        return 2.0  # an amount appeared or disappeared: call it double
    return max(a, b) / min(a, b)


def _ratio_severity(r: float) -> int:
    if r <= 1.25:
        return 1
    if r <= 2.0 + 1e-6:
        return 2
    if r <= 4.0 + 1e-6:
        return 3
    return 4


def _heat_level(h: str | None, verb: str) -> int:
    if h is None:
        if verb == "microwave":
            return 3  # a microwave runs at full power unless set lower
        return 2 if verb in HEATING_VERBS else 0
    return HEATS.index(h)


def severity_of_change(ref: Slots, mod: Slots, changes: tuple[str, ...]) -> int:
    """Severity of a slot change, by the rubric; the worst changed slot decides."""
    worst = 0
    ch = set(changes)
    if ch & {"quantity", "unit"}:
        worst = max(worst, _ratio_severity(_amount_ratio(ref, mod)))
    if "duration_s" in ch:
        a, b = ref.duration_s, mod.duration_s
        r = max(a, b) / max(min(a, b), 1e-3) if a and b else 2.0
        sev = _ratio_severity(r)
        if b and a and b > 2 * a and _heat_level(mod.heat, mod.verb) >= 3:
            sev = 5  # burnt
        worst = max(worst, sev)
    if "heat" in ch:
        d = abs(_heat_level(ref.heat, ref.verb) - _heat_level(mod.heat, mod.verb))
        sev = {0: 1, 1: 2, 2: 3}.get(d, 4)
        if (
            mod.heat == "high"
            and mod.duration_s
            and ref.duration_s
            and mod.duration_s > 2 * ref.duration_s
        ):
            sev = 5
        worst = max(worst, sev)
    if "ingredients" in ch:
        old, new = set(ref.ingredients), set(mod.ingredients)
        if old and new and len(old) == len(new):
            sev = (
                5 if any(frozenset((a, b)) in RUINOUS for a in old - new for b in new - old) else 4
            )
        else:
            sev = 3  # one more or one fewer thing in the mix
        worst = max(worst, sev)
    if "verb" in ch:
        same_motion = VERB_MOTION.get(ref.verb, "place") == VERB_MOTION.get(mod.verb, "place")
        worst = max(worst, 2 if same_motion else 3)
    if "tool" in ch:
        similar = {
            frozenset(p)
            for p in (
                ("spoon", "fork"),
                ("spatula", "spoon"),
                ("whisk", "fork"),
                ("knife", "scissors"),
                ("tongs", "spatula"),
                ("towel", "hand"),
            )
        }
        worst = max(worst, 1 if frozenset((ref.tool, mod.tool)) in similar else 3)
    if "container" in ch:
        similar = {
            frozenset(p)
            for p in (
                ("cup", "mug"),
                ("bowl", "cup"),
                ("pan", "pot"),
                ("plate", "board"),
                ("ramekin", "cup"),
            )
        }
        worst = max(worst, 1 if frozenset((ref.container, mod.container)) in similar else 2)
    if "manner" in ch:
        new = manner_set(mod.manner) - manner_set(ref.manner)
        sev = (
            3
            if new & {"burnt", "undercooked"}
            else 2
            if new & {"improperly", "incompletely"}
            else 1
        )
        if any(m.startswith("without ") for m in new):
            sev = max(sev, 2)
        worst = max(worst, sev)
    return max(worst, 1) if ch else 0


def severity_of_skip(step: Slots, has_successors: bool) -> int:
    if step.verb in HEATING_VERBS:
        return 5
    return 4 if has_successors else 3


def severity_of_order(violates_edge: bool) -> int:
    return 3 if violates_edge else 2


# ---------------------------------------------------------------- sampling visible changes

INGREDIENT_SWAPS: dict[str, tuple[str, ...]] = {
    "salt": ("sugar", "pepper"),
    "sugar": ("salt", "cinnamon"),
    "pepper": ("chilli powder", "salt"),
    "chilli powder": ("pepper", "cinnamon"),
    "olive oil": ("vegetable oil", "butter"),
    "oil": ("butter", "olive oil"),
    "vegetable oil": ("olive oil", "butter"),
    "butter": ("oil", "olive oil"),
    "milk": ("water", "skimmed milk"),
    "skimmed milk": ("whole milk", "water"),
    "water": ("milk",),
    "baking powder": ("baking soda", "flour"),
    "baking soda": ("baking powder", "salt"),
    "flour": ("sugar", "cornstarch"),
    "honey": ("sugar", "maple syrup"),
    "soy sauce": ("vinegar", "sauce"),
    "salsa": ("ketchup", "mayonnaise"),
    "cheese": ("butter", "mozzarella"),
    "cheddar cheese": ("mozzarella", "parmesan"),
    "mozzarella": ("cheddar cheese", "parmesan"),
    "parmesan": ("cheddar cheese", "mozzarella"),
    "cilantro": ("basil", "lettuce"),
    "basil": ("cilantro",),
    "tomato": ("cherry tomato", "bell pepper"),
    "cherry tomato": ("tomato",),
    "onion": ("shallot", "garlic"),
    "shallot": ("onion",),
    "garlic": ("ginger", "onion"),
    "ginger": ("garlic",),
    "cinnamon": ("chilli powder", "cocoa"),
    "vanilla extract": ("soy sauce", "honey"),
    "cumin": ("cumin seeds", "turmeric"),
    "cumin seeds": ("cumin", "mustard seeds"),
    "mustard seeds": ("cumin seeds",),
    "turmeric": ("chilli powder", "cumin"),
    "egg": ("milk",),
    "chocolate": ("butter", "cocoa"),
    "mayonnaise": ("curd", "ketchup"),
    "curd": ("milk", "mayonnaise"),
    "bell pepper": ("tomato", "carrot"),
    "mushroom": ("tofu", "onion"),
    "lettuce": ("basil", "cilantro"),
    "bread": ("tortilla", "english muffin"),
    "tortilla": ("bread",),
    "jelly": ("nut butter", "honey"),
    "nut butter": ("jelly", "butter"),
    "maple syrup": ("honey",),
    "sriracha": ("ketchup", "soy sauce"),
    "marinara sauce": ("ketchup", "salsa"),
    "coffee beans": ("chocolate",),
    "corn": ("broccoli",),
    "broccoli": ("corn", "bell pepper"),
    "scallion": ("onion", "cilantro"),
    "cucumber": ("zucchini",),
    "zucchini": ("cucumber",),
    "carrot": ("bell pepper",),
    "avocado": ("cucumber",),
    "tuna": ("tofu",),
    "tofu": ("cheese",),
}
TOOL_SWAPS = {
    "knife": ("fork", "spoon", "scissors"),
    "whisk": ("fork", "spoon", "hand"),
    "spatula": ("spoon", "fork", "tongs"),
    "spoon": ("fork", "hand", "knife"),
    "fork": ("spoon", "whisk", "hand"),
    "tongs": ("fork", "hand"),
    "brush": ("spoon", "hand"),
    "towel": ("hand",),
    "scissors": ("knife",),
    "spiralizer": ("grater", "knife"),
    "grater": ("knife",),
    "peeler": ("knife",),
    "floss": ("knife",),
    "toothpick": ("fork",),
    "lid": ("towel", "plate"),
}
CONTAINER_SWAPS = {
    "bowl": ("mug", "plate", "pan"),
    "pan": ("pot", "bowl"),
    "pot": ("pan",),
    "mug": ("bowl", "cup"),
    "plate": ("bowl", "board"),
    "ramekin": ("mug", "bowl"),
    "cup": ("mug", "bowl"),
    "board": ("plate",),
    "blender": ("bowl",),
    "jar": ("bowl",),
    "kettle": ("pot",),
    "dripper": ("cup",),
    "filter": ("cup",),
    "sieve": ("bowl",),
    "bag": ("bowl",),
    "can": ("bowl",),
    "microwave": ("pan",),
}
VERB_SWAPS = {
    "chop": ("slice", "mince", "cut"),
    "slice": ("chop", "dice"),
    "mince": ("chop", "slice"),
    "dice": ("slice", "chop"),
    "cut": ("chop", "slice"),
    "stir": ("whisk", "shake"),
    "mix": ("whisk", "fold"),
    "combine": ("whisk",),
    "whisk": ("stir",),
    "beat": ("stir",),
    "pour": ("drizzle", "scoop"),
    "drizzle": ("pour",),
    "sprinkle": ("pour", "spread"),
    "season": ("pour",),
    "spread": ("pour", "scoop"),
    "top": ("pour", "spread"),
    "add": ("sprinkle", "scoop"),
    "peel": ("cut",),
    "flip": ("stir",),
    "roll": ("fold",),
    "scoop": ("pour",),
    "crack": ("squeeze",),
    "brush": ("pour",),
    "garnish": ("stir",),
    "rinse": ("wipe",),
    "grate": ("chop",),
    "spiralize": ("slice",),
    "place": ("drop",),
    "transfer": ("pour",),
}
MANNER_CHANGES = ("spilled", "quickly", "improperly", "incompletely")
QUANTITY_FACTORS = (0.5, 2.0, 3.0, 0.25, 4.0)
UNIT_SWAPS = {
    "tsp": "tbsp",
    "tbsp": "tsp",
    "cup": "tbsp",
    "oz": "g",
    "pinch": "tsp",
    "clove": "piece",
}
DURATION_FACTORS = (0.25, 0.5, 2.0, 3.0)


COUNT_UNITS = (None, "piece", "clove", "slice", "can", "block", "knob", "drop")


def _look_key(name: str) -> str:
    try:
        from stepdiff.models.data.render_looks import canonical
    except ImportError:  # no renderer: names stand for looks
        return name
    return canonical(name) or name


def _vessel_key(name: str | None, motion: str) -> str | None:
    try:
        from stepdiff.models.data.render_scene import vessel_for
    except ImportError:
        return name
    return vessel_for(name, DEFAULT_CONTAINER.get(motion)).kind


def visible(ref: Slots, mod: Slots, changes: tuple[str, ...]) -> bool:
    """Whether the renderer draws the two executions differently in at least one changed slot.

    The renderer shows a count of pieces as whole items (1/8 clove and 1 clove look alike), a verb
    only through its motion family (mince and chop look alike), an ingredient through its look
    (cheddar and cheese look alike): such changes are true to the text but not to the pixels.
    """
    for c in changes:
        if c == "verb" and VERB_MOTION.get(ref.verb, "place") != VERB_MOTION.get(mod.verb, "place"):
            return True
        if c in ("quantity", "unit"):
            if ref.unit in COUNT_UNITS and mod.unit in COUNT_UNITS:

                def n(q: float | None) -> int:
                    return int(min(max(round(q if q is not None else 1.0), 1), 12))

                if n(ref.quantity) != n(mod.quantity):
                    return True
            elif (ref.quantity, ref.unit) != (mod.quantity, mod.unit):
                return True
        if c == "ingredients" and [_look_key(i) for i in ref.ingredients[:4]] != [
            _look_key(i) for i in mod.ingredients[:4]
        ]:
            return True
        if c == "tool" and shown_tool(ref) != shown_tool(mod):
            return True
        if c == "container" and _vessel_key(ref.container, ref.motion) != _vessel_key(
            mod.container, mod.motion
        ):
            return True
        if c == "duration_s":
            a, b = ref.duration_s, mod.duration_s
            if (a is None) != (b is None) or (a is not None and b is not None and abs(a - b) >= 1):
                return True
        if c == "heat":

            def eff(s: Slots) -> str | None:
                return s.heat or ("medium" if s.motion == "heat" else None)

            if eff(ref) != eff(mod):
                return True
        if c == "manner" and manner_set(ref.manner) != manner_set(mod.manner):
            return True
    return False


def _pick(rng: np.random.Generator, options: tuple | list):
    return options[int(rng.integers(len(options)))]


def change_for(
    category: str, ref: Slots, rng: np.random.Generator, tries: int = 8
) -> tuple[Slots, tuple[str, ...]] | None:
    """A visible slot change of the given category for a step, or None if the step has none.

    Order and Missing Step are not slot changes; see recordings.py.
    """
    for _ in range(tries):
        got = _change_for(category, ref, rng)
        if got is None:
            return None
        if visible(ref, *got):
            return got
    return None


def _change_for(
    category: str, ref: Slots, rng: np.random.Generator
) -> tuple[Slots, tuple[str, ...]] | None:
    if category == "Preparation":
        options = []
        for i, ing in enumerate(ref.ingredients):
            if ing.split(" ")[-1] in INGREDIENT_SWAPS or ing in INGREDIENT_SWAPS:
                options.append(("ingredient", i))
        tool = shown_tool(ref)  # the tool in the hand, named or implied by the motion
        if tool in TOOL_SWAPS:
            options.append(("tool", tool))
        if ref.container in CONTAINER_SWAPS:
            options.append(("container", ref.container))
        if not options:
            return None
        kind, what = _pick(rng, options)
        if kind == "ingredient":
            old = ref.ingredients[what]
            key = old if old in INGREDIENT_SWAPS else old.split(" ")[-1]
            new = _pick(rng, INGREDIENT_SWAPS[key])
            ings = tuple(new if j == what else x for j, x in enumerate(ref.ingredients))
            return ref.with_changes(ingredients=ings), ("ingredients",)
        if kind == "tool":
            base = ref if ref.tool else ref.with_changes(tool=what)
            return base.with_changes(tool=_pick(rng, TOOL_SWAPS[what])), ("tool",)
        return ref.with_changes(container=_pick(rng, CONTAINER_SWAPS[what])), ("container",)
    if category == "Measurement":
        if ref.quantity is None:
            return None
        if ref.unit in UNIT_SWAPS and rng.random() < 0.35:
            return ref.with_changes(unit=UNIT_SWAPS[ref.unit]), ("unit",)
        f = _pick(rng, QUANTITY_FACTORS)
        q = ref.quantity * f
        if ref.unit in COUNT_UNITS:
            # whole items, and a count the renderer shows differently
            base = max(1, round(ref.quantity))
            q = float(
                _pick(rng, [k for k in (1, 2, 3, 4, 5, 6) if k != base and abs(k - base) <= 3])
            )
        return ref.with_changes(quantity=q), ("quantity",)
    if category == "Timing":
        if ref.duration_s is None:
            return None
        return ref.with_changes(
            duration_s=round(ref.duration_s * _pick(rng, DURATION_FACTORS), 1)
        ), ("duration_s",)
    if category == "Temperature":
        if ref.verb not in HEATING_VERBS and (ref.heat is None or ref.verb == "wait"):
            return None
        level = _heat_level(ref.heat, ref.verb)
        if ref.verb == "microwave":
            return ref.with_changes(
                heat=_pick(rng, [h for h in ("low", "medium", "high") if HEATS.index(h) != level])
            ), ("heat",)
        choices = [
            h
            for i, h in enumerate(HEATS)
            if i != level and i > 0 or (i == 0 and level >= 2 and h == "off")
        ]
        choices = [h for h in choices if h != ref.heat and HEATS.index(h) != level]
        return ref.with_changes(heat=_pick(rng, choices)), ("heat",)
    if category == "Technique":
        options = []
        if ref.verb in VERB_SWAPS:
            options += [("verb", v) for v in VERB_SWAPS[ref.verb] if v in VERB_MOTION]
        if ref.verb in (
            "add",
            "pour",
            "sprinkle",
            "top",
            "drizzle",
            "transfer",
            "fill",
            "scoop",
            "season",
        ):
            options.append(("manner", "spilled"))
        options.append(("manner", _pick(rng, ("improperly", "incompletely", "quickly"))))
        kind, what = _pick(rng, options)
        if kind == "verb":
            return ref.with_changes(verb=what), ("verb",)
        manner = ", ".join(sorted(manner_set(ref.manner) | {what}))
        return ref.with_changes(manner=manner), ("manner",)
    return None


def slot_deviation(
    step_id: int,
    category: str,
    ref: Slots,
    mod: Slots,
    changes: tuple[str, ...],
    source: str = "sampled",
) -> Deviation:
    did, instead = describe_difference(ref, mod, changes)
    return Deviation(
        step_id, category, did, instead, severity_of_change(ref, mod, changes), changes, source
    )


def skip_deviation(
    step_id: int,
    ref: Slots,
    next_slots: Slots | None,
    has_successors: bool,
    source: str = "sampled",
) -> Deviation:
    did, instead = skip_difference(ref, next_slots)
    return Deviation(
        step_id,
        "Missing Step",
        did,
        instead,
        severity_of_skip(ref, has_successors),
        ("skipped",),
        source,
    )


def order_deviation(
    step_id: int,
    ref: Slots,
    other: Slots,
    relation: str,
    violates_edge: bool,
    source: str = "sampled",
) -> Deviation:
    did, instead = order_difference(ref, other, relation)
    return Deviation(
        step_id, "Order", did, instead, severity_of_order(violates_edge), ("order",), source
    )


def score_from_severity(severity: int) -> int:
    """DiffRank score: 5 = same as the reference, 0 = most different."""
    return int(max(0, min(5, 5 - severity)))


def log_ratio(a: float, b: float) -> float:
    return abs(math.log(max(a, 1e-6) / max(b, 1e-6)))
