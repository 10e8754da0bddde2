"""The decode engines that `stepdiff bench decode` compares, one per process.

`python -m stepdiff.export.bench_engines SPEC_JSON` loads one engine, decodes the shared prompt (warm-up,
then `repeats` timed runs) and prints one JSON object on its last stdout line. The parent starts
a fresh process per engine and thread count, so each peak RSS belongs to that engine alone.

Every engine is the same tiny interface, `prefill() -> first token` and `step(token) -> token`,
both greedy (argmax of the logits, EOS never stops it), so the timing loop is one function:
- time to first token: prefill of the whole prompt, its text embedding lookups included (the
  video embeddings are given: the vision encoder is not part of this benchmark);
- decode tok/s: the tokens after the first, per second.

The prompt (prompt.npz, written by the parent) holds the two clips' video embeddings and the chat
text around them, plus an all-text stand-in of the same token count for engines that only take
token ids (onnxruntime-genai, llama.cpp): each `<video>` becomes K filler text tokens.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ENGINES = ("stepdiff", "torch", "ort-genai", "llama.cpp")


@dataclass(frozen=True)
class EngineSpec:
    engine: str  # one of ENGINES
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

    @property
    def length(self) -> int:
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
    with np.load(path) as z:
        lengths, flat = z["lengths"], z["text_ids"]
        video, ids = z["video_embeds"].astype(np.float32), z["token_ids"].astype(np.int64)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    pieces = tuple(
        tuple(int(t) for t in flat[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    )
    return Prompt(pieces, video, ids)


class StepDiffEngine:
    """Our runtime: embed_tokens.onnx + decoder.onnx through runtime.decoder (onnxruntime)."""

    def __init__(self, spec: EngineSpec, prompt: Prompt) -> None:
        from stepdiff.runtime.bundle import load_bundle
        from stepdiff.runtime.decoder import Decoder

        self.bundle = load_bundle(spec.bundle)
        self.decoder = Decoder(self.bundle, threads=spec.threads)
        self.prompt = prompt
        self.label = f"stepdiff-{self.bundle.graphs['decoder'].quantization}"

    def prefill(self) -> int:
        from stepdiff.runtime.decoder import KVCache
        from stepdiff.runtime.prompt import interleave

        p = self.prompt
        embeds = interleave(self.decoder.embed(p.text_ids()), p.layout(), list(p.video_embeds))
        self.cache = KVCache(self.bundle)
        return int(np.argmax(self.decoder.forward(embeds, self.cache)))

    def step(self, token: int) -> int:
        logits = self.decoder.forward(self.decoder.embed(np.array([token])), self.cache)
        return int(np.argmax(logits))


class TorchEngine:
    """PyTorch eager, fp32: transformers' LlamaForCausalLM of the same SmolLM2 weights."""

    def __init__(self, spec: EngineSpec, prompt: Prompt) -> None:
        import torch

        from stepdiff.models.pretrained import load_smollm2

        torch.set_num_threads(spec.threads)
        torch.set_num_interop_threads(1)
        self.torch = torch
        self.lm, _ = load_smollm2()
        self.prompt = prompt
        self.label = "torch-fp32"

    def prefill(self) -> int:
        from stepdiff.runtime.prompt import interleave

        torch, p = self.torch, self.prompt
        with torch.inference_mode():
            text = self.lm.get_input_embeddings()(torch.from_numpy(p.text_ids())).numpy()
            embeds = interleave(text, p.layout(), list(p.video_embeds))
            out = self.lm(inputs_embeds=torch.from_numpy(embeds)[None], use_cache=True)
        self.past = out.past_key_values
        return int(out.logits[0, -1].argmax())

    def step(self, token: int) -> int:
        torch = self.torch
        with torch.inference_mode():
            ids = torch.tensor([[token]], dtype=torch.long)
            out = self.lm(input_ids=ids, past_key_values=self.past, use_cache=True)
        self.past = out.past_key_values
        return int(out.logits[0, -1].argmax())


def genai_dir(bundle: Path, workdir: Path) -> Path:
    """The bundle itself if it has genai_config.json, else a side directory of links to it."""
    from stepdiff.export.genai_config import GENAI_CONFIG, write_genai_files

    if (bundle / GENAI_CONFIG).is_file():
        return bundle
    side = workdir / "genai"
    side.mkdir(parents=True, exist_ok=True)
    for p in bundle.iterdir():
        if p.is_file() and not (side / p.name).exists():
            os.symlink(p.resolve(), side / p.name)
    write_genai_files(side, json.loads((bundle / "manifest.json").read_text()))
    return side


