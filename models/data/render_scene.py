"""The static kitchen: countertop and clutter, containers, stove, timer, measures and microwave.

Coordinates are scene units (render_draw.UNITS across). The camera crops the middle ~89% of the
canvas, so anything a slot depends on stays inside x, y in [24, 232].
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from stepdiff.models.data.render_draw import RGB, Pen, mix, name_hash, shade
from stepdiff.models.data.render_looks import Look, draw_bulk, draw_item

WALL_Y = 50.0  # where the backsplash meets the counter
CENTER = (116.0, 150.0)  # where the step's container stands
BASE_Y = 170.0  # y of a container's base ellipse
STATION = (212.0, 150.0)  # where the measured quantity waits
TIMER = (146.0, 46.0, 232.0, 94.0)  # kitchen timer body: dial and digits
SOURCES_X = (44.0, 74.0, 104.0)  # ingredient packages along the back of the counter
SOURCES_Y = 86.0


# --- background ----------------------------------------------------------------------------------

_MATERIALS = (
    ("wood", (190, 146, 102)),
    ("granite", (150, 146, 142)),
    ("marble", (226, 224, 220)),
    ("laminate", (214, 204, 184)),
    ("steel", (176, 180, 186)),
    ("butcher", (206, 164, 112)),
)
_NEUTRAL = (206, 196, 182)
_TILES = (
    (236, 236, 230),
    (180, 204, 212),
    (214, 150, 130),
    (150, 164, 186),
    (224, 214, 180),
    (170, 196, 170),
)


@lru_cache(maxsize=8)
def background(seed: int, canvas: int, clutter: bool) -> np.ndarray:
    """Countertop, backsplash and clutter: a function of the seed alone (read-only array)."""
    rng = np.random.default_rng([seed, 0xB6C0])
    if clutter:
        name, base = _MATERIALS[int(rng.integers(len(_MATERIALS)))]
        # Half way to a neutral counter: kitchens differ, but not so much that the counter
        # outweighs the step in a CNN's pooled features.
        base = mix(shade(base, rng.uniform(0.94, 1.05)), _NEUTRAL, 0.5)
        tile = mix(_TILES[int(rng.integers(len(_TILES)))], _NEUTRAL, 0.4)
    else:
        name, base, tile = "laminate", (214, 204, 184), (236, 236, 230)
    k = canvas / 256.0
    img = np.empty((canvas, canvas, 3), np.float32)
    img[:] = base
    # Texture noise has its own stream, so the layout (clutter) is the same at every frame size.
    tex = np.random.default_rng([seed, 0xB6C1])
    low = cv2.resize(
        tex.normal(0, 1, (12, 12)).astype(np.float32),
        (canvas, canvas),
        interpolation=cv2.INTER_CUBIC,
    )
    fine = tex.normal(0, 1, (canvas, canvas)).astype(np.float32)
    if name in ("wood", "butcher"):
        yy = np.arange(canvas, dtype=np.float32)[:, None] / k
        xx = np.arange(canvas, dtype=np.float32)[None, :] / k
        grain = np.sin(yy * 0.9 + xx * 0.04 + low * 1.6 + fine * 0.1) * 0.5 + 0.5
        img *= (0.98 + 0.025 * grain)[..., None]
    elif name == "granite":
        img *= (1.0 + 0.03 * low)[..., None]
        img += (fine * 3.5)[..., None]
    elif name == "marble":
        img *= (1.0 + 0.02 * low)[..., None]
        img += (fine * 3.0)[..., None]
    else:
        img *= (1.0 + 0.03 * low)[..., None]
        img += (fine * 2.5)[..., None]
    # Light falls from the window behind: the counter darkens towards the camera.
    ramp = np.linspace(1.04, 0.86, canvas, dtype=np.float32)[:, None, None]
    img *= ramp
    out = np.clip(img, 0, 255).astype(np.uint8)
    pen = Pen(out)
    if name == "marble":
        for _ in range(5):
            pts = np.cumsum(rng.normal(0, 6, (12, 2)), axis=0) + rng.uniform(0, 256, 2)
            pen.polyline(pts, (196, 196, 200), 0.8)
    if name == "granite":
        for _ in range(60):
            x, y = rng.uniform(0, 256, 2)
            pen.circle(x, y, rng.uniform(0.5, 1.1), shade(base, rng.choice([0.6, 1.3])))
    # Backsplash tiles.
    pen.rect(0, 0, 256, WALL_Y, tile)
    grout = shade(tile, 0.8)
    for gx in np.arange(-6.0, 256, 22.0):
        pen.line(gx, 0, gx, WALL_Y, grout, 1.0)
    for gy in (WALL_Y - 22.0,):
        pen.line(0, gy, 256, gy, grout, 1.0)
    pen.rect(0, WALL_Y - 1.5, 256, WALL_Y + 1.5, shade(base, 0.7))
    if clutter:
        _draw_clutter(pen, rng)
    out.setflags(write=False)
    return out


def _draw_clutter(pen: Pen, rng: np.random.Generator) -> None:
    """Kitchen things that are not ingredients, in places no slot uses."""
    spots = [
        (16.0, 52.0),
        (140.0, 50.0),
        (160.0, 50.0),
        (244.0, 52.0),
        (18.0, 226.0),
        (244.0, 212.0),
    ]
    order = rng.permutation(len(spots))[: int(rng.integers(2, 5))]
    for i in order:
        x, y = spots[i]
        kind = int(rng.integers(6))
        c = tuple(int(v) for v in rng.integers(40, 230, 3))
        if y > 150:  # corners of the counter: a towel or a sponge
            if kind % 2:
                pen.poly(
                    np.array(
                        [[x - 20, y - 14], [x + 16, y - 18], [x + 22, y + 16], [x - 16, y + 20]]
                    ),
                    c,
                )
                for f in (-8, 0, 8):
                    pen.line(x - 18, y + f, x + 18, y + f - 3, shade(c, 0.75), 1.5)
            else:
                pen.rect(x - 12, y - 7, x + 12, y + 7, (240, 210, 60))
                pen.rect(x - 12, y - 7, x + 12, y - 2, (40, 140, 60))
            continue
        if kind == 0:  # utensil crock
            pen.rect(x - 8, y - 18, x + 8, y, c)
            for dx in (-5, 0, 5):
                pen.line(x + dx, y - 18, x + dx * 1.6, y - 40, (120, 90, 60), 2.0)
        elif kind == 1:  # kettle
            pen.ellipse(x, y - 10, 11, 10, c)
            pen.line(x + 9, y - 12, x + 17, y - 20, c, 3.0)
            pen.ellipse(x, y - 21, 6, 3, shade(c, 0.7), thickness=2)
        elif kind == 2:  # paper towel roll
            pen.rect(x - 7, y - 30, x + 7, y, (248, 248, 244))
            pen.line(x, y - 30, x, y, (200, 200, 200), 1.0)
        elif kind == 3:  # plant
            pen.rect(x - 7, y - 10, x + 7, y, (180, 90, 50))
            for a in (-0.6, -0.2, 0.2, 0.6):
                pen.ellipse(x + 10 * np.sin(a), y - 16, 3, 9, (50, 140, 60), angle=np.degrees(a))
        elif kind == 4:  # toaster
            pen.rect(x - 14, y - 16, x + 14, y, c)
            pen.rect(x - 9, y - 16, x - 2, y - 13, (30, 30, 30))
            pen.rect(x + 2, y - 16, x + 9, y - 13, (30, 30, 30))
        else:  # knife block
            pen.poly(
                np.array([[x - 9, y], [x + 9, y], [x + 5, y - 22], [x - 11, y - 16]]), (140, 96, 56)
            )
            for dx in (-6, -2, 2):
                pen.line(x + dx, y - 18, x + dx - 2, y - 25, (30, 30, 30), 2.0)


# --- containers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vessel:
    """A container seen from the camera: the rim ellipse, a body below it and how contents show."""

    kind: str | None
    cx: float
    cy: float  # rim centre
    rx: float
    ry: float
    h: float  # body height below the rim
    mode: str  # "top": open, seen from above; "side": glass, fill seen through; "flat": on top

    def scaled(self, s: float, cx: float, cy: float) -> Vessel:
        return Vessel(self.kind, cx, cy, self.rx * s, self.ry * s, self.h * s, self.mode)

    def surface(self, level: float) -> tuple[float, float, float, float]:
        """Ellipse where contents at fill level 0..1 are seen."""
        level = min(1.0, max(0.0, level))
        if self.mode == "flat":
            f = 0.15 + 0.75 * level
            return (self.cx, self.cy, self.rx * f, self.ry * f)
        if self.mode == "side":
            top = self.cy + self.h * (1.0 - 0.92 * level)
            return (self.cx, top, self.rx * 0.9, self.ry * 0.9)
        deep = min(1.0, self.h / 30.0)
        f = 0.12 + 0.82 * level
        return (
            self.cx,
            self.cy + self.ry * 0.4 * deep * (1.0 - level),
            self.rx * 0.88 * f,
            self.ry * 0.85 * f,
        )

    def pile(self, amount: float) -> tuple[float, float, float, float]:
        """Ellipse of material that covers `amount` (0..1) of the container: its area grows in
        proportion (through glass, the height does), so 3x the amount is 3x the pixels."""
        amount = min(1.0, max(0.0, amount))
        if self.mode == "side":
            return self.surface(amount)
        f = 0.94 * np.sqrt(amount)
        if self.mode == "flat":
            return (self.cx, self.cy, self.rx * 0.9 * f, self.ry * 0.9 * f)
        deep = min(1.0, self.h / 30.0)
        return (
            self.cx,
            self.cy + self.ry * 0.4 * deep * (1.0 - amount),
            self.rx * 0.9 * f,
            self.ry * 0.87 * f,
        )


# kind: (rim rx, body height, mode, outside colour, inside colour)
_VESSELS: dict[str | None, tuple[float, float, str, RGB, RGB]] = {
    "bowl": (58, 20, "top", (84, 132, 204), (178, 198, 222)),
    "pan": (60, 7, "top", (44, 44, 48), (74, 74, 80)),
    "pot": (50, 38, "top", (168, 170, 178), (92, 92, 98)),
    "mug": (22, 32, "top", (204, 58, 56), (176, 182, 190)),
    "plate": (66, 3, "flat", (236, 236, 240), (250, 250, 250)),
    "ramekin": (24, 13, "top", (250, 250, 246), (186, 168, 150)),
    "cup": (26, 40, "side", (206, 222, 232), (150, 168, 182)),
    "board": (70, 6, "flat", (150, 100, 56), (208, 160, 104)),
    "blender": (28, 74, "side", (200, 216, 226), (146, 164, 178)),
    "jar": (26, 44, "side", (196, 214, 204), (146, 170, 158)),
    None: (52, 0, "flat", (0, 0, 0), (0, 0, 0)),
}


def vessel_for(kind: str | None, default: str | None = None) -> Vessel:
    if kind is None:
        name = default
    elif kind in _VESSELS:
        name = kind
    else:
        name = _unknown_vessel(kind.lower())
    rx, h, mode, _, _ = _VESSELS.get(name, _VESSELS["bowl"])
    return Vessel(name, CENTER[0], BASE_Y - h - rx * 0.3, rx, rx * 0.58, h, mode)


def _unknown_vessel(kind: str) -> str:
    """An unlisted container name draws as a listed one it resembles, or a bowl."""
    for key in _VESSELS:
        if key and key in kind:
            return key
    if any(w in kind for w in ("skillet", "wok", "griddle", "tray", "sheet")):
        return "pan"
    if any(w in kind for w in ("saucepan", "kettle", "pot")):
        return "pot"
    if any(w in kind for w in ("glass", "container", "bottle")):
        return "jar"
    if "dish" in kind:
        return "ramekin"
    return "bowl"


def vessel_colors(v: Vessel) -> tuple[RGB, RGB]:
    _, _, _, out, inside = _VESSELS.get(v.kind, _VESSELS["bowl"])
    return out, inside


def draw_vessel_back(pen: Pen, v: Vessel) -> None:
    """Everything of the container that lies behind its contents."""
    if v.kind is None:
        return
    out, inside = vessel_colors(v)
    x, y, rx, ry, h = v.cx, v.cy, v.rx, v.ry, v.h
    dark = shade(out, 0.72)
    if v.kind == "board":
        pen.poly(
            np.array(
                [
                    [x - rx + 2, y - ry + 2],
                    [x + rx - 2, y - ry + 2],
                    [x + rx + 4, y + ry + 6],
                    [x - rx - 4, y + ry + 6],
                ]
            ),
            out,
        )
        pen.poly(
            np.array(
                [
                    [x - rx + 2, y - ry],
                    [x + rx - 2, y - ry],
                    [x + rx + 4, y + ry],
                    [x - rx - 4, y + ry],
                ]
            ),
            inside,
        )
        for f in (-0.5, 0.0, 0.5):
            pen.line(
                x - rx * 0.9, y + ry * f, x + rx * 0.9, y + ry * f * 1.1, shade(inside, 0.9), 0.8
            )
        pen.circle(x + rx * 0.82, y - ry * 0.6, 3.5, shade(inside, 0.7))
        return
    if v.kind == "plate":
        pen.ellipse(x, y + 3, rx, ry, (190, 190, 196))
        pen.ellipse(x, y, rx, ry, out)
        pen.ellipse(x, y + 1, rx * 0.7, ry * 0.68, inside)
        pen.ellipse(x, y + 1, rx * 0.7, ry * 0.68, (222, 222, 228), thickness=0.8)
        return
    if v.kind == "blender":
        pen.rect(x - rx * 1.25, y + h - 4, x + rx * 1.25, y + h + 22, (40, 40, 44))
        pen.ellipse(x, y + h + 22, rx * 1.25, ry * 0.8, (28, 28, 30))
        for bx in (-0.6, 0.0, 0.6):
            pen.circle(x + bx * rx, y + h + 10, 3.0, (200, 60, 50) if bx == 0 else (180, 180, 180))
    if v.kind == "pan":  # long handle to the right
        pen.line(x + rx * 0.9, y + 4, x + rx + 58, y + 28, (30, 30, 30), 8.0)
    if v.kind == "pot":
        for sx in (-1, 1):
            pen.ellipse(x + sx * (rx + 6), y + 6, 8, 4, (130, 130, 136), thickness=3)
    if v.kind == "mug":
        pen.ellipse(x + rx + 4, y + h * 0.45, 9, 12, out, thickness=4)
    if v.kind == "cup":
        pen.ellipse(x + rx + 5, y + h * 0.4, 8, 13, (150, 170, 186), thickness=3)
    # Body: the outer wall from the rim down to the base.
    bottom = rx * (0.62 if v.kind == "bowl" else 0.94)
    pen.ellipse(x, y + h, bottom, ry * bottom / rx, dark)
    pen.poly(np.array([[x - rx, y], [x + rx, y], [x + bottom, y + h], [x - bottom, y + h]]), out)
    if v.kind == "ramekin":
        for f in np.linspace(-0.85, 0.85, 9):
            pen.line(
                x + rx * f, y + ry * 0.5, x + rx * f * 0.95, y + h + ry * 0.4, shade(out, 0.85), 0.8
            )
    pen.ellipse(x, y, rx, ry, shade(out, 1.1) if v.mode != "side" else shade(out, 0.92))
    if v.mode == "top":
        pen.ellipse(x, y + 1, rx * 0.9, ry * 0.86, inside)
        pen.ellipse(x, y + 1 + ry * 0.25, rx * 0.6, ry * 0.5, shade(inside, 0.94))
    else:  # glass: the back wall shows through
        pen.poly(
            np.array(
                [
                    [x - rx * 0.9, y],
                    [x + rx * 0.9, y],
                    [x + bottom * 0.9, y + h],
                    [x - bottom * 0.9, y + h],
                ]
            ),
            inside,
        )


def draw_vessel_front(pen: Pen, v: Vessel) -> None:
    """What covers the contents: glass walls with measuring marks and the near rim."""
    if v.kind is None or v.mode != "side":
        return
    out, _ = vessel_colors(v)
    x, y, rx, h = v.cx, v.cy, v.rx, v.h
    edge = shade(out, 0.7)
    pen.ellipse(x, y, rx, v.ry, edge, thickness=1.2)
    pen.line(x - rx, y, x - rx * 0.94, y + h, edge, 1.2)
    pen.line(x + rx, y, x + rx * 0.94, y + h, edge, 1.2)
    pen.ellipse(x, y + h, rx * 0.94, v.ry * 0.94, edge, start=0, end=180, thickness=1.2)
    pen.line(x - rx * 0.6, y + 4, x - rx * 0.6, y + h - 4, (250, 252, 255), 1.5)
    if v.kind in ("cup", "blender"):
        for f in (0.25, 0.5, 0.75):
            yy = y + h * (1 - f)
            pen.line(x + rx * 0.3, yy, x + rx * 0.8, yy, (210, 40, 40), 1.0)
    if v.kind == "jar":
        pen.rect(x - rx * 0.8, y + h * 0.35, x + rx * 0.8, y + h * 0.7, (246, 240, 220))


# --- stove ---------------------------------------------------------------------------------------

HEAT_LEVEL = {"off": 0.0, "low": 1.0, "medium": 2.0, "high": 3.0}
_HEAT_WORDS = {
    "off": 0.0,
    "warm": 0.7,
    "low": 1.0,
    "simmer": 1.2,
    "gentle": 1.2,
    "medium": 2.0,
    "moderate": 2.0,
    "mid": 2.0,
    "high": 3.0,
    "max": 3.0,
    "full": 3.0,
}


def heat_level(heat: str | None) -> float:
    """0 (off) .. 3 (high); "medium-high" lands between medium and high, unknown words hash."""
    if heat is None:
        return 2.0
    h = heat.strip().lower()
    if h in HEAT_LEVEL:
        return HEAT_LEVEL[h]
    words = [w for w in h.replace("-", " ").replace("_", " ").split() if w in _HEAT_WORDS]
    if words:
        return float(np.mean([_HEAT_WORDS[w] for w in words]))
    return 0.8 + 2.2 * (name_hash(h, "heat") % 1000) / 1000.0


def draw_stove(pen: Pen, v: Vessel, heat: str, flicker: int) -> None:
    """Cooktop under the container with a gas ring: flame size and colour show the heat."""
    level = heat_level(heat)
    bx, by = v.cx, v.cy + v.h
    pen.rect(34, 92, 196, 240, (34, 34, 38))
    pen.rect(34, 92, 196, 240, (70, 70, 76), thickness=1.5)
    for f in (-1, 1):  # cast-iron grate
        pen.line(bx + f * 70, by - 42, bx + f * 70, by + 42, (60, 60, 64), 4.0)
        pen.line(bx - 70, by + f * 40, bx + 70, by + f * 40, (60, 60, 64), 4.0)
    ring = max(v.rx * 0.85, 26.0)
    pen.ellipse(bx, by, ring, ring * 0.58, (90, 90, 96), thickness=2.5)
    # Knob on the front edge: its pointer turns with the heat setting.
    kx, ky = 176.0, 224.0
    pen.circle(kx, ky, 9, (200, 200, 206))
    ang = -np.pi / 2 + level * (np.pi * 0.6)
    pen.line(kx, ky, kx + 8 * np.cos(ang), ky + 8 * np.sin(ang), (200, 30, 30), 2.5)
    for i in range(4):  # off, low, medium, high
        a = -np.pi / 2 + i * np.pi * 0.6
        on = abs(i - level) < 0.5
        pen.circle(
            kx + 13 * np.cos(a),
            ky + 13 * np.sin(a),
            2.4 if on else 1.4,
            (255, 80, 40) if on else (240, 240, 240),
        )
    if level <= 0.05:
        return
    lv = [0.0, 1.0, 2.0, 3.0]
    length = float(np.interp(level, lv, [0.0, 8.0, 12.0, 19.0]))
    core = _lerp_color(level, ((80, 140, 255), (80, 140, 255), (60, 120, 255), (250, 150, 40)))
    tip = _lerp_color(level, ((170, 210, 255), (170, 210, 255), (250, 150, 60), (255, 230, 90)))
    pen.ellipse(bx, by, ring + 1.5, (ring + 1.5) * 0.58, core, thickness=2.0)
    n = 18
    for i in range(n):
        a = 2 * np.pi * (i + 0.5 * (flicker % 2)) / n
        jitter = 1.0 + 0.25 * np.sin(i * 2.7 + flicker * 1.9)
        c, s = np.cos(a), np.sin(a)
        x0, y0 = bx + c * ring, by + s * ring * 0.58
        x1, y1 = (
            bx + c * (ring + length * jitter),
            by + s * (ring + length * jitter) * 0.58 - length * 0.3,
        )
        w = 3.5 + 0.7 * level
        pts = np.array([[x0 - s * w, y0 + c * w * 0.58], [x1, y1], [x0 + s * w, y0 - c * w * 0.58]])
        pen.poly(pts, core)
        pen.circle(x1, y1, 1.0 + level * 0.5, tip)


def _lerp_color(level: float, stops: tuple[RGB, ...]) -> RGB:
    i = int(min(max(level, 0.0), len(stops) - 1.001))
    return mix(stops[i], stops[i + 1], level - i)


# --- timer ---------------------------------------------------------------------------------------


def fmt_time(seconds: float) -> str:
    s = int(round(max(0.0, seconds)))
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def draw_timer_body(pen: Pen) -> None:
    x0, y0, x1, y1 = TIMER
    pen.rect(x0 - 1, y0 + 2, x1 + 1, y1 + 3, (150, 150, 150))
    pen.rect(x0, y0, x1, y1, (246, 246, 242))
    pen.rect(x0 + 43, y0 + 8, x1 - 3, y1 - 8, (52, 64, 56))


_DIAL_MIN_S, _DIAL_MAX_S = 5.0, 3600.0


def dial_fraction(seconds: float) -> float:
    """Log-scaled dial position: doubling the time always adds the same wedge (~38 degrees)."""
    if seconds <= 0:
        return 0.0
    f = np.log(max(seconds, 1.0) / _DIAL_MIN_S) / np.log(_DIAL_MAX_S / _DIAL_MIN_S)
    return float(np.clip(0.04 + 0.96 * f, 0.0, 1.0))


def draw_timer_readout(pen: Pen, remaining: float, total: float) -> None:
    """A dial wedge for the time left (readable at a glance) and the digits (readable exactly)."""
    x0, y0, x1, y1 = TIMER
    cx, cy, r = x0 + 22, (y0 + y1) / 2, 19.0
    pen.circle(cx, cy, r + 1.5, (90, 90, 96))
    pen.circle(cx, cy, r, (250, 250, 250))
    sweep = 360.0 * dial_fraction(remaining)
    if sweep > 0:
        pen.ellipse(cx, cy, r, r, (226, 50, 40), start=-90, end=-90 + sweep)
    pen.circle(cx, cy, 2.5, (60, 60, 66))
    s = fmt_time(remaining)
    hgt = 14.0 if len(s) <= 4 else 11.5 if len(s) <= 5 else 8.0
    w = pen.text_width(s, hgt, 1.5)
    lx0, lx1 = x0 + 43, x1 - 3
    pen.text(s, (lx0 + lx1) / 2 - w / 2, cy + hgt / 2, hgt, (150, 255, 150), 1.5)


# --- measures (the quantity slot) ---------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """How a quantity is shown: the material it adds (pile, fill, pieces) and how it was measured
    (measuring spoons, a jug, a scale readout, a pinch or a count)."""

    kind: str  # "spoon", "jug", "scale", "pinch", "count", "none"
    amount: float  # 0..1: share of the container the material covers (visible_amount)
    count: int  # spoons, or whole pieces
    fraction: float  # how full the last spoon is
    spoon_r: float  # measuring-spoon bowl radius in units
    jug_fill: float
    label: str
    ml: float = 0.0  # the amount as a volume (a gram counts as a millilitre)


# One unit as a volume in ml: every unit is brought to this common scale before it is drawn.
_ML = {"tsp": 5.0, "tbsp": 15.0, "cup": 240.0, "ml": 1.0, "oz": 28.0, "g": 1.0, "pinch": 0.4}
# Countable units: the volume of one piece, for an ingredient drawn as a pile (a can of beans).
_PIECE_ML = {
    "piece": 30.0,
    "slice": 20.0,
    "clove": 5.0,
    "can": 400.0,
    "block": 200.0,
    "knob": 10.0,
    "drop": 0.05,
}
FULL_ML = 500.0  # this much covers a container's whole floor (or fills it, seen through glass)
AMOUNT_POWER = 0.45  # area grows as volume^0.45: 3x the volume (tsp -> tbsp) is 1.64x the area
DEFAULT_AMOUNT = 0.35  # a step that names no quantity


def visible_amount(ml: float) -> float:
    """Share (0..1) of a container's floor covered by `ml` of material: monotone, sqrt-like."""
    if ml <= 0:
        return 0.0
    return float(np.clip((ml / FULL_ML) ** AMOUNT_POWER, 0.02, 1.0))


