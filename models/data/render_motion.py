"""What moves during a step: one function per motion family draws the props and poses the hands.

Each function gets the step's plan and the frame's time and returns the hands to draw. Nothing here
reads a shared random stream: positions come from the plan (fixed per step) or from the frame's
own generator, so a step's frames never depend on any other step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from stepdiff.models.data.render_draw import Pen, mix, name_hash, rot, shade
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
    m = p.measure
    if m.kind == "count":
        return m.count
    if m.kind == "none":
        return 3 if look.form in ("small", "clove", "leaf", "floret", "strip", "chunk") else 2
    return int(np.clip(round(1 + 7 * m.amount), 1, 8))


def _spiral(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    r = np.sqrt(i / max(n, 1)) * (0.0 if n == 1 else 0.78)
    a = i * 2.39996
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


def draw_contents(
    pen: Pen,
    p: Plan,
    fill: float,
    mixed: float = 0.0,
    cook: float = 0.0,
    vessel: Vessel | None = None,
) -> None:
    """The step's ingredients in the container; `fill` is how much of the measured amount is in."""
    v = vessel or p.vessel
    if not p.looks or fill <= 0.0:
        return
    looks = [_cooked(lk, cook) for lk in p.looks] if cook > 0 else p.looks
    bulk = [lk for lk in looks if lk.bulk]
    items = [lk for lk in looks if not lk.bulk]
    level = p.measure.amount * fill
    if bulk:
        sx, sy, srx, sry = v.surface(level)
        mound = v.mode == "flat"
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
        sx, sy, srx, sry = v.surface(0.75)
        if v.mode == "side":
            sy = v.cy + v.h * 0.72
        total = sum(item_count(p, lk) for lk in items)
        shown = int(np.floor(total * fill + 1e-6)) if fill < 1.0 else total
        pos = _spiral(total)
        r = float(np.clip(min(srx, sry * 1.7) * 0.8 / np.sqrt(total), 5.0, 22.0))
        eggs_cracked = p.motion not in ("place", "rinse", "cover") or v.kind == "pan"
        beaten = [lk for lk in items if lk.form == "egg"] if eggs_cracked and mixed > 0 else []
        if beaten:
            f = min(1.0, mixed * 1.6)
            pool = replace(
                beaten[0],
                form="liquid",
                texture="plain",
                color=mix(beaten[0].color2, (255, 240, 180), 0.25),
            )
            draw_bulk(pen, pool, sx, sy, srx * 0.85 * f, sry * 0.85 * f, mound=False)
        j = 0
        for lk in items:
            for _ in range(item_count(p, lk)):
                x, y = sx + pos[j, 0] * srx, sy + pos[j, 1] * sry
                if j < shown and lk.form == "egg" and eggs_cracked:
                    if mixed < 0.6:
                        pen.ellipse(x, y, r * 1.25, r * 0.85, (250, 250, 244), angle=40.0 * j)
                        pen.circle(x + r * 0.1, y, r * 0.5, lk.color2)
                elif j < shown:
                    draw_item(pen, lk, x, y, r, angle=0.9 * j)
                j += 1


