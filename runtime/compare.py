"""`stepdiff compare`: two videos in, the step difference out as text (and speech)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from stepdiff.runtime.bundle import Bundle, load_bundle
from stepdiff.runtime.decoder import Decoder, DecodingOptions
from stepdiff.runtime.encoder import VideoEncoder
from stepdiff.runtime.prompt import COMPARE_QUESTION, compare_prompt, interleave, layout


@dataclass(frozen=True)
class CompareOptions:
    question: str = COMPARE_QUESTION
    max_new_tokens: int = 48
    threads: int = 2


@dataclass(frozen=True)
class CompareResult:
    text: str
    tokens: tuple[int, ...]
    timings: dict = field(default_factory=dict)


class StepDiff:
    """The loaded on-device model: encoder, tokenizer, embedder and decoder sessions."""

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

    def answer(
        self, user_text: str, videos: list[np.ndarray], options: CompareOptions = CompareOptions()
    ) -> CompareResult:
        stats: dict = {}
        embeds = self.prompt_embeds(user_text, videos)
        opts = DecodingOptions(max_new_tokens=options.max_new_tokens)
        tokens = tuple(self.decoder.generate(embeds, opts, stats=stats))
        text = self.tokenizer.decode(list(tokens), skip_special_tokens=True).strip()
        return CompareResult(text=text, tokens=tokens, timings=stats)

    def compare(
        self, reference: str, user: str, options: CompareOptions = CompareOptions()
    ) -> CompareResult:
        t0 = time.perf_counter()
        ref = self.encoder.encode_file(reference)
        t1 = time.perf_counter()
        usr = self.encoder.encode_file(user)
        t2 = time.perf_counter()
        res = self.answer(compare_prompt(2, options.question), [ref, usr], options)
        timings = {
            **res.timings,
            "decode_video_and_encode_ms": [(t1 - t0) * 1000, (t2 - t1) * 1000],
        }
        return CompareResult(text=res.text, tokens=res.tokens, timings=timings)
