"""stepdiff bench decode: time to first token, decode tok/s and peak RSS, engine against engine.

Same weights (SmolLM2-135M), same prompt, same thread counts for every engine:
- stepdiff-int4 / stepdiff-int8: our runtime (runtime/decoder.py) on bundles from
  `stepdiff export --quant int4|int8` (run as a command when the cache has none);
- torch-fp32: PyTorch eager through transformers;
- ort-genai-int4: onnxruntime-genai running our int4 bundle's own graphs (genai_config.json);
- llama.cpp-q4_1: llama-cpp-python on the original GGUF (optional extra; skipped if missing).

The prompt is the compare prompt: two 8-frame clips (2 x K video tokens) and the question. The
text-only engines get a stand-in of the same token count. Each engine and thread count runs in
its own process (warm-up, then the median of a few repeats), so peak RSS is per engine.

It also measures this machine's memory bandwidth and the tok/s that bandwidth allows: decoding
one token has to read every weight the decoder touches once (all of decoder.onnx's initializers,
the LM head included, but one row of each position-indexed table), one row of the embedding
table, and the KV cache of every position so far. So

    bound tok/s = bandwidth / (weight bytes + embedding row + 2 * layers * kv_heads * head_dim
                               * 4 bytes * mean context length)

with the mean context length = prompt + (new tokens - 1) / 2 over the decoded tokens.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from stepdiff.runtime import contract
from stepdiff.runtime.bench.engines import build_prompt as write_prompt
from stepdiff.runtime.bench.harness import log as _log
from stepdiff.runtime.bench.harness import machine_info, write_report
from stepdiff.runtime.errors import BadInput
from stepdiff.runtime.paths import cache_dir, smollm2_gguf_path

# engine key -> (bench_engines kind, bundle option or "", pip package that provides it)
ENGINES: dict[str, tuple[str, str, str]] = {
    "stepdiff-int4": ("stepdiff", "int4", "onnxruntime"),
    "stepdiff-int8": ("stepdiff", "int8", "onnxruntime"),
    "torch-fp32": ("torch", "", "torch"),
    "ort-genai-int4": ("ort-genai", "int4", "onnxruntime-genai"),
    "llama.cpp": ("llama.cpp", "", "llama-cpp-python"),
    "stepdiff": ("stepdiff", "bundle", "onnxruntime"),  # any bundle, given with --bundle
}
DEFAULT_ENGINES = ("stepdiff-int4", "stepdiff-int8", "torch-fp32", "ort-genai-int4", "llama.cpp")
_MODULES = {
    "onnxruntime": "onnxruntime",
    "torch": "transformers",
    "onnxruntime-genai": "onnxruntime_genai",
    "llama-cpp-python": "llama_cpp",
}
FILLER = " diced onion, a pinch of salt, two eggs whisked in a bowl, butter in a hot pan,"


@dataclass(frozen=True)
class BenchOptions:
    engines: tuple[str, ...] = DEFAULT_ENGINES
    threads: tuple[int, ...] = (1, 2)
    new_tokens: int = 64
    repeats: int = 3
    int4: str = ""
    int8: str = ""
    bundle: str = ""
    gguf: str = ""
    timeout_s: float = 900.0


@dataclass(frozen=True)
class Bandwidth:
    read_gb_s: float  # integer sum over a large array: reads only, memory-bound
    copy_gb_s: float  # read + write bytes of a large copy, per second
    array_mb: int
    threads: int = 1  # numpy runs these on one core


@dataclass(frozen=True)
class TokenBytes:
    """Bytes one decoded token has to read from memory, by source."""

    bundle: str
    quantization: str
    weights: int  # decoder.onnx initializers, LM head included; one row of position tables
    embedding_row: int  # embed_tokens.onnx: one row of the table (and of its scales)
    kv_cache: int  # K and V of every layer at the mean context length
    context: float  # that mean context length

    @property
    def total(self) -> int:
        return self.weights + self.embedding_row + self.kv_cache


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stepdiff bench decode",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    p.add_argument(
        "--engines",
        default=",".join(DEFAULT_ENGINES),
        help=f"comma-separated, from {', '.join(ENGINES)} (default: %(default)s)",
    )
    p.add_argument("--threads", default="1,2", help="thread counts (default: %(default)s)")
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3, help="timed runs after the warm-up")
    p.add_argument("--int4", default="", help="int4 bundle (default: built into the cache)")
    p.add_argument("--int8", default="", help="int8 bundle (default: built into the cache)")
    p.add_argument("--bundle", default="", help="bundle for the 'stepdiff' engine")
    p.add_argument("--gguf", default="", help="GGUF for llama.cpp (default: SmolLM2 Q4_1)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per engine run")
    p.add_argument("--out", default="", help="write bench.json, bench.md and bench.png here")
    return p


def parse_options(a: argparse.Namespace) -> BenchOptions:
    engines = tuple(e.strip() for e in a.engines.split(",") if e.strip())
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise BadInput(
            "--engines", f"unknown engine(s) {unknown}; choose from {', '.join(ENGINES)}"
        )
    try:
        threads = tuple(int(t) for t in a.threads.split(",") if t.strip())
    except ValueError as e:
        raise BadInput("--threads", f"{a.threads!r} is not a comma-separated list of ints") from e
    if not threads or min(threads) < 1:
        raise BadInput("--threads", f"{a.threads!r}: give thread counts >= 1, e.g. 1,2")
    if a.new_tokens < 2 or a.repeats < 1:
        raise BadInput("--new-tokens", "needs --new-tokens >= 2 and --repeats >= 1")
    if a.gguf and not Path(a.gguf).is_file():
        raise BadInput(a.gguf, "no such GGUF file; leave out --gguf for SmolLM2's own")
    if "stepdiff" in engines and not a.bundle:
        raise BadInput("--bundle", "the 'stepdiff' engine needs --bundle DIR")
    return BenchOptions(
        engines, threads, a.new_tokens, a.repeats, a.int4, a.int8, a.bundle, a.gguf, a.timeout
    )


# --- inputs ---------------------------------------------------------------------------------


def _quantization(bundle: Path) -> str:
    mpath = bundle / contract.MANIFEST
    try:
        return str(json.loads(mpath.read_text())["graphs"]["decoder"].get("quantization", "fp32"))
    except FileNotFoundError as e:
        raise BadInput(mpath, "is missing; build the bundle with `stepdiff export`") from e
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise BadInput(mpath, f"has no graphs.decoder entry ({e})") from e


def resolve_bundle(quant: str, given: str) -> Path:
    """The bundle for `quant`: the one given (checked), else the cache's, exported if missing."""
    if given:
        path = Path(given)
        got = _quantization(path)
        if got != quant:
            raise BadInput(path, f"is a {got} bundle, not {quant}; pass it as --{got} or --bundle")
        return path
    path = cache_dir() / "bundles" / f"default-{quant}"
    if (path / contract.MANIFEST).is_file() and _quantization(path) == quant:
        return path
    _log(f"no {quant} bundle given: exporting one into {path} (about a minute) ...")
    # The export command is the workstation's; it is run as a command, never imported.
    cmd = [
        sys.executable,
        "-m",
        "stepdiff.runtime",
        "export",
        "--quant",
        quant,
        "--out",
        str(path),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"`stepdiff export --quant {quant}` failed ({done.stderr.strip()[-300:]}); "
            f"export one yourself and pass --{quant} DIR"
        )
    return path


# --- memory bandwidth and the bound it sets -------------------------------------------------


def measure_bandwidth(array_mb: int = 256, repeats: int = 5) -> Bandwidth:
    """Best of a few passes over an array far larger than any cache (numpy, one core)."""
    n = array_mb * (1 << 20) // 4
    a = np.ones(n, dtype=np.float32)
    b = np.empty_like(a)
    np.copyto(b, a)  # fault the pages in before timing
    best_read, best_copy = float("inf"), float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a.view(np.uint64).sum()  # integer adds vectorize fully: the memory is the limit
        best_read = min(best_read, time.perf_counter() - t)
        t = time.perf_counter()
        np.copyto(b, a)
        best_copy = min(best_copy, time.perf_counter() - t)
    return Bandwidth(
        read_gb_s=a.nbytes / best_read / 1e9,
        copy_gb_s=2 * a.nbytes / best_copy / 1e9,
        array_mb=array_mb,
    )


def _initializer_sizes(path: Path) -> list[tuple[str, tuple[int, ...], int]]:
    """(name, shape, bytes) of each initializer, without loading external data."""
    import onnx
    from onnx import helper

    model = onnx.load(str(path), load_external_data=False)
    out = []
    for t in model.graph.initializer:
        shape = tuple(int(d) for d in t.dims)
        itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
        out.append((t.name, shape, int(np.prod(shape, dtype=np.int64)) * itemsize))
    return out