# Spellings of the same unit, with a factor into the canonical one.
_UNIT_ALIASES: dict[str, tuple[str, float]] = {
    "teaspoon": ("tsp", 1.0),
    "teaspoons": ("tsp", 1.0),
    "tsps": ("tsp", 1.0),
    "tablespoon": ("tbsp", 1.0),
    "tablespoons": ("tbsp", 1.0),
    "tbsps": ("tbsp", 1.0),
    "tbs": ("tbsp", 1.0),
    "tbl": ("tbsp", 1.0),
    "spoonful": ("tbsp", 1.0),
    "spoonfuls": ("tbsp", 1.0),
    "cups": ("cup", 1.0),
    "c": ("cup", 1.0),
    "milliliter": ("ml", 1.0),
    "milliliters": ("ml", 1.0),
    "millilitre": ("ml", 1.0),
    "millilitres": ("ml", 1.0),
    "l": ("ml", 1000.0),
    "liter": ("ml", 1000.0),
    "liters": ("ml", 1000.0),
    "litre": ("ml", 1000.0),
    "litres": ("ml", 1000.0),
    "gram": ("g", 1.0),
    "grams": ("g", 1.0),
    "kg": ("g", 1000.0),
    "ounce": ("oz", 1.0),
    "ounces": ("oz", 1.0),
    "lb": ("oz", 16.0),
    "lbs": ("oz", 16.0),
    "pound": ("oz", 16.0),
    "pounds": ("oz", 16.0),
    "pieces": ("piece", 1.0),
    "slices": ("slice", 1.0),
    "cloves": ("clove", 1.0),
    "pinches": ("pinch", 1.0),
    "dash": ("pinch", 1.0),
    "dashes": ("pinch", 1.0),
}


