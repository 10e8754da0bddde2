"""What every benchmark shares: timing, peak memory, the machine's facts, the report files."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from stepdiff.runtime.files import write_atomic, write_atomic_with

VERSIONED = ("onnxruntime", "onnxruntime-genai", "torch", "transformers", "llama-cpp-python")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of fn() in ms, after one untimed warm-up call (allocations, kernel
    selection and page faults land there)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


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


def machine_info() -> dict:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        pass
    versions = {}
    for pkg in VERSIONED:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(mem, 1) if mem else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": versions,
    }


def write_report(
    out: Path, stem: str, result: dict, markdown: str, image: np.ndarray | None = None
) -> list[Path]:
    """STEM.json, STEM.md and (with an image) STEM.png in `out`, each written atomically."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        write_atomic(out / f"{stem}.json", json.dumps(result, indent=2) + "\n"),
        write_atomic(out / f"{stem}.md", markdown),
    ]
    if image is not None:
        import cv2

        def png(p: str) -> None:
            if not cv2.imwrite(p, image):
                raise RuntimeError(f"{p}: OpenCV could not write the PNG")

        paths.append(write_atomic_with(out / f"{stem}.png", png))
    return paths
