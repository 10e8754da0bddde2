"""The engines the benchmarks time, each a `runtime.decoder.LanguageModel`, one per process.

`python -m stepdiff.runtime.bench.engines SPEC_JSON` loads one engine, decodes the shared prompt
(a warm-up, then `repeats` timed runs) through `runtime.decoder.generate`, the loop every caller
uses, and prints one JSON object on its last stdout line. The parent starts a fresh process per
engine and thread count, so each peak RSS belongs to that engine alone.

Engines:
- `stepdiff`: our runtime, the bundle's embed_tokens.onnx + decoder.onnx (onnxruntime);
- `ort-genai`: onnxruntime-genai running the same bundle through its genai_config.json;
- `llama.cpp`: llama-cpp-python on the original SmolLM2 GGUF;
- `torch`: PyTorch eager, registered by the workstation package under the
  `stepdiff.bench_engines` entry-point group (this package never imports it by name).

Timing, the same for all: time to first token is the prefill of the whole prompt, its text
embedding lookups included (the video embeddings are given: the vision encoder is timed
separately); decode tok/s counts the tokens after the first. EOS never stops a timed run.

The prompt (prompt.npz) holds the two clips' video embeddings and the chat text around them, plus
an all-text stand-in of the same token count for engines that only take token ids
(onnxruntime-genai, llama.cpp): each `<video>` becomes K filler text tokens.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from stepdiff.runtime.bench.harness import peak_rss_mb
from stepdiff.runtime.decoder import DecodingOptions, DecodingResult, greedy

FILLER = " diced onion, a pinch of salt, two eggs whisked in a bowl, butter in a hot pan,"
ENTRY_POINTS = "stepdiff.bench_engines"


@dataclass(frozen=True)
class EngineSpec:
    engine: str  # a key of engine_kinds()
    threads: int
    prompt: str  # prompt.npz
    new_tokens: int = 64
    repeats: int = 3
    bundle: str = ""  # stepdiff, ort-genai
    gguf: str = ""  # llama.cpp


@dataclass(frozen=True)
class EngineRun:
    engine: str  # label, e.g. "stepdiff-int4"
    threads: int
    ttft_ms: float  # median over repeats
    tok_s: float  # median over repeats
    rss_mb: float  # peak RSS of the engine's process
    prompt_tokens: int
    new_tokens: int
    repeats: int
    ttft_ms_all: tuple[float, ...]
    tok_s_all: tuple[float, ...]
    load_s: float
    first_tokens: tuple[int, ...]  # the first greedy tokens, to see engines agree
    note: str = ""


@dataclass(frozen=True)
class Prompt:
    pieces: tuple[tuple[int, ...], ...]  # chat text ids around the videos
    video_embeds: np.ndarray  # float32 [num_videos, K, D]
    token_ids: np.ndarray  # int64 [S]: the all-text stand-in of the same length

    def __len__(self) -> int:
        return int(self.token_ids.shape[0])

    def text_ids(self) -> np.ndarray:
        return np.array([t for p in self.pieces for t in p], dtype=np.int64)

    def layout(self):
        from stepdiff.runtime.prompt import PromptLayout

        return PromptLayout(pieces=self.pieces)


def save_prompt(path: Path, pieces, video_embeds: np.ndarray, token_ids: np.ndarray) -> None:
    lengths = np.array([len(p) for p in pieces], dtype=np.int64)
    flat = np.array([t for p in pieces for t in p], dtype=np.int64)
    expected = int(lengths.sum()) + video_embeds.shape[0] * video_embeds.shape[1]
    if token_ids.shape[0] != expected:
        raise ValueError(f"text stand-in has {token_ids.shape[0]} tokens, the prompt {expected}")
    with open(path, "wb") as f:
        np.savez(f, lengths=lengths, text_ids=flat, video_embeds=video_embeds, token_ids=token_ids)


def load_prompt(path: str | os.PathLike) -> Prompt:
    with np.load(path, allow_pickle=False) as z:
        lengths, flat = z["lengths"], z["text_ids"]
        video, ids = z["video_embeds"].astype(np.float32), z["token_ids"].astype(np.int64)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    pieces = tuple(
        tuple(int(t) for t in flat[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    )
    return Prompt(pieces, video, ids)


def build_prompt(bundle: Path, path: Path) -> int:
    """Writes prompt.npz: the compare prompt with two random clips, encoded by `bundle`'s
    vision encoder; returns its token count."""
    from tokenizers import Tokenizer

    from stepdiff.runtime.bundle import load_bundle
    from stepdiff.runtime.encoder import VideoEncoder
    from stepdiff.runtime.prompt import compare_prompt, layout

    b = load_bundle(bundle)
    tok = Tokenizer.from_file(str(b.tokenizer_path))
    lay = layout(tok, compare_prompt(2), b.system_prompt)
    clips = np.random.default_rng(0).integers(
        0, 256, (2, b.frames, b.frame_size, b.frame_size, 3), dtype=np.uint8
    )
    video = VideoEncoder(b, threads=1).encode_frames(clips).astype(np.float32)
    k = video.shape[1]
    filler = tok.encode(FILLER * (1 + k // 8), add_special_tokens=False).ids[:k]
    if len(filler) < k:
        raise RuntimeError(f"filler text gave {len(filler)} tokens, need {k}")
    ids: list[int] = []
    for i, piece in enumerate(lay.pieces):
        ids += piece
        if i < len(lay.pieces) - 1:
            ids += filler
    save_prompt(path, lay.pieces, video, np.array(ids, dtype=np.int64))
    return len(ids)


class OnnxEngine:
    """Our runtime: the bundle's graphs through runtime.encoder and runtime.decoder."""

    def __init__(self, spec: EngineSpec) -> None:
        from stepdiff.runtime.bundle import load_bundle
        from stepdiff.runtime.decoder import Decoder

        self.bundle = load_bundle(spec.bundle)
        self.threads = spec.threads
        self.decoder = Decoder(self.bundle, threads=spec.threads)
        self.eos_token_ids = self.bundle.eos_token_ids
        self.label = f"stepdiff-{self.bundle.graphs['decoder'].quantization}"
        self._encoder = None

    def encode(self, clip: np.ndarray) -> np.ndarray:
        """uint8 [T, H, W, 3] -> video tokens [K, D]."""
        if self._encoder is None:
            from stepdiff.runtime.encoder import VideoEncoder

            self._encoder = VideoEncoder(self.bundle, self.threads)
        return self._encoder.encode_frames(clip)

    def prefill(self, prompt: Prompt) -> np.ndarray:
        from stepdiff.runtime.prompt import interleave

        text = self.decoder.embed(prompt.text_ids())
        return self.decoder.prefill(interleave(text, prompt.layout(), list(prompt.video_embeds)))

    def step(self, token: int) -> np.ndarray:
        return self.decoder.step(token)