def volume_ml(quantity: float | None, unit: str | None) -> float | None:
    """The amount in ml on one scale for every unit (None: the step names no amount)."""
    return measure_for(quantity, unit).ml if quantity is not None or unit else None


def measure_for(quantity: float | None, unit: str | None) -> Measure:
    unit = (unit or "").lower().strip().rstrip(".")
    unit, factor = _UNIT_ALIASES.get(unit, (unit, 1.0))
    q = 1.0 if quantity is None and unit else quantity
    if q is None:
        return Measure("none", DEFAULT_AMOUNT, 0, 1.0, 0.0, 0.0, "")
    q = q * factor
    q = max(float(q), 0.0)
    if unit in _ML:
        ml = q * _ML[unit]
        amount = visible_amount(ml)
        if unit in ("tsp", "tbsp"):
            n = max(1, int(np.ceil(q - 1e-6)))
            frac = q - (n - 1) if q > 0 else 0.0
            return Measure(
                "spoon", amount, min(n, 4), frac, 7.0 if unit == "tsp" else 15.0, 0.0, unit, ml
            )
        if unit == "pinch":
            return Measure("pinch", amount, max(1, int(round(q))), 1.0, 0.0, 0.0, unit, ml)
        if unit in ("cup", "ml"):
            cap = 2.0 if unit == "cup" else 500.0
            return Measure("jug", amount, 0, 1.0, 0.0, min(1.0, q / cap), unit, ml)
        return Measure("scale", amount, 0, 1.0, 0.0, 0.0, f"{q:g} {unit}", ml)
    # Counts: pieces, slices, cloves, or a bare number of countable things. Zero is nothing.
    n = int(np.clip(round(q), 1, 12)) if q > 0 else 0
    ml = n * _PIECE_ML.get(unit, 30.0)
    return Measure("count", visible_amount(ml), n, 1.0, 0.0, 0.0, unit, ml)