def token_bytes(bundle: Path, prompt_tokens: int, new_tokens: int) -> TokenBytes:
    """What one decoded token reads from memory with this bundle's decoder (see the module doc)."""
    m = json.loads((bundle / contract.MANIFEST).read_text())
    lm, graphs = m["lm"], m["graphs"]
    max_len, vocab = int(lm.get("max_length", 8192)), int(lm["vocab"])
    weights = 0
    for name, shape, size in _initializer_sizes(bundle / graphs["decoder"]["path"]):
        # Rotary cos/sin caches are indexed by position: a token reads one row.
        per_position = len(shape) == 2 and shape[0] == max_len and ("cos" in name or "sin" in name)
        weights += size // shape[0] if per_position else size
    row = sum(
        size // shape[0]
        for _, shape, size in _initializer_sizes(bundle / graphs["embed_tokens"]["path"])
        if shape and shape[0] == vocab
    )
    context = prompt_tokens + (new_tokens - 1) / 2
    per_position = 2 * int(lm["layers"]) * int(lm["kv_heads"]) * int(lm["head_dim"]) * 4
    return TokenBytes(
        bundle=str(bundle),
        quantization=str(graphs["decoder"].get("quantization", "fp32")),
        weights=weights,
        embedding_row=row,
        kv_cache=int(per_position * context),
        context=context,
    )


def bound_record(tb: TokenBytes, bw: Bandwidth) -> dict:
    return {
        **asdict(tb),
        "bytes_per_token": tb.total,
        "bandwidth_gb_s": bw.read_gb_s,
        "bound_tok_s": bw.read_gb_s * 1e9 / tb.total,
        "formula": "bound tok/s = read bandwidth / (weights + embedding_row + kv_cache) bytes",
    }


# --- running the engines --------------------------------------------------------------------


def run_engine(spec: dict, timeout_s: float) -> dict:
    """One engine in its own process; its JSON record, or a failure note."""
    cmd = [sys.executable, "-m", "stepdiff.runtime.bench.engines", json.dumps(spec)]
    env = {**os.environ, "OMP_NUM_THREADS": str(spec["threads"])}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "note": f"timed out after {timeout_s:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"status": "failed", "note": f"exit {done.returncode}: {tail[0][:300]}"}
    return {"status": "ok", **json.loads(lines[-1])}


