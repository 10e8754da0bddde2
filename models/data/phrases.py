"""Slots -> English: step phrases and "<did> instead of <instead_of>" difference phrases.

The captions of the synthetic videos are written from the slots the renderer drew, so a caption
never mentions what the pixels cannot show.
"""

from __future__ import annotations

from fractions import Fraction

from stepdiff.models.data.slots import DEFAULT_CONTAINER, DEFAULT_TOOL, Slots, manner_set

PAST = {
    "add": "added",
    "measure": "measured",
    "pour": "poured",
    "drizzle": "drizzled",
    "splash": "splashed",
    "fill": "filled",
    "chop": "chopped",
    "mince": "minced",
    "dice": "diced",
    "cut": "cut",
    "slice": "sliced",
    "trim": "trimmed",
    "stir": "stirred",
    "mix": "mixed",
    "combine": "combined",
    "saute": "sauteed",
    "whisk": "whisked",
    "beat": "beat",
    "blend": "blended",
    "crack": "cracked",
    "spread": "spread",
    "brush": "brushed",
    "coat": "coated",
    "peel": "peeled",
    "grate": "grated",
    "spiralize": "spiralized",
    "sprinkle": "sprinkled",
    "season": "seasoned",
    "garnish": "garnished",
    "top": "topped",
    "scoop": "scooped",
    "place": "placed",
    "put": "put",
    "take": "took",
    "transfer": "transferred",
    "set": "set",
    "lay": "laid",
    "line": "lined",
    "remove": "removed",
    "open": "opened",
    "serve": "served",
    "replace": "replaced",
    "secure": "secured",
    "roll": "rolled",
    "flip": "flipped",
    "turn": "turned",
    "invert": "inverted",
    "squeeze": "squeezed",
    "rinse": "rinsed",
    "drain": "drained",
    "clean": "cleaned",
    "pat": "patted",
    "grind": "ground",
    "cover": "covered",
    "heat": "heated",
    "cook": "cooked",
    "boil": "boiled",
    "simmer": "simmered",
    "melt": "melted",
    "toast": "toasted",
    "fry": "fried",
    "microwave": "microwaved",
    "wait": "waited",
}

UNIT_WORDS = {
    "tsp": ("teaspoon", "teaspoons"),
    "tbsp": ("tablespoon", "tablespoons"),
    "cup": ("cup", "cups"),
    "oz": ("ounce", "ounces"),
    "g": ("gram", "grams"),
    "ml": ("milliliter", "milliliters"),
    "pinch": ("pinch", "pinches"),
    "slice": ("slice", "slices"),
    "clove": ("clove", "cloves"),
    "piece": ("piece", "pieces"),
    "block": ("block", "blocks"),
    "can": ("can", "cans"),
    "knob": ("knob", "knobs"),
    "spoonful": ("spoonful", "spoonfuls"),
    "drop": ("drop", "drops"),
}


def shown_container(slots: Slots) -> str | None:
    return slots.container or DEFAULT_CONTAINER.get(slots.motion)


def shown_tool(slots: Slots) -> str | None:
    return slots.tool or DEFAULT_TOOL.get(slots.motion)


HEAT_WORDS = {
    "off": "with the heat off",
    "low": "on low heat",
    "medium": "on medium heat",
    "high": "on high heat",
}

NUMBER_WORDS = {
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    8: "eight",
    10: "ten",
    12: "twelve",
}


def past(verb: str) -> str:
    if verb in PAST:
        return PAST[verb]
    return verb + ("d" if verb.endswith("e") else "ed")


def gerund(verb: str) -> str:
    if verb in (
        "cut",
        "set",
        "put",
        "chop",
        "stir",
        "trim",
        "flip",
        "pat",
        "top",
        "transfer",
        "drop",
    ):
        return verb + verb[-1] + "ing"
    if verb.endswith("e") and verb not in ("saute",):
        return verb[:-1] + "ing"
    return verb + "ing"


def fmt_number(x: float, words: bool = False) -> str:
    """0.25 -> '1/4', 1.5 -> '1 1/2', 2.0 -> '2' (or 'two' with words=True)."""
    if abs(x - round(x)) < 1e-6:
        n = int(round(x))
        return NUMBER_WORDS.get(n, str(n)) if words else str(n)
    f = Fraction(x).limit_denominator(16)
    whole, rest = divmod(f.numerator, f.denominator)
    frac = f"{rest}/{f.denominator}"
    return f"{whole} {frac}" if whole else frac


def fmt_duration(seconds: float) -> str:
    s = int(round(seconds))
    if s >= 60 and s % 30 == 0:
        m = s / 60
        return f"{fmt_number(m)} minute" + ("" if m == 1 else "s")
    if s >= 90:
        m, r = divmod(s, 60)
        return f"{m} minute{'s' if m > 1 else ''} {r} seconds"
    return f"{s} second" + ("" if s == 1 else "s")


