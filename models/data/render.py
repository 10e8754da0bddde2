"""Procedural egocentric cooking video: every slot of a step becomes something a camera can see.

A recording is a list of segments (one per step, plus idle gaps). Each step is drawn on a
countertop seen from the cook's eyes: the ingredients (colour, shape, texture, package), the
quantity as the material added (a pile, a fill level or whole pieces that grow with the amount;
the measuring spoons, jug, scale readout or pieces still to add stand beside), the tool in the
hand, the hand motion of the verb, the container, the duration as the clip's length, the food's
doneness and a kitchen timer, a gas flame for the heat, a microwave with its own display, and a
visible manner (jerky, spilling or gentle motion). Nuisances (head motion, shake, light, blur, noise, a hand near the lens, speed,
clutter) all come from the seed.

The property the data engine relies on: a step's frames depend only on (seed, step_index, frame
index, that step's slots and length). No random stream is shared between steps, so changing one
slot of one step changes that step's pixels and nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from stepdiff.models.data.render_draw import Pen, name_hash
from stepdiff.models.data.render_hands import draw_hand
from stepdiff.models.data.render_looks import draw_package, look_for
from stepdiff.models.data.render_motion import (
    MOTION_FNS,
    Frame,
    Manner,
    Plan,
    draw_spill,
    manner_for,
)
from stepdiff.models.data.render_nuisance import StepNuisance, camera, person, step_nuisance
from stepdiff.models.data.render_scene import (
    SOURCES_X,
    SOURCES_Y,
    Measure,
    background,
    draw_microwave_body,
    draw_station,
    draw_stove,
    draw_timer_body,
    draw_timer_readout,
    draw_vessel_back,
    draw_vessel_front,
    measure_for,
    vessel_for,
)
from stepdiff.models.data.slots import DEFAULT_CONTAINER, DEFAULT_TOOL, Slots

__all__ = [
    "RenderOptions",
    "Segment",
    "segment_length",
    "render_segment",
    "render_video",
    "write_video",
]

MIN_STEP_S, MAX_STEP_S = 1.6, 14.0  # bounds of a timed step's clip
# A timed step lasts TIMED_S at TIMED_REF_S and scales as duration^TIMED_POWER: twice the time
# is sqrt(2) = 1.41x the frames, from 10 s (1.8 s) to ~10 min (14 s).
TIMED_S, TIMED_REF_S, TIMED_POWER = 4.5, 60.0, 0.5
IDLE_S = 0.8
# Clip length when the step gives no duration: what the motion needs to be recognisable.
_MOTION_S = {
    "chop": 3.0,
    "slice": 3.0,
    "stir": 3.0,
    "whisk": 3.0,
    "pour": 2.5,
    "crack": 2.5,
    "spread": 3.0,
    "peel": 3.0,
    "sprinkle": 2.0,
    "scoop": 2.5,
    "place": 2.0,
    "roll": 3.0,
    "flip": 2.5,
    "squeeze": 2.0,
    "rinse": 2.5,
    "grind": 2.5,
    "cover": 2.0,
    "heat": 3.0,
    "microwave": 3.5,
    "wait": 2.5,
}
_TOOL_ALIASES = {
    "hands": "hand",
    "fingers": "hand",
    "finger": "hand",
    "knives": "knife",
    "spoons": "spoon",
}


@dataclass(frozen=True)
class RenderOptions:
    size: int = 224  # square frames
    fps: float = 10.0
    nuisance: bool = True


@dataclass(frozen=True)
class Segment:
    slots: Slots | None  # None = idle hands between steps
    num_frames: int
    step_index: int  # position in the recording


def segment_length(slots: Slots | None, fps: float, speed: float = 1.0) -> int:
    """Frames for a step. A longer duration gives a longer clip: sqrt of the duration, 1.6-14 s."""
    if fps <= 0 or speed <= 0:
        raise ValueError(
            f"segment_length: fps and speed must be positive, got fps={fps}, speed={speed}"
        )
    if slots is None:
        seconds = IDLE_S
    elif slots.duration_s is not None and slots.duration_s > 0:
        seconds = TIMED_S * (slots.duration_s / TIMED_REF_S) ** TIMED_POWER
        seconds = min(MAX_STEP_S, max(MIN_STEP_S, seconds))
    else:
        seconds = _MOTION_S.get(slots.motion, 2.5)
    return max(2, int(round(seconds * fps / speed)))


def _check(segment: Segment, seed: int, options: RenderOptions) -> None:
    if options.size < 64:
        raise ValueError(f"RenderOptions.size must be at least 64 pixels, got {options.size}")
    if options.fps <= 0:
        raise ValueError(f"RenderOptions.fps must be positive, got {options.fps}")
    if segment.num_frames < 1:
        raise ValueError(
            f"segment {segment.step_index} has {segment.num_frames} frames; it needs at least 1"
        )
    if segment.step_index < 0:
        raise ValueError(f"segment step_index must be >= 0, got {segment.step_index}")
    if not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be an integer, got {seed!r}")


def _seed(seed: int) -> int:
    return int(seed) & 0xFFFFFFFFFFFFFFFF


def _plan(segment: Segment, seed: int, options: RenderOptions, nz: StepNuisance | None) -> Plan:
    s = segment.slots
    salt = name_hash(f"{seed}:{segment.step_index}", "salt") & 0xFFFFFFFF
    speed = nz.speed if nz is not None else 1.0
    if s is None:
        empty = Measure("none", 0.0, 0, 0.0, 0.0, 0.0, "")
        return Plan(
            None,
            "idle",
            [],
            vessel_for(None),
            None,
            False,
            empty,
            Manner(0, 1, 1, 0, False),
            None,
            None,
            segment.num_frames,
            options.fps,
            speed,
            salt,
            np.zeros((0, 2)),
        )
    motion = s.motion
    looks = [look_for(name) for name in s.ingredients[:4]]
    tool_name = s.tool.strip().lower() if s.tool else None
    tool_name = _TOOL_ALIASES.get(tool_name, tool_name) if tool_name else None
    tool = tool_name or DEFAULT_TOOL.get(motion)
    vessel = vessel_for(
        s.container.strip().lower() if s.container else None, DEFAULT_CONTAINER.get(motion)
    )
    measure = measure_for(s.quantity, s.unit)
    manner = manner_for(s.manner)
    heat = s.heat.strip().lower() if s.heat else None
    if motion == "heat" and heat is None:
        heat = "medium"
    rng = np.random.default_rng([seed, segment.step_index, 0x5917])
    a = rng.uniform(0, 2 * np.pi, manner.spill)
    f = rng.uniform(1.12, 1.5, manner.spill)
    rx, ry = max(vessel.rx, 30.0), max(vessel.ry, 18.0)
    spill = np.stack(
        [vessel.cx + np.cos(a) * rx * f, vessel.cy + vessel.h + np.sin(a) * ry * f], axis=1
    )
    return Plan(
        s,
        motion,
        looks,
        vessel,
        tool,
        tool_name is not None,
        measure,
        manner,
        heat,
        s.duration_s,
        segment.num_frames,
        options.fps,
        speed,
        salt,
        spill,
    )


def _layers(plan: Plan, seed: int, canvas: int, clutter: bool) -> list[np.ndarray]:
    """What stays put during the step, drawn once; two copies when a flame flickers."""
    bg = background(seed, canvas, clutter)
    if plan.slots is None:
        return [bg]
    out = []
    for flicker in range(2 if plan.heat is not None and plan.motion != "microwave" else 1):
        img = bg.copy()
        pen = Pen(img)
        if plan.motion == "microwave":
            draw_microwave_body(pen)
            out.append(img)
            continue
        if plan.heat is not None:
            draw_stove(pen, plan.vessel, plan.heat, flicker)
        for x, look in zip(SOURCES_X, plan.looks, strict=False):
            draw_package(pen, look, x, SOURCES_Y)
        carried = (
            plan.motion == "pour"
            and plan.measure.kind == "jug"
            and not plan.manner.direct
            and bool(plan.looks)
            and plan.looks[0].bulk
        )
        if plan.measure.kind not in ("none", "count") and not carried:
            draw_station(pen, plan.measure, plan.looks, 0)
        if plan.duration is not None:
            draw_timer_body(pen)
        if plan.motion != "rinse" or plan.vessel.kind is not None:
            draw_vessel_back(pen, plan.vessel)
        out.append(img)
    return out


def _iter_segment(segment: Segment, seed: int, options: RenderOptions) -> Iterator[np.ndarray]:
    _check(segment, seed, options)
    seed = _seed(seed)
    size = options.size
    canvas = int(round(size * 1.125))
    canvas += (canvas - size) % 2  # an even margin keeps the centre crop centred
    nz = step_nuisance(seed, segment.step_index) if options.nuisance else None
    plan = _plan(segment, seed, options, nz)
    layers = _layers(plan, seed, canvas, options.nuisance)
    who = person(seed, options.nuisance)
    draw = MOTION_FNS[plan.motion]
    n = segment.num_frames
    for i in range(n):
        t = i / (n - 1) if n > 1 else 0.0
        ts = i / options.fps * plan.speed * plan.manner.pace
        rng = np.random.default_rng([seed, segment.step_index, i, 0xF7])
        jx, jy = rng.normal(0.0, plan.manner.jerk, 2) if plan.manner.jerk > 0 else (0.0, 0.0)
        img = layers[int(rng.integers(len(layers)))].copy()
        pen = Pen(img)
        if plan.slots is not None and plan.motion != "microwave":
            draw_spill(pen, plan, t)
        hands = draw(pen, plan, Frame(t, ts, rng, float(jx), float(jy)))
        if plan.slots is not None and plan.motion != "microwave":
            draw_vessel_front(pen, plan.vessel)
            if plan.duration is not None:
                draw_timer_readout(pen, plan.duration * (1.0 - t), plan.duration)
        for hand in hands:
            draw_hand(pen, hand, who.skin, who.sleeve)
        yield camera(img, size, nz, seed, segment.step_index, i, t, i / options.fps, who.skin)


def render_segment(
    segment: Segment, seed: int, options: RenderOptions = RenderOptions()
) -> np.ndarray:
    """All frames of one segment as uint8 RGB [N, H, W, 3]."""
    frames = np.empty((segment.num_frames, options.size, options.size, 3), np.uint8)
    for i, frame in enumerate(_iter_segment(segment, seed, options)):
        frames[i] = frame
    return frames


def render_video(
    segments: Sequence[Segment], seed: int, options: RenderOptions = RenderOptions()
) -> Iterator[np.ndarray]:
    """Frames of a whole recording, one at a time, in segment order."""
    for segment in segments:
        yield from _iter_segment(segment, seed, options)


def write_video(path: str, frames: Iterable[np.ndarray], fps: float) -> int:
    """Writes RGB frames as an mp4 (mp4v) atomically; returns the number of frames written."""
    if fps <= 0:
        raise ValueError(f"{path}: fps must be positive, got {fps}")
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise ValueError(f"{path}: no frames to write")
    if first.ndim != 3 or first.shape[2] != 3 or first.dtype != np.uint8:
        raise ValueError(
            f"{path}: frames must be uint8 [H, W, 3] RGB, got {first.dtype} {first.shape}"
        )
    h, w = first.shape[:2]
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp.mp4")
    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
    if not writer.isOpened():
        raise ValueError(
            f"{path}: OpenCV cannot open an mp4v writer here (is the directory writable?)"
        )
    count = 0
    try:
        for frame in _chain(first, it):
            if frame.shape != first.shape or frame.dtype != np.uint8:
                raise ValueError(
                    f"{path}: frame {count} is {frame.dtype} {frame.shape}, expected uint8 {first.shape}"
                )
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            count += 1
        writer.release()
        os.replace(tmp, path)
    except BaseException:
        writer.release()
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return count


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest
