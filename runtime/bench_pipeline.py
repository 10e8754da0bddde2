"""stepdiff bench pipeline [--engine onnx|torch]: the compare path's three numbers.

- encoder: ms per clip (T frames through EfficientNet-Lite0 and the projector), median;
- time to first token: prefill of the prompt with two clips' tokens and the question, median;
- decode tok/s: greedy tokens after the first, with the KV cache, EOS ignored.
Video decoding is excluded, so the engines are compared on the same work.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from stepdiff.runtime.paths import default_bundle


@dataclass(frozen=True)
class PipelineBench:
    engine: str
    threads: int
    encoder_ms_per_clip: float
    ttft_ms: float
    decode_tok_s: float
    prompt_tokens: int
    new_tokens: int


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stepdiff bench pipeline", description=__doc__.splitlines()[0])
    p.add_argument("--engine", choices=("onnx", "torch"), default="onnx")
    p.add_argument("--bundle", default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--new-tokens", type=int, default=64)
    return p


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up: first runs pay for allocation and kernel selection
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def bench_onnx(bundle: str, threads: int, repeats: int, new_tokens: int) -> PipelineBench:
    from stepdiff.runtime.compare import StepDiff
    from stepdiff.runtime.decoder import DecodingOptions
    from stepdiff.runtime.prompt import compare_prompt

    sd = StepDiff(bundle, threads=threads)
    b = sd.bundle
    clip = np.random.default_rng(0).integers(0, 256, (b.frames, b.frame_size, b.frame_size, 3))
    clip = clip.astype(np.uint8)
    enc_ms = _median_ms(lambda: sd.encoder.encode_frames(clip), repeats)
    v = sd.encoder.encode_frames(clip)
    embeds = sd.prompt_embeds(compare_prompt(2), [v, v])
    opts = DecodingOptions(max_new_tokens=1, ignore_eos=True)
    ttft = _median_ms(lambda: list(sd.decoder.generate(embeds, opts)), repeats)
    stats: dict = {}
    opts = DecodingOptions(max_new_tokens=new_tokens, ignore_eos=True)
    list(sd.decoder.generate(embeds, opts, stats=stats))
    return PipelineBench(
        "onnx-" + b.graphs["decoder"].quantization,
        threads,
        enc_ms,
        ttft,
        stats["decode_tok_s"],
        embeds.shape[0],
        stats["new_tokens"],
    )


def main(argv: list[str]) -> int:
    a = parser().parse_args(argv)
    print(f"benchmarking {a.engine} on {a.threads} threads ...", file=sys.stderr)
    if a.engine == "onnx":
        r = bench_onnx(str(a.bundle or default_bundle()), a.threads, a.repeats, a.new_tokens)
    else:
        from stepdiff.models.bench_torch import bench_torch

        r = bench_torch(a.threads, a.repeats, a.new_tokens)
    print(
        f"{r.engine:>12} threads={r.threads} encoder {r.encoder_ms_per_clip:.1f} ms/clip | "
        f"first token {r.ttft_ms:.1f} ms ({r.prompt_tokens} prompt tokens) | "
        f"decode {r.decode_tok_s:.1f} tok/s",
        file=sys.stderr,
    )
    print(json.dumps(asdict(r)))
    return 0
