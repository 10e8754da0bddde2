"""Predictions for DiffCap, DiffMCQ and DiffRank from any engine, and the chance baseline.

An engine is a `Scorer`: three primitives over (videos, user text) that both the PyTorch model
(models/predictors_torch.py) and the ONNX bundle (models/predictors_onnx.py) implement, so one
predictor evaluates a checkpoint and its exported bundle the same way:

- generate(videos, user_text, max_new_tokens) -> str: greedy answer;
- answer_logprobs(videos, user_text, answers) -> [mean log-prob per answer token], teacher forced;
- next_token_probs(videos, user_text, token_ids) -> probabilities of those tokens (full softmax).

A video is a clip id (resolved through the clip store; its embeddings are computed once and
cached) or uint8 frames [T, H, W, 3]. Predictors are generators: one prediction per benchmark
line, in order, so the caller can show progress and write as it goes.

This module imports neither torch nor onnxruntime.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import numpy as np

from stepdiff.models import tasks

Video = str | np.ndarray


class ClipSource(Protocol):
    """What the clip store gives: T frames of a clip, uint8 RGB [T, size, size, 3]."""

    def frames(self, clip_id: str, num_frames: int, size: int) -> np.ndarray: ...


class Scorer(Protocol):
    tokenizer: object  # tokenizers.Tokenizer

    def generate(
        self, videos: Sequence[Video], user_text: str, max_new_tokens: int = 32
    ) -> str: ...

    def answer_logprobs(
        self, videos: Sequence[Video], user_text: str, answers: Sequence[str]
    ) -> list[float]: ...

    def next_token_probs(
        self, videos: Sequence[Video], user_text: str, token_ids: Sequence[int]
    ) -> np.ndarray: ...

    def prefetch(self, clip_ids: Sequence[str], progress: bool = True) -> None: ...


class Predictor(Protocol):
    name: str

    def diffcap(self, items: Sequence[dict]) -> Iterator[dict]: ...

    def diffmcq(self, items: Sequence[dict]) -> Iterator[dict]: ...

    def diffrank(self, items: Sequence[dict]) -> Iterator[dict]: ...


# ---------------------------------------------------------------------------------------------
# shared by both scorers


class EmbeddingCache:
    """Clip id -> [K, D] video embeddings, encoded once, in batches when prefetched."""

    def __init__(
        self,
        encode: Callable[[np.ndarray], np.ndarray],  # uint8 [B, T, H, W, 3] -> [B, K, D]
        clips: ClipSource | None,
        frames: int,
        size: int,
        batch: int = 4,
    ) -> None:
        self.encode, self.clips = encode, clips
        self.frames, self.size, self.batch = frames, size, batch
        self.cache: dict[str, np.ndarray] = {}

    def _frames(self, clip_id: str) -> np.ndarray:
        if self.clips is None:
            raise ValueError(f"clip {clip_id!r} given by id but the scorer has no clip store")
        return self.clips.frames(clip_id, self.frames, self.size)

    def prefetch(self, clip_ids: Sequence[str], progress: bool = True) -> None:
        from tqdm import tqdm

        todo = sorted(set(clip_ids) - set(self.cache))
        bar = tqdm(
            total=len(todo),
            desc="encoding clips",
            file=sys.stderr,
            disable=not progress or not todo,
            leave=False,
        )
        for i in range(0, len(todo), self.batch):
            ids = todo[i : i + self.batch]
            out = self.encode(np.stack([self._frames(c) for c in ids]))
            for c, e in zip(ids, out, strict=True):
                self.cache[c] = np.asarray(e, dtype=np.float32)
            bar.update(len(ids))
        bar.close()

    def get(self, videos: Sequence[Video]) -> list[np.ndarray]:
        out = []
        for v in videos:
            if isinstance(v, str):
                if v not in self.cache:
                    self.cache[v] = np.asarray(self.encode(self._frames(v)[None])[0], np.float32)
                out.append(self.cache[v])
            else:
                out.append(np.asarray(self.encode(np.asarray(v, np.uint8)[None])[0], np.float32))
        return out


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = np.asarray(logits, dtype=np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def answer_ids(tokenizer, answer: str) -> list[int]:
    """The answer's tokens as training appends them after "assistant\\n" (no end-of-turn: the
    score is about the words, and every MCQ option scores the same words)."""
    ids = tokenizer.encode(answer, add_special_tokens=False).ids
    if not ids:
        raise ValueError("cannot score an empty answer")
    return ids


def mean_logprob(logits: np.ndarray, ids: Sequence[int]) -> float:
    """logits [n, V] where row i predicts ids[i] -> mean log-prob of ids."""
    lp = log_softmax(logits)
    return float(lp[np.arange(len(ids)), np.asarray(ids)].mean())


def clip_ids(task: str, items: Sequence[dict]) -> list[str]:
    """Every clip a task's items refer to, first-seen order."""
    seen: dict[str, None] = {}
    for it in items:
        if task == "diffcap":
            ids = [it["reference"], it["candidate"]]
        elif task == "diffmcq":
            ids = [c for pair in it["options"] for c in pair]
        else:
            ids = [it["reference"], *it["targets"]]
        seen.update(dict.fromkeys(ids))
    return list(seen)


