"""Frames -> video tokens and per-frame features with vision_encoder.onnx (EfficientNet-Lite0 +
projector)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stepdiff.runtime import contract
from stepdiff.runtime.bundle import Bundle, open_session
from stepdiff.runtime.video import probe, read_clip


@dataclass(frozen=True)
class EncodedClip:
    """One clip through the encoder: what the LM reads and what the compare head reads."""

    video_embeds: np.ndarray  # [K, D]
    frame_head: np.ndarray  # [T, G, C]
    frame_mid: np.ndarray  # [T, M, Cm]
    seconds: float  # the clip's duration


_OUTPUTS = (contract.VIDEO_EMBEDS, contract.FRAME_HEAD, contract.FRAME_MID)


class VideoEncoder:
    def __init__(self, bundle: Bundle, threads: int = 2) -> None:
        self.bundle = bundle
        self.session = open_session(bundle, contract.VISION_ENCODER, threads)

    def _feeds(self, frames: np.ndarray) -> tuple[dict, bool]:
        b = self.bundle
        single = frames.ndim == 4
        x = frames[None] if single else frames
        want = (b.frames, b.frame_size, b.frame_size, 3)
        if x.dtype != np.uint8 or tuple(x.shape[1:]) != want:
            raise ValueError(f"frames must be uint8 [B, {want}], got {x.dtype} {x.shape}")
        return {contract.PIXEL_VALUES: np.ascontiguousarray(x)}, single

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        """uint8 [T, H, W, 3] or [B, T, H, W, 3] RGB -> video_embeds [K, D] or [B, K, D]."""
        feeds, single = self._feeds(frames)
        out = self.session.run([contract.VIDEO_EMBEDS], feeds)[0]
        return out[0] if single else out

    def encode_features(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """uint8 [T, H, W, 3] or [B, T, H, W, 3] -> (video_embeds, frame_head, frame_mid), each
        without the batch axis for a single clip."""
        feeds, single = self._feeds(frames)
        out = self.session.run(list(_OUTPUTS), feeds)
        return tuple(o[0] for o in out) if single else tuple(out)

    def encode_clip(self, frames: np.ndarray, seconds: float) -> EncodedClip:
        """One clip's frames uint8 [T, H, W, 3] and its duration -> EncodedClip."""
        if frames.ndim != 4:
            raise ValueError(f"one clip's frames are [T, H, W, 3], got {frames.shape}")
        embeds, head, mid = self.encode_features(frames)
        return EncodedClip(embeds, head, mid, float(seconds))

    def encode_file(
        self, path: str, start_s: float | None = None, end_s: float | None = None
    ) -> EncodedClip:
        """The clip [start_s, end_s) of a video (the whole video by default), sampled and encoded;
        its duration is the span's, clipped to the video's."""
        clip = read_clip(path, self.bundle.frames, self.bundle.frame_size, start_s, end_s)
        total = probe(path).duration
        start = max(0.0, start_s or 0.0)
        end = total if end_s is None else min(end_s, total)
        return self.encode_clip(clip, max(0.0, end - start))
