"""What each ingredient looks like: colour, shape, texture and the package it comes from.

Common ingredients have a hand-made entry; any other name gets a stable appearance from a hash of
the name, so "quinoa" always looks the same and never looks like "rice".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from stepdiff.models.data.render_draw import RGB, Pen, hsv_rgb, mix, name_hash, rot, shade

# Forms whose amount is a volume (drawn as a pile, a fill or a puddle), not a count of pieces.
BULK_FORMS = ("powder", "liquid", "paste", "grain")
ITEM_FORMS = (
    "egg",
    "round",
    "clove",
    "leaf",
    "floret",
    "long",
    "disc",
    "slice",
    "muffin",
    "bar",
    "block",
    "cap",
    "chunk",
    "avocado",
    "strip",
    "small",
)
TEXTURES = ("plain", "speckle", "crystal", "holes", "rings", "spots", "grid", "stripes", "seeds")
PACKAGES = ("bag", "shaker", "bottle", "carton", "tub", "jar", "pile", "box")


@dataclass(frozen=True)
class Look:
    name: str
    color: RGB
    color2: RGB
    form: str
    texture: str
    package: str
    pkg_color: RGB
    specks: tuple[tuple[float, float], ...]  # texture dots in the unit disc, fixed per name

    @property
    def bulk(self) -> bool:
        return self.form in BULK_FORMS


# name: (colour, second colour, form, texture, package, package colour)
_TABLE: dict[str, tuple[RGB, RGB, str, str, str, RGB]] = {
    "egg": ((236, 214, 182), (250, 186, 30), "egg", "plain", "box", (200, 180, 150)),
    "flour": ((246, 244, 236), (214, 206, 186), "powder", "speckle", "bag", (230, 220, 120)),
    "sugar": ((252, 252, 252), (170, 200, 235), "powder", "crystal", "bag", (60, 110, 200)),
    "brown sugar": ((176, 112, 58), (120, 70, 30), "powder", "crystal", "bag", (150, 90, 40)),
    "powdered sugar": ((255, 255, 255), (230, 230, 240), "powder", "plain", "bag", (230, 120, 160)),
    "salt": ((238, 240, 244), (150, 156, 168), "powder", "crystal", "shaker", (40, 90, 200)),
    "pepper": ((48, 40, 34), (120, 104, 88), "powder", "speckle", "shaker", (30, 30, 30)),
    "oil": ((226, 186, 48), (255, 236, 150), "liquid", "plain", "bottle", (120, 160, 60)),
    "butter": ((250, 226, 120), (255, 244, 190), "block", "plain", "box", (240, 240, 230)),
    "milk": ((250, 250, 246), (222, 230, 240), "liquid", "plain", "carton", (60, 130, 220)),
    "water": ((140, 190, 236), (220, 240, 255), "liquid", "rings", "bottle", (170, 210, 240)),
    "cheese": ((252, 198, 50), (214, 150, 20), "block", "holes", "box", (250, 170, 40)),
    "tomato": ((222, 38, 32), (70, 140, 40), "round", "seeds", "pile", (222, 38, 32)),
    "onion": ((214, 170, 120), (246, 232, 244), "round", "rings", "pile", (180, 120, 70)),
    "garlic": ((244, 238, 222), (200, 180, 200), "clove", "stripes", "pile", (244, 238, 222)),
    "lettuce": ((122, 196, 70), (200, 236, 150), "leaf", "stripes", "pile", (122, 196, 70)),
    "spinach": ((40, 110, 40), (90, 160, 70), "leaf", "stripes", "pile", (40, 110, 40)),
    "salsa": ((196, 46, 28), (90, 170, 60), "paste", "speckle", "jar", (196, 46, 28)),
    "tofu": ((246, 242, 226), (220, 214, 190), "block", "plain", "tub", (60, 160, 90)),
    "mushroom": ((176, 140, 106), (236, 222, 200), "cap", "spots", "pile", (176, 140, 106)),
    "broccoli": ((46, 130, 52), (140, 190, 90), "floret", "speckle", "pile", (46, 130, 52)),
    "banana": ((248, 220, 70), (246, 238, 200), "long", "plain", "pile", (248, 220, 70)),
    "avocado": ((70, 96, 36), (196, 214, 96), "avocado", "plain", "pile", (70, 96, 36)),
    "tuna": ((206, 152, 136), (236, 196, 180), "chunk", "stripes", "jar", (80, 120, 200)),
    "tortilla": ((236, 212, 156), (170, 110, 50), "disc", "spots", "bag", (230, 90, 40)),
    "bread": ((230, 190, 128), (156, 94, 44), "slice", "speckle", "bag", (200, 60, 50)),
    "muffin": ((178, 118, 66), (236, 236, 236), "muffin", "speckle", "box", (240, 200, 200)),
    "chocolate": ((92, 52, 30), (140, 90, 60), "bar", "grid", "box", (120, 40, 120)),
    "cinnamon": ((164, 90, 44), (110, 56, 26), "powder", "speckle", "shaker", (190, 60, 30)),
    "rice": ((248, 246, 238), (220, 216, 200), "grain", "speckle", "bag", (200, 40, 40)),
    "pasta": ((240, 206, 110), (220, 180, 80), "grain", "stripes", "box", (30, 70, 170)),
    "noodle": ((244, 220, 150), (220, 190, 110), "grain", "stripes", "bag", (220, 50, 40)),
    "oat": ((214, 190, 144), (176, 146, 100), "grain", "speckle", "box", (180, 40, 40)),
    "chicken": ((236, 200, 170), (210, 160, 120), "chunk", "stripes", "pile", (236, 200, 170)),
    "beef": ((150, 50, 46), (200, 120, 110), "chunk", "speckle", "pile", (150, 50, 46)),
    "bacon": ((200, 80, 70), (246, 220, 200), "strip", "stripes", "pile", (200, 80, 70)),
    "ham": ((236, 150, 150), (250, 210, 210), "disc", "plain", "pile", (236, 150, 150)),
    "pepperoni": ((186, 40, 30), (236, 130, 90), "disc", "spots", "pile", (186, 40, 30)),
    "carrot": ((246, 130, 30), (110, 170, 50), "long", "rings", "pile", (246, 130, 30)),
    "potato": ((196, 160, 110), (240, 228, 180), "round", "spots", "pile", (196, 160, 110)),
    "cucumber": ((40, 120, 50), (200, 230, 170), "long", "seeds", "pile", (40, 120, 50)),
    "bell pepper": ((230, 40, 30), (250, 240, 220), "round", "seeds", "pile", (230, 40, 30)),
    "chili": ((214, 20, 20), (60, 140, 40), "long", "seeds", "pile", (214, 20, 20)),
    "jalapeno": ((40, 140, 40), (220, 240, 200), "long", "seeds", "pile", (40, 140, 40)),
    "corn": ((250, 210, 40), (250, 240, 160), "small", "grid", "pile", (250, 210, 40)),
    "bean": ((110, 50, 36), (160, 90, 70), "small", "plain", "jar", (110, 50, 36)),
    "pea": ((110, 190, 60), (160, 220, 100), "small", "plain", "bag", (110, 190, 60)),
    "lemon": ((252, 230, 40), (255, 250, 200), "round", "spots", "pile", (252, 230, 40)),
    "lime": ((120, 190, 40), (220, 250, 180), "round", "spots", "pile", (120, 190, 40)),
    "apple": ((200, 30, 40), (250, 240, 200), "round", "spots", "pile", (200, 30, 40)),
    "strawberry": ((226, 30, 50), (250, 230, 120), "small", "seeds", "pile", (226, 30, 50)),
    "blueberry": ((60, 60, 140), (120, 120, 190), "small", "plain", "pile", (60, 60, 140)),
    "ginger": ((214, 176, 110), (246, 226, 160), "chunk", "rings", "pile", (214, 176, 110)),
    "herb": ((60, 150, 50), (120, 200, 90), "leaf", "speckle", "pile", (60, 150, 50)),
    "parsley": ((50, 150, 40), (110, 200, 80), "leaf", "spots", "pile", (50, 150, 40)),
    "cilantro": ((70, 170, 60), (140, 220, 110), "leaf", "spots", "pile", (70, 170, 60)),
    "basil": ((30, 130, 40), (80, 180, 70), "leaf", "plain", "pile", (30, 130, 40)),
    "honey": ((222, 150, 20), (250, 200, 90), "liquid", "plain", "jar", (222, 150, 20)),
    "syrup": ((170, 90, 20), (220, 150, 60), "liquid", "plain", "bottle", (170, 90, 20)),
    "vinegar": ((236, 226, 190), (250, 246, 220), "liquid", "plain", "bottle", (140, 60, 90)),
    "soy sauce": ((60, 30, 16), (110, 60, 30), "liquid", "plain", "bottle", (200, 40, 40)),
    "sauce": ((170, 60, 30), (210, 110, 60), "liquid", "speckle", "jar", (170, 60, 30)),
    "ketchup": ((200, 20, 20), (240, 80, 60), "paste", "plain", "bottle", (200, 20, 20)),
    "mustard": ((240, 200, 20), (250, 230, 120), "paste", "plain", "bottle", (240, 200, 20)),
    "mayonnaise": ((250, 246, 220), (236, 230, 200), "paste", "plain", "jar", (40, 100, 200)),
    "yogurt": ((250, 250, 248), (230, 230, 240), "paste", "plain", "tub", (120, 180, 240)),
    "cream": ((252, 250, 240), (240, 236, 220), "liquid", "plain", "carton", (240, 200, 80)),
    "vanilla": ((90, 50, 20), (150, 100, 50), "liquid", "plain", "bottle", (90, 50, 20)),
    "baking powder": ((250, 250, 250), (200, 200, 210), "powder", "plain", "box", (220, 40, 40)),
    "baking soda": ((250, 250, 246), (210, 210, 200), "powder", "plain", "box", (250, 140, 20)),
    "cocoa": ((110, 60, 36), (80, 40, 24), "powder", "speckle", "box", (110, 60, 36)),
    "coffee": ((70, 40, 24), (120, 80, 50), "liquid", "plain", "jar", (70, 40, 24)),
    "tea": ((190, 110, 40), (230, 170, 90), "liquid", "plain", "box", (40, 150, 70)),
    "peanut butter": ((190, 126, 60), (150, 90, 40), "paste", "speckle", "jar", (190, 126, 60)),
    "jam": ((140, 20, 70), (200, 60, 110), "paste", "seeds", "jar", (140, 20, 70)),
    "jelly": ((150, 30, 90), (210, 80, 140), "paste", "plain", "jar", (150, 30, 90)),
    "nut": ((170, 120, 70), (210, 170, 110), "small", "stripes", "jar", (170, 120, 70)),
    "almond": ((190, 130, 80), (236, 210, 170), "small", "stripes", "bag", (190, 130, 80)),
    "raisin": ((90, 40, 40), (130, 70, 60), "small", "plain", "box", (200, 30, 40)),
    "sprinkle": ((240, 80, 160), (80, 200, 240), "grain", "spots", "jar", (240, 80, 160)),
    "chili powder": ((200, 60, 30), (150, 30, 20), "powder", "speckle", "shaker", (200, 60, 30)),
    "paprika": ((200, 50, 30), (160, 30, 20), "powder", "speckle", "shaker", (200, 50, 30)),
    "cumin": ((160, 120, 50), (120, 90, 40), "powder", "speckle", "shaker", (160, 120, 50)),
    "oregano": ((90, 110, 50), (60, 80, 30), "powder", "speckle", "shaker", (90, 110, 50)),
    "garlic powder": (
        (236, 220, 180),
        (210, 190, 150),
        "powder",
        "speckle",
        "shaker",
        (240, 240, 230),
    ),
    "onion powder": (
        (230, 210, 170),
        (200, 180, 140),
        "powder",
        "speckle",
        "shaker",
        (200, 160, 110),
    ),
    "seasoning": ((150, 110, 60), (80, 120, 40), "powder", "speckle", "shaker", (60, 120, 60)),
    "spice": ((180, 100, 50), (120, 70, 30), "powder", "speckle", "shaker", (180, 100, 50)),
    "dough": ((240, 220, 180), (220, 196, 150), "disc", "plain", "bag", (240, 220, 180)),
    "batter": ((240, 214, 140), (220, 190, 110), "paste", "plain", "jar", (240, 214, 140)),
    "pancake": ((220, 170, 90), (170, 110, 50), "disc", "spots", "pile", (220, 170, 90)),
    "cracker": ((230, 190, 110), (200, 150, 80), "slice", "holes", "box", (230, 80, 40)),
    "ice": ((220, 236, 250), (250, 252, 255), "small", "plain", "bag", (180, 220, 250)),
}

# Words that describe an ingredient's preparation rather than its identity.
_STOP = frozenset(
    "a an the of some fresh large small medium chopped diced minced sliced ground whole "
    "cold warm hot room temperature softened melted cooked raw dried frozen grated shredded "
    "to taste extra virgin unsalted salted plain".split()
)
_IRREGULAR = {"leaves": "leaf", "tomatoes": "tomato", "potatoes": "potato", "knives": "knife"}


def _singular(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "oes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _tokens(name: str) -> tuple[str, ...]:
    words = re.findall(r"[a-z]+", name.lower())
    return tuple(_singular(w) for w in words if w not in _STOP)


_KEYS = sorted(((_tokens(k), k) for k in _TABLE), key=lambda kv: -len(kv[0]))


def canonical(name: str) -> str | None:
    """The table entry a free-form ingredient name refers to, or None for an unknown name.

    Prefers the entry that ends last (the head noun: "chocolate muffin" is a muffin), then the
    longest ("bell pepper" over "pepper").
    """
    toks = _tokens(name)
    best: tuple[int, int, str] | None = None
    for key_toks, key in _KEYS:
        n = len(key_toks)
        for i in range(len(toks) - n, -1, -1):
            if toks[i : i + n] == key_toks:
                cand = (i + n, n, key)
                if best is None or cand[:2] > best[:2]:
                    best = cand
                break
    return None if best is None else best[2]


def _specks(name: str) -> tuple[tuple[float, float], ...]:
    rng = np.random.default_rng(name_hash(name, "specks"))
    r = np.sqrt(rng.uniform(0.0, 0.85, 14))
    a = rng.uniform(0.0, 2 * np.pi, 14)
    return tuple((float(x), float(y)) for x, y in zip(r * np.cos(a), r * np.sin(a), strict=True))


@lru_cache(maxsize=4096)
def look_for(name: str) -> Look:
    key = canonical(name)
    if key is not None:
        color, color2, form, texture, package, pkg = _TABLE[key]
        return Look(key, color, color2, form, texture, package, pkg, _specks(key))
    h = name_hash(name.strip().lower(), "look")
    hue = (h & 0xFFFF) / 65536.0
    sat = 0.45 + 0.5 * ((h >> 16) & 0xFF) / 255.0
    val = 0.45 + 0.5 * ((h >> 24) & 0xFF) / 255.0
    color = hsv_rgb(hue, sat, val)
    color2 = hsv_rgb(hue + 0.08 + 0.3 * ((h >> 32) & 0xFF) / 255.0, sat * 0.7, min(1.0, val + 0.2))
    forms = BULK_FORMS + ITEM_FORMS
    form = forms[(h >> 40) % len(forms)]
    texture = TEXTURES[(h >> 48) % len(TEXTURES)]
    package = PACKAGES[(h >> 56) % len(PACKAGES)]
    return Look(name, color, color2, form, texture, package, shade(color, 0.8), _specks(name))


# --- drawing -------------------------------------------------------------------------------------


def draw_texture(pen: Pen, look: Look, x: float, y: float, rx: float, ry: float) -> None:
    """Texture marks inside an ellipse, so two same-coloured ingredients still differ."""
    tex, c2 = look.texture, look.color2
    if tex == "plain" or rx < 3:
        pen.ellipse(
            x - rx * 0.3, y - ry * 0.35, rx * 0.35, ry * 0.2, mix(look.color, (255, 255, 255), 0.35)
        )
        return
    if tex == "rings":
        for f in (0.75, 0.5, 0.25):
            pen.ellipse(x, y, rx * f, ry * f, c2, thickness=0.9)
        return
    if tex == "stripes":
        for f in (-0.5, 0.0, 0.5):
            pen.line(x - rx * 0.7, y + ry * f, x + rx * 0.7, y + ry * f * 0.6, c2, 1.0)
        return
    if tex == "grid":
        for f in (-0.33, 0.33):
            pen.line(x + rx * f, y - ry * 0.8, x + rx * f, y + ry * 0.8, c2, 1.0)
            pen.line(x - rx * 0.8, y + ry * f, x + rx * 0.8, y + ry * f, c2, 1.0)
        return
    size = {"speckle": 0.06, "crystal": 0.08, "holes": 0.16, "spots": 0.11, "seeds": 0.07}[tex]
    r = max(0.7, size * min(rx, ry) * 1.4)
    n = 8 if tex in ("holes", "spots") else 14
    for sx, sy in look.specks[:n]:
        if tex == "crystal":
            pen.rect(x + sx * rx - r, y + sy * ry - r, x + sx * rx + r, y + sy * ry + r, c2)
        else:
            pen.circle(x + sx * rx, y + sy * ry, r, c2)


def draw_item(pen: Pen, look: Look, x: float, y: float, r: float, angle: float = 0.0) -> None:
    """One whole piece of a countable ingredient, about 2r units across."""
    f, c, c2 = look.form, look.color, look.color2
    dark = shade(c, 0.72)
    if f == "egg":
        pen.ellipse(x, y, r * 0.78, r, dark, angle=np.degrees(angle) + 90)
        pen.ellipse(x, y, r * 0.7, r * 0.92, c, angle=np.degrees(angle) + 90)
        pen.ellipse(x - r * 0.25, y - r * 0.3, r * 0.22, r * 0.14, (252, 248, 240))
    elif f == "round":
        pen.circle(x, y, r, dark)
        pen.circle(x - r * 0.05, y - r * 0.05, r * 0.9, c)
        draw_texture(pen, look, x, y, r * 0.75, r * 0.75)
        pen.ellipse(x + r * 0.05, y - r * 0.85, r * 0.3, r * 0.15, (70, 130, 40))
    elif f == "clove":
        pts = rot(
            np.array(
                [
                    [r * 1.1, 0],
                    [0.2 * r, -0.75 * r],
                    [-0.8 * r, -0.5 * r],
                    [-0.9 * r, 0.4 * r],
                    [0.2 * r, 0.75 * r],
                ]
            ),
            x,
            y,
            angle,
        )
        pen.poly(pts, dark)
        pen.ellipse(x, y, r * 0.6, r * 0.45, c, angle=np.degrees(angle) + 90)
        draw_texture(pen, look, x, y, r * 0.5, r * 0.35)
    elif f == "leaf":
        for k, (dx, dy) in enumerate(
            ((0, 0), (0.5, -0.3), (-0.5, -0.3), (0.35, 0.45), (-0.35, 0.45))
        ):
            pen.circle(
                x + dx * r, y + dy * r, r * (0.6 if k else 0.7), c if k % 2 else shade(c, 0.9)
            )
        pen.line(x, y + r * 0.8, x, y - r * 0.6, c2, 1.2)
    elif f == "floret":
        pen.line(x, y + r * 0.9, x, y, mix(c, (200, 230, 160), 0.5), r * 0.45)
        for dx, dy in ((0, -0.35), (-0.45, -0.1), (0.45, -0.1), (-0.2, 0.2), (0.25, 0.2)):
            pen.circle(x + dx * r, y + dy * r, r * 0.42, c)
        draw_texture(pen, look, x, y - r * 0.1, r * 0.6, r * 0.45)
    elif f == "long":
        pts = rot(
            np.array([[-r * 1.3, 0.0], [-r * 0.5, r * 0.25], [r * 0.5, r * 0.25], [r * 1.3, 0.0]]),
            x,
            y,
            angle + np.pi / 2,
        )
        pen.polyline(pts, dark, r * 0.8)
        pen.polyline(pts, c, r * 0.62)
        tip = pts[-1]
        pen.circle(float(tip[0]), float(tip[1]), r * 0.22, shade(c, 0.45))
    elif f == "disc":
        pen.ellipse(x, y, r * 1.2, r * 0.8, dark)
        pen.ellipse(x, y, r * 1.12, r * 0.73, c)
        draw_texture(pen, look, x, y, r * 0.9, r * 0.55)
    elif f == "slice":
        pen.rect(x - r, y - r * 0.8, x + r, y + r * 0.75, c2)
        pen.circle(x - r * 0.55, y - r * 0.75, r * 0.45, c2)
        pen.circle(x + r * 0.55, y - r * 0.75, r * 0.45, c2)
        pen.rect(x - r * 0.82, y - r * 0.62, x + r * 0.82, y + r * 0.6, c)
        draw_texture(pen, look, x, y, r * 0.65, r * 0.45)
    elif f == "muffin":
        pts = np.array(
            [
                [x - r * 0.75, y],
                [x + r * 0.75, y],
                [x + r * 0.55, y + r * 0.8],
                [x - r * 0.55, y + r * 0.8],
            ]
        )
        pen.poly(pts, c2)
        for k in range(-2, 3):
            pen.line(x + k * r * 0.28, y, x + k * r * 0.2, y + r * 0.8, shade(c2, 0.8), 0.8)
        pen.ellipse(x, y - r * 0.05, r * 0.95, r * 0.7, c)
        draw_texture(pen, look, x, y - r * 0.1, r * 0.7, r * 0.45)
    elif f == "bar":
        pen.rect(x - r * 1.1, y - r * 0.7, x + r * 1.1, y + r * 0.7, shade(c, 0.8))
        pen.rect(x - r, y - r * 0.6, x + r, y + r * 0.6, c)
        draw_texture(pen, look, x, y, r, r * 0.6)
    elif f == "block":
        pen.rect(x - r, y - r * 0.55, x + r, y + r * 0.75, shade(c, 0.8))
        pen.rect(x - r, y - r * 0.75, x + r, y + r * 0.45, c)
        draw_texture(pen, look, x, y - r * 0.15, r * 0.8, r * 0.45)
    elif f == "cap":
        pen.rect(x - r * 0.25, y, x + r * 0.25, y + r * 0.8, c2)
        pen.ellipse(x, y, r, r * 0.7, c, start=180, end=360)
        pen.ellipse(x, y, r, r * 0.18, shade(c, 0.8))
        draw_texture(pen, look, x, y - r * 0.35, r * 0.65, r * 0.3)
    elif f == "chunk":
        pts = rot(
            np.array(
                [
                    [r, 0.1 * r],
                    [0.3 * r, -0.8 * r],
                    [-0.7 * r, -0.6 * r],
                    [-r, 0.3 * r],
                    [-0.1 * r, 0.9 * r],
                ]
            ),
            x,
            y,
            angle,
        )
        pen.poly(pts, c)
        draw_texture(pen, look, x, y, r * 0.6, r * 0.5)
    elif f == "avocado":
        pen.ellipse(x, y, r * 0.8, r * 1.05, c, angle=np.degrees(angle))
        pen.ellipse(x, y, r * 0.66, r * 0.9, c2, angle=np.degrees(angle))
        pen.circle(x, y + r * 0.15, r * 0.35, (120, 70, 40))
    elif f == "strip":
        pts = rot(
            np.array([[-r * 1.3, 0.0], [-r * 0.4, r * 0.2], [r * 0.4, -r * 0.2], [r * 1.3, 0.0]]),
            x,
            y,
            angle + np.pi / 2,
        )
        pen.polyline(pts, c, r * 0.7)
        pen.polyline(pts, c2, r * 0.2)
    else:  # "small" and bulk forms used as items: a little round piece
        pen.circle(x, y, r * 0.8, dark)
        pen.circle(x - r * 0.08, y - r * 0.08, r * 0.68, c)
        draw_texture(pen, look, x, y, r * 0.5, r * 0.5)


def draw_pieces(
    pen: Pen, look: Look, x: float, y: float, rx: float, ry: float, n: int, salt: int
) -> None:
    """Chopped bits scattered in an ellipse; positions are fixed per (ingredient, salt)."""
    if n <= 0:
        return
    rng = np.random.default_rng([name_hash(look.name, "pieces"), salt & 0xFFFFFFFF])
    rr = np.sqrt(rng.uniform(0.0, 1.0, n))
    aa = rng.uniform(0.0, 2 * np.pi, n)
    size = max(1.2, min(rx, ry) * 0.16)
    inner = look.color2 if look.form in ("round", "avocado", "long", "clove") else look.color
    for i in range(n):
        px, py = x + rr[i] * np.cos(aa[i]) * rx, y + rr[i] * np.sin(aa[i]) * ry
        s = size * (0.7 + 0.6 * ((i * 7919) % 13) / 13.0)
        if i % 3 == 0:
            pen.rect(px - s, py - s * 0.8, px + s, py + s * 0.8, shade(look.color, 0.85))
            pen.rect(px - s * 0.6, py - s * 0.5, px + s * 0.6, py + s * 0.5, inner)
        else:
            tri = np.array([[px - s, py + s * 0.7], [px + s, py + s * 0.6], [px + s * 0.1, py - s]])
            pen.poly(tri, look.color if i % 3 == 1 else inner)


def draw_bulk(pen: Pen, look: Look, x: float, y: float, rx: float, ry: float, mound: bool) -> None:
    """A pile (powder/grain) or a pool (liquid/paste) of an ingredient."""
    if rx < 0.6:
        return
    c = look.color
    if look.form == "liquid":
        pen.ellipse(x, y, rx, ry, shade(c, 0.88))
        pen.ellipse(x, y - ry * 0.06, rx * 0.94, ry * 0.9, c)
        pen.ellipse(x - rx * 0.35, y - ry * 0.4, rx * 0.3, ry * 0.16, mix(c, (255, 255, 255), 0.5))
        if look.texture != "plain":
            draw_texture(pen, look, x, y, rx * 0.8, ry * 0.7)
        return
    if mound:
        pen.ellipse(x, y, rx, ry, shade(c, 0.8))
        pen.ellipse(x, y - ry * 0.25, rx * 0.78, ry * 0.8, shade(c, 0.93))
        pen.ellipse(x - rx * 0.1, y - ry * 0.45, rx * 0.45, ry * 0.45, c)
    else:
        pen.ellipse(x, y, rx, ry, shade(c, 0.9))
        pen.ellipse(x, y - ry * 0.1, rx * 0.85, ry * 0.8, c)
    draw_texture(pen, look, x, y - ry * 0.15, rx * 0.8, ry * 0.7)


def draw_package(pen: Pen, look: Look, x: float, y: float, s: float = 1.0) -> None:
    """The source an ingredient comes from, standing on the counter at (x, y) (its base centre)."""
    p, pc, c = look.package, look.pkg_color, look.color
    if p == "pile":
        draw_item(pen, look, x - 5 * s, y - 8 * s, 7 * s)
        draw_item(pen, look, x + 6 * s, y - 7 * s, 7 * s)
        draw_item(pen, look, x, y - 15 * s, 7 * s)
        return
    if p == "shaker":
        pen.rect(x - 6 * s, y - 24 * s, x + 6 * s, y, pc)
        pen.ellipse(x, y, 6 * s, 2.5 * s, shade(pc, 0.7))
        pen.rect(x - 6 * s, y - 16 * s, x + 6 * s, y - 8 * s, c)
        pen.ellipse(x, y - 24 * s, 6 * s, 2.5 * s, (200, 200, 205))
        pen.rect(x - 6 * s, y - 29 * s, x + 6 * s, y - 24 * s, (190, 190, 196))
        pen.ellipse(x, y - 29 * s, 6 * s, 2.5 * s, (225, 225, 230))
        return
    if p == "bottle":
        pen.rect(x - 7 * s, y - 26 * s, x + 7 * s, y, mix(c, pc, 0.3))
        pen.ellipse(x, y - 26 * s, 7 * s, 4 * s, mix(c, pc, 0.3))
        pen.rect(x - 3 * s, y - 38 * s, x + 3 * s, y - 26 * s, mix(c, pc, 0.3))
        pen.rect(x - 3.5 * s, y - 42 * s, x + 3.5 * s, y - 37 * s, pc)
        pen.rect(x - 7 * s, y - 18 * s, x + 7 * s, y - 8 * s, (245, 245, 240))
        pen.rect(x - 5 * s, y - 16 * s, x + 5 * s, y - 10 * s, pc)
        return
    if p == "carton":
        pen.rect(x - 8 * s, y - 30 * s, x + 8 * s, y, (248, 248, 250))
        pen.poly(
            np.array([[x - 8 * s, y - 30 * s], [x, y - 38 * s], [x + 8 * s, y - 30 * s]]),
            (230, 230, 235),
        )
        pen.rect(x - 8 * s, y - 22 * s, x + 8 * s, y - 10 * s, pc)
        pen.circle(x, y - 16 * s, 4 * s, c)
        return
    if p == "tub":
        pen.rect(x - 11 * s, y - 13 * s, x + 11 * s, y, pc)
        pen.ellipse(x, y, 11 * s, 3.5 * s, shade(pc, 0.8))
        pen.ellipse(x, y - 13 * s, 11 * s, 4 * s, c)
        draw_texture(pen, look, x, y - 13 * s, 8 * s, 2.8 * s)
        return
    if p == "jar":
        pen.rect(x - 9 * s, y - 22 * s, x + 9 * s, y, shade(c, 0.9))
        pen.ellipse(x, y, 9 * s, 3 * s, shade(c, 0.75))
        draw_texture(pen, look, x, y - 11 * s, 7 * s, 8 * s)
        pen.rect(x - 9 * s, y - 27 * s, x + 9 * s, y - 22 * s, pc if pc != c else (200, 200, 200))
        pen.ellipse(x, y - 27 * s, 9 * s, 3 * s, shade(pc if pc != c else (200, 200, 200), 1.15))
        return
    if p == "box":
        pen.poly(
            np.array(
                [
                    [x - 12 * s, y],
                    [x + 8 * s, y],
                    [x + 13 * s, y - 5 * s],
                    [x + 13 * s, y - 26 * s],
                    [x - 7 * s, y - 26 * s],
                    [x - 12 * s, y - 21 * s],
                ]
            ),
            shade(pc, 0.75),
        )
        pen.rect(x - 12 * s, y - 21 * s, x + 8 * s, y, pc)
        draw_item(pen, look, x - 2 * s, y - 10 * s, 6 * s)
        return
    # bag
    pts = np.array(
        [
            [x - 11 * s, y],
            [x + 11 * s, y],
            [x + 10 * s, y - 24 * s],
            [x + 7 * s, y - 30 * s],
            [x - 7 * s, y - 30 * s],
            [x - 10 * s, y - 24 * s],
        ]
    )
    pen.poly(pts, pc)
    pen.rect(x - 8 * s, y - 18 * s, x + 8 * s, y - 5 * s, (246, 240, 226))
    draw_bulk(pen, look, x, y - 9 * s, 6 * s, 3.5 * s, mound=True)