class GenaiEngine:
    """onnxruntime-genai driving the bundle's own embed_tokens.onnx + decoder.onnx."""

    eos_token_ids: tuple[int, ...] = ()

    def __init__(self, spec: EngineSpec) -> None:
        import onnxruntime_genai as og

        from stepdiff.runtime import contract
        from stepdiff.runtime.bundle import load_bundle

        bundle = load_bundle(spec.bundle)
        if not (bundle.root / contract.GENAI_CONFIG).is_file():
            raise FileNotFoundError(
                f"{bundle.root}: no {contract.GENAI_CONFIG}; re-export it with `stepdiff export`"
            )
        config = og.Config(str(bundle.root))
        threads = {"intra_op_num_threads": spec.threads, "inter_op_num_threads": 1}
        config.overlay(json.dumps({"model": {"decoder": {"session_options": threads}}}))
        self.og = og
        self.model = og.Model(config)
        self.vocab = bundle.vocab
        self.max_length = spec.new_tokens + 16  # plus the prompt, set in prefill
        self.label = f"ort-genai-{bundle.graphs['decoder'].quantization}"

    def _logits(self) -> np.ndarray:
        return np.asarray(self.gen.get_logits(), dtype=np.float32).reshape(-1, self.vocab)[-1]

    def prefill(self, prompt: Prompt) -> np.ndarray:
        og = self.og
        params = og.GeneratorParams(self.model)
        n = len(prompt) + self.max_length
        # min_length = max_length: EOS never ends the generator, as EOS never ends a timed run.
        params.set_search_options(do_sample=False, max_length=n, min_length=n)
        self.gen = og.Generator(self.model, params)
        self.gen.append_tokens(prompt.token_ids.astype(np.int32))
        return self._logits()

    def step(self, token: int) -> np.ndarray:
        self.gen.append_tokens(np.array([token], dtype=np.int32))
        return self._logits()


