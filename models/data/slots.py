"""The slot vocabulary shared by the step parser, the recordings and the renderer.

A recipe step is reduced to the few things a camera could see: what the hands do (verb), to what
(ingredients), how much (quantity, unit), with what (tool), in what (container), for how long
(duration) and on what heat. A mistake is the same structure with some slots changed, which is
what lets the renderer show "1 teaspoon instead of 1 tablespoon" as pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

# Motion families: every verb maps to one hand-motion pattern the renderer can draw.
MOTIONS = (
    "chop",  # knife up-down over a board
    "slice",  # long knife strokes
    "stir",  # circular motion in a container
    "whisk",  # fast small circles
    "pour",  # container tilts over another
    "crack",  # two hands split an egg
    "spread",  # back-and-forth flat strokes
    "peel",  # strip motion along an item
    "sprinkle",  # shaking fingers above a container
    "scoop",  # spoon dips and lifts
    "place",  # hand carries an item into place
    "roll",  # both hands roll forward and back
    "flip",  # spatula turns an item over
    "squeeze",  # fist closes over a container
    "rinse",  # water stream over an item
    "grind",  # twisting grinder
    "cover",  # lid moves onto container
    "heat",  # item on the stove, hands idle
    "microwave",  # microwave door closes, timer counts
    "wait",  # nothing moves but the timer
)

# Canonical verb -> motion family. The parser emits canonical verbs; anything not here is drawn
# with the "place" motion.
VERB_MOTION: dict[str, str] = {
    "add": "pour",
    "measure": "scoop",
    "pour": "pour",
    "drizzle": "pour",
    "splash": "pour",
    "fill": "pour",
    "chop": "chop",
    "mince": "chop",
    "dice": "chop",
    "cut": "slice",
    "slice": "slice",
    "trim": "slice",
    "stir": "stir",
    "mix": "stir",
    "combine": "stir",
    "saute": "stir",
    "whisk": "whisk",
    "beat": "whisk",
    "blend": "whisk",
    "crack": "crack",
    "spread": "spread",
    "brush": "spread",
    "coat": "spread",
    "peel": "peel",
    "sprinkle": "sprinkle",
    "season": "sprinkle",
    "garnish": "sprinkle",
    "top": "sprinkle",
    "scoop": "scoop",
    "spoon": "scoop",
    "place": "place",
    "put": "place",
    "take": "place",
    "transfer": "place",
    "set": "place",
    "lay": "place",
    "line": "place",
    "remove": "place",
    "serve": "place",
    "roll": "roll",
    "flip": "flip",
    "turn": "flip",
    "invert": "flip",
    "squeeze": "squeeze",
    "rinse": "rinse",
    "drain": "rinse",
    "clean": "rinse",
    "grind": "grind",
    "cover": "cover",
    "seal": "cover",
    "heat": "heat",
    "cook": "heat",
    "boil": "heat",
    "simmer": "heat",
    "melt": "heat",
    "toast": "heat",
    "fry": "heat",
    "microwave": "microwave",
    "wait": "wait",
    "let": "wait",
    # Added for the step parser's canonical verbs (models/data/lexicon.py) and the sampled
    # technique swaps (models/data/deviations.py).
    "grate": "peel",
    "spiralize": "grind",
    "open": "place",
    "replace": "place",
    "secure": "place",
    "pat": "spread",
    "wipe": "spread",
    "fold": "roll",
    "shake": "sprinkle",
    "drop": "place",
}

# The first entries are the core set; the rest were added for the step parser (append only).
TOOLS = (
    "knife", "whisk", "spatula", "spoon", "fork", "hand", "grater", "peeler", "tongs",
    "scissors", "brush", "towel", "spiralizer", "floss", "toothpick", "lid", "measuring cup",
    "timer", "thermometer", "scale", "mortar",
)  # fmt: skip
CONTAINERS = (
    "bowl", "pan", "pot", "mug", "plate", "ramekin", "cup", "board", "blender", "jar",
    "kettle", "dripper", "filter", "sieve", "bag", "can", "microwave", "sink",
)  # fmt: skip
HEATS = ("off", "low", "medium", "high")
UNITS = (
    "tsp", "tbsp", "cup", "oz", "g", "ml", "piece", "pinch", "slice", "clove",
    "block", "can", "knob", "spoonful", "drop",
)  # fmt: skip


# The container a motion happens in when the step names none: the renderer draws it and the
# captions may name it, so both read this one table.
DEFAULT_CONTAINER: dict[str, str] = {
    "chop": "board",
    "slice": "board",
    "peel": "board",
    "spread": "plate",
    "roll": "board",
    "flip": "pan",
    "heat": "pan",
    "stir": "bowl",
    "whisk": "bowl",
    "pour": "bowl",
    "crack": "bowl",
    "scoop": "bowl",
    "grind": "bowl",
    "squeeze": "bowl",
    "rinse": "bowl",
    "cover": "bowl",
    "microwave": "bowl",
}

# The tool in the hand when the step names none, by motion family: the renderer draws it and
# the captions name it (phrases.shown_tool), so both read this one table.
DEFAULT_TOOL: dict[str, str] = {
    "chop": "knife",
    "slice": "knife",
    "stir": "spoon",
    "whisk": "whisk",
    "spread": "knife",
    "peel": "peeler",
    "flip": "spatula",
    "scoop": "spoon",
}

# The slots a deviation can change, in the order captions and tests list them.
SLOT_NAMES = (
    "verb",
    "ingredients",
    "quantity",
    "unit",
    "tool",
    "container",
    "duration_s",
    "heat",
    "manner",
)

# The StepDiff / CaptainCook4D deviation categories (real annotations may also say "Other").
CATEGORIES = (
    "Preparation",
    "Measurement",
    "Order",
    "Timing",
    "Technique",
    "Temperature",
    "Missing Step",
)

# How a question names a category ("what did I do differently in {noun}?"): ours, and the
# StepDiff release's four (a DiffCap or DiffRank item is asked within its category).
CATEGORY_NOUN = {
    "Preparation": "preparation (ingredients, tools and containers)",
    "Measurement": "the amounts used",
    "Order": "the order of the steps",
    "Timing": "timing",
    "Technique": "technique",
    "Temperature": "heat and temperature",
    "Missing Step": "steps left out",
    "Other": "anything else",
    "Ingredients": "ingredients",
    "Tools/Equipment": "tools and equipment",
    "Visuals": "how it looks",
}


@dataclass(frozen=True)
class Slots:
    """What one step looks like. None means the step text does not say."""

    verb: str
    ingredients: tuple[str, ...] = ()
    quantity: float | None = None
    unit: str | None = None
    tool: str | None = None
    container: str | None = None
    duration_s: float | None = None
    heat: str | None = None
    # Free-form manner the verb alone does not capture ("inappropriately", "directly").
    manner: str | None = None
    extras: tuple[str, ...] = field(default=())

    @property
    def motion(self) -> str:
        return VERB_MOTION.get(self.verb, "place")

    def with_changes(self, **changes: object) -> Slots:
        return replace(self, **changes)

    def changed_slots(self, other: Slots) -> tuple[str, ...]:
        """Names of the slots that differ between two executions of a step."""
        return tuple(n for n in SLOT_NAMES if getattr(self, n) != getattr(other, n))


def manner_set(manner: str | None) -> frozenset[str]:
    """The manner slot as a set of phrases ("roughly, spilled" -> {"roughly", "spilled"}), so that
    two manners compare regardless of order."""
    return frozenset(x.strip() for x in (manner or "").split(",") if x.strip())
