"""Camera and person nuisances: head motion and shake, lighting, blur, noise, a hand near the lens.

All of it comes from the seed: per-video things (skin, sensor noise) from the seed alone, per-step
things from (seed, step index), per-frame jitter from (seed, step index, frame). The amounts stay
small enough that what the step did is still plain to see.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from stepdiff.models.data.render_draw import RGB, Pen

_SKINS: tuple[RGB, ...] = (
    (240, 200, 170),
    (226, 178, 140),
    (198, 146, 106),
    (160, 110, 76),
    (118, 80, 56),
    (234, 190, 160),
)


@dataclass(frozen=True)
class Person:
    skin: RGB
    sleeve: RGB


def person(seed: int, nuisance: bool) -> Person:
    if not nuisance:
        return Person((226, 178, 140), (70, 90, 130))
    rng = np.random.default_rng([seed, 0x5C1])
    skin = _SKINS[int(rng.integers(len(_SKINS)))]
    # Muted sleeve colours: a saturated sleeve fills a corner of every frame and would
    # outweigh the step in pooled CNN features.
    raw = rng.integers(30, 220, 3)
    sleeve = tuple(int(0.5 * v + 0.5 * 110) for v in raw)
    return Person(skin, sleeve)  # type: ignore[arg-type]


@dataclass(frozen=True)
class StepNuisance:
    """One step's camera: smooth head motion, light drift and the odd blur or occluding hand."""

    speed: float  # how fast this person does the motion
    head_amp: tuple[float, float]  # pixels at 224
    head_freq: tuple[float, float]  # Hz
    head_phase: tuple[float, float]
    roll_amp: float  # degrees
    zoom: float
    shake: float  # per-frame jitter, pixels at 224
    gain: float
    warmth: float  # -1 cool .. 1 warm
    light_drift: float
    light_freq: float
    blur_window: tuple[float, float]  # part of the step (0..1) with motion blur, empty if none
    blur_k: int
    defocus: bool
    occlusion: tuple[float, float]  # part of the step a hand passes near the lens
    occ_side: int  # -1 left, 1 right


def step_nuisance(seed: int, step_index: int) -> StepNuisance:
    rng = np.random.default_rng([seed, step_index, 0x4E55])
    blur_start = rng.uniform(0.0, 0.8)
    has_blur = rng.random() < 0.35
    occ_start = rng.uniform(0.1, 0.7)
    has_occ = rng.random() < 0.3
    return StepNuisance(
        speed=float(rng.uniform(0.8, 1.25)),
        head_amp=(float(rng.uniform(1.5, 6.0)), float(rng.uniform(1.5, 5.0))),
        head_freq=(float(rng.uniform(0.1, 0.45)), float(rng.uniform(0.1, 0.45))),
        head_phase=(float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0, 2 * np.pi))),
        roll_amp=float(rng.uniform(0.0, 1.5)),
        zoom=float(rng.uniform(0.97, 1.04)),
        shake=float(rng.uniform(0.8, 2.0)) if rng.random() < 0.35 else 0.0,
        gain=float(rng.uniform(0.9, 1.06)),
        warmth=float(rng.uniform(-0.5, 0.5)),
        light_drift=float(rng.uniform(0.0, 0.05)),
        light_freq=float(rng.uniform(0.1, 0.5)),
        blur_window=(blur_start, blur_start + float(rng.uniform(0.08, 0.2)))
        if has_blur
        else (0.0, 0.0),
        blur_k=int(rng.choice([3, 5])),
        defocus=bool(rng.random() < 0.12),
        occlusion=(occ_start, occ_start + float(rng.uniform(0.15, 0.3))) if has_occ else (0.0, 0.0),
        occ_side=int(rng.choice([-1, 1])),
    )


