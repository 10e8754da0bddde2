"""Clip ids -> video files and seconds, and their frames.

A clip id is `<video_id>_<start>_<end>` (StepDiff's format). The store reads DIR/clips.json, the
index a build writes for every clip its PairQA samples and benchmarks use; an id missing from the
index is still resolved when DIR/videos/<video_id>.mp4 exists.
"""

from __future__ import annotations

import json
import os

import numpy as np

from stepdiff.models.data.annotation import parse_clip_id
from stepdiff.runtime.errors import BadInput
from stepdiff.runtime.video import read_clip, read_clips


class ClipStore:
    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        index = os.path.join(self.root, "clips.json")
        self.index: dict[str, dict] = {}
        if os.path.exists(index):
            try:
                with open(index, encoding="utf-8") as f:
                    self.index = json.load(f)
            except json.JSONDecodeError as e:
                raise BadInput(
                    index,
                    f"is not valid JSON ({e.msg}, line {e.lineno}); rebuild with `stepdiff data build`",
                ) from None
        elif not os.path.isdir(os.path.join(self.root, "videos")):
            raise BadInput(
                self.root,
                "has no clips.json and no videos/ directory; is this a `stepdiff data build` output?",
            )

    def __contains__(self, clip_id: str) -> bool:
        try:
            self.resolve(clip_id)
            return True
        except (KeyError, BadInput):
            return False

    def __len__(self) -> int:
        return len(self.index)

    def resolve(self, clip_id: str) -> tuple[str, float, float]:
        """(absolute video path, start seconds, end seconds)."""
        entry = self.index.get(clip_id)
        if entry is not None:
            path = entry["video"]
            path = path if os.path.isabs(path) else os.path.join(self.root, path)
            return path, float(entry["start"]), float(entry["end"])
        try:
            video_id, start, end = parse_clip_id(clip_id)
        except ValueError as e:
            raise KeyError(str(e)) from None
        path = os.path.join(self.root, "videos", f"{video_id}.mp4")
        if not os.path.exists(path):
            raise KeyError(f"clip {clip_id!r}: not in {self.root}/clips.json and no video {path}")
        return path, start, end

    def frames(self, clip_id: str, num_frames: int, size: int) -> np.ndarray:
        """uint8 [num_frames, size, size, 3] RGB, uniformly sampled over the clip."""
        path, start, end = self.resolve(clip_id)
        return read_clip(path, num_frames, size, start, end)

    def frames_many(self, clip_ids: list[str], num_frames: int, size: int) -> dict[str, np.ndarray]:
        """frames() of many clips, decoding each video once for all its clips."""
        by_video: dict[str, list[tuple[str, float, float]]] = {}
        for cid in clip_ids:
            path, start, end = self.resolve(cid)
            by_video.setdefault(path, []).append((cid, start, end))
        out = {}
        for path, clips in by_video.items():
            spans = [(start, end) for _, start, end in clips]
            for (cid, _, _), frames in zip(
                clips, read_clips(path, spans, num_frames, size), strict=True
            ):
                out[cid] = frames
        return out
