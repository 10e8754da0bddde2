"""Peak memory of the device path: a fresh process that loads a bundle and runs one comparison.

`python -m stepdiff.runtime.bench.probe BUNDLE --clips CLIPS.npy [--threads N] [--max-new-tokens N]`
prints one JSON object. It imports only the runtime, what the headset runs, so its peak RSS is the
runtime's own; `measure()` runs it from a parent that may hold torch, datasets or other bundles.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from stepdiff.runtime.bench.harness import peak_rss_mb


def probe(bundle: str, clips: np.ndarray, threads: int, max_new_tokens: int) -> dict:
    """In this process: load the bundle, compare the clips [N, T, H, W, 3], own peak RSS."""
    startup = peak_rss_mb()
    from stepdiff.runtime.compare import CompareOptions, StepDiff
    from stepdiff.runtime.prompt import compare_prompt

    t0 = time.perf_counter()
    engine = StepDiff(bundle, threads)
    t1 = time.perf_counter()
    videos = list(engine.encoder.encode_frames(clips))
    res = engine.answer(
        compare_prompt(len(videos)), videos, CompareOptions(max_new_tokens=max_new_tokens)
    )
    t2 = time.perf_counter()
    return {
        "peak_rss_mb": peak_rss_mb(),
        "startup_rss_mb": startup,  # the interpreter and numpy, before the runtime
        # VmHWM: the high-water mark since exec. ru_maxrss would carry the parent's maximum over
        # fork and exec, so a child of a 4 GB test runner would report at least 4 GB.
        "rss_source": "VmHWM" if Path("/proc/self/status").is_file() else "ru_maxrss",
        "load_s": t1 - t0,
        "compare_s": t2 - t1,
        "new_tokens": len(res.tokens),
        "ttft_ms": res.decoding.ttft_ms,
        "decode_tok_s": res.decoding.decode_tok_s,
        "torch_imported": "torch" in sys.modules,
    }


def measure(bundle: Path, clips: np.ndarray, threads: int, max_new_tokens: int) -> dict:
    """probe() in a fresh Python; its record, or {"error": ...}."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    with tempfile.TemporaryDirectory(prefix="stepdiff-probe-") as tmp:
        clips_path = Path(tmp) / "clips.npy"
        np.save(clips_path, clips)
        cmd = [
            sys.executable,
            "-m",
            "stepdiff.runtime.bench.probe",
            str(Path(bundle).resolve()),  # the child runs in a temporary directory
            "--clips",
            str(clips_path),
            "--threads",
            str(threads),
            "--max-new-tokens",
            str(max_new_tokens),
        ]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp)
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines:
        tail = (r.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"probe exited {r.returncode}: {tail}"}
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m stepdiff.runtime.bench.probe")
    p.add_argument("bundle")
    p.add_argument("--clips", required=True, help=".npy of uint8 clips [N, T, H, W, 3]")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-new-tokens", type=int, default=32)
    a = p.parse_args(sys.argv[1:] if argv is None else argv)
    clips = np.load(a.clips, allow_pickle=False)
    print(json.dumps(probe(a.bundle, clips, a.threads, a.max_new_tokens)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