class GenaiEngine:
    """onnxruntime-genai driving the bundle's own embed_tokens.onnx + decoder.onnx."""

    def __init__(self, spec: EngineSpec, prompt: Prompt) -> None:
        import onnxruntime_genai as og

        from stepdiff.runtime.bundle import load_bundle

        bundle = load_bundle(spec.bundle)
        self._tmp = tempfile.TemporaryDirectory(prefix="stepdiff-genai-")
        config = og.Config(str(genai_dir(Path(spec.bundle), Path(self._tmp.name))))
        threads = {"intra_op_num_threads": spec.threads, "inter_op_num_threads": 1}
        config.overlay(json.dumps({"model": {"decoder": {"session_options": threads}}}))
        self.og = og
        self.model = og.Model(config)
        self.ids = prompt.token_ids.astype(np.int32)
        self.max_length = prompt.length + spec.new_tokens + 1
        self.label = f"ort-genai-{bundle.graphs['decoder'].quantization}"

    def prefill(self) -> int:
        og = self.og
        params = og.GeneratorParams(self.model)
        # min_length = max_length keeps EOS from ever being chosen, like ignore_eos.
        params.set_search_options(
            do_sample=False, max_length=self.max_length, min_length=self.max_length
        )
        self.gen = og.Generator(self.model, params)
        self.gen.append_tokens(self.ids)
        self.gen.generate_next_token()
        return int(self.gen.get_next_tokens()[0])

    def step(self, token: int) -> int:
        self.gen.generate_next_token()
        return int(self.gen.get_next_tokens()[0])


class LlamaCppEngine:
    """llama.cpp (llama-cpp-python) on the original SmolLM2 GGUF (Q4_1)."""

    note = "llama.cpp extra weight buffers (AMX, repack) off: AMX matmul segfaults here"

    def __init__(self, spec: EngineSpec, prompt: Prompt) -> None:
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

        capi.llama_model_default_params = without_extra_buffers
        try:
            self.llm = llama_cpp.Llama(
                model_path=spec.gguf,
                n_ctx=prompt.length + spec.new_tokens + 16,
                n_batch=max(512, prompt.length),
                n_threads=spec.threads,
                n_threads_batch=spec.threads,
                verbose=False,
            )
        finally:
            capi.llama_model_default_params = defaults
        self.llama_cpp = llama_cpp
        self.ids = [int(t) for t in prompt.token_ids]
        self.vocab = self.llm.n_vocab()
        self.label = "llama.cpp-" + Path(spec.gguf).stem.rsplit(".", 1)[-1].lower()

    def _argmax(self) -> int:
        ptr = self.llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        return int(np.argmax(np.ctypeslib.as_array(ptr, shape=(self.vocab,))))

    def prefill(self) -> int:
        self.llm.reset()
        self.llm.eval(self.ids)
        return self._argmax()

    def step(self, token: int) -> int:
        self.llm.eval([token])
        return self._argmax()


def make_engine(spec: EngineSpec, prompt: Prompt):
    kinds = {
        "stepdiff": StepDiffEngine,
        "torch": TorchEngine,
        "ort-genai": GenaiEngine,
        "llama.cpp": LlamaCppEngine,
    }
    if spec.engine not in kinds:
        raise ValueError(f"unknown engine {spec.engine!r}; choose from {', '.join(kinds)}")
    return kinds[spec.engine](spec, prompt)


def decode_once(engine, new_tokens: int) -> tuple[float, float, list[int]]:
    """(time to first token in ms, tok/s after the first, the tokens)."""
    t0 = time.perf_counter()
    tok = engine.prefill()
    t1 = time.perf_counter()
    tokens = [tok]
    for _ in range(new_tokens - 1):
        tok = engine.step(tok)
        tokens.append(tok)
    t2 = time.perf_counter()
    tok_s = (new_tokens - 1) / (t2 - t1) if new_tokens > 1 else 0.0
    return (t1 - t0) * 1000, tok_s, tokens


def peak_rss_mb() -> float:
    """This process's peak RSS in MiB.

    /proc/self/status VmHWM first: ru_maxrss survives exec, so a child spawned by a big parent
    (vfork or fork, then exec) would report the parent's peak rather than its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1 << 20) if sys.platform == "darwin" else rss / 1024  # bytes vs KiB


def run(spec: EngineSpec) -> EngineRun:
    if spec.new_tokens < 2 or spec.repeats < 1 or spec.threads < 1:
        raise ValueError("new_tokens must be >= 2, repeats and threads >= 1")
    prompt = load_prompt(spec.prompt)
    t = time.perf_counter()
    engine = make_engine(spec, prompt)
    load_s = time.perf_counter() - t
    # Warm-up: first runs pay for allocations, kernel selection and page faults.
    decode_once(engine, min(8, spec.new_tokens))
    ttfts, rates, first = [], [], []
    for _ in range(spec.repeats):
        ttft, rate, tokens = decode_once(engine, spec.new_tokens)
        ttfts.append(ttft)
        rates.append(rate)
        first = first or tokens[:16]
    return EngineRun(
        engine=engine.label,
        threads=spec.threads,
        ttft_ms=statistics.median(ttfts),
        tok_s=statistics.median(rates),
        rss_mb=peak_rss_mb(),
        prompt_tokens=prompt.length,
        new_tokens=spec.new_tokens,
        repeats=spec.repeats,
        ttft_ms_all=tuple(ttfts),
        tok_s_all=tuple(rates),
        load_s=load_s,
        first_tokens=tuple(first),
        note=getattr(engine, "note", ""),
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m stepdiff.export.bench_engines SPEC_JSON", file=sys.stderr)
        return 2
    spec = EngineSpec(**json.loads(argv[0]))
    print(json.dumps(asdict(run(spec))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