class LlamaCppEngine:
    """llama.cpp (llama-cpp-python) on the original SmolLM2 GGUF (Q4_1)."""

    eos_token_ids: tuple[int, ...] = ()
    note = "llama.cpp extra weight buffers (AMX, repack) off: AMX matmul segfaults here"

    def __init__(self, spec: EngineSpec) -> None:
        import llama_cpp
        import llama_cpp.llama_cpp as capi

        # On CPUs with AMX (Sapphire Rapids and later) a native build of llama-cpp-python 0.3.36
        # puts Q4_1 weights in AMX buffers, and its batched AMX matmul segfaults in prefill.
        # Llama() has no argument for llama_model_params.use_extra_bufts, so turn it off in the
        # defaults it starts from, for this construction only. Q4_1 has no repacked CPU kernel,
        # so nothing else is lost.
        defaults = capi.llama_model_default_params

        def without_extra_buffers():
            params = defaults()
            params.use_extra_bufts = False
            return params

        prompt_len = len(load_prompt(spec.prompt))
        capi.llama_model_default_params = without_extra_buffers
        try:
            self.llm = llama_cpp.Llama(
                model_path=spec.gguf,
                n_ctx=prompt_len + spec.new_tokens + 16,
                n_batch=max(512, prompt_len),
                n_threads=spec.threads,
                n_threads_batch=spec.threads,
                verbose=False,
            )
        finally:
            capi.llama_model_default_params = defaults
        self.llama_cpp = llama_cpp
        self.vocab = self.llm.n_vocab()
        self.label = "llama.cpp-" + Path(spec.gguf).stem.rsplit(".", 1)[-1].lower()

    def _logits(self) -> np.ndarray:
        ptr = self.llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.vocab,))

    def prefill(self, prompt: Prompt) -> np.ndarray:
        self.llm.reset()
        self.llm.eval([int(t) for t in prompt.token_ids])
        return self._logits()

    def step(self, token: int) -> np.ndarray:
        self.llm.eval([token])
        return self._logits()


BUILT_IN = {"stepdiff": OnnxEngine, "ort-genai": GenaiEngine, "llama.cpp": LlamaCppEngine}


def registered() -> dict[str, metadata.EntryPoint]:
    """Engines other installed packages register (the PyTorch one, from the train extra)."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINTS)}


def engine_names() -> tuple[str, ...]:
    return (*BUILT_IN, *(n for n in registered() if n not in BUILT_IN))


def make_engine(spec: EngineSpec):
    if spec.engine in BUILT_IN:
        return BUILT_IN[spec.engine](spec)
    eps = registered()
    if spec.engine not in eps:
        raise ValueError(f"unknown engine {spec.engine!r}; choose from {', '.join(engine_names())}")
    return eps[spec.engine].load()(spec)


def decode_once(engine, prompt, new_tokens: int) -> DecodingResult:
    """One timed greedy run of `new_tokens` tokens, EOS ignored."""
    return greedy(engine, prompt, DecodingOptions(max_new_tokens=new_tokens, ignore_eos=True))


def run(spec: EngineSpec) -> EngineRun:
    if spec.new_tokens < 2 or spec.repeats < 1 or spec.threads < 1:
        raise ValueError("new_tokens must be >= 2, repeats and threads >= 1")
    prompt = load_prompt(spec.prompt)
    t = time.perf_counter()
    engine = make_engine(spec)
    load_s = time.perf_counter() - t
    decode_once(engine, prompt, min(8, spec.new_tokens))  # warm-up
    runs = [decode_once(engine, prompt, spec.new_tokens) for _ in range(spec.repeats)]
    return EngineRun(
        engine=engine.label,
        threads=spec.threads,
        ttft_ms=statistics.median(r.ttft_ms for r in runs),
        tok_s=statistics.median(r.decode_tok_s for r in runs),
        rss_mb=peak_rss_mb(),
        prompt_tokens=len(prompt),
        new_tokens=spec.new_tokens,
        repeats=spec.repeats,
        ttft_ms_all=tuple(r.ttft_ms for r in runs),
        tok_s_all=tuple(r.decode_tok_s for r in runs),
        load_s=load_s,
        first_tokens=runs[0].tokens[:16],
        note=getattr(engine, "note", ""),
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m stepdiff.runtime.bench.engines SPEC_JSON", file=sys.stderr)
        return 2
    spec = EngineSpec(**json.loads(argv[0]))
    print(json.dumps(asdict(run(spec))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
