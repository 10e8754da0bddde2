"""A non-learned baseline: how far apart two clips of the same step look to a frozen ImageNet net.

Each clip -> T frames -> EfficientNet-Lite0 -> global average pool -> L2-normalised per-frame
features [T, 1280]. Two clips of a step are aligned in time with dynamic time warping on the
per-frame cosine distance (people do the same step at different speeds), giving:

- distance(a, b): the mean cosine distance along the warping path;
- difference(a, b): the mean of (b's frame - a's aligned frame) along the path, a vector that
  says *how* b looks different from a.

Tasks:
- DiffRank: score = -distance(reference, target): the closer it looks, the more similar.
- DiffCap: the caption of the training pair whose difference vector is nearest (cosine).
- DiffMCQ: for each option pair, the k training pairs with the nearest difference vectors
  "vote" with their captions: score = mean word-overlap F1 between the asked difference and
  those captions. The pair's distance is added with a tiny weight, which only breaks ties (and
  decides alone when no training pairs are given: the pair that looks most different).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from stepdiff.models.metrics import tokenize
from stepdiff.models.predictors import ClipSource, EmbeddingCache, clip_ids

TIE_BREAK = 1e-3


class FrameFeatures:
    """Clip id -> per-frame features [T, C], L2-normalised; computed once per clip.

    The model's own vision tower with a 1x1 grid (the whole frame pooled), so the heuristic sees
    exactly the pixels and normalisation the model does; EmbeddingCache does the caching."""

    def __init__(
        self,
        clips: ClipSource,
        frames: int = 8,
        size: int = 224,
        batch: int = 4,
        backbone: torch.nn.Module | None = None,
    ) -> None:
        from stepdiff.models.model import StepDiffConfig, VisionTower
        from stepdiff.models.pretrained import load_efficientnet

        config = StepDiffConfig(frames=frames, frame_size=size, grid=1)
        self.tower = VisionTower(config, backbone or load_efficientnet())
        self.store = EmbeddingCache(self._encode, clips, frames, size, batch)

    @torch.inference_mode()
    def _encode(self, pixels: np.ndarray) -> np.ndarray:
        f = self.tower(torch.from_numpy(np.ascontiguousarray(pixels)))[:, :, 0]  # [B, T, C]
        return torch.nn.functional.normalize(f, dim=-1).numpy()

    def prefetch(self, ids: Sequence[str], progress: bool = True) -> None:
        self.store.prefetch(ids, progress)

    def __getitem__(self, clip_id: str) -> np.ndarray:
        return self.store.get([clip_id])[0]


def dtw_path(cost: np.ndarray) -> list[tuple[int, int]]:
    """The monotone path from (0, 0) to (n-1, m-1) with the least summed cost."""
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
    path, i, j = [], n, m
    while i > 0 and j > 0:
        path.append((i - 1, j - 1))
        step = int(np.argmin((acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])))
        i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
    return path[::-1]


def compare(a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    """Per-frame features of two clips -> (aligned cosine distance, difference vector b - a)."""
    cost = 1.0 - a @ b.T
    path = dtw_path(cost)
    ia, ib = (np.array(x) for x in zip(*path, strict=True))
    return float(cost[ia, ib].mean()), (b[ib] - a[ia]).mean(axis=0)


def word_f1(a: str, b: str) -> float:
    """Bag-of-words F1 after the metrics' tokenization."""
    ca, cb = Counter(tokenize(a).split()), Counter(tokenize(b).split())
    common = sum((ca & cb).values())
    if not common:
        return 0.0
    p, r = common / sum(ca.values()), common / sum(cb.values())
    return 2 * p * r / (p + r)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


class HeuristicPredictor:
    name = "heuristic"

    def __init__(
        self,
        features: FrameFeatures,
        train_items: Sequence[dict] = (),  # DiffCap training lines: reference, candidate, text
        k: int = 5,
        progress: bool = True,
    ) -> None:
        self.f, self.train, self.k, self.progress = features, list(train_items), k, progress
        self._index: tuple[np.ndarray, list[str]] | None = None

    def _train_index(self) -> tuple[np.ndarray, list[str]]:
        if self._index is None:
            self.f.prefetch(clip_ids("diffcap", self.train), self.progress)
            vecs = [self.compare(it["reference"], it["candidate"])[1] for it in self.train]
            caps = [it["text"][0] for it in self.train]
            self._index = (_unit(np.stack(vecs)) if vecs else np.zeros((0, 1)), caps)
        return self._index

    def compare(self, a: str, b: str) -> tuple[float, np.ndarray]:
        return compare(self.f[a], self.f[b])

    def _nearest(self, diff: np.ndarray, k: int) -> list[int]:
        vecs, _ = self._train_index()
        sims = vecs @ _unit(diff)
        return list(np.argsort(-sims, kind="stable")[:k])

    def diffcap(self, items: Sequence[dict]) -> Iterator[dict]:
        _, caps = self._train_index()
        if not caps:
            raise ValueError("the heuristic baseline needs training pairs for DiffCap")
        self.f.prefetch(clip_ids("diffcap", items), self.progress)
        for it in items:
            _, diff = self.compare(it["reference"], it["candidate"])
            yield {"generated_text": caps[self._nearest(diff, 1)[0]]}

    def diffmcq(self, items: Sequence[dict]) -> Iterator[dict]:
        _, caps = self._train_index()
        self.f.prefetch(clip_ids("diffmcq", items), self.progress)
        for it in items:
            scores = []
            for ref, cand in it["options"]:
                dist, diff = self.compare(ref, cand)
                votes = [word_f1(it["difference"], caps[j]) for j in self._nearest(diff, self.k)]
                scores.append((float(np.mean(votes)) if votes else 0.0) + TIE_BREAK * dist)
            yield {"scores": scores}

    def diffrank(self, items: Sequence[dict]) -> Iterator[dict]:
        self.f.prefetch(clip_ids("diffrank", items), self.progress)
        for it in items:
            yield {"scores": [-self.compare(it["reference"], t)[0] for t in it["targets"]]}