# ---------------------------------------------------------------------------------------------
# predictors


class ModelPredictor:
    """The video LM through a Scorer. With `blind`, the same questions without the videos (no
    `<video>` placeholders): what the LM alone guesses from the words."""

    def __init__(
        self, scorer: Scorer, blind: bool = False, max_new_tokens: int = 32, progress: bool = True
    ) -> None:
        self.scorer, self.blind = scorer, blind
        self.max_new_tokens, self.progress = max_new_tokens, progress
        self.name = "blind" if blind else "model"

    def _videos(self, *clips: str) -> list[str]:
        return [] if self.blind else list(clips)

    def _prefetch(self, task: str, items: Sequence[dict]) -> None:
        if not self.blind:
            self.scorer.prefetch(clip_ids(task, items), self.progress)

    def diffcap(self, items: Sequence[dict]) -> Iterator[dict]:
        self._prefetch("diffcap", items)
        blind_text: dict[str, str] = {}
        for it in items:
            prompt = tasks.cap_prompt(self.blind, category=it.get("category"))
            if self.blind and prompt in blind_text:
                yield {"generated_text": blind_text[prompt]}  # same words in, same words out
                continue
            text = self.scorer.generate(
                self._videos(it["reference"], it["candidate"]), prompt, self.max_new_tokens
            )
            if self.blind:
                blind_text[prompt] = text
            yield {"generated_text": text}

    def diffmcq(self, items: Sequence[dict]) -> Iterator[dict]:
        self._prefetch("diffmcq", items)
        for it in items:
            prompt = tasks.cap_prompt(self.blind, category=it.get("category"))
            if self.blind:
                lp = self.scorer.answer_logprobs([], prompt, [it["difference"]])[0]
                yield {"scores": [lp] * len(it["options"])}
                continue
            yield {
                "scores": [
                    self.scorer.answer_logprobs(self._videos(r, c), prompt, [it["difference"]])[0]
                    for r, c in it["options"]
                ]
            }

    def diffrank(self, items: Sequence[dict]) -> Iterator[dict]:
        self._prefetch("diffrank", items)
        digits = tasks.digit_token_ids(self.scorer.tokenizer)
        blind_score: dict[str, float] = {}
        for it in items:
            prompt = tasks.rank_prompt(self.blind, category=it.get("category"))
            if self.blind:
                if prompt not in blind_score:
                    p = self.scorer.next_token_probs([], prompt, digits)
                    blind_score[prompt] = tasks.expected_digit(p)
                yield {"scores": [blind_score[prompt]] * len(it["targets"])}
                continue
            yield {
                "scores": [
                    tasks.expected_digit(
                        self.scorer.next_token_probs(
                            self._videos(it["reference"], t), prompt, digits
                        )
                    )
                    for t in it["targets"]
                ]
            }


class ChancePredictor:
    """Seeded random scores, and a random training caption. Each task has its own stream, so a
    task's predictions do not depend on which other tasks ran."""

    name = "chance"

    def __init__(self, train_captions: Sequence[str], seed: int = 0) -> None:
        self.captions, self.seed = list(train_captions), seed

    def _rng(self, task: str) -> random.Random:
        return random.Random(f"{self.seed}:{task}")

    def diffcap(self, items: Sequence[dict]) -> Iterator[dict]:
        if not self.captions:
            raise ValueError("the chance baseline needs training captions for DiffCap")
        rng = self._rng("diffcap")
        for _ in items:
            yield {"generated_text": rng.choice(self.captions)}

    def diffmcq(self, items: Sequence[dict]) -> Iterator[dict]:
        rng = self._rng("diffmcq")
        for it in items:
            yield {"scores": [rng.random() for _ in it["options"]]}

    def diffrank(self, items: Sequence[dict]) -> Iterator[dict]:
        rng = self._rng("diffrank")
        for it in items:
            yield {"scores": [rng.random() for _ in it["targets"]]}