def draw_measuring_spoon(
    pen: Pen, x: float, y: float, r: float, look: Look | None, fill: float, angle: float = 0.0
) -> None:
    """A measuring spoon lying with its bowl at (x, y); r sets tsp vs tbsp."""
    hx, hy = x + (r + 16) * np.cos(angle), y + (r + 16) * np.sin(angle) * 0.6
    pen.line(x, y, hx, hy, (150, 154, 160), 3.0)
    pen.ellipse(x, y, r + 1.2, (r + 1.2) * 0.8, (120, 124, 130))
    pen.ellipse(x, y, r, r * 0.8, (206, 210, 216))
    if look is not None and fill > 0:
        draw_bulk(
            pen, look, x, y, r * 0.85 * np.sqrt(fill), r * 0.68 * np.sqrt(fill), mound=True
        ) if look.bulk else draw_item(pen, look, x, y, r * 0.6 * np.sqrt(fill))


def draw_jug(pen: Pen, x: float, y: float, look: Look | None, fill: float, s: float = 1.0) -> None:
    """A glass measuring jug standing at base (x, y) with red marks and its fill level."""
    w, h = 15 * s, 40 * s
    pen.ellipse(x + w + 4 * s, y - h * 0.55, 6 * s, 11 * s, (150, 170, 186), thickness=2.5)
    pen.rect(x - w, y - h, x + w, y, (224, 234, 240))
    if look is not None and fill > 0:
        top = y - h * fill * 0.95
        pen.rect(x - w + 1, top, x + w - 1, y - 1, look.color)
        pen.ellipse(x, top, w - 1, 3 * s, mix(look.color, (255, 255, 255), 0.3))
    for f in (0.25, 0.5, 0.75, 1.0):
        yy = y - h * f * 0.95
        pen.line(x + w * 0.2, yy, x + w * 0.9, yy, (210, 40, 40), 1.0)
    pen.rect(x - w, y - h, x + w, y, (120, 140, 150), thickness=1.0)
    pen.ellipse(x, y - h, w, 3.5 * s, (150, 170, 186), thickness=1.0)