def amount(slots: Slots) -> str:
    """'1 tablespoon of salsa', '2 eggs', 'salsa'."""
    ing = ingredient_list(slots.ingredients[:1]) if slots.ingredients else ""
    if slots.quantity is None:
        return ing
    q = slots.quantity
    unit = slots.unit or "piece"
    if unit == "piece" and ing:
        noun = ing if q <= 1 else plural(ing)
        return f"{fmt_number(q)} {noun}"
    sing, plur = UNIT_WORDS.get(unit, (unit, unit + "s"))
    u = sing if q <= 1 else plur
    return f"{fmt_number(q)} {u} of {ing}" if ing else f"{fmt_number(q)} {u}"


def plural(noun: str) -> str:
    if noun.endswith(("s", "sh", "ch", "x")):
        return noun + "es"
    if noun.endswith("o"):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    if noun in ("salt", "sugar", "flour", "water", "milk", "oil", "butter", "cheese", "rice"):
        return noun
    return noun + "s"


def ingredient_list(items: tuple[str, ...] | list[str]) -> str:
    items = [("the contents" if i == "contents" else i) for i in items]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _the(noun: str) -> str:
    return noun if noun.startswith("the ") else f"the {noun}"


def step_phrase(slots: Slots, form: str = "imperative") -> str:
    """'add 1 tablespoon of salsa to the cup for 30 seconds on high heat'."""
    verb = {"imperative": slots.verb, "past": past(slots.verb), "gerund": gerund(slots.verb)}[form]
    parts = [verb]
    obj = amount(slots)
    rest = [i for i in slots.ingredients[1:]]
    if obj:
        parts.append(obj if slots.quantity is not None else _the(obj))
    if rest:
        parts.append("with " + ingredient_list(rest))
    if slots.container and not obj and not rest:
        parts.append(f"the {slots.container}")  # "microwave the ramekin"
    elif slots.container:
        prep = "on" if slots.container in ("plate", "board") else "in"
        parts.append(f"{prep} the {slots.container}")
    if slots.tool and slots.tool != "hand":
        parts.append(f"with a {slots.tool}")
    elif slots.tool == "hand":
        parts.append("by hand")
    if slots.duration_s is not None:
        parts.append(f"for {fmt_duration(slots.duration_s)}")
    if slots.heat is not None:
        parts.append(HEAT_WORDS[slots.heat])
    for m in sorted(manner_set(slots.manner)):
        parts.append(_manner_words(m))
    return " ".join(p for p in parts if p)


def _manner_words(m: str) -> str:
    table = {
        "spilled": "and spilled some",
        "improperly": "improperly",
        "incompletely": "only partly",
        "quickly": "quickly",
        "slowly": "slowly",
        "roughly": "roughly",
        "finely": "finely",
        "well": "thoroughly",
        "messy": "with unclean utensils",
        "burnt": "until burnt",
        "undercooked": "leaving it undercooked",
    }
    if m in table:
        return table[m]
    if m.startswith("without "):
        what = m[len("without ") :]
        return f"without {gerund(what)}" if what in PAST else m
    if m.endswith("in") and m[:-2].replace(".", "").isdigit():
        return f"about {fmt_number(float(m[:-2]))} inch"
    return m


_HEATING = {"heat", "cook", "boil", "simmer", "melt", "toast", "fry", "saute"}

# How the recipe wants it, opposite a manner the candidate showed.
_OPPOSITE = {
    "spilled": "cleanly",
    "quickly": "at a steady pace",
    "slowly": "at a normal pace",
    "improperly": "properly",
    "incompletely": "completely",
    "roughly": "neatly",
    "messy": "with clean utensils",
    "uncovered": "covered",
    "covered": "uncovered",
    "burnt": "without burning it",
    "undercooked": "until done",
}


def _opposite(m: str) -> str:
    if m in _OPPOSITE:
        return _OPPOSITE[m]
    if m.startswith("without "):
        what = m[len("without ") :]
        return f"with {gerund(what) if what in PAST else what}"
    return f"not {_manner_words(m)}"


