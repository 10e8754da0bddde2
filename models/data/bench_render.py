"""Renderer speed: frames per second on one CPU core (`stepdiff bench render`).

Renders a recording that uses every motion family, with the usual slot mix and nuisances, and
reports frames/s after a warm-up (the warm-up builds the seed's background, which every later
frame of that video reuses).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import cv2

from stepdiff.models.data.render import RenderOptions, Segment, render_video, segment_length
from stepdiff.models.data.slots import MOTIONS, VERB_MOTION, Slots

_INGREDIENTS = (
    ("onion",),
    ("flour", "sugar"),
    ("egg",),
    ("milk",),
    ("salt",),
    ("tomato", "garlic"),
    ("butter", "bread"),
    ("oil",),
)
_UNITS = ("tsp", "tbsp", "cup", None, "g")
_CONTAINERS = ("bowl", "pan", None, "pot", "mug", "plate")


def benchmark_recording(fps: float) -> list[Segment]:
    """One step per motion family with idle gaps, cycling through slot values."""
    verb_for = {}
    for verb, motion in VERB_MOTION.items():
        verb_for.setdefault(motion, verb)
    segments = []
    for i, motion in enumerate(MOTIONS):
        slots = Slots(
            verb_for[motion],
            _INGREDIENTS[i % len(_INGREDIENTS)],
            quantity=float(1 + i % 3),
            unit=_UNITS[i % len(_UNITS)],
            container=_CONTAINERS[i % len(_CONTAINERS)],
            duration_s=(None, 30.0, 120.0)[i % 3],
            heat=(None, "high", None, "low")[i % 4],
            manner="roughly" if i % 5 == 4 else None,
        )
        index = 2 * i
        segments.append(Segment(None, segment_length(None, fps), index))
        segments.append(Segment(slots, segment_length(slots, fps), index + 1))
    return segments


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="stepdiff bench render", description=__doc__)
    ap.add_argument("--size", type=int, default=224, help="frame size in pixels (square)")
    ap.add_argument("--fps", type=float, default=10.0, help="video frame rate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="timed passes over the recording")
    ap.add_argument("--no-nuisance", action="store_true", help="render without camera nuisances")
    ap.add_argument("--all-cores", action="store_true", help="do not pin the process to one core")
    args = ap.parse_args(argv)
    if args.size < 64 or args.fps <= 0 or args.repeats < 1:
        print("bench render: need --size >= 64, --fps > 0 and --repeats >= 1", file=sys.stderr)
        return 2

    cv2.setNumThreads(1)
    pinned = None
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        pinned = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(pinned)})
    try:
        options = RenderOptions(size=args.size, fps=args.fps, nuisance=not args.no_nuisance)
        segments = benchmark_recording(args.fps)
        for _ in render_video(segments[:4], args.seed, options):  # warm-up: background, caches
            pass
        frames = 0
        start = time.perf_counter()
        for _ in range(args.repeats):
            for _ in render_video(segments, args.seed, options):
                frames += 1
        elapsed = time.perf_counter() - start
    finally:
        if pinned is not None:
            os.sched_setaffinity(0, pinned)
    core = "1 core" if pinned is not None else "all cores"
    print(
        f"render: {frames / elapsed:.1f} frames/s ({frames} frames of {args.size}x{args.size} "
        f"in {elapsed:.2f} s, {core}, nuisance={'off' if args.no_nuisance else 'on'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
