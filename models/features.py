"""Per-clip encoder features, computed once: the vision tower is frozen, so training never needs
to run EfficientNet again.

A store is a folder: `chunks/head-NNNNN.npy` (float16 [n, T, G, C], the head features the
projector reads), `chunks/mid-NNNNN.npy` (float16 [n, T, M, Cm], the mid-level maps the
comparison module reads) and `index.json` ({"version", "clips": {clip_id: [chunk, row]}}). Each
chunk is written before the index that points into it, both atomically, so an interrupted run
keeps every chunk it finished and the next run resumes after them.
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

STORE_VERSION = 2


def feature_key(config: StepDiffConfig) -> str:
    """Features depend only on what the vision tower sees, not on the projector."""
    fields = (
        config.frames,
        config.frame_size,
        config.grid,
        config.pixel_mean,
        config.pixel_std,
        tuple(config.mid_blocks),
        config.mid_grid,
        STORE_VERSION,
    )
    return hashlib.sha256(repr(fields).encode()).hexdigest()[:10]


class FeatureStore:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        meta = json.loads((self.root / "index.json").read_text())
        if meta.get("version") != STORE_VERSION:
            raise ValueError(
                f"{self.root}: feature store version {meta.get('version')}, "
                f"expected {STORE_VERSION}; delete it and cache the features again"
            )
        self.index: dict[str, tuple[int, int]] = {k: tuple(v) for k, v in meta["clips"].items()}
        self._chunks: dict[tuple[str, int], np.ndarray] = {}

    def __contains__(self, clip_id: str) -> bool:
        return clip_id in self.index

    def __len__(self) -> int:
        return len(self.index)

    def _array(self, kind: str, chunk: int) -> np.ndarray:
        key = (kind, chunk)
        if key not in self._chunks:
            path = self.root / "chunks" / f"{kind}-{chunk:05d}.npy"
            self._chunks[key] = np.load(path, mmap_mode="r", allow_pickle=False)
        return self._chunks[key]

    def rows(self, kind: str, clip_ids: list[str]) -> np.ndarray:
        """float32 [len(clip_ids), ...] of one kind ("head" or "mid")."""
        return np.stack(
            [np.asarray(self._array(kind, self.index[c][0])[self.index[c][1]]) for c in clip_ids]
        ).astype(np.float32)

    def get(self, clip_ids: list[str]) -> torch.Tensor:
        """The head features [N, T, G, C] the projector reads."""
        return torch.from_numpy(self.rows("head", clip_ids))

    def get_mid(self, clip_ids: list[str]) -> torch.Tensor:
        """The mid-level maps [N, T, M, Cm] the comparison module reads."""
        return torch.from_numpy(self.rows("mid", clip_ids))


def build_features(
    clip_ids: Iterable[str],
    clips,  # has frames_many(clip_ids, T, size) -> {clip_id: uint8 [T, H, W, 3]} (ClipStore)
    vision: VisionTower,
    out_dir: str | os.PathLike,
    batch: int = 4,
    save_every: int = 512,
) -> FeatureStore:
    """Encodes every clip id not yet in out_dir's store, `save_every` clips per chunk."""
    from tqdm import tqdm

    out = Path(out_dir)
    (out / "chunks").mkdir(parents=True, exist_ok=True)
    c = vision.config
    index: dict[str, list[int]] = {}
    if (out / "index.json").is_file():
        index = {k: list(v) for k, v in FeatureStore(out).index.items()}
    next_chunk = 1 + max((v[0] for v in index.values()), default=-1)
    # Sorted by id, so a chunk holds whole recordings and each video is decoded once.
    todo = sorted(set(clip_ids) - set(index))
    bar = tqdm(total=len(todo), desc="encoding clips", file=sys.stderr, disable=not todo)
    for lo in range(0, len(todo), save_every):
        chunk = todo[lo : lo + save_every]
        head = np.zeros((len(chunk), c.frames, c.tokens_per_frame, c.vision_dim), np.float16)
        mid = np.zeros((len(chunk), c.frames, c.mid_cells, c.mid_dim), np.float16)
        frames = clips.frames_many(chunk, c.frames, c.frame_size)
        with torch.no_grad():
            for i in range(0, len(chunk), batch):
                ids = chunk[i : i + batch]
                pixels = np.stack([frames[cid] for cid in ids])
                h, m = vision.multi_scale(torch.from_numpy(pixels))
                head[i : i + len(ids)] = h.numpy().astype(np.float16)
                mid[i : i + len(ids)] = m.numpy().astype(np.float16)
                bar.update(len(ids))
        for kind, arr in (("head", head), ("mid", mid)):
            path = out / "chunks" / f"{kind}-{next_chunk:05d}.npy"
            write_atomic_with(path, lambda tmp, a=arr: np.save(tmp, a))
        for j, cid in enumerate(chunk):
            index[cid] = [next_chunk, j]
        next_chunk += 1
        # The index goes last: it never points at a chunk that is not on disk.
        write_atomic(out / "index.json", json.dumps({"version": STORE_VERSION, "clips": index}))
    bar.close()
    return FeatureStore(out)


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
    build_features(ids, store, VisionTower(cfg, load_efficientnet()), out)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
