"""Video in: decode with OpenCV, sample T frames, resize to the encoder's frame size.

Shared by the runtime (live compare) and by models/ (feature caching), so that training and the
headset see exactly the same pixels for the same clip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

# FFmpeg inside OpenCV prints its own complaints ("moov atom not found") for files that are not
# videos; the caller gets one clear BadInput line instead. Set before cv2 loads its backends.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

import cv2  # noqa: E402
import numpy as np

from stepdiff.runtime.errors import BadInput


@dataclass(frozen=True)
class VideoInfo:
    path: str
    fps: float
    num_frames: int
    width: int
    height: int

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps if self.fps > 0 else 0.0


def _open(path: str) -> cv2.VideoCapture:
    if not os.path.exists(path):
        raise BadInput(path, "no such file")
    if os.path.isdir(path):
        raise BadInput(path, "is a directory, expected a video file")
    if os.path.getsize(path) == 0:
        raise BadInput(path, "is empty (0 bytes), expected a video file")
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        cap.release()
        raise BadInput(path, "is not a readable video (OpenCV could not open it)")
    return cap


def probe(path: str) -> VideoInfo:
    """Reads the container's header; raises BadInput for anything that is not a decodable video."""
    cap = _open(path)
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or 0.0
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        ok, _ = cap.read()
        if not ok or w <= 0 or h <= 0:
            raise BadInput(path, "has no decodable video frames")
    finally:
        cap.release()
    if fps <= 0 or fps > 1000:
        fps = 30.0  # some containers omit the rate; frame indices still work
    return VideoInfo(path=path, fps=fps, num_frames=max(n, 1), width=w, height=h)


def iter_frames(path: str) -> Iterator[tuple[int, np.ndarray]]:
    """Yields (index, RGB uint8 frame) for every decodable frame."""
    cap = _open(path)
    try:
        i = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            yield i, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            i += 1
    finally:
        cap.release()


def sample_indices(start: int, end: int, num: int) -> np.ndarray:
    """Centres of `num` equal bins over frames [start, end); repeats frames of very short clips."""
    end = max(end, start + 1)
    edges = np.linspace(start, end, num + 1)
    return np.clip(((edges[:-1] + edges[1:]) / 2).astype(np.int64), start, end - 1)


def resize_square(frame: np.ndarray, size: int) -> np.ndarray:
    """Centre crop to a square, then resize: egocentric frames keep their aspect ratio."""
    h, w = frame.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    crop = frame[y : y + s, x : x + s]
    if s == size:
        return np.ascontiguousarray(crop)
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def read_clip(
    path: str,
    num_frames: int,
    size: int,
    start_s: float | None = None,
    end_s: float | None = None,
) -> np.ndarray:
    """T uniformly sampled RGB frames of [start_s, end_s) as uint8 [T, size, size, 3]."""
    return read_clips(path, [(start_s, end_s)], num_frames, size)[0]


def read_clips(
    path: str,
    spans: list[tuple[float | None, float | None]],
    num_frames: int,
    size: int,
) -> list[np.ndarray]:
    """read_clip for several [start_s, end_s) spans of one video, in one decoding pass.

    Decodes sequentially rather than seeking: seeking in mp4v/H.264 is not frame-accurate in
    every OpenCV build. One pass serves every span, so caching the clips of a long recording
    decodes it once, not once per clip; only the frames kept are converted and resized.
    """
    info = probe(path)
    wanted = []
    for start_s, end_s in spans:
        first = 0 if start_s is None else int(round(start_s * info.fps))
        last = info.num_frames if end_s is None else int(round(end_s * info.fps))
        wanted.append(
            sample_indices(
                first, min(max(last, first + 1), max(info.num_frames, first + 1)), num_frames
            )
        )
    need = {int(i) for w in wanted for i in w}
    stop = max(need)
    picks: dict[int, np.ndarray] = {}
    last_bgr: np.ndarray | None = None
    cap = _open(path)
    try:
        i = 0
        while i <= stop:
            ok, bgr = cap.read()
            if not ok:
                break
            if i in need:
                picks[i] = resize_square(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), size)
            last_bgr = bgr
            i += 1
    finally:
        cap.release()
    if last_bgr is None:
        raise BadInput(path, "has no decodable video frames")
    # Frame counts in headers can overstate what decodes; fall back to the last decoded frame.
    fallback = resize_square(cv2.cvtColor(last_bgr, cv2.COLOR_BGR2RGB), size)
    return [np.stack([picks.get(int(i), fallback) for i in w]) for w in wanted]
