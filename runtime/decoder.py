"""Greedy generation with embed_tokens.onnx and decoder.onnx, carrying the KV cache.

`generate` is a generator: tokens stream out as they are decoded, so the caller can speak or
display the first words before the sentence is finished.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from stepdiff.runtime.bundle import Bundle, open_session


@dataclass(frozen=True)
class DecodingOptions:
    max_new_tokens: int = 48
    ignore_eos: bool = False  # parity tests and benchmarks decode a fixed number of tokens


@dataclass(frozen=True)
class DecodingResult:
    tokens: tuple[int, ...]
    prompt_tokens: int
    ttft_ms: float  # prefill of the whole prompt until the first token is known
    decode_tok_s: float  # tokens after the first, per second


class KVCache:
    """past_key_values.{i}.key/value as numpy arrays, grown by each decoder call."""

    def __init__(self, bundle: Bundle, batch: int = 1) -> None:
        shape = (batch, bundle.kv_heads, 0, bundle.head_dim)
        self.arrays: dict[str, np.ndarray] = {}
        for i in range(bundle.layers):
            for kind in ("key", "value"):
                self.arrays[f"past_key_values.{i}.{kind}"] = np.zeros(shape, np.float32)
        self.length = 0

    def feeds(self) -> dict[str, np.ndarray]:
        return self.arrays

    def update(self, names: list[str], presents: list[np.ndarray]) -> None:
        for name, arr in zip(names, presents, strict=True):
            self.arrays[name.replace("present.", "past_key_values.")] = arr
        self.length = presents[0].shape[2]

    def copy(self) -> KVCache:
        other = object.__new__(KVCache)
        other.arrays = dict(self.arrays)  # arrays are never written in place, so sharing is safe
        other.length = self.length
        return other


class TextEmbedder:
    def __init__(self, bundle: Bundle, threads: int = 2) -> None:
        self.session = open_session(bundle, "embed_tokens", threads)

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        """int64 [S] -> [S, D]."""
        x = np.asarray(ids, dtype=np.int64)[None]
        return self.session.run(["inputs_embeds"], {"input_ids": x})[0][0]


class Decoder:
    def __init__(self, bundle: Bundle, threads: int = 2) -> None:
        self.bundle = bundle
        self.session = open_session(bundle, "decoder", threads)
        self.embed = TextEmbedder(bundle, threads)
        self._present = [o.name for o in self.session.get_outputs()[1:]]

    def forward(self, embeds: np.ndarray, cache: KVCache) -> np.ndarray:
        """[S, D] new positions after the cache -> last position's logits [V]; updates cache."""
        return self.forward_all(embeds, cache)[-1]

    def forward_all(self, embeds: np.ndarray, cache: KVCache) -> np.ndarray:
        """Like forward, but every new position's logits [S, V] (for teacher-forced scoring)."""
        s = embeds.shape[0]
        p = cache.length
        feeds = {
            "inputs_embeds": embeds[None].astype(np.float32, copy=False),
            "attention_mask": np.ones((1, p + s), np.int64),
            "position_ids": np.arange(p, p + s, dtype=np.int64)[None],
            **cache.feeds(),
        }
        out = self.session.run(None, feeds)
        cache.update(self._present, out[1:])
        return out[0][0]

    def generate(
        self,
        prompt_embeds: np.ndarray,
        options: DecodingOptions = DecodingOptions(),
        cache: KVCache | None = None,
        stats: dict | None = None,
        logits_out: list | None = None,
    ) -> Iterator[int]:
        """Greedy tokens after prompt_embeds [S, D], stopping at an EOS token (not yielded).

        With `cache`, prompt_embeds continue a prefix already in that cache (the reference
        cache's prefill). Fills `stats` with the timing numbers when given.
        """
        cache = cache.copy() if cache is not None else KVCache(self.bundle)
        t0 = time.perf_counter()
        logits = self.forward(prompt_embeds, cache)
        t_first = time.perf_counter()
        n = 0
        for _ in range(options.max_new_tokens):
            if logits_out is not None:
                logits_out.append(logits)
            tok = int(np.argmax(logits))
            if n == 0 and stats is not None:
                stats["ttft_ms"] = (time.perf_counter() - t0) * 1000
            if tok in self.bundle.eos_token_ids and not options.ignore_eos:
                break
            n += 1
            yield tok
            if n >= options.max_new_tokens:
                break
            logits = self.forward(self.embed(np.array([tok])), cache)
        if stats is not None:
            dt = time.perf_counter() - t_first
            stats["new_tokens"] = n
            stats["decode_tok_s"] = (n - 1) / dt if n > 1 and dt > 0 else 0.0
            stats["prompt_tokens"] = prompt_embeds.shape[0]