@lru_cache(maxsize=4)
def _noise_bank(seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Sensor noise for the whole video, cut at a random offset per frame (cheaper than drawing)."""
    rng = np.random.default_rng([seed, 0x9015E])
    sigma = rng.uniform(2.0, 5.0)
    pad = size + 32
    noise = rng.normal(0.0, sigma, (pad, pad, 3))
    pos = np.clip(noise, 0, 255).astype(np.uint8)
    neg = np.clip(-noise, 0, 255).astype(np.uint8)
    pos.setflags(write=False)
    neg.setflags(write=False)
    return pos, neg


def _light_lut(gain: float, warmth: float) -> np.ndarray:
    x = np.arange(256, dtype=np.float32)
    g = np.array([1.0 + 0.07 * warmth, 1.0, 1.0 - 0.07 * warmth], dtype=np.float32) * gain
    lut = np.clip(x[:, None] * g[None, :], 0, 255).astype(np.uint8)
    return lut.reshape(256, 1, 3)


def camera(
    canvas: np.ndarray,
    size: int,
    nz: StepNuisance | None,
    seed: int,
    step_index: int,
    frame_index: int,
    t: float,
    ts: float,
    skin: RGB,
) -> np.ndarray:
    """The frame the headset sees: a crop of the scene canvas, moved and degraded by nuisances."""
    c = canvas.shape[0]
    off = (c - size) / 2.0
    if nz is None:
        o = int(off)
        return np.ascontiguousarray(canvas[o : o + size, o : o + size])
    rng = np.random.default_rng([seed, step_index, frame_index, 0xCA3])
    px = size / 224.0
    tx = nz.head_amp[0] * np.sin(2 * np.pi * nz.head_freq[0] * ts + nz.head_phase[0]) * px
    ty = nz.head_amp[1] * np.sin(2 * np.pi * nz.head_freq[1] * ts + nz.head_phase[1]) * px
    if nz.shake > 0:
        tx += rng.normal(0.0, nz.shake) * px
        ty += rng.normal(0.0, nz.shake) * px
    roll = nz.roll_amp * np.sin(2 * np.pi * 0.3 * ts + nz.head_phase[1])
    m = cv2.getRotationMatrix2D((c / 2.0, c / 2.0), roll, nz.zoom)
    m[0, 2] += -off + tx
    m[1, 2] += -off + ty
    frame = cv2.warpAffine(
        canvas, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101
    )
    if nz.occlusion[0] <= t < nz.occlusion[1]:
        _near_hand(frame, nz, (t - nz.occlusion[0]) / (nz.occlusion[1] - nz.occlusion[0]), skin)
    gain = nz.gain * (1.0 + nz.light_drift * np.sin(2 * np.pi * nz.light_freq * ts))
    frame = cv2.LUT(frame, _light_lut(round(gain, 3), nz.warmth))
    if nz.blur_window[0] <= t < nz.blur_window[1]:
        k = nz.blur_k if size <= 256 else nz.blur_k * 2 + 1
        frame = cv2.blur(frame, (k, 1) if frame_index % 2 else (1, k))
    elif nz.defocus:
        frame = cv2.GaussianBlur(frame, (3, 3), 0)
    pos, neg = _noise_bank(seed, size)
    ox, oy = (int(v) for v in rng.integers(0, 32, 2))
    cv2.add(frame, pos[oy : oy + size, ox : ox + size], dst=frame)
    cv2.subtract(frame, neg[oy : oy + size, ox : ox + size], dst=frame)
    return frame


def _near_hand(frame: np.ndarray, nz: StepNuisance, q: float, skin: RGB) -> None:
    """A hand passing close to the lens along the bottom edge: big, dark and soft."""
    pen = Pen(frame)
    side = nz.occ_side
    x = 128 + side * (150 - 60 * np.sin(np.pi * q))
    y = 236 - 12 * np.sin(np.pi * q)
    dark = (int(skin[0] * 0.62), int(skin[1] * 0.62), int(skin[2] * 0.62))
    pen.ellipse(x, y, 40, 30, dark, angle=-side * 30)
    pen.line(x, y, x + side * 60, 300, dark, 40)
