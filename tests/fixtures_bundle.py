"""Session fixtures: bundles, the pretrained StepDiff model, sample videos.

- `device_bundle`: the default bundle as a device gets it: `stepdiff export` from the GGUF and the
  shipped weights, in a Python where torch cannot be imported. The device-path tests use it.
- `fp32_bundle` / `quantized_bundle(q)`: exports of the PyTorch model (`stepdiff_model`, the
  untrained projector), for the tests that compare the ONNX path with PyTorch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

# Runs the `stepdiff` CLI with torch and transformers unimportable, and fails if either loaded.
BLOCK_TORCH = (
    "import sys\n"
    "sys.modules['torch'] = None\n"  # `import torch` now raises ImportError
    "sys.modules['transformers'] = None\n"
    "from stepdiff.runtime.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "assert 'torch' not in {m.split('.')[0] for m, v in sys.modules.items() if v is not None}\n"
    "sys.exit(rc)\n"
)


@pytest.fixture(scope="session")
def device_bundle(tmp_path_factory) -> Path:
    """`stepdiff export` (the default: fp32, shipped weights) where torch cannot be imported."""
    out = tmp_path_factory.mktemp("device") / "bundle"
    r = subprocess.run(
        [sys.executable, "-c", BLOCK_TORCH, "export", "--quant", "fp32", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return out


@pytest.fixture(scope="session")
def stepdiff_model():
    pytest.importorskip("torch")
    from stepdiff.models.model import StepDiffModel

    return StepDiffModel.from_pretrained()


@pytest.fixture(scope="session")
def fp32_bundle(tmp_path_factory, stepdiff_model) -> Path:
    from stepdiff.export.bundle import write_bundle

    return write_bundle(stepdiff_model, tmp_path_factory.mktemp("bundle") / "fp32")


@pytest.fixture(scope="session")
def quantized_bundle(tmp_path_factory, stepdiff_model) -> Callable[[str], Path]:
    """quantized_bundle("int4") / ("int8"): that bundle of the same model, built once per session
    on first use (several test files compare them with fp32_bundle)."""
    from stepdiff.export.bundle import ExportOptions, write_bundle

    built: dict[str, Path] = {}

    def get(quant: str) -> Path:
        if quant not in built:
            out = tmp_path_factory.mktemp("bundle") / quant
            built[quant] = write_bundle(stepdiff_model, out, ExportOptions(quant=quant))
        return built[quant]

    return get


def write_test_video(path: Path, seed: int, frames: int = 24, size: int = 240, fps: float = 10.0):
    """A short moving-shapes video, different per seed: enough to exercise decode and encode."""
    import cv2

    rng = np.random.default_rng(seed)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size + 80, size))
    base = rng.integers(0, 255, 3).tolist()
    for i in range(frames):
        img = np.full((size, size + 80, 3), base, np.uint8)
        cx = int(40 + i * 6 + rng.integers(0, 4))
        cv2.circle(img, (cx, size // 2), 30, rng.integers(0, 255, 3).tolist(), -1)
        cv2.rectangle(img, (10, 10), (60 + seed * 10 % 100, 50), (255, 255, 255), -1)
        w.write(img)
    w.release()
    return path


@pytest.fixture(scope="session")
def two_videos(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("videos")
    return write_test_video(d / "reference.mp4", 1), write_test_video(d / "user.mp4", 2)


def linked_copy(src: Path, dst: Path) -> Path:
    """A bundle copy whose files are hard links (cheap), so one can be replaced and corrupted."""
    dst.mkdir(parents=True)
    for p in src.iterdir():
        try:
            os.link(p, dst / p.name)
        except OSError:
            shutil.copyfile(p, dst / p.name)
    return dst
