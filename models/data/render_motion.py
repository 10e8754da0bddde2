"""What moves during a step: one function per motion family draws the props and poses the hands.

Each function gets the step's plan and the frame's time and returns the hands to draw. Nothing here
reads a shared random stream: positions come from the plan (fixed per step) or from the frame's
own generator, so a step's frames never depend on any other step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from stepdiff.models.data.render_draw import RGB, Pen, mix, name_hash, rot, shade
from stepdiff.models.data.render_hands import Hand, grip_for
from stepdiff.models.data.render_looks import (
    Look,
    draw_bulk,
    draw_item,
    draw_pieces,
    draw_texture,
    look_for,
)
from stepdiff.models.data.render_scene import (
    MW_WIN,
    SOURCES_X,
    SOURCES_Y,
    STATION,
    Measure,
    Vessel,
    draw_microwave_door,
    draw_microwave_panel,
    draw_vessel_back,
    draw_vessel_front,
    heat_level,
)
from stepdiff.models.data.slots import Slots

TAU = 2.0 * np.pi

# Motions that carry an ingredient into the container: the contents grow during the step.
TRANSFER = frozenset({"pour", "scoop", "sprinkle", "crack", "squeeze", "grind", "place"})


@dataclass(frozen=True)
class Manner:
    jerk: float  # per-frame hand jitter, scene units
    amp: float  # motion amplitude factor
    pace: float  # motion frequency factor
    spill: int  # bits spilled on the counter by the end of the step
    direct: bool  # straight from the package, no measure


_ROUGH = frozenset(
    "roughly vigorously quickly hard aggressively inappropriately carelessly unevenly sloppily "
    "hastily forcefully fast violently messily".split()
)
_GENTLE = frozenset("gently slowly carefully lightly softly evenly thoroughly delicately".split())


def manner_for(text: str | None) -> Manner:
    if not text:
        return Manner(0.0, 1.0, 1.0, 0, False)
    words = set(text.lower().replace(",", " ").split())
    if words & _ROUGH:
        return Manner(3.5, 1.35, 1.6, 16, False)
    if words & _GENTLE:
        return Manner(0.0, 0.55, 0.6, 0, False)
    if "directly" in words or "straight" in words:
        return Manner(1.0, 1.0, 1.0, 5, True)
    u = (name_hash(text.lower(), "manner") % 1000) / 1000.0
    return Manner(1.0 + 2.5 * u, 0.75 + 0.55 * u, 0.7 + 0.8 * u, 3 + int(8 * u), False)


@dataclass
class Plan:
    """Everything about one step that does not change from frame to frame."""

    slots: Slots | None
    motion: str
    looks: list[Look]
    vessel: Vessel
    tool: str | None  # what the working hand holds
    tool_given: bool
    measure: Measure
    manner: Manner
    heat: str | None  # None: no stove in view
    duration: float | None
    n: int
    fps: float
    speed: float
    salt: int
    spill: np.ndarray  # (k, 2) points on the counter, in the order they appear


@dataclass
class Frame:
    t: float  # progress through the step, 0..1
    ts: float  # motion clock in seconds (speed and manner applied)
    rng: np.random.Generator
    jx: float  # manner jitter of the working hand
    jy: float


def ease(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3.0 - 2.0 * x)


def clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


def item_count(p: Plan, look: Look) -> int:
    """Whole pieces of a countable ingredient: the count itself, or more pieces for more volume
    (a tablespoon of chopped herbs is more bits than a teaspoon)."""
    m = p.measure
    if m.kind == "count":
        return m.count
    if m.kind == "none":
        return 3 if look.form in ("small", "clove", "leaf", "floret", "strip", "chunk") else 2
    if m.amount <= 0:
        return 0
    # smaller pieces, more of them to the spoonful: a tablespoon of peas is more peas than of eggs
    return int(np.clip(round(240.0 / item_radius(look) * m.amount), 1, 20))


# Natural size (radius, scene units) of one whole piece next to a ~58-unit bowl.
ITEM_R = {
    "egg": 12.0,
    "round": 13.0,
    "clove": 7.0,
    "leaf": 9.0,
    "floret": 10.0,
    "long": 11.0,
    "disc": 14.0,
    "slice": 14.0,
    "muffin": 13.0,
    "bar": 12.0,
    "block": 11.0,
    "cap": 9.0,
    "chunk": 9.0,
    "avocado": 13.0,
    "strip": 10.0,
    "small": 6.0,
}


def item_radius(look: Look) -> float:
    return ITEM_R.get(look.form, 7.0)


_HEX = np.array(
    [[c + 0.5 * (r % 2), r * 0.866] for r in range(-5, 6) for c in range(-6, 7)], np.float64
)  # a hexagonal lattice, one unit between neighbours


@lru_cache(maxsize=512)
def _packing(n: int, r: float, srx: float, sry: float) -> tuple[np.ndarray, float]:
    """n pieces of natural radius r side by side on a hexagonal grid, filling an srx x sry ellipse
    from the middle out: they keep their size, so more pieces cover more of the container, and
    shrink only when they would no longer fit (a little overlap first, as a heap does)."""
    if n <= 0:
        return np.zeros((0, 2)), r
    rr = r
    while True:
        d = 2.5 * rr
        pts = _HEX * np.array([d, d * 0.8])  # rows foreshortened, as the floor is seen
        key = (pts[:, 0] / srx) ** 2 + (pts[:, 1] / sry) ** 2 + 1e-6 * pts[:, 0]
        pos = pts[np.argsort(key, kind="stable")[:n]]
        pos = pos - pos.mean(axis=0)
        fits = (
            np.abs(pos[:, 0]).max() + rr <= srx * 1.1
            and np.abs(pos[:, 1]).max() + rr * 0.8 <= sry * 1.15
        )
        if fits or rr <= 2.5:
            break
        rr = max(rr * 0.92, 2.5)
    pos.setflags(write=False)
    return pos, rr


def item_layout(v: Vessel, n: int, r: float) -> tuple[float, float, np.ndarray, float]:
    """Where n whole pieces lie in (or on) a container: centre, offsets in units, radius."""
    sx, sy, srx, sry = v.surface(0.9)
    if v.mode == "side":
        sy = v.cy + v.h * 0.72
        srx, sry = v.rx * 0.85, v.h * 0.5
    pos, rr = _packing(n, round(r, 2), round(srx, 2), round(sry, 2))
    return sx, sy, pos, rr


def doneness(duration: float | None, level: float, default_s: float = 60.0) -> float:
    """How cooked food ends up: 0 raw, ~0.5 golden, 1 brown, 1.4 burnt. Every doubling of the
    time (or of the heat) adds the same step, so twice as long is always visibly more done."""
    if level <= 0.05:
        return 0.0
    dose = (duration if duration is not None and duration > 0 else default_s) * level / 2.0
    return float(np.clip(0.5 + 0.3 * np.log2(max(dose, 1e-3) / 60.0), 0.0, 1.4))


_GOLDEN, _BROWN, _BURNT = (214, 150, 60), (130, 76, 32), (56, 36, 22)


def cook_color(c: RGB, cook: float) -> RGB:
    """A colour after cooking: golden by 0.5, brown by 1, nearly black by 1.4."""
    if cook <= 0:
        return c
    golden = mix(c, _GOLDEN, 0.6)
    if cook <= 0.5:
        return mix(c, golden, 2.0 * cook)
    if cook <= 1.0:
        return mix(golden, _BROWN, 2.0 * (cook - 0.5))
    return mix(_BROWN, _BURNT, 2.5 * (cook - 1.0))


def draw_contents(
    pen: Pen,
    p: Plan,
    fill: float,
    mixed: float = 0.0,
    cook: float = 0.0,
    vessel: Vessel | None = None,
    rise: float = 0.0,
) -> None:
    """The step's ingredients in the container; `fill` is how much of the measured amount is in.

    Bulk material covers a share of the container that grows with the amount (Vessel.pile);
    countable pieces keep their size, so more pieces take more room. `rise` puffs the contents
    up (cooking in a microwave)."""
    v = vessel or p.vessel
    if not p.looks or fill <= 0.0:
        return
    looks = [_cooked(lk, cook) for lk in p.looks] if cook > 0 else p.looks
    bulk = [lk for lk in looks if lk.bulk]
    items = [lk for lk in looks if not lk.bulk]
    level = min(1.0, p.measure.amount * fill * (1.0 + rise))
    if bulk and level > 0:
        sx, sy, srx, sry = v.pile(level)
        mound = v.mode == "flat" or bulk[0].form in ("powder", "grain")
        if v.mode == "side":
            _side_fill(pen, v, bulk, level, mixed)
        elif len(bulk) == 1:
            draw_bulk(pen, bulk[0], sx, sy, srx, sry, mound)
        else:
            if mixed > 0.02:
                blend = replace(
                    bulk[0],
                    color=_avg([lk.color for lk in bulk]),
                    color2=_avg([lk.color2 for lk in bulk]),
                )
                draw_bulk(
                    pen, blend, sx, sy, srx * (0.6 + 0.4 * mixed), sry * (0.6 + 0.4 * mixed), mound
                )
            for i, lk in enumerate(bulk):
                a = TAU * i / len(bulk) + 0.6
                f = 0.55 * (1.0 - 0.85 * mixed)
                draw_bulk(
                    pen,
                    lk,
                    sx + 0.38 * srx * np.cos(a),
                    sy + 0.38 * sry * np.sin(a),
                    srx * f,
                    sry * f,
                    mound,
                )
    if items:
        counts = [item_count(p, lk) for lk in items]
        total = sum(counts)
        if total <= 0:
            return
        shown = int(np.floor(total * fill + 1e-6)) if fill < 1.0 else total
        r0 = max(item_radius(lk) for lk in items) * (1.0 + 0.3 * rise)
        sx, sy, pos, r = item_layout(v, total, r0)
        eggs_cracked = p.motion not in ("place", "rinse", "cover") or v.kind == "pan"
        beaten = [lk for lk in items if lk.form == "egg"] if eggs_cracked and mixed > 0 else []
        if beaten:
            f = min(1.0, mixed * 1.6)
            pool = replace(
                beaten[0],
                form="liquid",
                texture="plain",
                color=cook_color(mix(beaten[0].color2, (255, 240, 180), 0.25), cook),
            )
            ex = float(np.max(np.abs(pos[:, 0]))) + r * 1.3
            ey = float(np.max(np.abs(pos[:, 1]))) + r * 0.9
            draw_bulk(pen, pool, sx, sy, ex * f, ey * f, mound=False)
        white = cook_color((250, 250, 244), cook * 0.8)
        j = 0
        for lk, cnt in zip(items, counts, strict=True):
            for _ in range(cnt):
                x, y = sx + pos[j, 0], sy + pos[j, 1]
                if j < shown and lk.form == "egg" and eggs_cracked:
                    if mixed < 0.6:
                        if cook > 0.6:  # a crisp brown lace round the white
                            pen.ellipse(
                                x, y, r * 1.4, r * 0.95, cook_color(white, 0.9), angle=40.0 * j
                            )
                        pen.ellipse(x, y, r * 1.25, r * 0.85, white, angle=40.0 * j)
                        pen.circle(x + r * 0.1, y, r * 0.5, cook_color(lk.color2, cook * 0.5))
                elif j < shown:
                    draw_item(pen, lk, x, y, r, angle=0.9 * j)
                j += 1


def _avg(colors: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    a = np.mean(np.array(colors, dtype=np.float64), axis=0)
    return (int(a[0]), int(a[1]), int(a[2]))


def _cooked(lk: Look, cook: float) -> Look:
    return replace(lk, color=cook_color(lk.color, cook), color2=cook_color(lk.color2, cook * 0.8))


def _side_fill(pen: Pen, v: Vessel, bulk: list[Look], level: float, mixed: float) -> None:
    """Layers seen through a glass wall, bottom up, blending as they are mixed. A little material
    sits as a mound in the middle of the floor rather than a full-width layer, so the area seen
    keeps growing with the amount (a tablespoon shows ~1.6x the pixels of a teaspoon)."""
    bottom = v.cy + v.h
    height = v.h * 0.92 * level
    per = height / len(bulk)
    w = float(np.clip(np.sqrt(level / 0.3), 0.3, 1.0))
    rx, ry = v.rx * 0.9 * w, v.ry * 0.85 * w
    for i, lk in enumerate(bulk):
        c = mix(lk.color, _avg([b.color for b in bulk]), mixed)
        y1 = bottom - per * i
        y0 = y1 - per
        pen.ellipse(v.cx, y1, rx, ry, shade(c, 0.9))
        pen.rect(v.cx - rx, y0, v.cx + rx, y1, c)
        if lk.texture != "plain":
            draw_texture(pen, lk, v.cx, (y0 + y1) / 2, rx * 0.9, max(per * 0.45, 1.0))
    top = bottom - height
    top_c = mix(bulk[-1].color, _avg([b.color for b in bulk]), mixed)
    pen.ellipse(v.cx, top, rx, ry, mix(top_c, (255, 255, 255), 0.25))


def _first(p: Plan, default: str) -> Look:
    return p.looks[0] if p.looks else look_for(default)


def _rest_right(fr: Frame) -> Hand:
    return Hand(214 + 2 * np.sin(fr.ts * 1.3), 232, -0.3, "R", "open")


def _rest_left(fr: Frame) -> Hand:
    return Hand(36 + 2 * np.sin(fr.ts * 1.1 + 1), 230, 0.35, "L", "open")


def _tool_hand(p: Plan, tip: tuple[float, float], angle: float, fr: Frame, **kw: object) -> Hand:
    tool = p.tool or "hand"
    spoon_r = float(kw.pop("spoon_r", 9.0))  # type: ignore[arg-type]
    gx, gy = grip_for(tool, tip[0], tip[1], angle, spoon_r)
    return Hand(gx + fr.jx, gy + fr.jy, angle, "R", "tool", tool, spoon_r=spoon_r, **kw)  # type: ignore[arg-type]


def _held_tool_left(p: Plan) -> Hand:
    """A named tool the motion does not use still shows, idle in the other hand."""
    return Hand(46, 214, 0.3, "L", "tool", p.tool)


def _count_station(pen: Pen, look: Look, remaining: int) -> None:
    x, y = STATION
    for i in range(max(0, remaining)):
        draw_item(pen, look, x - 7 + 14 * (i % 2), y - 44 + 15 * (i // 2), 6.5)


# --- motion families -----------------------------------------------------------------------------


def _waiting(pen: Pen, look: Look, x0: float, y0: float, r: float, k: int, n: int) -> None:
    """Whole pieces not yet worked on, in rows of four along the back of the board."""
    for j in range(k, n):
        i = j - k
        draw_item(pen, look, x0 + (i % 4) * r * 2.1, y0 - (i // 4) * r * 1.5, r, angle=0.4 * j)


def _chop(pen: Pen, p: Plan, fr: Frame, slicing: bool = False) -> list[Hand]:
    """Whole pieces are cut one after another: the ones still waiting show the count, and the
    cut pile grows with every piece, so three onions end as three times the pile of one."""
    look = _first(p, "onion")
    v = p.vessel
    sx, sy, srx, sry = v.surface(0.9)
    n = max(item_count(p, look), 1) if not look.bulk else 1
    t, amp = fr.t, p.manner.amp
    cut = t * n  # pieces cut so far
    k = min(int(cut), n - 1)
    rw = min(item_radius(look), 11.0) * 0.85
    _waiting(pen, look, sx - srx * 0.9 + rw, sy - sry * 0.72, rw, k + 1, n)
    cur_r = min(item_radius(look), 12.0) * (1.0 - 0.55 * (cut - k))
    draw_item(pen, look, sx - srx * 0.45, sy + sry * 0.12, cur_r, angle=0.4 * k)
    for j, other in enumerate(p.looks[1:3]):
        draw_pieces(pen, other, sx - srx * 0.1 + 22 * j, sy + sry * 0.62, 9, 5, 8, p.salt + j + 1)
    size = max(item_radius(look), 6.0) / 10.0
    if slicing:
        m = min(int(2 + 9 * cut), 50)
        for j in range(m):
            x = sx + srx * 0.05 + (j % 10) * 4.2
            y = sy - sry * 0.3 + (j // 10) * 10 + (j % 10) * 1.2
            pen.ellipse(x, y, 3.2 * size, 7.0 * size, shade(look.color, 0.85))
            pen.ellipse(
                x + 0.6, y, 2.3 * size, 6.0 * size, look.color2 if not look.bulk else look.color
            )
        angle = -1.05
        stroke = 11.0 * amp * np.sin(TAU * 1.0 * fr.ts)
        tip = (sx - srx * 0.05 + stroke * np.sin(angle), sy - 4 - stroke * np.cos(angle))
    else:
        prx = min(srx * 0.5, 8.0 * size * np.sqrt(cut + 0.25))
        draw_pieces(
            pen,
            look,
            sx + srx * 0.45,
            sy + sry * 0.08,
            prx,
            min(prx * 0.65, sry * 0.8),
            min(int(4 + 16 * cut), 60),
            p.salt,
        )
        angle = -0.3
        lift = 13.0 * amp * abs(np.sin(np.pi * 2.0 * fr.ts))
        tip = (sx - srx * 0.08 + 5.0 * np.sin(TAU * 0.4 * fr.ts), sy - 2 - lift)
    right = _tool_hand(p, tip, angle, fr)
    left = Hand(sx - srx * 0.55 - 8, sy + 6 + sry * 0.12, 0.75, "L", "open")
    return [left, right]


def work_done(duration: float | None) -> float:
    """How thoroughly a timed hand motion gets done (1 = as long as it needs; mixing for 10 s
    leaves streaks, for a minute it is smooth and frothy): each doubling adds the same step."""
    if duration is None or duration <= 0:
        return 1.0
    return float(np.clip(0.4 + 0.3 * np.log2(duration / 10.0), 0.2, 1.6))


def _cook_now(p: Plan, t: float) -> float:
    """Doneness at progress t of a step on the stove (0 when no stove is in view)."""
    if p.heat is None:
        return 0.0
    return t * doneness(p.duration, heat_level(p.heat))


def _stir(pen: Pen, p: Plan, fr: Frame, whisking: bool = False) -> list[Hand]:
    v = p.vessel
    work = work_done(p.duration)
    draw_contents(pen, p, 1.0, mixed=fr.t * min(work, 1.0), cook=_cook_now(p, fr.t))
    if v.kind == "blender":
        return _blend(pen, p, fr)
    sx, sy, srx, sry = v.pile(max(p.measure.amount, 0.3))
    if v.mode == "side":
        sx, sy, srx, sry = v.cx, v.cy, v.rx * 0.8, v.ry * 0.8
    f, rad = (2.2, 0.3) if whisking else (0.7, 0.55)
    th = TAU * f * fr.ts
    amp = p.manner.amp
    if p.looks:
        swirl = mix(_first(p, "milk").color2, (255, 255, 255), 0.3)
        d = np.degrees(th)
        pen.ellipse(sx, sy, srx * 0.62, sry * 0.62, swirl, start=d, end=d + 110, thickness=1.6)
        pen.ellipse(
            sx, sy, srx * 0.32, sry * 0.32, swirl, start=d + 180, end=d + 260, thickness=1.4
        )
    if whisking and p.looks:
        froth = np.random.default_rng([p.salt, 7]).uniform(-0.7, 0.7, (48, 2))
        for x, y in froth[: int(30 * fr.t * work)]:
            pen.circle(sx + x * srx, sy + y * sry, 1.6, (252, 252, 246))
    tip = (sx + rad * amp * srx * np.cos(th), sy + rad * amp * sry * np.sin(th))
    angle = -0.55 + 0.12 * np.sin(th)
    right = _tool_hand(p, tip, angle, fr)
    left = Hand(v.cx - v.rx - 2, v.cy + 4, 1.25, "L", "open")
    return [left, right]


def _blend(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    """A blender runs by itself: a vortex in the jar, one hand on the lid, one on the button."""
    v = p.vessel
    ph = TAU * 3.0 * fr.ts * p.manner.pace
    for k in range(4):
        a = ph + k * np.pi / 2
        y = v.cy + v.h * (0.35 + 0.15 * k)
        w = v.rx * (0.8 - 0.12 * k)
        pen.ellipse(
            v.cx,
            y,
            w,
            v.ry * 0.3,
            (250, 250, 250),
            start=np.degrees(a) % 360,
            end=np.degrees(a) % 360 + 120,
            thickness=1.4,
        )
    pen.ellipse(v.cx, v.cy, v.rx * 1.05, v.ry * 1.05, (40, 40, 44))
    pen.circle(v.cx, v.cy - 2, 5, (70, 70, 76))
    top = Hand(v.cx - 6 + fr.jx, v.cy - 6 + fr.jy, 0.2 * np.sin(ph), "L", "open")
    button = Hand(v.cx + 4, v.cy + v.h + 26, -0.2, "R", "pinch")
    return [_held_tool_left(p) if p.tool_given else top, button]


def _pour_vessel(
    pen: Pen, kind: str, look: Look, lip: tuple[float, float], tilt: float, fill: float
) -> tuple[float, float]:
    """A jug or package tipped about its lip; returns where the hand holds it."""
    a = -tilt
    if kind == "jug":
        body = np.array([[0.0, 0.0], [36.0, 2.0], [36.0, 26.0], [0.0, 26.0]])
        lip_local = np.array([36.0, 0.0])
        col, edge = (224, 234, 240), (120, 140, 150)
    elif look.bulk and look.form != "liquid":  # a bag of flour
        body = np.array([[0.0, -2.0], [34.0, 0.0], [34.0, 24.0], [0.0, 26.0]])
        lip_local = np.array([34.0, 0.0])
        col, edge = look.pkg_color, shade(look.pkg_color, 0.7)
    else:  # a bottle
        body = np.array(
            [
                [0.0, 2.0],
                [24.0, 2.0],
                [30.0, 8.0],
                [40.0, 9.0],
                [40.0, 15.0],
                [30.0, 16.0],
                [24.0, 22.0],
                [0.0, 22.0],
            ]
        )
        lip_local = np.array([40.0, 9.0])
        col, edge = mix(look.color, look.pkg_color, 0.4), shade(look.pkg_color, 0.7)
    # local frame: u up the vessel, v to the right; place the lip at `lip`
    off = rot(lip_local[None, :], 0.0, 0.0, a)[0]
    ox, oy = lip[0] - off[0], lip[1] - off[1]
    pen.poly(rot(body, ox, oy, a), col)
    if kind == "jug" and fill > 0:
        top = 34.0 * fill
        pen.poly(
            rot(np.array([[1.0, 2.0], [top, 2.0], [top, 25.0], [1.0, 25.0]]), ox, oy, a), look.color
        )
        for f in (0.25, 0.5, 0.75):
            pen.polyline(
                rot(np.array([[36.0 * f, 18.0], [36.0 * f, 24.0]]), ox, oy, a), (210, 40, 40), 1.0
            )
    elif kind != "jug":
        pen.poly(
            rot(np.array([[6.0, 4.0], [20.0, 4.0], [20.0, 20.0], [6.0, 20.0]]), ox, oy, a),
            (246, 242, 230),
        )
        pen.poly(
            rot(np.array([[9.0, 7.0], [17.0, 7.0], [17.0, 17.0], [9.0, 17.0]]), ox, oy, a),
            look.color,
        )
    pen.polyline(rot(body, ox, oy, a), edge, 1.0, closed=True)
    g = rot(np.array([[14.0, 30.0]]), ox, oy, a)[0]
    return float(g[0]), float(g[1])


def _stream(
    pen: Pen, look: Look, x0: float, y0: float, x1: float, y1: float, fr: Frame, width: float
) -> None:
    if look.form in ("liquid", "paste"):
        pen.line(x0, y0, x1, y1, shade(look.color, 0.9), width + 1.0)
        pen.line(x0, y0, x1, y1, look.color, width)
        return
    for k in range(7):
        f = (k / 7.0 + fr.ts * 2.5) % 1.0
        pen.circle(
            x0 + (x1 - x0) * f + np.sin(k * 3.1) * 2,
            y0 + (y1 - y0) * f,
            1.2 + width * 0.3,
            look.color,
        )
        pen.circle(
            x0 + (x1 - x0) * f + np.sin(k * 3.1) * 2,
            y0 + (y1 - y0) * f,
            0.6 + width * 0.15,
            look.color2,
        )


def _pour(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    look = _first(p, "water")
    if not look.bulk:
        return _place(pen, p, fr)
    v, m, t = p.vessel, p.measure, fr.t
    if m.kind == "spoon" and not p.manner.direct:  # spoonfuls are scooped, one per spoon
        return _scoop(pen, p, fr)
    flow = clip01((t - 0.22) / 0.55)
    draw_contents(pen, p, flow)
    sx, sy, srx, sry = v.pile(m.amount * flow)
    tilt = ease((t - 0.04) / 0.18) * (1.0 - ease((t - 0.8) / 0.15))
    pouring = 0.22 < t < 0.78
    kind = "jug" if m.kind == "jug" and not p.manner.direct else "package"
    away = 80.0 * ease((t - 0.84) / 0.16)  # then the jug goes back, out of the way
    lip = (v.cx + v.rx * 0.2 + away, min(v.cy, sy) - v.ry - 26 + 6 * (1 - tilt) + 0.5 * away)
    if pouring:
        _stream(pen, look, lip[0], lip[1], sx + 4, sy, fr, 3.0 if kind == "jug" else 2.2)
    jug_fill = m.jug_fill * (1.0 - flow) if kind == "jug" else 0.0
    hx, hy = _pour_vessel(pen, kind, look, lip, 1.75 * tilt, jug_fill)
    right = Hand(hx + fr.jx, hy + 4 + fr.jy, -0.4 - 0.8 * tilt, "R", "fist")
    left = (
        _held_tool_left(p) if p.tool_given else Hand(v.cx - v.rx - 2, v.cy + 4, 1.25, "L", "open")
    )
    return [left, right]


def _crack(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    look = _first(p, "egg")
    v = p.vessel
    n = max(item_count(p, look), 1) if not look.bulk else 1
    cyc = fr.t * n
    k = min(int(cyc), n - 1)
    ph = cyc - k
    done = k + (1 if ph > 0.55 else 0)
    sx, sy, pos, r = item_layout(v, max(n, 1), item_radius(look))
    white, inner = (250, 250, 244), look.color2
    for j in range(min(done, item_count(p, look))):  # one more cracked egg for every egg
        x, y = sx + pos[j, 0], sy + pos[j, 1]
        pen.ellipse(x, y, r * 1.25, r * 0.85, white, angle=40.0 * j)
        pen.circle(x + r * 0.1, y, r * 0.5, inner)
    if p.measure.kind == "count":
        _count_station(pen, look, n - k - 1)
    top = (v.cx, v.cy - v.ry - 20)
    amp = p.manner.amp
    if ph < 0.35:
        tap = 8.0 * amp * abs(np.sin(TAU * 1.5 * ph / 0.35))
        ex, ey = v.cx + v.rx * 0.7, v.cy - 10 - tap
        right = Hand(
            ex + 8 + fr.jx,
            ey + 4 + fr.jy,
            -0.5,
            "R",
            "fist",
            held=lambda pn: draw_item(pn, look, ex, ey, 8.0, 0.3),
        )
        left = Hand(v.cx - v.rx - 2, v.cy + 4, 1.25, "L", "open")
        return [left, right]
    d = 18.0 * ease((ph - 0.35) / 0.25) + 24.0 * clip01((ph - 0.6) / 0.4)
    if 0.35 <= ph < 0.62:
        q = (ph - 0.35) / 0.27
        pen.circle(top[0], top[1] + (sy - top[1]) * q, 4.0, inner)
        pen.ellipse(top[0], top[1] + (sy - top[1]) * q - 4, 5, 6, white)

    def half(sign: float) -> Callable[[Pen], None]:
        x = top[0] + sign * (d + 2)

        def draw(pn: Pen) -> None:
            pn.ellipse(
                x,
                top[1],
                8,
                6,
                shade(look.color, 0.8),
                start=0 if sign > 0 else 180,
                end=180 if sign > 0 else 360,
            )
            pn.ellipse(
                x,
                top[1],
                7,
                5,
                look.color,
                start=0 if sign > 0 else 180,
                end=180 if sign > 0 else 360,
            )

        return draw

    left = Hand(top[0] - d - 10, top[1] + 8, 0.9, "L", "fist", held=half(-1.0))
    right = Hand(top[0] + d + 10 + fr.jx, top[1] + 8 + fr.jy, -0.9, "R", "fist", held=half(1.0))
    return [left, right]


def _spread(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    # The thing spread on is flat bread-like food; what is spread is a paste, liquid or butter.
    base = next((lk for lk in p.looks if lk.form in ("slice", "disc", "muffin")), None)
    if base is None:
        base = next(
            (lk for lk in p.looks if lk.form in ("bar", "block") and len(p.looks) == 1), None
        )
    layer = next((lk for lk in p.looks if lk is not base), None)
    if base is None:
        base = look_for("bread")
    v = p.vessel
    sx, sy, srx, sry = v.surface(0.8)
    r = float(np.clip(min(srx, sry * 1.5) * 0.62, 12.0, 30.0))
    draw_item(pen, base, sx, sy, r)
    rows = 5
    y_rows = [sy - r * 0.5 + j * r * 0.24 for j in range(rows)]
    cover = fr.t * rows
    thick = r * float(np.clip(0.02 + 0.6 * p.measure.amount, 0.05, 0.3))  # more, thicker
    if layer is not None:
        for j in range(rows):
            f = clip01(cover - j)
            if f > 0:
                pen.line(
                    sx - r * 0.75,
                    y_rows[j],
                    sx - r * 0.75 + 1.5 * r * f,
                    y_rows[j],
                    layer.color,
                    thick,
                )
    row = min(int(cover), rows - 1)
    angle = -1.25
    tip = (sx + r * 0.55 * p.manner.amp * np.sin(TAU * 1.0 * fr.ts), y_rows[row])
    right = _tool_hand(p, tip, angle, fr, load=layer, load_fill=1.0 - fr.t)
    left = Hand(sx - r - 10, sy + r * 0.5, 0.9, "L", "open")
    return [left, right]


def _peel(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    """Pieces are peeled one after another: waiting ones at the back, peeled ones in front, and
    the peel piles up, so the count shows in every frame."""
    look = _first(p, "potato")
    v = p.vessel
    sx, sy, srx, sry = v.surface(0.85)
    n = max(item_count(p, look), 1) if not look.bulk else 1
    cut = fr.t * n
    k = min(int(cut), n - 1)
    rng = np.random.default_rng([p.salt, 11])
    strips = rng.uniform(-0.8, 0.8, (40, 2))
    skin = shade(look.color, 0.85)
    grow = min(1.0, 0.45 + 0.2 * np.sqrt(n))
    for x, y in strips[: min(int(3 + 8 * cut), 40)]:
        px, py = sx + srx * 0.55 + x * srx * 0.35 * grow, sy - sry * 0.25 + y * sry * 0.45 * grow
        pen.ellipse(px, py, 6, 3, skin, start=0, end=220, thickness=2.0)
    rw = min(item_radius(look), 10.0) * 0.85
    _waiting(pen, look, sx - srx * 0.95 + rw, sy - sry * 0.7, rw, k + 1, n)
    done = replace(look, color=look.color2)
    for j in range(k):
        draw_item(
            pen,
            done,
            sx + srx * 0.25 + (j % 4) * rw * 2.1,
            sy + sry * 0.55 - (j // 4) * rw * 1.5,
            rw,
            angle=0.4 * j,
        )
    peeled = replace(look, color=mix(look.color, look.color2, cut - k))
    ix, iy = sx - 8, sy - 18
    stroke = (fr.ts * 0.9 * p.manner.pace) % 1.0
    tip = (ix + 9, iy - 12 + 24 * stroke)
    right = _tool_hand(p, tip, -1.35, fr)
    left = Hand(
        ix - 14, iy + 10, 0.8, "L", "fist", held=lambda pn: draw_item(pn, peeled, ix, iy, 14.0, 0.2)
    )
    return [left, right]


_SPECKS = 100


def _specks(
    pen: Pen, p: Plan, sx: float, sy: float, srx: float, sry: float, count: int, r: float = 1.3
) -> None:
    if not p.looks:
        return
    pts = np.random.default_rng([p.salt, 13]).uniform(-0.85, 0.85, (_SPECKS, 2))
    for i in range(min(count, _SPECKS)):
        lk = p.looks[i % len(p.looks)]
        x, y = sx + pts[i, 0] * srx, sy + pts[i, 1] * sry
        pen.circle(x, y, r + 0.6, shade(lk.color, 0.7))
        pen.circle(x, y, r, lk.color)


def _sprinkle(pen: Pen, p: Plan, fr: Frame, grinding: bool = False) -> list[Hand]:
    """Specks land on the food: their number and size grow with the amount (a tablespoon covers
    about 1.6x the area of a teaspoon); the hand works from the side, off the food."""
    v = p.vessel
    sx, sy, srx, sry = v.surface(0.7)
    if v.mode == "side":
        sx, sy, srx, sry = v.cx, v.cy, v.rx * 0.8, v.ry * 0.8
    a = p.measure.amount
    total = 110.0 * a * (work_done(p.duration) if grinding else 1.0)
    count = int(np.clip(round(total), 3, _SPECKS))
    _specks(pen, p, sx, sy, srx, sry, int(round(count * fr.t)), 1.2 + 2.2 * np.sqrt(a))
    look = _first(p, "salt")
    amp = p.manner.amp
    hx = sx + srx * 0.5 + 8 * amp * np.sin(TAU * 0.3 * fr.ts)
    hy = sy - 44 + (3.5 * amp * np.sin(TAU * 3.0 * fr.ts) if not grinding else 0.0)
    tx = sx + srx * 0.1
    for k in range(5):
        f = (k / 5.0 + fr.ts * 2.0) % 1.0
        x = hx + (tx - hx) * f + np.sin(k * 2.3) * 4
        pen.circle(x, hy + 14 + (sy - hy - 14) * f, 1.3, look.color)
        pen.circle(x, hy + 14 + (sy - hy - 14) * f, 0.7, look.color2)
    if grinding:
        ph = TAU * 1.5 * fr.ts * p.manner.pace

        def grinder(pn: Pen) -> None:
            pn.rect(hx - 7, hy - 34, hx + 7, hy + 10, (92, 60, 40))
            for kk in range(4):
                c = np.cos(ph + kk * np.pi / 2)
                if np.sin(ph + kk * np.pi / 2) > 0:
                    pn.line(hx + 6 * c, hy - 32, hx + 6 * c, hy + 8, (60, 38, 24), 1.2)
            pn.ellipse(hx, hy - 34, 7, 3, (120, 84, 56))
            pn.circle(hx, hy - 40, 3.5, (60, 38, 24))

        right = Hand(hx + 12 + fr.jx, hy - 6 + fr.jy, -1.5, "R", "fist", held=grinder)
        return [_held_tool_left(p) if p.tool_given else _rest_left(fr), right]
    if p.tool_given and p.tool != "hand":
        right = _tool_hand(p, (hx, hy + 6), -0.5, fr)
    elif look.package == "shaker":

        def shaker(pn: Pen) -> None:
            pn.rect(hx - 6, hy - 20, hx + 6, hy + 4, look.pkg_color)
            pn.rect(hx - 6, hy - 12, hx + 6, hy - 4, look.color)
            pn.rect(hx - 6, hy + 4, hx + 6, hy + 9, (196, 196, 200))

        right = Hand(hx + 10 + fr.jx, hy - 6 + fr.jy, -1.4, "R", "fist", held=shaker)
    else:
        right = Hand(hx + 4 + fr.jx, hy - 12 + fr.jy, -0.15, "R", "pinch")
    return [_rest_left(fr), right]


def _scoop(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    look = _first(p, "flour")
    if not look.bulk:
        return _place(pen, p, fr)
    v, m = p.vessel, p.measure
    cycles = m.count if m.kind == "spoon" else 2
    cyc = fr.t * cycles
    k = min(int(cyc), cycles - 1)
    ph = cyc - k
    last_fill = m.fraction if (m.kind == "spoon" and k == cycles - 1) else 1.0
    tipped = clip01((ph - 0.6) / 0.2)
    draw_contents(pen, p, (k + tipped) / cycles)
    src = (SOURCES_X[0] + 2, SOURCES_Y - 10)
    # over the rim, off the middle, so the tipped spoon does not hide the pile; the same place
    # for every amount, so only the pile differs
    if v.mode == "side":
        dst = (v.cx + 8, v.cy - v.ry - 8)
    else:
        dst = (v.cx + max(v.rx, 30.0) * 0.45, v.cy - max(v.ry, 18.0) * 0.5)
    last = k == cycles - 1
    if ph < 0.25:
        pos = (src[0], src[1] + 3 * np.sin(TAU * ph / 0.25))
    elif ph < 0.6:
        q = ease((ph - 0.25) / 0.35)
        pos = (
            src[0] + (dst[0] - src[0]) * q,
            src[1] + (dst[1] - src[1]) * q - 18 * np.sin(np.pi * q),
        )
    elif ph < 0.8:
        pos = dst
    else:
        # back for the next spoonful, or after the last one out of the way to the right
        back = (200.0, 196.0) if last else src
        q = ease((ph - 0.8) / 0.2) * (1.0 if last else 0.5)
        pos = (
            dst[0] + (back[0] - dst[0]) * q,
            dst[1] + (back[1] - dst[1]) * q - 10 * np.sin(np.pi * q),
        )
    load = 0.0 if ph < 0.2 else last_fill * (1.0 - tipped)
    tool = p.tool if p.tool_given else ("cup" if m.kind == "jug" else "spoon")
    spoon_r = m.spoon_r if m.kind == "spoon" else 9.0
    angle = -0.7 - 0.7 * tipped * (1.0 - clip01((ph - 0.8) / 0.05))
    right = _tool_hand(
        replace(p, tool=tool), pos, angle, fr, spoon_r=spoon_r, load=look, load_fill=load
    )
    return [Hand(v.cx - v.rx - 2, v.cy + 4, 1.25, "L", "open"), right]


def _place(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    look = _first(p, "bread")
    v = p.vessel
    n = max(item_count(p, look), 1) if not look.bulk else 1
    cyc = fr.t * n
    k = min(int(cyc), n - 1)
    ph = cyc - k
    placed = k + (1 if ph >= 0.65 else 0)
    draw_contents(pen, p, placed / n)
    if not look.bulk and p.measure.kind == "count":
        _count_station(pen, look, n - k - 1)
    items = [lk for lk in p.looks if not lk.bulk]
    total = max(sum(item_count(p, lk) for lk in items), n)  # n alone when nothing is named
    r0 = max((item_radius(lk) for lk in items), default=10.0)
    sx, sy, pos, r = item_layout(v, total, r0)  # where draw_contents puts each piece
    start = (STATION[0], STATION[1] - 30)
    target = (sx + pos[k, 0], sy + pos[k, 1])
    if ph < 0.65:
        q = ease(ph / 0.65)
        ix = start[0] + (target[0] - start[0]) * q
        iy = start[1] + (target[1] - start[1]) * q - 26 * np.sin(np.pi * q) * p.manner.amp

        def item(pn: Pen) -> None:
            if look.bulk:
                draw_bulk(pn, look, ix, iy, 10, 6, mound=True)
            else:
                draw_item(pn, look, ix, iy, r, angle=0.9 * k)

        right = Hand(ix + 6 + fr.jx, iy + 8 + fr.jy, -0.6, "R", "fist", held=item)
    else:
        q = ease((ph - 0.65) / 0.35)
        right = Hand(
            target[0] + 8 + (start[0] - target[0]) * q + fr.jx,
            target[1] + 12 + (start[1] + 40 - target[1]) * q + fr.jy,
            -0.5,
            "R",
            "open",
        )
    left = _held_tool_left(p) if p.tool_given else _rest_left(fr)
    return [left, right]


def _roll(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    look = _first(p, "dough")
    v = p.vessel
    sx, sy, srx, sry = v.surface(0.8)
    amp = p.manner.amp
    if look.form == "disc" or look.bulk:
        r = min(srx, sry * 1.6) * (0.35 + 0.3 * fr.t)
        pen.ellipse(sx, sy, r * 1.2, r * 0.72, shade(look.color, 0.85))
        pen.ellipse(sx, sy, r * 1.12, r * 0.66, look.color)
    else:
        draw_item(pen, look, sx + 6 * np.sin(TAU * 0.7 * fr.ts), sy, 12.0, angle=TAU * 0.7 * fr.ts)
    y = sy + 12 * amp * np.sin(TAU * 0.7 * fr.ts)
    if p.tool_given and p.tool != "hand":
        return [Hand(sx - 40, y + 12, 0.3, "L", "open"), _tool_hand(p, (sx, y), -1.4, fr)]
    pen.line(sx - 44, y, sx + 44, y, (150, 110, 70), 10.5)
    pen.line(sx - 44, y, sx + 44, y, (206, 166, 116), 9.0)
    pen.line(sx - 60, y, sx + 60, y, (120, 84, 50), 4.0)
    return [
        Hand(sx - 54, y + 6, 0.0, "L", "fist"),
        Hand(sx + 54 + fr.jx, y + 6 + fr.jy, 0.0, "R", "fist"),
    ]


def _flip(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    look = _first(p, "pancake")
    v = p.vessel
    sx, sy, srx, sry = v.surface(0.7)
    for k, other in enumerate(p.looks[1:3]):
        draw_pieces(
            pen, other, sx + srx * 0.5 * (1 if k else -1), sy + sry * 0.5, 8, 5, 6, p.salt + k
        )
    cycles = 1 + (p.n > 45)
    cyc = fr.t * cycles
    k = min(int(cyc), cycles - 1)
    ph = cyc - k
    r = float(np.clip(min(srx, sry * 1.6) * 0.5, 10.0, 22.0))
    q = clip01((ph - 0.35) / 0.35)
    flips = k + (1 if q >= 0.5 else 0)
    top = replace(look, color=shade(look.color, 0.72)) if flips % 2 else look
    lift = 16.0 * np.sin(np.pi * q) * p.manner.amp
    squash = abs(np.cos(np.pi * q))
    if squash > 0.85:
        draw_item(pen, top, sx, sy - lift, r)
    else:
        pen.ellipse(sx, sy - lift, r * 1.1, max(r * 0.75 * squash, 1.0), shade(top.color, 0.85))
    if ph < 0.35:
        tip = (sx + r + 30 - (r + 30) * ease(ph / 0.35), sy)
    elif ph < 0.7:
        tip = (sx, sy - lift)
    else:
        tip = (sx + (r + 34) * ease((ph - 0.7) / 0.3), sy)
    right = _tool_hand(p, tip, -1.35, fr)
    return [_rest_left(fr), right]


def _squeeze(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    look = _first(p, "lemon")
    v = p.vessel
    juice = (
        replace(look, form="liquid", texture="plain", color=mix(look.color, look.color2, 0.5))
        if not look.bulk
        else look
    )
    sx, sy, srx, sry = v.pile(p.measure.amount * fr.t)
    if fr.t > 0.05:
        draw_bulk(pen, juice, sx, sy, srx, sry, mound=False)
    close = 0.5 + 0.5 * np.sin(TAU * 1.0 * fr.ts * p.manner.pace)
    hx, hy = v.cx + 4, v.cy - 36
    if close > 0.5:
        for k in range(3):
            f = (k / 3.0 + fr.ts * 1.8) % 1.0
            pen.circle(hx, hy + 10 + (sy - hy - 10) * f, 1.8, juice.color)

    def fruit(pn: Pen) -> None:
        rr = 10.0 * (1.0 - 0.25 * close)
        pn.ellipse(hx, hy, rr, rr * (1.0 - 0.3 * close), shade(look.color, 0.85))
        pn.ellipse(hx, hy + 2, rr * 0.8, rr * 0.5 * (1.0 - 0.3 * close), look.color2)

    right = Hand(hx + 6 + fr.jx, hy + 2 + fr.jy, -0.2, "R", "fist", held=fruit)
    return [_held_tool_left(p) if p.tool_given else _rest_left(fr), right]


def _rinse(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    v = p.vessel
    water = look_for("water")
    level = 0.15 + 0.5 * fr.t
    if v.kind is not None:
        sx, sy, srx, sry = v.surface(level)
        draw_bulk(pen, water, sx, sy, srx, sry, mound=False)
    fx = v.cx
    pen.rect(fx - 5, 0, fx + 5, 30, (180, 184, 190))
    pen.ellipse(fx, 30, 7, 3, (140, 144, 150))
    iy = v.cy - v.ry - 8
    pen.line(fx, 32, fx, iy, (160, 206, 246), 5.0)
    pen.line(fx - 1, 32, fx - 1, iy, (236, 246, 255), 1.5)
    for _ in range(6):
        dx, dy = fr.rng.uniform(-16, 16), fr.rng.uniform(-6, 8)
        pen.circle(fx + dx, iy + dy, 1.4, (200, 226, 250))
    if p.looks:
        ang = 0.6 * np.sin(TAU * 0.5 * fr.ts)
        items = [lk for lk in p.looks[:2] if not lk.bulk]
        if len(items) < len(p.looks[:2]):
            bulk = next(lk for lk in p.looks[:2] if lk.bulk)
            draw_bulk(pen, bulk, fx, iy + 2, 14, 8, mound=True)
        # every piece is rinsed under the stream: the count shows
        pieces = [lk for lk in items for _ in range(max(item_count(p, lk), 1))][:12]
        if pieces:
            r0 = min(max(item_radius(lk) for lk in items), 13.0)
            pos, r = _packing(len(pieces), r0, 40.0, 22.0)
            for j, lk in enumerate(pieces):
                draw_item(pen, lk, fx + pos[j, 0], iy + 2 + pos[j, 1], r, ang + j)
    # Hands cup the item from below and the sides, leaving it under the stream in view.
    wob = 0.15 * np.sin(TAU * 0.5 * fr.ts)
    left = Hand(fx - 40, iy + 26, 1.2 + wob, "L", "open")
    right = Hand(fx + 40 + fr.jx, iy + 26 + fr.jy, -1.2 - wob, "R", "open")
    return [left, right]


def _cover(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    v = p.vessel
    draw_contents(pen, p, 1.0)
    q = ease(fr.t / 0.6)
    x0, y0 = STATION[0], STATION[1] - 44
    x1, y1 = v.cx, v.cy - 2
    lx, ly = x0 + (x1 - x0) * q, y0 + (y1 - y0) * q - 22 * np.sin(np.pi * q) * p.manner.amp
    rx, ry = max(v.rx, 24.0) * 1.04, max(v.ry, 14.0) * 1.04 * (0.8 + 0.2 * q)
    pen.ellipse(lx, ly + 3, rx, ry, (120, 124, 130))
    pen.ellipse(lx, ly, rx, ry, (196, 200, 206))
    pen.ellipse(lx - rx * 0.3, ly - ry * 0.3, rx * 0.4, ry * 0.25, (232, 236, 240))
    pen.ellipse(lx, ly - 3, 8, 4, (40, 40, 44))
    if fr.t < 0.72:
        right = Hand(lx + 4 + fr.jx, ly + 2 + fr.jy, -0.3, "R", "fist")
    else:
        right = _rest_right(fr)
    return [_held_tool_left(p) if p.tool_given else _rest_left(fr), right]


def _steam(pen: Pen, x: float, y: float, n: int, ts: float, rise: float = 50.0) -> None:
    for k in range(n):
        ph = (ts * 0.35 + k * 0.37) % 1.0
        px = x - 20 + 40 * ((k * 0.618) % 1.0)
        py = y - rise * ph
        pts = np.array([[px + 4 * np.sin(ph * 9 + j), py - j * 6] for j in range(5)])
        pen.polyline(pts, (228, 228, 232), 2.0)


def _heat(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    v = p.vessel
    level = heat_level(p.heat)
    # Longer cooking browns more: every doubling of the time is one more step from golden to
    # brown to burnt ("fry for 2 minutes" ends darker than "fry for 1 minute").
    cook = _cook_now(p, fr.t)
    draw_contents(pen, p, 1.0, cook=cook)
    sx, sy, srx, sry = v.pile(max(p.measure.amount, 0.3))
    if level > 0 and p.looks:
        for _ in range(int(round(3 * level + 6 * cook))):
            x, y = fr.rng.uniform(-0.7, 0.7, 2)
            pen.circle(
                sx + x * srx, sy + y * sry, 1.2 + 0.5 * level, (250, 250, 250), thickness=0.8
            )
    wisps = int(round(max(level - 1.0, 0.0) * 2 + (3 * cook if level > 0 else 0)))
    _steam(pen, v.cx, v.cy - v.ry - 6, wisps, fr.ts)
    if p.tool_given and p.tool != "hand":
        tip = (sx + srx * 0.4 * np.cos(fr.ts), sy + sry * 0.3 * np.sin(fr.ts))
        return [_rest_left(fr), _tool_hand(p, tip, -0.6, fr)]
    return [_rest_left(fr), _rest_right(fr)]


def _wait(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    draw_contents(pen, p, 1.0, cook=_cook_now(p, fr.t))
    if p.tool_given:
        return [_held_tool_left(p), _rest_right(fr)]
    return [_rest_left(fr), _rest_right(fr)]


def _microwave(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    t = fr.t
    # Putting the dish in and shutting the door takes the same ~1 s however long it then runs,
    # so a longer time is a longer stretch of the dish turning inside.
    seconds = p.n / p.fps if p.fps > 0 else 3.5
    u = min(1.0, 3.5 / max(seconds, 1e-3))
    s_in, s_door, s_run, s_press = 0.12 * u, 0.22 * u, 0.28 * u, 0.34 * u
    inner = p.vessel.scaled(float(np.clip(34.0 / max(p.vessel.rx, 1.0), 0.55, 1.15)), 0, 0)
    inner = inner.scaled(1.0, (MW_WIN[0] + MW_WIN[2]) / 2, MW_WIN[3] - 26 - inner.h - inner.ry)
    slide = ease(t / s_in)
    y_off = (1.0 - slide) * 70
    door = 1.7 * (1.0 - ease((t - s_in) / (s_door - s_in)))
    running = t > s_run
    lit = running or door > 0.05
    x0, y0, x1, y1 = MW_WIN
    pen.rect(x0 + 6, y0 + 6, x1 - 6, y1 - 6, (236, 214, 150) if lit else (40, 36, 30))
    pen.ellipse((x0 + x1) / 2, y1 - 24, 48, 12, (200, 200, 196) if lit else (60, 58, 54))
    moved = inner.scaled(1.0, inner.cx, inner.cy + y_off)
    draw_vessel_back(pen, moved)
    # the food cooks, rises and steams more the longer (and the stronger) it runs; "microwave
    # it for a minute" names no food, but the dish is not empty
    power = heat_level(p.heat) if p.heat else 3.0
    cook = doneness(p.duration, power) * clip01((t - s_run) / (1.0 - s_run))
    food = p if p.looks else replace(p, looks=[look_for("batter")])
    draw_contents(pen, food, 1.0, cook=cook, vessel=moved, rise=0.6 * min(cook, 1.0))
    draw_vessel_front(pen, moved)
    _steam(pen, moved.cx, moved.cy - moved.ry - 2, int(round(4 * cook)), fr.ts, 36.0)
    if door > 0.05:
        draw_microwave_door(pen, door, lit)
    else:
        frame_c = (190, 192, 198)
        pen.rect(x0, y0, x1, y0 + 8, frame_c)
        pen.rect(x0, y1 - 8, x1, y1, frame_c)
        pen.rect(x0, y0, x0 + 8, y1, frame_c)
        pen.rect(x1 - 24, y0, x1, y1, frame_c)
        pen.rect(x1 - 18, y0 + 30, x1 - 12, y1 - 30, (120, 120, 126))
    remaining = None
    if p.duration is not None:
        remaining = p.duration * (1.0 - clip01((t - s_run) / (1.0 - s_run)))
    draw_microwave_panel(pen, remaining, p.heat)
    if t < s_in:
        right = Hand(moved.cx + 30 + fr.jx, moved.cy + 20 + fr.jy, -0.6, "R", "open")
    elif t < s_door:
        ex = x0 + (x1 - x0) * np.cos(door)
        right = Hand(ex + 10, (y0 + y1) / 2 + 10, -0.4, "R", "open")
    elif t < s_press:
        right = Hand(MW_WIN[2] + 30, 120, -0.1, "R", "pinch")
    else:
        right = _rest_right(fr)
    return [_held_tool_left(p) if p.tool_given else _rest_left(fr), right]


def _idle(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    return [_rest_left(fr), _rest_right(fr)]


MOTION_FNS: dict[str, Callable[[Pen, Plan, Frame], list[Hand]]] = {
    "chop": _chop,
    "slice": lambda pen, p, fr: _chop(pen, p, fr, slicing=True),
    "stir": _stir,
    "whisk": lambda pen, p, fr: _stir(pen, p, fr, whisking=True),
    "pour": _pour,
    "crack": _crack,
    "spread": _spread,
    "peel": _peel,
    "sprinkle": _sprinkle,
    "scoop": _scoop,
    "place": _place,
    "roll": _roll,
    "flip": _flip,
    "squeeze": _squeeze,
    "rinse": _rinse,
    "grind": lambda pen, p, fr: _sprinkle(pen, p, fr, grinding=True),
    "cover": _cover,
    "heat": _heat,
    "microwave": _microwave,
    "wait": _wait,
    "idle": _idle,
}


def draw_spill(pen: Pen, p: Plan, t: float) -> None:
    """Bits knocked over the rim by a rough manner; they pile up as the step goes on."""
    if len(p.spill) == 0:
        return
    look = _first(p, "water")
    shown = int(np.ceil(len(p.spill) * clip01(t * 1.2)))
    for x, y in p.spill[:shown]:
        pen.ellipse(x, y, 5.0, 3.2, shade(look.color, 0.7))
        pen.ellipse(x, y - 0.5, 4.0, 2.4, look.color)
