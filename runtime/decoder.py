"""Decoding: one KV-cache language-model interface and one greedy loop for every caller.

A language model here is anything with `prefill(prompt) -> logits` (start a sequence: run the
whole prompt, keep its KV cache, return the last position's logits [V]) and `step(token) ->
logits` (append one token). The bundle's ONNX decoder is one (`Decoder` below); the benchmark's
llama.cpp, onnxruntime-genai and PyTorch engines are others. `generate` is the only greedy loop:
compare, eval's ONNX scorer, the parity report and the benchmarks all decode through it, with one
end-of-sequence rule: an EOS token ends the answer and is not part of it.

`generate` is a generator, so the first words can be spoken while the rest decodes; its return
value (what `greedy` hands back) is a frozen DecodingResult with the timings.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from stepdiff.runtime import contract
from stepdiff.runtime.bundle import Bundle, open_session


@dataclass(frozen=True)
class DecodingOptions:
    max_new_tokens: int = 48
    ignore_eos: bool = False  # parity checks and benchmarks decode a fixed number of tokens
    keep_logits: bool = False  # return each decoded position's logits (parity checks)

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"DecodingOptions.max_new_tokens={self.max_new_tokens}: use >= 1")


@dataclass(frozen=True)
class DecodingResult:
    tokens: tuple[int, ...]  # the answer, its EOS not included
    stop_token: int | None  # the EOS that ended it, None if it ran to max_new_tokens
    prompt_tokens: int
    ttft_ms: float  # prefill of the whole prompt until the first token is known
    decode_tok_s: float  # tokens after the first, per second (0.0 with fewer than 2)
    logits: tuple[np.ndarray, ...] = ()  # [V] per decoded position, with keep_logits

    @property
    def tokens_with_stop(self) -> tuple[int, ...]:
        return self.tokens if self.stop_token is None else (*self.tokens, self.stop_token)


class LanguageModel(Protocol):
    eos_token_ids: tuple[int, ...]

    def prefill(self, prompt: Any) -> np.ndarray: ...

    def step(self, token: int) -> np.ndarray: ...


def prompt_length(prompt: Any) -> int:
    """Positions in a prompt: rows of an embedding matrix, or len() of a token prompt."""
    try:
        return len(prompt)
    except TypeError:
        return 0


def generate(
    model: LanguageModel, prompt: Any, options: DecodingOptions = DecodingOptions()
) -> Generator[int, None, DecodingResult]:
    """Greedy tokens after `prompt`, as they are decoded; returns the DecodingResult."""
    t0 = time.perf_counter()
    logits = model.prefill(prompt)
    tokens: list[int] = []
    kept: list[np.ndarray] = []
    stop = None
    t_first = ttft_ms = None
    for i in range(options.max_new_tokens):
        if options.keep_logits:
            kept.append(np.asarray(logits))
        tok = int(np.argmax(logits))
        if ttft_ms is None:
            t_first = time.perf_counter()
            ttft_ms = (t_first - t0) * 1000
        if tok in model.eos_token_ids and not options.ignore_eos:
            stop = tok
            break
        tokens.append(tok)
        yield tok
        if i + 1 < options.max_new_tokens:
            logits = model.step(tok)
    dt = time.perf_counter() - t_first
    n = len(tokens)
    return DecodingResult(
        tokens=tuple(tokens),
        stop_token=stop,
        prompt_tokens=prompt_length(prompt),
        ttft_ms=float(ttft_ms),
        decode_tok_s=(n - 1) / dt if n > 1 and dt > 0 else 0.0,
        logits=tuple(kept),
    )


def greedy(
    model: LanguageModel, prompt: Any, options: DecodingOptions = DecodingOptions()
) -> DecodingResult:
    """`generate` run to the end."""
    gen = generate(model, prompt, options)
    while True:
        try:
            next(gen)
        except StopIteration as done:
            return done.value


class KVCache:
    """past_key_values.{i}.key/value as numpy arrays, grown by each decoder call."""

    def __init__(self, bundle: Bundle, batch: int = 1) -> None:
        shape = (batch, bundle.kv_heads, 0, bundle.head_dim)
        self.arrays = {n: np.zeros(shape, np.float32) for n in contract.past_names(bundle.layers)}
        self._past_of = dict(zip(contract.present_names(bundle.layers), self.arrays, strict=True))
        self.length = 0

    def feeds(self) -> dict[str, np.ndarray]:
        return self.arrays

    def update(self, names: list[str], presents: list[np.ndarray]) -> None:
        for name, arr in zip(names, presents, strict=True):
            self.arrays[self._past_of[name]] = arr
        self.length = presents[0].shape[2]

    def copy(self) -> KVCache:
        other = object.__new__(KVCache)
        other.arrays = dict(self.arrays)  # arrays are never written in place, so sharing is safe
        other._past_of = self._past_of
        other.length = self.length
        return other


class TextEmbedder:
    def __init__(self, bundle: Bundle, threads: int = 2) -> None:
        self.session = open_session(bundle, "embed_tokens", threads)

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        """int64 [S] -> [S, D]."""
        x = np.asarray(ids, dtype=np.int64)[None]
        return self.session.run([contract.INPUTS_EMBEDS], {contract.INPUT_IDS: x})[0][0]


class Decoder:
    """The bundle's embed_tokens.onnx + decoder.onnx as a LanguageModel over embeddings.

    prefill(embeds [S, D], prefix=None) starts a sequence, continuing `prefix` (a KVCache that is
    not modified, e.g. a cached reference prefix) when given. forward/forward_all run positions
    against a cache the caller owns, for teacher-forced scoring.
    """

    def __init__(self, bundle: Bundle, threads: int = 2) -> None:
        self.bundle = bundle
        self.eos_token_ids = bundle.eos_token_ids
        self.session = open_session(bundle, "decoder", threads)
        self.embed = TextEmbedder(bundle, threads)
        self._present = [o.name for o in self.session.get_outputs()[1:]]
        self.cache: KVCache | None = None

    def forward(self, embeds: np.ndarray, cache: KVCache) -> np.ndarray:
        """[S, D] new positions after the cache -> last position's logits [V]; updates cache."""
        return self.forward_all(embeds, cache)[-1]

    def forward_all(self, embeds: np.ndarray, cache: KVCache) -> np.ndarray:
        """Like forward, but every new position's logits [S, V] (for teacher-forced scoring)."""
        s = embeds.shape[0]
        p = cache.length
        feeds = {
            contract.INPUTS_EMBEDS: embeds[None].astype(np.float32, copy=False),
            contract.ATTENTION_MASK: np.ones((1, p + s), np.int64),
            contract.POSITION_IDS: np.arange(p, p + s, dtype=np.int64)[None],
            **cache.feeds(),
        }
        out = self.session.run(None, feeds)
        cache.update(self._present, out[1:])
        return out[0][0]

    def prefill(self, embeds: np.ndarray, prefix: KVCache | None = None) -> np.ndarray:
        self.cache = prefix.copy() if prefix is not None else KVCache(self.bundle)
        return self.forward(embeds, self.cache)

    def step(self, token: int) -> np.ndarray:
        if self.cache is None:
            raise RuntimeError("Decoder.step before prefill")
        return self.forward(self.embed(np.array([token])), self.cache)


class PrefixedDecoder:
    """A Decoder whose every prefill continues one fixed KV prefix (a cached reference)."""

    def __init__(self, decoder: Decoder, prefix: KVCache) -> None:
        self.decoder = decoder
        self.prefix = prefix
        self.eos_token_ids = decoder.eos_token_ids

    def prefill(self, embeds: np.ndarray) -> np.ndarray:
        return self.decoder.prefill(embeds, self.prefix)

    def step(self, token: int) -> np.ndarray:
        return self.decoder.step(token)
