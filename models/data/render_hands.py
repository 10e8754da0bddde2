"""Hands, forearms and the tools they hold.

A hand is a grip point, a pointing angle (0 = up the image) and what it holds. Tools are drawn in
their own frame (u forward from the grip, v to the right) and rotated into the scene.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from stepdiff.models.data.render_draw import RGB, Pen, hsv_rgb, name_hash, rot, shade
from stepdiff.models.data.render_looks import Look, draw_bulk, draw_item

STEEL: RGB = (204, 208, 214)
TOOL_SCALE = 1.3  # tools are drawn in a 1/1.3 local frame: a knife is ~70 units long
HAND_SCALE = 1.3
BLACK: RGB = (34, 32, 32)

# Distance from the grip to the point that does the work (blade middle, whisk balloon, ...).
REACH = {
    "knife": 34.0,
    "whisk": 36.0,
    "spatula": 34.0,
    "spoon": 30.0,
    "fork": 36.0,
    "grater": 22.0,
    "peeler": 20.0,
    "tongs": 40.0,
    "cup": 18.0,
    "hand": 14.0,
}


@dataclass
class Hand:
    x: float  # grip point
    y: float
    angle: float  # where the fingers or the tool point; 0 = up the image, positive = clockwise
    side: str  # "R" or "L"
    grip: str = "open"  # "open", "tool", "fist", "pinch"
    tool: str | None = None
    spoon_r: float = 9.0  # spoon bowl radius, scene units
    load: Look | None = None  # what the tool carries (a spoonful)
    load_fill: float = 1.0
    held: Callable[[Pen], None] | None = None  # a prop drawn between palm and fingers


def reach(tool: str | None, spoon_r: float = 9.0) -> float:
    if tool == "spoon":
        return 21.0 * TOOL_SCALE + spoon_r
    return REACH.get(tool or "hand", 34.0) * (TOOL_SCALE if tool != "hand" else HAND_SCALE)


def grip_for(
    tool: str | None, tip_x: float, tip_y: float, angle: float, spoon_r: float = 9.0
) -> tuple[float, float]:
    """Where the hand must be for the tool's working point to be at (tip_x, tip_y)."""
    r = reach(tool, spoon_r)
    return tip_x - r * np.sin(angle), tip_y + r * np.cos(angle)