def bench(opts: BenchOptions, workdir: Path) -> dict:
    bundles: dict[str, Path] = {}
    for key in opts.engines:
        need = ENGINES[key][1]
        if need and need not in bundles:
            given = {"int4": opts.int4, "int8": opts.int8, "bundle": opts.bundle}[need]
            bundles[need] = Path(given) if need == "bundle" else resolve_bundle(need, given)
    if "bundle" in bundles:
        _quantization(bundles["bundle"])  # a clear error before any engine starts
    prompt_bundle = next(iter(bundles.values()), None) or resolve_bundle("int4", opts.int4)
    prompt_path = workdir / "prompt.npz"
    _log(f"prompt: two clips through {prompt_bundle / contract.graph_file('vision_encoder')} ...")
    prompt_tokens = write_prompt(prompt_bundle, prompt_path)
    _log("measuring memory bandwidth ...")
    bw = measure_bandwidth()
    _log(f"  read {bw.read_gb_s:.1f} GB/s, copy {bw.copy_gb_s:.1f} GB/s (one core)")
    # The bound is for our own decoders; with only other engines, for the prompt's bundle.
    ours = list(dict.fromkeys(bundles.values())) or [prompt_bundle]
    if importlib.util.find_spec("onnx") is None:
        _log("  no bandwidth bound: it reads decoder.onnx's weights with `onnx` (pip install onnx)")
        bounds = []
    else:
        bounds = [bound_record(token_bytes(b, prompt_tokens, opts.new_tokens), bw) for b in ours]

    records = []
    gguf = opts.gguf
    runs = [(e, t) for e in opts.engines for t in opts.threads]
    for i, (key, threads) in enumerate(runs, 1):
        kind, need, package = ENGINES[key]
        base = {"engine": key, "threads": threads, "ttft_ms": None, "tok_s": None, "rss_mb": None}
        if importlib.util.find_spec(_MODULES[package]) is None:
            note = f"{package} is not installed (pip install {package}); skipped"
            _log(f"[{i}/{len(runs)}] {key} threads={threads}: {note}")
            records.append({**base, "status": "skipped", "note": note})
            continue
        _log(f"[{i}/{len(runs)}] {key} threads={threads} ...")
        if kind == "llama.cpp" and not gguf:
            gguf = str(smollm2_gguf_path())
            if not Path(gguf).is_file():
                raise BadInput(gguf, "is missing; `stepdiff export` fetches it, or pass --gguf")
        spec = {
            "engine": kind,
            "threads": threads,
            "prompt": str(prompt_path),
            "new_tokens": opts.new_tokens,
            "repeats": opts.repeats,
            "bundle": str(bundles[need]) if need else "",
            "gguf": gguf if kind == "llama.cpp" else "",
        }
        got = run_engine(spec, opts.timeout_s)
        rec = {**base, **got}
        if got["status"] == "ok":
            _log(
                f"  {rec['engine']}: first token {rec['ttft_ms']:.0f} ms, "
                f"{rec['tok_s']:.1f} tok/s, peak RSS {rec['rss_mb']:.0f} MB"
            )
        else:
            _log(f"  failed: {got['note']}")
        records.append(rec)
    return {
        "machine": machine_info(),
        "options": asdict(opts),
        "prompt_tokens": prompt_tokens,
        "bandwidth": asdict(bw),
        "bounds": bounds,
        "records": records,
    }


# --- reporting ------------------------------------------------------------------------------


