"""Per-clip encoder features, computed once: the vision tower is frozen, so training never needs
to run EfficientNet again. Stored as one float16 array [N, T, G, C] plus a clip-id index.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from models.model import StepDiffConfig, VisionTower


def feature_key(config: StepDiffConfig) -> str:
    """Features depend only on what the vision tower sees, not on the projector."""
    fields = (config.frames, config.frame_size, config.grid, config.pixel_mean, config.pixel_std)
    return hashlib.sha256(repr(fields).encode()).hexdigest()[:10]


class FeatureStore:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.index: dict[str, int] = json.loads((self.root / "index.json").read_text())
        self.array = np.load(self.root / "features.npy", mmap_mode="r")

    def __contains__(self, clip_id: str) -> bool:
        return clip_id in self.index

    def get(self, clip_ids: list[str]) -> torch.Tensor:
        rows = [self.index[c] for c in clip_ids]
        return torch.from_numpy(np.asarray(self.array[rows], dtype=np.float32))


def build_features(
    clip_ids: Iterable[str],
    frames_of,  # callable(clip_id, T, size) -> uint8 [T, H, W, 3]
    vision: VisionTower,
    out_dir: str | os.PathLike,
    batch: int = 4,
) -> FeatureStore:
    """Encodes every clip id not yet in out_dir's store and rewrites the store atomically."""
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    c = vision.config
    index: dict[str, int] = {}
    old = None
    if (out / "index.json").is_file():
        old = FeatureStore(out)
        index = dict(old.index)
    todo = sorted(set(clip_ids) - set(index))
    if not todo and old is not None:
        return old
    shape = (c.frames, c.tokens_per_frame, c.vision_dim)
    new = np.zeros((len(todo), *shape), np.float16)
    with torch.no_grad():
        for i in tqdm(range(0, len(todo), batch), desc="encoding clips", file=sys.stderr):
            ids = todo[i : i + batch]
            pixels = np.stack([frames_of(cid, c.frames, c.frame_size) for cid in ids])
            new[i : i + len(ids)] = vision(torch.from_numpy(pixels)).numpy().astype(np.float16)
    base = np.asarray(old.array) if old is not None else np.zeros((0, *shape), np.float16)
    merged = np.concatenate([base, new]) if len(base) else new
    for j, cid in enumerate(todo):
        index[cid] = len(base) + j
    tmp_arr, tmp_idx = out / "features.npy.tmp", out / "index.json.tmp"
    with open(tmp_arr, "wb") as f:
        np.save(f, merged)
    tmp_idx.write_text(json.dumps(index))
    os.replace(tmp_arr, out / "features.npy")
    os.replace(tmp_idx, out / "index.json")
    return FeatureStore(out)
