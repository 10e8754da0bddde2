"""Drawing in scene units: a 256x256 unit square mapped onto the canvas, with subpixel precision.

Every scene element is written in these units so the renderer looks the same at any frame size,
and OpenCV's fixed-point `shift` keeps slow motions smooth instead of stepping a pixel at a time.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np

RGB = tuple[int, int, int]

UNITS = 256.0
_SHIFT = 4
_ONE = 1 << _SHIFT
_AA = cv2.LINE_AA


def shade(c: RGB, f: float) -> RGB:
    return (min(255, int(c[0] * f)), min(255, int(c[1] * f)), min(255, int(c[2] * f)))


def mix(a: RGB, b: RGB, t: float) -> RGB:
    t = min(1.0, max(0.0, t))
    return (
        int(a[0] + (b[0] - a[0]) * t),
        int(a[1] + (b[1] - a[1]) * t),
        int(a[2] + (b[2] - a[2]) * t),
    )


def name_hash(name: str, salt: str = "") -> int:
    """A stable 64-bit hash: Python's hash() is salted per process, which would break seeds."""
    digest = hashlib.blake2b(f"{salt}\x00{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def hsv_rgb(h: float, s: float, v: float) -> RGB:
    px = np.array([[[h * 180.0 % 180.0, s * 255.0, v * 255.0]]], dtype=np.float32)
    r, g, b = cv2.cvtColor(px.astype(np.uint8), cv2.COLOR_HSV2RGB)[0, 0]
    return (int(r), int(g), int(b))


class Pen:
    """Draws on an RGB uint8 canvas in scene units (k pixels per unit)."""

    __slots__ = ("img", "k", "_kf")

    def __init__(self, img: np.ndarray) -> None:
        self.img = img
        self.k = img.shape[1] / UNITS
        self._kf = self.k * _ONE

    def _p(self, x: float, y: float) -> tuple[int, int]:
        return (int(x * self._kf), int(y * self._kf))

    def _t(self, thickness: float) -> int:
        return max(1, int(round(thickness * self.k)))

    def circle(self, x: float, y: float, r: float, color: RGB, thickness: float = -1) -> None:
        t = -1 if thickness < 0 else self._t(thickness)
        cv2.circle(
            self.img, self._p(x, y), max(int(r * self._kf), _ONE // 2), color, t, _AA, _SHIFT
        )

    def ellipse(
        self,
        x: float,
        y: float,
        rx: float,
        ry: float,
        color: RGB,
        angle: float = 0.0,
        start: float = 0.0,
        end: float = 360.0,
        thickness: float = -1,
    ) -> None:
        t = -1 if thickness < 0 else self._t(thickness)
        axes = (max(int(rx * self._kf), _ONE // 2), max(int(ry * self._kf), _ONE // 2))
        cv2.ellipse(self.img, self._p(x, y), axes, angle, start, end, color, t, _AA, _SHIFT)

    def poly(self, pts: np.ndarray, color: RGB) -> None:
        p = (np.asarray(pts, dtype=np.float64) * self._kf).astype(np.int32)
        cv2.fillPoly(self.img, [p], color, _AA, _SHIFT)

    def polyline(self, pts: np.ndarray, color: RGB, thickness: float, closed: bool = False) -> None:
        p = (np.asarray(pts, dtype=np.float64) * self._kf).astype(np.int32)
        cv2.polylines(self.img, [p], closed, color, self._t(thickness), _AA, _SHIFT)

    def line(
        self, x0: float, y0: float, x1: float, y1: float, color: RGB, thickness: float = 1.0
    ) -> None:
        cv2.line(self.img, self._p(x0, y0), self._p(x1, y1), color, self._t(thickness), _AA, _SHIFT)

    def rect(
        self, x0: float, y0: float, x1: float, y1: float, color: RGB, thickness: float = -1
    ) -> None:
        pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        if thickness < 0:
            self.poly(pts, color)
        else:
            self.polyline(pts, color, thickness, closed=True)

    def text(
        self, s: str, x: float, y: float, height: float, color: RGB, thickness: float = 1.0
    ) -> None:
        """Text whose cap height is `height` units, left-aligned, baseline at y."""
        scale = height * self.k / 22.0  # Hershey simplex digits are ~22 px tall at scale 1
        org = (int(x * self.k), int(y * self.k))
        cv2.putText(
            self.img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, self._t(thickness), _AA
        )

    def text_width(self, s: str, height: float, thickness: float = 1.0) -> float:
        scale = height * self.k / 22.0
        (w, _), _ = cv2.getTextSize(s, cv2.FONT_HERSHEY_SIMPLEX, scale, self._t(thickness))
        return w / self.k


def rot(pts: np.ndarray, x: float, y: float, angle: float) -> np.ndarray:
    """Local (u forward, v right) points to scene points; angle 0 points up the image."""
    s, c = np.sin(angle), np.cos(angle)
    u, v = pts[:, 0], pts[:, 1]
    return np.stack([x + u * s + v * c, y - u * c + v * s], axis=1)
