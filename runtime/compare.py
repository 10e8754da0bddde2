"""`stepdiff compare`: two videos in, the step difference out as text (and speech)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from stepdiff.runtime.bundle import Bundle, load_bundle
from stepdiff.runtime.decoder import Decoder, DecodingOptions, DecodingResult, greedy
from stepdiff.runtime.encoder import VideoEncoder
from stepdiff.runtime.prompt import COMPARE_QUESTION, compare_prompt, interleave, layout


@dataclass(frozen=True)
class CompareOptions:
    question: str = COMPARE_QUESTION
    max_new_tokens: int = 48


@dataclass(frozen=True)
class CompareResult:
    text: str
    decoding: DecodingResult
    encode_ms: tuple[float, ...] = ()  # per video: decode the file, sample, encode

    @property
    def tokens(self) -> tuple[int, ...]:
        return self.decoding.tokens

    @property
    def timings(self) -> dict:
        """The numbers `stepdiff compare --json` prints."""
        d = self.decoding
        out = {
            "ttft_ms": d.ttft_ms,
            "decode_tok_s": d.decode_tok_s,
            "new_tokens": len(d.tokens),
            "prompt_tokens": d.prompt_tokens,
        }
        if self.encode_ms:
            out["decode_video_and_encode_ms"] = list(self.encode_ms)
        return out


class StepDiff:
    """The loaded on-device model: encoder, tokenizer, embedder and decoder sessions.

    `threads` is each session's intra-op thread count, fixed when the sessions are made.
    """

    def __init__(self, bundle: Bundle | str, threads: int = 2) -> None:
        from tokenizers import Tokenizer

        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        self.tokenizer = Tokenizer.from_file(str(self.bundle.tokenizer_path))
        self.encoder = VideoEncoder(self.bundle, threads)
        self.decoder = Decoder(self.bundle, threads)

    def prompt_embeds(self, user_text: str, videos: list[np.ndarray]) -> np.ndarray:
        lay = layout(self.tokenizer, user_text, self.bundle.system_prompt)
        text = self.decoder.embed(lay.text_ids())
        return interleave(text, lay, videos)

    def decode_text(self, tokens: tuple[int, ...] | list[int]) -> str:
        return self.tokenizer.decode(list(tokens), skip_special_tokens=True).strip()

    def answer(
        self, user_text: str, videos: list[np.ndarray], options: CompareOptions = CompareOptions()
    ) -> CompareResult:
        embeds = self.prompt_embeds(user_text, videos)
        result = greedy(
            self.decoder, embeds, DecodingOptions(max_new_tokens=options.max_new_tokens)
        )
        return CompareResult(text=self.decode_text(result.tokens), decoding=result)

    def compare(
        self, reference: str, user: str, options: CompareOptions = CompareOptions()
    ) -> CompareResult:
        t0 = time.perf_counter()
        ref = self.encoder.encode_file(reference)
        t1 = time.perf_counter()
        usr = self.encoder.encode_file(user)
        t2 = time.perf_counter()
        res = self.answer(compare_prompt(2, options.question), [ref, usr], options)
        return replace(res, encode_ms=((t1 - t0) * 1000, (t2 - t1) * 1000))
