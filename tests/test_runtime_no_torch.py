"""The device path stands alone: runtime/ runs with torch, transformers, models/ and export/
unimportable, and a fresh virtual environment with only the base install runs `stepdiff compare`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import wave
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Every runtime module is imported, then the CLI runs, with the workstation made unimportable.
SCRIPT = r"""
import importlib, pkgutil, sys
for name in ("torch", "transformers", "stepdiff.models", "stepdiff.export"):
    sys.modules[name] = None  # `import name` now raises ImportError
import stepdiff.runtime
imported = []
for info in pkgutil.walk_packages(stepdiff.runtime.__path__, "stepdiff.runtime."):
    if info.name.endswith("__main__"):
        continue
    importlib.import_module(info.name)
    imported.append(info.name)
print("IMPORTED", len(imported), file=sys.stderr)
from stepdiff.runtime.cli import main
rc = main(sys.argv[1:])
leaked = sorted(m for m, v in sys.modules.items() if v is not None and (
    m.split(".")[0] in ("torch", "transformers") or m.startswith(("stepdiff.models", "stepdiff.export"))))
print("LEAKED", leaked, file=sys.stderr)
sys.exit(rc if not leaked else 3)
"""


def runtime_modules() -> list[str]:
    names = []
    for p in sorted((REPO / "runtime").rglob("*.py")):
        rel = p.relative_to(REPO / "runtime").with_suffix("")
        parts = [x for x in rel.parts if x != "__init__"]
        if parts and parts[-1] != "__main__":  # the package itself is imported first
            names.append(".".join(["stepdiff.runtime", *parts]))
    return names


def test_every_runtime_module_imports_and_compare_runs_without_the_workstation(
    tmp_path, two_videos, device_bundle
):
    wav = tmp_path / "answer.wav"
    argv = ["compare", *map(str, two_videos), "--bundle", str(device_bundle)]
    argv += ["--wav", str(wav), "--max-new-tokens", "12", "--json"]
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert f"IMPORTED {len(runtime_modules())}" in proc.stderr
    assert "LEAKED []" in proc.stderr
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    assert record["timings"]["prompt_tokens"] > 2 * 32
    with wave.open(str(wav)) as w:
        assert w.getnframes() > w.getframerate() * 0.3  # at least a short utterance


def test_runtime_source_never_names_the_workstation():
    """No import of models/export, and no module path naming them (import_module strings)."""
    offenders = []
    for p in (REPO / "runtime").rglob("*.py"):
        for n, line in enumerate(p.read_text().splitlines(), 1):
            if "stepdiff.models" in line or "stepdiff.export" in line:
                offenders.append(f"{p.relative_to(REPO)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


@pytest.fixture(scope="module")
def base_install(tmp_path_factory) -> Path:
    """`pip install .` (no extras) into a fresh virtual environment; returns its bin/."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root / "env", with_pip=True)
    bin_dir = root / "env" / "bin"
    # A copy of the checkout without its build outputs, so the wheel builds from clean sources.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    r = subprocess.run(
        [str(bin_dir / "pip"), "install", "-q", "--disable-pip-version-check", str(REPO)],
        capture_output=True,
        text=True,
        timeout=1200,
        env=env,
        cwd=root,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return bin_dir


def rendered_clips(out: Path) -> tuple[Path, Path]:
    """A reference and a user video of one real step: a tablespoon of salsa, then a teaspoon."""
    from stepdiff.export.demo import sample_videos

    out.mkdir(parents=True, exist_ok=True)
    return sample_videos(out)


def test_base_install_is_the_device_runtime_and_compares(base_install, device_bundle, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    py = str(base_install / "python")
    freeze = subprocess.run(
        [py, "-m", "pip", "list", "--format=json"], capture_output=True, text=True, env=env
    )
    installed = {p["name"].lower() for p in json.loads(freeze.stdout)}
    assert {"onnxruntime", "numpy", "opencv-python-headless", "tokenizers", "stepdiff"} <= installed
    assert not installed & {"torch", "transformers", "onnx", "gguf", "safetensors"}

    # Outside the checkout: only the `stepdiff` namespace exists.
    probe = "import stepdiff.runtime, importlib.util as u; print(u.find_spec('runtime'))"
    r = subprocess.run([py, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "None", r.stderr
    r = subprocess.run(
        [py, "-c", "import runtime"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert r.returncode != 0 and "No module named 'runtime'" in r.stderr

    ref, usr = rendered_clips(tmp_path / "clips")
    r = subprocess.run(
        [
            str(base_install / "stepdiff"),
            "compare",
            str(ref),
            str(usr),
            "--bundle",
            str(device_bundle),
            "--no-speech",
            "--json",
            "--max-new-tokens",
            "16",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout.strip().splitlines()[-1])
    assert record["text"] and record["timings"]["new_tokens"] >= 1

    # A workstation command says which extra it needs instead of a traceback.
    r = subprocess.run(
        [str(base_install / "stepdiff"), "train", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert r.returncode == 1 and "pip install 'stepdiff[train]'" in r.stderr, r.stderr