def draw_hand(pen: Pen, h: Hand, skin: RGB, sleeve: RGB) -> None:
    k = HAND_SCALE
    sgn = 1.0 if h.side == "R" else -1.0
    base_x, base_y = h.x + sgn * 56.0 + 20.0 * np.sin(h.angle), 310.0
    dx, dy = h.x - base_x, h.y - base_y
    n = max(np.hypot(dx, dy), 1e-3)
    ux, uy = dx / n, dy / n
    palm_x, palm_y = h.x - ux * 7.0 * k, h.y - uy * 7.0 * k
    elbow_x, elbow_y = base_x + dx * 0.45, base_y + dy * 0.45
    pen.line(base_x, base_y, palm_x, palm_y, shade(skin, 0.8), 23.0 * k)
    pen.line(base_x, base_y, palm_x, palm_y, skin, 20.0 * k)
    pen.line(base_x, base_y, elbow_x, elbow_y, sleeve, 30.0 * k)
    palm_deg = np.degrees(np.arctan2(uy, ux))
    pen.ellipse(palm_x, palm_y, 15.5 * k, 12.5 * k, shade(skin, 0.8), angle=palm_deg)
    pen.ellipse(palm_x, palm_y, 14.0 * k, 11.2 * k, skin, angle=palm_deg)
    a = h.angle
    fx, fy = np.sin(a), -np.cos(a)  # forward
    rx, ry = np.cos(a), np.sin(a)  # to the right of the forward direction
    finger = shade(skin, 0.93)
    edge = shade(skin, 0.72)
    if h.grip in ("tool",) and h.tool not in (None, "hand"):
        draw_tool(pen, h.tool, h.x, h.y, a, h.spoon_r, h.load, h.load_fill)
    if h.held is not None:
        h.held(pen)
    if h.grip == "open" or h.tool == "hand" and h.grip == "tool":
        for off in (-1.5, -0.5, 0.5, 1.5):
            sx, sy = h.x + rx * off * 4.5 * k, h.y + ry * off * 4.5 * k
            ln = (15.0 - abs(off) * 2.5) * k
            spread = off * 0.12
            ex = sx + (fx * np.cos(spread) + rx * np.sin(spread)) * ln
            ey = sy + (fy * np.cos(spread) + ry * np.sin(spread)) * ln
            pen.line(sx, sy, ex, ey, edge, 5.4 * k)
            pen.line(sx, sy, ex, ey, finger, 4.2 * k)
        bx, by = h.x - sgn * rx * 5 * k, h.y - sgn * ry * 5 * k
        tx, ty = bx - sgn * rx * 8 * k + fx * 8 * k, by - sgn * ry * 8 * k + fy * 8 * k
        pen.line(bx, by, tx, ty, edge, 5.6 * k)
        pen.line(bx, by, tx, ty, finger, 4.4 * k)
    elif h.grip == "pinch":
        tip_x, tip_y = h.x + fx * 14 * k, h.y + fy * 14 * k
        for off in (-1.0, 0.0, 1.0):
            sx, sy = h.x + rx * off * 5 * k, h.y + ry * off * 5 * k
            pen.line(sx, sy, tip_x + rx * off, tip_y + ry * off, edge, 5.0 * k)
            pen.line(sx, sy, tip_x + rx * off, tip_y + ry * off, finger, 3.8 * k)
        pen.line(h.x - sgn * rx * 7 * k, h.y - sgn * ry * 7 * k, tip_x, tip_y, finger, 4.2 * k)
    else:  # a closed hand: knuckles wrap the handle or the prop
        for off in (-1.5, -0.5, 0.5, 1.5):
            kx, ky = (
                h.x + rx * off * 4.6 * k + fx * 2.0 * k,
                h.y + ry * off * 4.6 * k + fy * 2.0 * k,
            )
            pen.circle(kx, ky, 3.4 * k, edge)
            pen.circle(kx, ky, 2.7 * k, finger)
        pen.line(
            h.x - sgn * rx * 8 * k,
            h.y - sgn * ry * 8 * k,
            h.x - sgn * rx * 2 * k + fx * 6 * k,
            h.y - sgn * ry * 2 * k + fy * 6 * k,
            finger,
            4.6 * k,
        )


