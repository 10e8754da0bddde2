"""stepdiff bench pipeline [--engine stepdiff|torch]: the compare path's three numbers.

- encoder: ms per clip (T frames through EfficientNet-Lite0 and the projector), median;
- time to first token: prefill of the prompt with two clips' tokens and the question, median;
- decode tok/s: greedy tokens after the first, with the KV cache, EOS ignored.
Video decoding is excluded, so the engines are compared on the same work. The engines are the
decode benchmark's (runtime.bench.engines), run in this process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from stepdiff.runtime.bench.engines import (
    EngineSpec,
    build_prompt,
    decode_once,
    load_prompt,
    make_engine,
)
from stepdiff.runtime.bench.harness import log, median_ms
from stepdiff.runtime.paths import default_bundle

ENGINES = {"stepdiff": "stepdiff", "onnx": "stepdiff", "torch": "torch"}  # onnx: the old name


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
    p.add_argument("--engine", choices=tuple(ENGINES), default="stepdiff")
    p.add_argument("--bundle", default=None, help="its encoder makes the prompt's video tokens")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--new-tokens", type=int, default=64)
    return p


def bench(engine_name: str, bundle: Path, threads: int, repeats: int, new_tokens: int):
    with tempfile.TemporaryDirectory(prefix="stepdiff-bench-") as tmp:
        prompt_path = Path(tmp) / "prompt.npz"
        build_prompt(bundle, prompt_path)
        prompt = load_prompt(prompt_path)
        spec = EngineSpec(engine_name, threads, str(prompt_path), new_tokens, repeats, str(bundle))
        engine = make_engine(spec)
    clip = np.random.default_rng(0).integers(0, 256, clip_shape(bundle), dtype=np.uint8)
    enc_ms = median_ms(lambda: engine.encode(clip), repeats)
    decode_once(engine, prompt, min(8, new_tokens))  # warm-up
    runs = [decode_once(engine, prompt, new_tokens) for _ in range(repeats)]
    return PipelineBench(
        engine.label,
        threads,
        enc_ms,
        statistics.median(r.ttft_ms for r in runs),
        statistics.median(r.decode_tok_s for r in runs),
        len(prompt),
        len(runs[0].tokens),
    )


def clip_shape(bundle: Path) -> tuple[int, int, int, int]:
    from stepdiff.runtime.bundle import load_bundle

    b = load_bundle(bundle, verify_hashes=False)
    return (b.frames, b.frame_size, b.frame_size, 3)


def main(argv: list[str]) -> int:
    a = parser().parse_args(argv)
    log(f"benchmarking {a.engine} on {a.threads} threads ...")
    bundle = Path(a.bundle) if a.bundle else default_bundle()
    r = bench(ENGINES[a.engine], bundle, a.threads, a.repeats, a.new_tokens)
    log(
        f"{r.engine:>12} threads={r.threads} encoder {r.encoder_ms_per_clip:.1f} ms/clip | "
        f"first token {r.ttft_ms:.1f} ms ({r.prompt_tokens} prompt tokens) | "
        f"decode {r.decode_tok_s:.1f} tok/s"
    )
    print(json.dumps(asdict(r)))
    return 0