def draw_station(pen: Pen, m: Measure, looks: list[Look], remaining: int) -> None:
    """The measured quantity beside the container: what a person checks to see "how much"."""
    if m.kind == "none":
        return
    x, y = STATION
    look = looks[0] if looks else None
    if m.kind == "spoon":
        for i in range(m.count):
            fill = m.fraction if i == m.count - 1 else 1.0
            draw_measuring_spoon(
                pen, x - 10, y - 46 + i * 30, m.spoon_r * 1.2, look, fill, angle=0.15
            )
    elif m.kind == "jug":
        draw_jug(pen, x, y + 10, look, m.jug_fill)
    elif m.kind == "scale":
        pen.rect(x - 22, y - 14, x + 22, y + 30, (70, 70, 76))
        pen.rect(x - 19, y - 11, x + 19, y + 8, (196, 198, 204))
        pen.rect(x - 20, y + 11, x + 20, y + 27, (40, 60, 48))
        t_h = 10.0 if len(m.label) <= 5 else 8.0
        tw = pen.text_width(m.label, t_h, 1.3)
        pen.text(m.label, x - tw / 2, y + 19 + t_h / 2, t_h, (150, 255, 150), 1.3)
        if look is not None:
            r = 4 + 16 * np.sqrt(m.amount)
            draw_bulk(pen, look, x, y - 2, r, r * 0.55, mound=True) if look.bulk else draw_item(
                pen, look, x, y - 3, r * 0.6
            )
    elif m.kind == "pinch":
        for i in range(m.count):
            if look is not None:
                draw_bulk(pen, look, x - 6 + 8 * (i % 3), y + 8 * (i // 3), 3.0, 2.0, mound=True)
    elif m.kind == "count" and look is not None:
        for i in range(remaining):
            draw_item(pen, look, x - 7 + 14 * (i % 2), y - 44 + 15 * (i // 2), 6.5)


# --- microwave -----------------------------------------------------------------------------------

MW = (30.0, 26.0, 226.0, 178.0)  # body box
MW_WIN = (42.0, 38.0, 170.0, 166.0)  # door area


def draw_microwave_body(pen: Pen) -> None:
    x0, y0, x1, y1 = MW
    pen.rect(x0 - 2, y0 + 4, x1 + 2, y1 + 6, (60, 60, 64))
    pen.rect(x0, y0, x1, y1, (216, 218, 222))
    px = MW_WIN[2] + 8
    pen.rect(px, y0 + 10, x1 - 8, y0 + 32, (40, 52, 44))
    for r in range(4):
        for c in range(3):
            pen.rect(
                px + 3 + c * 14,
                y0 + 44 + r * 14,
                px + 13 + c * 14,
                y0 + 52 + r * 14,
                (180, 182, 188),
            )
    pen.circle(px + 22, y1 - 30, 9, (170, 172, 178))


def draw_microwave_door(pen: Pen, open_angle: float, inside_lit: bool) -> None:
    """open_angle 0 = shut; the door swings on its left hinge towards the camera."""
    x0, y0, x1, y1 = MW_WIN
    w = x1 - x0
    ca, sa = np.cos(open_angle), np.sin(open_angle)
    if open_angle < 0.05:
        pen.rect(x0, y0, x1, y1, (190, 192, 198))
        pen.rect(
            x0 + 8, y0 + 8, x1 - 22, y1 - 8, (40, 36, 30) if not inside_lit else (120, 100, 50)
        )
        pen.rect(x1 - 16, y0 + 30, x1 - 10, y1 - 30, (120, 120, 126))
        return
    fx = x0 + w * ca
    grow = 16 * sa
    pts = np.array([[x0, y0], [fx, y0 - grow], [fx, y1 + grow], [x0, y1]])
    pen.poly(pts, (176, 178, 184) if ca > 0 else (150, 152, 158))


def draw_microwave_panel(pen: Pen, remaining: float | None, power: str | None) -> None:
    px = MW_WIN[2] + 8
    y0 = MW[1]
    if remaining is not None:
        s = fmt_time(remaining)
        pen.text(s, px + 3, y0 + 27, 11.0 if len(s) <= 5 else 8.0, (140, 255, 150), 1.4)
    label = ""
    if power:
        label = {"low": "LO", "medium": "MED", "high": "HI", "off": "OFF"}.get(
            power, power[:4].upper()
        )
    if label:
        pen.rect(px, y0 + 104, px + 42, y0 + 118, (40, 52, 44))
        pen.text(label, px + 4, y0 + 116, 9.0, (255, 190, 90), 1.2)
        for i in range(int(round(heat_level(power))) if power else 0):
            pen.rect(px + 30, y0 + 114 - i * 4, px + 40, y0 + 116 - i * 4, (255, 190, 90))
