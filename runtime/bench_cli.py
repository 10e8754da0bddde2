"""stepdiff bench {pipeline,decode,render} ...: benchmarks are commands, never timed tests."""

from __future__ import annotations

import importlib
import sys

BENCHES = {
    "pipeline": (
        "stepdiff.runtime.bench_pipeline",
        "encoder ms/clip, time to first token, decode tok/s",
    ),
    "decode": (
        "stepdiff.export.bench_decode",
        "decoder engines side by side: ours int4/int8, torch, onnxruntime-genai, llama.cpp",
    ),
    "render": ("stepdiff.models.data.bench_render", "procedural renderer frames/s on one core"),
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHES:
        print("usage: stepdiff bench {" + ",".join(BENCHES) + "} [ARGS]", file=sys.stderr)
        for k, (_, h) in BENCHES.items():
            print(f"  {k:<10} {h}", file=sys.stderr)
        return 2
    return int(importlib.import_module(BENCHES[argv[0]][0]).main(argv[1:]) or 0)
