"""Frames -> video tokens with vision_encoder.onnx (EfficientNet-Lite0 + projector)."""

from __future__ import annotations

import numpy as np

from stepdiff.runtime import contract
from stepdiff.runtime.bundle import Bundle, open_session
from stepdiff.runtime.video import read_clip


class VideoEncoder:
    def __init__(self, bundle: Bundle, threads: int = 2) -> None:
        self.bundle = bundle
        self.session = open_session(bundle, "vision_encoder", threads)

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        """uint8 [T, H, W, 3] or [B, T, H, W, 3] RGB -> [K, D] or [B, K, D]."""
        b = self.bundle
        single = frames.ndim == 4
        x = frames[None] if single else frames
        want = (b.frames, b.frame_size, b.frame_size, 3)
        if x.dtype != np.uint8 or tuple(x.shape[1:]) != want:
            raise ValueError(f"frames must be uint8 [B, {want}], got {x.dtype} {x.shape}")
        feeds = {contract.PIXEL_VALUES: np.ascontiguousarray(x)}
        out = self.session.run([contract.VIDEO_EMBEDS], feeds)[0]
        return out[0] if single else out

    def encode_file(
        self, path: str, start_s: float | None = None, end_s: float | None = None
    ) -> np.ndarray:
        clip = read_clip(path, self.bundle.frames, self.bundle.frame_size, start_s, end_s)
        return self.encode_frames(clip)
