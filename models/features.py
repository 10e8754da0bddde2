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

from stepdiff.models.model import StepDiffConfig, VisionTower
from stepdiff.runtime.files import write_atomic, write_atomic_with


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
    save_every: int = 1024,
) -> FeatureStore:
    """Encodes every clip id not yet in out_dir's store. The store is rewritten atomically every
    `save_every` clips, so an interrupted run keeps what it did."""
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    c = vision.config
    shape = (c.frames, c.tokens_per_frame, c.vision_dim)
    index: dict[str, int] = {}
    array = np.zeros((0, *shape), np.float16)
    if (out / "index.json").is_file():
        old = FeatureStore(out)
        index, array = dict(old.index), np.asarray(old.array)
    todo = sorted(set(clip_ids) - set(index))
    bar = tqdm(total=len(todo), desc="encoding clips", file=sys.stderr, disable=not todo)
    for lo in range(0, len(todo), save_every):
        chunk = todo[lo : lo + save_every]
        new = np.zeros((len(chunk), *shape), np.float16)
        with torch.no_grad():
            for i in range(0, len(chunk), batch):
                ids = chunk[i : i + batch]
                pixels = np.stack([frames_of(cid, c.frames, c.frame_size) for cid in ids])
                new[i : i + len(ids)] = vision(torch.from_numpy(pixels)).numpy().astype(np.float16)
                bar.update(len(ids))
        for j, cid in enumerate(chunk):
            index[cid] = len(array) + j
        array = np.concatenate([array, new])
        _save(out, array, index)
    bar.close()
    return FeatureStore(out)


def _save(out: Path, array: np.ndarray, index: dict[str, int]) -> None:
    # The array goes first: an index never points past the array it is read with.
    write_atomic_with(out / "features.npy", lambda tmp: np.save(tmp, array))
    write_atomic(out / "index.json", json.dumps(index))


def main(argv: list[str] | None = None) -> int:
    """python -m stepdiff.models.features --data DIR: cache features for every clip in DIR's clip store."""
    import argparse

    from stepdiff.models.data.clipstore import ClipStore
    from stepdiff.models.model import StepDiffConfig
    from stepdiff.models.pretrained import load_efficientnet

    p = argparse.ArgumentParser(prog="python -m stepdiff.models.features", description=main.__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    cfg = StepDiffConfig()
    store = ClipStore(a.data)
    ids = json.loads((Path(a.data) / "clips.json").read_text())
    out = Path(a.data) / "features" / feature_key(cfg)
    build_features(ids, store.frames, VisionTower(cfg, load_efficientnet()), out)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