def describe_difference(ref: Slots, cand: Slots, changes: tuple[str, ...]) -> tuple[str, str]:
    """What the candidate did, and what the reference did instead, about the changed slots only.

    ("added 1 teaspoon of salsa", "1 tablespoon of salsa"), ("used a fork", "a whisk").
    """
    ch = set(changes)
    v = past(cand.verb)
    obj = _the(ingredient_list(ref.ingredients[:1])) if ref.ingredients else "it"
    if "verb" in ch:
        return (f"{v} {obj}", f"{gerund(ref.verb)} it")
    if ch & {"quantity", "unit"}:
        a_c, a_r = amount(cand) or "some", amount(ref) or "the amount in the recipe"
        return (f"{v} {a_c}", a_r)
    if "ingredients" in ch:
        new = [i for i in cand.ingredients if i not in ref.ingredients]
        old = [i for i in ref.ingredients if i not in cand.ingredients]
        if new and old:
            return (f"{v} {ingredient_list(new)}", ingredient_list(old))
        if old:  # something left out
            kept = ingredient_list(cand.ingredients) or "it"
            return (f"{v} {kept} without {ingredient_list(old)}", f"with {ingredient_list(old)}")
        return (f"{v} {obj} with {ingredient_list(new)}", f"without {ingredient_list(new)}")
    if "tool" in ch:

        def tool(t: str | None) -> str:
            return "bare hands" if t == "hand" else (f"a {t}" if t else "no utensil")

        return (f"used {tool(shown_tool(cand))} to {cand.verb} {obj}", tool(shown_tool(ref)))
    if "container" in ch:

        def cont(c: str | None) -> str:
            return f"the {c}" if c else "no container"

        c_new, c_old = shown_container(cand), shown_container(ref)
        if obj == "it":
            return (f"used {cont(c_new)}", cont(c_old))
        prep = "on" if c_new in ("plate", "board") else "in"
        return (f"{v} {obj} {prep} {cont(c_new)}", cont(c_old))
    if "duration_s" in ch:
        d_c = fmt_duration(cand.duration_s) if cand.duration_s is not None else "no time"
        d_r = fmt_duration(ref.duration_s) if ref.duration_s is not None else "the recipe's time"
        return (f"{v} {obj if obj != 'it' else 'it'} for {d_c}", d_r)
    if "heat" in ch:
        if cand.verb == "microwave":
            power = {
                "low": "on low power",
                "medium": "on medium power",
                "high": "on high power",
                "off": "with the power off",
            }
            return (
                f"{v} {obj} {power.get(cand.heat or 'high')}",
                power.get(ref.heat or "high", "on high power"),
            )
        h_c = HEAT_WORDS.get(cand.heat or "", "without heat")
        h_r = HEAT_WORDS.get(
            ref.heat or "", "on medium heat" if ref.verb in _HEATING else "without heat"
        )
        return (f"{v} {obj} {h_c}", h_r)
    if "manner" in ch:
        new = sorted(manner_set(cand.manner) - manner_set(ref.manner))
        old = sorted(manner_set(ref.manner) - manner_set(cand.manner))
        did = f"{v} {obj} " + " ".join(_manner_words(m) for m in new) if new else f"{v} {obj}"
        if old:
            instead = f"{gerund(ref.verb)} it " + " ".join(_manner_words(m) for m in old)
        else:
            instead = f"{gerund(ref.verb)} it " + " and ".join(_opposite(m) for m in new)
        return (did.strip(), instead.strip())
    return (step_phrase(cand, "past"), step_phrase(ref, "gerund"))


def order_difference(step: Slots, other: Slots, relation: str) -> tuple[str, str]:
    """('added the salt before whisking the egg', 'after whisking the egg')."""
    other_phrase = f"{gerund(other.verb)} " + (
        _the(ingredient_list(other.ingredients[:1]))
        if other.ingredients
        else (
            f"the {other.container}"
            if other.container
            else (f"with the {other.tool}" if other.tool else "")
        )
    )
    flip = "after" if relation == "before" else "before"
    head = f"{past(step.verb)} " + (
        _the(ingredient_list(step.ingredients[:1])) if step.ingredients else "it"
    )
    return (f"{head} {relation} {other_phrase.strip()}", f"{flip} {other_phrase.strip()}")


def skip_difference(step: Slots, next_step: Slots | None = None) -> tuple[str, str]:
    """('went straight to cracking the egg', 'adding the salt first'): what the candidate clip
    shows where the skipped step should be, and the step it skipped."""
    phrase = step_phrase(step, "gerund")
    if next_step is None:
        return (f"skipped {phrase}", phrase)
    nxt = f"{gerund(next_step.verb)} " + (
        _the(ingredient_list(next_step.ingredients[:1]))
        if next_step.ingredients
        else (f"the {next_step.container}" if next_step.container else "")
    )
    what = (
        _the(ingredient_list(step.ingredients[:1]))
        if step.ingredients
        else (f"the {step.container}" if step.container else "")
    )
    return (
        f"skipped {gerund(step.verb)} {what}".strip() + f" and went straight to {nxt.strip()}",
        f"{phrase} first",
    )