def _num(x, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def markdown(result: dict) -> str:
    m, bw = result["machine"], result["bandwidth"]
    n = result["options"]["new_tokens"]
    lines = [
        "# stepdiff bench decode",
        "",
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; load average at start "
        f"{', '.join(f'{x:.1f}' for x in m['load_average'] or [])}.",
        f"Prompt: {result['prompt_tokens']} tokens (two clips of video tokens + the question); "
        f"{n} new tokens, greedy, EOS ignored; median of {result['options']['repeats']} runs "
        "after a warm-up.",
        "",
        "| engine | threads | first token (ms) | decode tok/s | peak RSS (MB) | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in result["records"]:
        lines.append(
            f"| {r['engine']} | {r['threads']} | {_num(r['ttft_ms'], '.0f')} | "
            f"{_num(r['tok_s'], '.1f')} | {_num(r['rss_mb'], '.0f')} | {r.get('note', '')} |"
        )
    lines += [
        "",
        f"Memory bandwidth (numpy, one core, {bw['array_mb']} MB arrays): "
        f"read {bw['read_gb_s']:.1f} GB/s, copy {bw['copy_gb_s']:.1f} GB/s.",
        "",
        "Bandwidth bound: bound tok/s = read bandwidth / bytes read per decoded token, where the "
        "bytes are the decoder's weights (every initializer of decoder.onnx, LM head included; one "
        "row of position-indexed tables), one embedding row, and the KV cache "
        "(2 x layers x kv_heads x head_dim x 4 bytes x mean context length).",
        "",
        "| bundle | weights (MB) | embedding row (KB) | KV cache (MB) | context | bound tok/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for b in result["bounds"]:
        lines.append(
            f"| {b['quantization']} | {b['weights'] / 1e6:.1f} | {b['embedding_row'] / 1e3:.1f} "
            f"| {b['kv_cache'] / 1e6:.2f} | {b['context']:.0f} | {b['bound_tok_s']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def bar_chart(result: dict, width: int = 900, height: int = 480) -> np.ndarray:
    """tok/s per engine and thread count as a BGR image (OpenCV drawing: no plotting library)."""
    import cv2

    recs = [r for r in result["records"] if r.get("tok_s") is not None]
    img = np.full((height, width, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, "decode tok/s (higher is better)", (20, 30), font, 0.7, (0, 0, 0), 2)
    if not recs:
        cv2.putText(img, "no engine ran", (20, 80), font, 0.7, (0, 0, 200), 2)
        return img
    engines = list(dict.fromkeys(r["engine"] for r in recs))
    threads = sorted({r["threads"] for r in recs})
    bounds = [b["bound_tok_s"] for b in result["bounds"]]
    top = max([r["tok_s"] for r in recs] + bounds) * 1.15  # the bound lines stay on the chart
    left, bottom, plot_h = 60, height - 90, height - 150
    group_w = (width - left - 20) / len(engines)
    bar_w = max(4, int(group_w * 0.8 / len(threads)))
    colours = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214)]
    cv2.line(img, (left, bottom), (width - 10, bottom), (0, 0, 0), 1)
    for gi, eng in enumerate(engines):
        x0 = int(left + gi * group_w + group_w * 0.1)
        for ti, t in enumerate(threads):
            r = next((r for r in recs if r["engine"] == eng and r["threads"] == t), None)
            if r is None:
                continue
            h = int(plot_h * r["tok_s"] / top)
            x = x0 + ti * bar_w
            cv2.rectangle(img, (x, bottom - h), (x + bar_w - 2, bottom), colours[ti % 4], -1)
            rate = f"{r['tok_s']:.1f}" if r["tok_s"] < 10 else f"{r['tok_s']:.0f}"
            cv2.putText(img, rate, (x, bottom - h - 5), font, 0.4, (0, 0, 0), 1)
        cv2.putText(img, eng, (x0, bottom + 20), font, 0.42, (0, 0, 0), 1)
    for ti, t in enumerate(threads):
        x = left + ti * 120
        cv2.rectangle(img, (x, height - 35), (x + 14, height - 21), colours[ti % 4], -1)
        cv2.putText(img, f"{t} thread(s)", (x + 20, height - 23), font, 0.45, (0, 0, 0), 1)
    for b in result["bounds"]:
        y = int(bottom - plot_h * b["bound_tok_s"] / top)
        cv2.line(img, (left, y), (width - 10, y), (120, 120, 120), 1)
        label = f"memory-bandwidth bound, stepdiff-{b['quantization']}: {b['bound_tok_s']:.0f}"
        cv2.putText(img, label, (left + 5, y - 4), font, 0.4, (90, 90, 90), 1)
    return img


def write_outputs(result: dict, out: Path) -> list[Path]:
    """bench.json, bench.md and bench.png in `out`, each written atomically."""
    return write_report(out, "bench", result, markdown(result), bar_chart(result))


def main(argv: list[str]) -> int:
    a = parser().parse_args(argv)
    opts = parse_options(a)
    _log(
        f"bench decode: {', '.join(opts.engines)} on {opts.threads} thread(s), "
        f"{opts.new_tokens} new tokens, {opts.repeats} repeats"
    )
    with tempfile.TemporaryDirectory(prefix="stepdiff-bench-") as tmp:
        result = bench(opts, Path(tmp))
    print(markdown(result))
    if a.out:
        for p in write_outputs(result, Path(a.out)):
            _log(f"wrote {p}")
    return 0 if any(r["status"] == "ok" for r in result["records"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
