"""`stepdiff compare`: two videos in, the step difference out as text (and speech), and, when
the bundle has a comparison head, how severe the difference is."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from stepdiff.runtime import contract
from stepdiff.runtime.align import align
from stepdiff.runtime.bundle import Bundle, load_bundle, open_session
from stepdiff.runtime.decoder import Decoder, DecodingOptions, DecodingResult, greedy
from stepdiff.runtime.encoder import EncodedClip, VideoEncoder
from stepdiff.runtime.prompt import COMPARE_QUESTION, compare_prompt, interleave, layout


@dataclass(frozen=True)
class CompareOptions:
    question: str = COMPARE_QUESTION
    max_new_tokens: int = 48


@dataclass(frozen=True)
class PairScore:
    """compare_head's outputs for one (reference, user) pair."""

    severity: float  # 0..5, 0 = the same; DiffRank's score is 5 - severity
    match: float  # scaled cosine of the pair and the text (meaningless without a text)
    pair_vector: np.ndarray  # [E], unit length
    diff_tokens: np.ndarray  # [N, D], in the LM's embedding space
    alignment: np.ndarray  # int64 [T]: the user frame DTW put at each reference frame
    ms: float = 0.0  # alignment and the head


class PairScorer:
    """compare_head.onnx on two encoded clips: the user clip aligned to the reference (DTW on
    the head features averaged over the grid, runtime/align.py), then the head."""

    def __init__(self, bundle: Bundle, threads: int = 2) -> None:
        if not bundle.has_compare_head:
            raise ValueError(f"{bundle.root}: the bundle has no {contract.COMPARE_HEAD} graph")
        self.bundle = bundle
        self.session = open_session(bundle, contract.COMPARE_HEAD, threads)

    def category_index(self, category: str | None) -> int:
        cats = self.bundle.categories
        return cats.index(category) if category in cats else cats.index(contract.ANY_CATEGORY)

    def score(
        self,
        reference: EncodedClip,
        user: EncodedClip,
        category: str | None = None,
        text: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> PairScore:
        """category: one of the manifest's compare.categories (None or unknown: "any"); text:
        (did, instead) mean token embeddings [D] each (contract.TEXT_RULE), zeros without."""
        t0 = time.perf_counter()
        idx = align(reference.frame_head.mean(axis=1), user.frame_head.mean(axis=1))
        d = self.bundle.dims.hidden
        did, instead = text if text is not None else (np.zeros(d, np.float32),) * 2
        feeds = {
            contract.REF_MID: reference.frame_mid[None],
            contract.REF_HEAD: reference.frame_head[None],
            contract.USER_MID: np.ascontiguousarray(user.frame_mid[idx][None]),
            contract.USER_HEAD: np.ascontiguousarray(user.frame_head[idx][None]),
            contract.SECONDS: np.array([[reference.seconds, user.seconds]], np.float32),
            contract.CATEGORY: np.array([self.category_index(category)], np.int64),
            contract.TEXT_DID: np.asarray(did, np.float32).reshape(1, d),
            contract.TEXT_INSTEAD: np.asarray(instead, np.float32).reshape(1, d),
        }
        names = (contract.SEVERITY, contract.MATCH, contract.PAIR_VECTOR, contract.DIFF_TOKENS)
        sev, match, pair, tokens = self.session.run(list(names), feeds)
        return PairScore(
            severity=float(sev[0]),
            match=float(match[0]),
            pair_vector=pair[0],
            diff_tokens=tokens[0],
            alignment=idx,
            ms=(time.perf_counter() - t0) * 1000,
        )


@dataclass(frozen=True)
class CompareResult:
    text: str
    decoding: DecodingResult
    encode_ms: tuple[float, ...] = ()  # per video: decode the file, sample, encode
    pair: PairScore | None = None  # the comparison head's, when the bundle has one

    @property
    def severity(self) -> float | None:
        return self.pair.severity if self.pair is not None else None

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
        if self.pair is not None:
            out["align_and_compare_head_ms"] = self.pair.ms
        return out


class StepDiff:
    """The loaded on-device model: encoder, tokenizer, embedder and decoder sessions, and the
    comparison head's when the bundle has one.

    `threads` is each session's intra-op thread count, fixed when the sessions are made.
    """

    def __init__(self, bundle: Bundle | str, threads: int = 2) -> None:
        from tokenizers import Tokenizer

        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        self.tokenizer = Tokenizer.from_file(str(self.bundle.tokenizer_path))
        self.encoder = VideoEncoder(self.bundle, threads)
        self.decoder = Decoder(self.bundle, threads)
        self.scorer = PairScorer(self.bundle, threads) if self.bundle.has_compare_head else None

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
        # The headset's comparison names no category: the head is asked in "any".
        pair = self.scorer.score(ref, usr) if self.scorer is not None else None
        videos = [ref.video_embeds, usr.video_embeds]
        res = self.answer(compare_prompt(2, options.question), videos, options)
        return replace(res, encode_ms=((t1 - t0) * 1000, (t2 - t1) * 1000), pair=pair)
