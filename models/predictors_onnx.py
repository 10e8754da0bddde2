"""The Scorer on an exported bundle (onnxruntime): what the headset runs, evaluated as such.

No torch here: `stepdiff eval --bundle` measures the shipped graphs, quantized or not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stepdiff.models.predictors import (
    ClipSource,
    EmbeddingCache,
    Video,
    answer_ids,
    log_softmax,
    mean_logprob,
)
from stepdiff.runtime.compare import StepDiff
from stepdiff.runtime.decoder import DecodingOptions, KVCache, greedy


class OnnxScorer:
    def __init__(self, engine: StepDiff, clips: ClipSource | None = None, batch: int = 4) -> None:
        self.engine = engine
        self.tokenizer = engine.tokenizer
        b = engine.bundle
        self.videos = EmbeddingCache(
            engine.encoder.encode_frames, clips, b.frames, b.frame_size, batch
        )

    def prefetch(self, clip_ids: Sequence[str], progress: bool = True) -> None:
        self.videos.prefetch(clip_ids, progress)

    def _embeds(self, videos: Sequence[Video], user_text: str) -> np.ndarray:
        return self.engine.prompt_embeds(user_text, self.videos.get(videos))

    def _prefill(self, videos: Sequence[Video], user_text: str) -> tuple[np.ndarray, KVCache]:
        cache = KVCache(self.engine.bundle)
        last = self.engine.decoder.forward(self._embeds(videos, user_text), cache)
        return last, cache

    def generate(self, videos: Sequence[Video], user_text: str, max_new_tokens: int = 32) -> str:
        opts = DecodingOptions(max_new_tokens=max_new_tokens)
        result = greedy(self.engine.decoder, self._embeds(videos, user_text), opts)
        return self.engine.decode_text(result.tokens)

    def answer_logprobs(
        self, videos: Sequence[Video], user_text: str, answers: Sequence[str]
    ) -> list[float]:
        last, prefix = self._prefill(videos, user_text)
        out = []
        for answer in answers:
            ids = answer_ids(self.tokenizer, answer)
            rows = [last[None]]
            if len(ids) > 1:
                # The prompt's prefill is shared: each answer continues its own copy of it.
                emb = self.engine.decoder.embed(np.array(ids[:-1], np.int64))
                rows.append(self.engine.decoder.forward_all(emb, prefix.copy()))
            out.append(mean_logprob(np.concatenate(rows), ids))
        return out

    def next_token_probs(
        self, videos: Sequence[Video], user_text: str, token_ids: Sequence[int]
    ) -> np.ndarray:
        last, _ = self._prefill(videos, user_text)
        return np.exp(log_softmax(last))[np.asarray(token_ids)]