def draw_tool(
    pen: Pen,
    name: str,
    x: float,
    y: float,
    a: float,
    spoon_r: float = 9.0,
    load: Look | None = None,
    load_fill: float = 1.0,
) -> None:
    deg = np.degrees(a) - 90.0  # OpenCV ellipse angle whose first axis lies along the tool
    k = TOOL_SCALE
    spoon_r /= k  # the measuring-spoon radius is given in scene units

    def p(*uv: tuple[float, float]) -> np.ndarray:
        return rot(np.array(uv, dtype=np.float64) * k, x, y, a)

    def at(u: float, v: float = 0.0) -> tuple[float, float]:
        q = p((u, v))[0]
        return float(q[0]), float(q[1])

    def circle(cx: float, cy: float, r: float, c: RGB) -> None:
        pen.circle(cx, cy, r * k, c)

    def ellipse(cx: float, cy: float, ax: float, ay: float, c: RGB, **kw: float) -> None:
        if "thickness" in kw:
            kw["thickness"] = kw["thickness"] * k
        pen.ellipse(cx, cy, ax * k, ay * k, c, angle=deg, **kw)

    def poly(pts: np.ndarray, c: RGB, width: float | None = None) -> None:
        if width is None:
            pen.poly(pts, c)
        else:
            pen.polyline(pts, c, width * k)

    if name == "knife":
        pen.poly(p((-18, -3.5), (3, -3.5), (3, 3.5), (-18, 3.5)), BLACK)
        pen.poly(p((3, -3.8), (46, -2.5), (56, 3.8), (3, 4.8)), STEEL)
        poly(p((3, 4.6), (56, 3.8)), (246, 248, 250), 1.2)
        poly(p((3, -3.8), (46, -2.5)), shade(STEEL, 0.7), 0.8)
        for u in (-13, -6):
            circle(*at(u), 1.0, STEEL)
    elif name == "whisk":
        pen.poly(p((-18, -3), (10, -3), (10, 3), (-18, 3)), (176, 180, 188))
        cx, cy = at(29)
        for minor in (3.0, 7.0, 11.0, 14.0):
            ellipse(cx, cy, 19.0, minor, (150, 154, 162), thickness=1.3)
        ellipse(cx, cy, 19.0, 14.0, (226, 228, 234), start=-60, end=60, thickness=1.3)
    elif name == "spatula":
        pen.poly(p((-18, -3), (18, -3), (18, 3), (-18, 3)), BLACK)
        pen.poly(
            p((18, -3), (22, -10), (48, -11), (50, 0), (48, 11), (22, 10), (18, 3)), (70, 72, 78)
        )
        for v in (-5, 0, 5):
            poly(p((27, v), (44, v)), (150, 152, 160), 1.4)
    elif name == "spoon":
        pen.poly(p((-18, -2.3), (22, -1.6), (22, 1.6), (-18, 2.3)), STEEL)
        cx, cy = at(21 + spoon_r)
        ellipse(cx, cy, spoon_r * 1.3 + 1.0, spoon_r + 1.0, shade(STEEL, 0.7))
        ellipse(cx, cy, spoon_r * 1.3, spoon_r, STEEL)
        if load is not None and load_fill > 0:
            f = float(np.sqrt(load_fill))
            if load.bulk:
                draw_bulk(
                    pen, load, cx, cy, spoon_r * 0.95 * f * k, spoon_r * 0.75 * f * k, mound=True
                )
            else:
                draw_item(pen, load, cx, cy, spoon_r * 0.7 * f * k)
    elif name == "fork":
        pen.poly(p((-18, -2.3), (22, -1.8), (22, 1.8), (-18, 2.3)), STEEL)
        pen.poly(p((21, -6), (28, -6.5), (28, 6.5), (21, 6)), STEEL)
        for v in (-5.2, -1.8, 1.8, 5.2):
            poly(p((27, v), (42, v)), STEEL, 1.6)
    elif name == "grater":
        pen.poly(p((-12, -3), (2, -3), (2, 3), (-12, 3)), BLACK)
        pen.poly(p((2, -12), (40, -10), (40, 10), (2, 12)), (190, 194, 200))
        for u in (8, 16, 24, 32):
            for v in (-6, 0, 6):
                circle(*at(u, v), 1.3, (90, 90, 96))
    elif name == "peeler":
        pen.poly(p((-18, -4), (6, -4), (6, 4), (-18, 4)), (240, 130, 40))
        poly(p((6, -2), (20, -9)), STEEL, 1.8)
        poly(p((6, 2), (20, 9)), STEEL, 1.8)
        poly(p((20, -9), (20, 9)), (160, 164, 170), 2.4)
    elif name == "tongs":
        for s in (-1, 1):
            poly(p((-14, s * 2), (20, s * 5), (44, s * 6)), (176, 180, 188), 3.0)
            circle(*at(44, s * 6), 2.4, (120, 124, 130))
    elif name == "cup":
        pen.poly(p((-16, -2.5), (6, -2.5), (6, 2.5), (-16, 2.5)), (150, 154, 160))
        cx, cy = at(18)
        ellipse(cx, cy, 12.5, 10.5, (120, 124, 130))
        ellipse(cx, cy, 11.2, 9.4, (206, 210, 216))
        if load is not None and load_fill > 0:
            f = float(np.sqrt(load_fill))
            draw_bulk(
                pen, load, cx, cy, 10 * f * k, 8 * f * k, mound=True
            ) if load.bulk else draw_item(pen, load, cx, cy, 7 * f * k)
    else:  # a tool we have no drawing for: a stick with a head, coloured by its name
        h = name_hash(name, "tool")
        c = hsv_rgb((h & 0xFF) / 255.0, 0.6, 0.7)
        pen.poly(p((-18, -2.5), (28, -2.5), (28, 2.5), (-18, 2.5)), c)
        shape = (h >> 8) % 3
        cx, cy = at(34)
        if shape == 0:
            circle(cx, cy, 7, shade(c, 0.7))
        elif shape == 1:
            pen.poly(p((28, -8), (42, -8), (42, 8), (28, 8)), shade(c, 0.7))
        else:
            pen.poly(p((28, 0), (44, -7), (44, 7)), shade(c, 0.7))