def _avg(colors: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    a = np.mean(np.array(colors, dtype=np.float64), axis=0)
    return (int(a[0]), int(a[1]), int(a[2]))


def _cooked(lk: Look, cook: float) -> Look:
    brown = (150, 92, 40)
    return replace(
        lk, color=mix(lk.color, brown, 0.45 * cook), color2=mix(lk.color2, brown, 0.3 * cook)
    )


def _side_fill(pen: Pen, v: Vessel, bulk: list[Look], level: float, mixed: float) -> None:
    """Layers seen through a glass wall, bottom up, blending as they are mixed."""
    bottom = v.cy + v.h
    height = v.h * 0.92 * level
    per = height / len(bulk)
    for i, lk in enumerate(bulk):
        c = mix(lk.color, _avg([b.color for b in bulk]), mixed)
        y1 = bottom - per * i
        y0 = y1 - per
        pen.ellipse(v.cx, y1, v.rx * 0.9, v.ry * 0.85, shade(c, 0.9))
        pen.rect(v.cx - v.rx * 0.9, y0, v.cx + v.rx * 0.9, y1, c)
        if lk.texture != "plain":
            draw_texture(pen, lk, v.cx, (y0 + y1) / 2, v.rx * 0.8, max(per * 0.45, 1.0))
    top = bottom - height
    top_c = mix(bulk[-1].color, _avg([b.color for b in bulk]), mixed)
    pen.ellipse(v.cx, top, v.rx * 0.9, v.ry * 0.85, mix(top_c, (255, 255, 255), 0.25))


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


def _chop(pen: Pen, p: Plan, fr: Frame, slicing: bool = False) -> list[Hand]:
    look = _first(p, "onion")
    v = p.vessel
    sx, sy, srx, sry = v.surface(0.9)
    n = item_count(p, look) if not look.bulk else 1
    t, amp = fr.t, p.manner.amp
    whole_r = float(np.clip(min(srx, sry * 1.6) * 0.6 / np.sqrt(n), 7.0, 20.0)) * (1.0 - 0.45 * t)
    for j in range(n):
        draw_item(
            pen,
            look,
            sx - srx * 0.55 + (j % 2) * whole_r * 1.3,
            sy - sry * 0.3 + (j // 2) * whole_r * 1.2,
            whole_r,
            angle=0.4 * j,
        )
    for k, other in enumerate(p.looks[1:3]):
        draw_pieces(pen, other, sx - srx * 0.1 + 22 * k, sy + sry * 0.55, 9, 5, 8, p.salt + k + 1)
    if slicing:
        m = int(2 + 10 * n * t)
        for j in range(m):
            x = sx + srx * 0.05 + (j % 10) * 4.2
            y = sy - sry * 0.25 + (j // 10) * 12 + (j % 10) * 1.2
            pen.ellipse(x, y, 3.2, 7.0, shade(look.color, 0.85))
            pen.ellipse(x + 0.6, y, 2.3, 6.0, look.color2 if not look.bulk else look.color)
        angle = -1.05
        stroke = 11.0 * amp * np.sin(TAU * 1.0 * fr.ts)
        tip = (sx - srx * 0.05 + stroke * np.sin(angle), sy - 4 - stroke * np.cos(angle))
    else:
        draw_pieces(
            pen,
            look,
            sx + srx * 0.38,
            sy + sry * 0.05,
            srx * 0.3,
            sry * 0.5,
            int(3 + 10 * n * t),
            p.salt,
        )
        angle = -0.3
        lift = 13.0 * amp * abs(np.sin(np.pi * 2.0 * fr.ts))
        tip = (sx - srx * 0.08 + 5.0 * np.sin(TAU * 0.4 * fr.ts), sy - 2 - lift)
    right = _tool_hand(p, tip, angle, fr)
    left = Hand(sx - srx * 0.55 - 8, sy + 6, 0.75, "L", "open")
    return [left, right]


def _stir(pen: Pen, p: Plan, fr: Frame, whisking: bool = False) -> list[Hand]:
    v = p.vessel
    draw_contents(pen, p, 1.0, mixed=fr.t)
    if v.kind == "blender":
        return _blend(pen, p, fr)
    sx, sy, srx, sry = v.surface(p.measure.amount)
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
        froth = np.random.default_rng([p.salt, 7]).uniform(-0.7, 0.7, (24, 2))
        for x, y in froth[: int(24 * fr.t)]:
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
    sx, sy, srx, sry = v.surface(m.amount * flow)
    tilt = ease((t - 0.04) / 0.18) * (1.0 - ease((t - 0.8) / 0.15))
    pouring = 0.22 < t < 0.78
    kind = "jug" if m.kind == "jug" and not p.manner.direct else "package"
    lip = (v.cx + v.rx * 0.2, min(v.cy, sy) - v.ry - 26 + 6 * (1 - tilt))
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
    n = item_count(p, look) if not look.bulk else 1
    cyc = fr.t * n
    k = min(int(cyc), n - 1)
    ph = cyc - k
    done = k + (1 if ph > 0.55 else 0)
    sx, sy, srx, sry = v.surface(0.35 + 0.1 * n)
    pos = _spiral(max(n, 1))
    white, inner = (250, 250, 244), look.color2
    for j in range(done):
        x, y = sx + pos[j, 0] * srx * 0.8, sy + pos[j, 1] * sry * 0.8
        pen.ellipse(x, y, 11, 7, white)
        pen.circle(x + 1, y, 4.5, inner)
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
    thick = r * (0.12 + 0.2 * p.measure.amount)
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
    look = _first(p, "potato")
    v = p.vessel
    sx, sy, srx, sry = v.surface(0.85)
    n = item_count(p, look) if not look.bulk else 1
    rng = np.random.default_rng([p.salt, 11])
    strips = rng.uniform(-0.8, 0.8, (14, 2))
    skin = shade(look.color, 0.85)
    for x, y in strips[: int(3 + 11 * fr.t)]:
        px, py = sx + srx * 0.5 + x * srx * 0.35, sy + y * sry * 0.6
        pen.ellipse(px, py, 6, 3, skin, start=0, end=220, thickness=2.0)
    for j in range(1, n):
        draw_item(pen, look, sx - srx * 0.6, sy + sry * (0.5 - 0.35 * j), 8.0)
    peeled = replace(look, color=mix(look.color, look.color2, fr.t))
    ix, iy = sx - 8, sy - 18
    stroke = (fr.ts * 0.9 * p.manner.pace) % 1.0
    tip = (ix + 9, iy - 12 + 24 * stroke)
    right = _tool_hand(p, tip, -1.35, fr)
    left = Hand(
        ix - 14, iy + 10, 0.8, "L", "fist", held=lambda pn: draw_item(pn, peeled, ix, iy, 14.0, 0.2)
    )
    return [left, right]


def _specks(pen: Pen, p: Plan, sx: float, sy: float, srx: float, sry: float, count: int) -> None:
    if not p.looks:
        return
    pts = np.random.default_rng([p.salt, 13]).uniform(-0.85, 0.85, (80, 2))
    for i in range(min(count, 80)):
        lk = p.looks[i % len(p.looks)]
        x, y = sx + pts[i, 0] * srx, sy + pts[i, 1] * sry
        pen.circle(x, y, 1.9, shade(lk.color, 0.7))
        pen.circle(x, y, 1.3, lk.color)


def _sprinkle(pen: Pen, p: Plan, fr: Frame, grinding: bool = False) -> list[Hand]:
    v = p.vessel
    sx, sy, srx, sry = v.surface(0.7)
    if v.mode == "side":
        sx, sy, srx, sry = v.cx, v.cy, v.rx * 0.8, v.ry * 0.8
    a = p.measure.amount
    _specks(pen, p, sx, sy, srx, sry, int(round((8 + 70 * a) * fr.t)))
    look = _first(p, "salt")
    amp = p.manner.amp
    hx = sx + 10 * amp * np.sin(TAU * 0.3 * fr.ts)
    hy = sy - 44 + (3.5 * amp * np.sin(TAU * 3.0 * fr.ts) if not grinding else 0.0)
    for k in range(5):
        f = (k / 5.0 + fr.ts * 2.0) % 1.0
        pen.circle(hx + np.sin(k * 2.3) * 4, hy + 14 + (sy - hy - 14) * f, 1.3, look.color)
        pen.circle(hx + np.sin(k * 2.3) * 4, hy + 14 + (sy - hy - 14) * f, 0.7, look.color2)
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
    sx, sy, _, _ = v.surface(m.amount)
    src = (SOURCES_X[0] + 2, SOURCES_Y - 10)
    dst = (sx + 16, sy - 14)  # beside the pile, so the tipped spoon does not hide it
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
        q = ease((ph - 0.8) / 0.2) * 0.5
        pos = (
            dst[0] + (src[0] - dst[0]) * q,
            dst[1] + (src[1] - dst[1]) * q - 10 * np.sin(np.pi * q),
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
    n = item_count(p, look) if not look.bulk else 1
    cyc = fr.t * n
    k = min(int(cyc), n - 1)
    ph = cyc - k
    placed = k + (1 if ph >= 0.65 else 0)
    draw_contents(pen, p, placed / n if n else 1.0)
    if not look.bulk and p.measure.kind == "count":
        _count_station(pen, look, n - k - 1)
    sx, sy, srx, sry = v.surface(0.75)
    if v.mode == "side":
        sy = v.cy + v.h * 0.72
    pos = _spiral(n)
    r = float(np.clip(min(srx, sry * 1.7) * 0.8 / np.sqrt(n), 5.0, 22.0))
    start = (STATION[0], STATION[1] - 30)
    target = (sx + pos[k, 0] * srx, sy + pos[k, 1] * sry)
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
    sx, sy, srx, sry = v.surface(p.measure.amount * fr.t)
    if fr.t > 0.05:
        draw_bulk(pen, juice, sx, sy, srx, sry, mound=False)
    close = 0.5 + 0.5 * np.sin(TAU * 1.0 * fr.ts * p.manner.pace)
    hx, hy = sx + 4, min(v.cy, sy) - 36
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
        look = p.looks[0]
        ang = 0.6 * np.sin(TAU * 0.5 * fr.ts)
        for j, lk in enumerate(p.looks[:2]):
            if lk.bulk:
                draw_bulk(pen, look, fx, iy + 2, 14, 8, mound=True)
            else:
                draw_item(pen, lk, fx - 7 + 14 * j, iy + 2, 14.0, ang + j)
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


def _heat(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    v = p.vessel
    level = heat_level(p.heat)
    # Longer cooking browns more: "fry for 2 minutes" ends darker than "fry for 30 seconds".
    done = 0.6
    if p.duration is not None:
        done = 0.2 + 0.8 * clip01(np.log(max(p.duration, 10.0) / 10.0) / np.log(90.0))
    draw_contents(pen, p, 1.0, cook=fr.t * done * level / 3.0)
    sx, sy, srx, sry = v.surface(p.measure.amount)
    if level > 0 and p.looks:
        for _ in range(int(round(3 * level))):
            x, y = fr.rng.uniform(-0.7, 0.7, 2)
            pen.circle(
                sx + x * srx, sy + y * sry, 1.2 + 0.5 * level, (250, 250, 250), thickness=0.8
            )
    for k in range(int(round(max(level - 1.0, 0.0) * 2))):
        ph = (fr.ts * 0.35 + k * 0.37) % 1.0
        x = sx - 20 + 40 * ((k * 0.618) % 1.0)
        y = v.cy - v.ry - 6 - 50 * ph
        pts = np.array([[x + 4 * np.sin(ph * 9 + j), y - j * 6] for j in range(5)])
        pen.polyline(pts, (228, 228, 232), 2.0)
    if p.tool_given and p.tool != "hand":
        tip = (sx + srx * 0.4 * np.cos(fr.ts), sy + sry * 0.3 * np.sin(fr.ts))
        return [_rest_left(fr), _tool_hand(p, tip, -0.6, fr)]
    return [_rest_left(fr), _rest_right(fr)]


def _wait(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    draw_contents(pen, p, 1.0)
    if p.tool_given:
        return [_held_tool_left(p), _rest_right(fr)]
    return [_rest_left(fr), _rest_right(fr)]


def _microwave(pen: Pen, p: Plan, fr: Frame) -> list[Hand]:
    t = fr.t
    inner = p.vessel.scaled(0.62, 0, 0)
    inner = inner.scaled(1.0, (MW_WIN[0] + MW_WIN[2]) / 2, MW_WIN[3] - 26 - inner.h - inner.ry)
    slide = ease(t / 0.12)
    y_off = (1.0 - slide) * 70
    door = 1.7 * (1.0 - ease((t - 0.12) / 0.1))
    running = t > 0.28
    lit = running or door > 0.05
    x0, y0, x1, y1 = MW_WIN
    pen.rect(x0 + 6, y0 + 6, x1 - 6, y1 - 6, (236, 214, 150) if lit else (40, 36, 30))
    pen.ellipse((x0 + x1) / 2, y1 - 24, 48, 12, (200, 200, 196) if lit else (60, 58, 54))
    moved = inner.scaled(1.0, inner.cx, inner.cy + y_off)
    draw_vessel_back(pen, moved)
    draw_contents(pen, p, 1.0, cook=0.3 * clip01((t - 0.28) / 0.72), vessel=moved)
    draw_vessel_front(pen, moved)
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
        remaining = p.duration * (1.0 - clip01((t - 0.28) / 0.72))
    draw_microwave_panel(pen, remaining, p.heat)
    if t < 0.12:
        right = Hand(moved.cx + 30 + fr.jx, moved.cy + 20 + fr.jy, -0.6, "R", "open")
    elif t < 0.22:
        ex = x0 + (x1 - x0) * np.cos(door)
        right = Hand(ex + 10, (y0 + y1) / 2 + 10, -0.4, "R", "open")
    elif t < 0.34:
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
