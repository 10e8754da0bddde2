"""What a bundle is built from, as plain numpy arrays: the LM (LoRA merged), the vision backbone,
the projector, the StepDiff config and the tokenizer files.

Two ways to get them:
- `sources_from_files`: the SmolLM2 GGUF, the EfficientNet-Lite0 .pth and our shipped
  weights (projector + LoRA, safetensors). Needs numpy, gguf, safetensors and tokenizers, not
  torch: a fresh machine builds the default bundle this way.
- `sources_from_model`: a live models.model.StepDiffModel (torch), for tests and for the
  untrained baseline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stepdiff.export.dims import LlamaDims, lm_dims
from stepdiff.runtime import contract
from stepdiff.runtime.errors import BadInput
from stepdiff.runtime.files import sha256_file

LORA_A, LORA_B = ".lora_a", ".lora_b"


@dataclass(frozen=True)
class BundleSources:
    lm: dict[str, np.ndarray]  # HF names, float32, without `lora` (merged_lm() adds it)
    dims: LlamaDims
    backbone: dict[str, np.ndarray]  # efficientnet_lite_pytorch names
    projector: dict[str, np.ndarray]  # models.model.Projector names
    config: dict  # models.model.StepDiffConfig fields
    tokenizer_files: dict[str, bytes] = field(default_factory=dict)
    description: str = "untrained projector"  # what the StepDiff weights are, for the manifest
    weights_sha256: str = ""  # of the shipped weights file, so a stale bundle can be detected
    # LoRA kept apart: module name -> (A [r, in], B [out, r]); y = W x + scale * B A x.
    lora: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    lora_scale: float = 0.0

    def merged_lm(self) -> dict[str, np.ndarray]:
        """The LM weights with the LoRA merged in (W + scale * B A), as LoraLinear computes."""
        lm = dict(self.lm)
        for module, (a, b) in self.lora.items():
            name = f"{module}.weight"
            lm[name] = (lm[name] + self.lora_scale * (b @ a)).astype(np.float32)
        return lm


@dataclass(frozen=True)
class ShippedWeights:
    """A weights.safetensors written by `stepdiff train`: projector.* and lm.*lora_* in fp16."""

    projector: dict[str, np.ndarray]
    lora: dict[str, tuple[np.ndarray, np.ndarray]]  # module name -> (A [r, in], B [out, r])
    lora_scale: float
    config: dict
    step: int


def read_shipped_weights(path: str | Path) -> ShippedWeights:
    from safetensors import SafetensorError, safe_open

    path = str(path)
    if not Path(path).is_file():
        raise BadInput(path, "no such weights file (train one with `stepdiff train`)")
    try:
        with safe_open(path, framework="np") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open API
    except (SafetensorError, OSError, ValueError) as e:
        raise BadInput(path, f"not a readable safetensors file ({e})") from e
    try:
        config = json.loads(meta["stepdiff_config"])
        lora_config = json.loads(meta.get("lora_config") or "null")
    except (KeyError, json.JSONDecodeError) as e:
        raise BadInput(path, "metadata lacks stepdiff_config: not written by stepdiff train") from e

    projector = {
        k[len("projector.") :]: v.astype(np.float32)
        for k, v in tensors.items()
        if k.startswith("projector.")
    }
    if not projector:
        raise BadInput(path, "holds no projector.* tensors")
    halves: dict[str, dict[str, np.ndarray]] = {}
    for k, v in tensors.items():
        for tag in (LORA_A, LORA_B):
            if k.startswith("lm.") and k.endswith(tag):
                halves.setdefault(k[len("lm.") : -len(tag)], {})[tag] = v.astype(np.float32)
    lora = {}
    for module, pair in halves.items():
        if set(pair) != {LORA_A, LORA_B}:
            raise BadInput(path, f"LoRA of {module} lacks one of its two factors")
        lora[module] = (pair[LORA_A], pair[LORA_B])
    if lora and not lora_config:
        raise BadInput(path, "holds LoRA factors but no lora_config metadata")
    scale = float(lora_config["alpha"]) / float(lora_config["rank"]) if lora_config else 0.0
    return ShippedWeights(projector, lora, scale, config, int(meta.get("step", 0)))


def check_lora_fits(lm: dict[str, np.ndarray], weights: ShippedWeights, path: str = "") -> None:
    """Every LoRA module names a weight of the LM, with B @ A of that weight's shape."""
    for module, (a, b) in weights.lora.items():
        name = f"{module}.weight"
        if name not in lm:
            raise BadInput(path, f"LoRA targets {name}, which the LM does not have")
        if (b.shape[0], a.shape[1]) != lm[name].shape:
            raise BadInput(
                path, f"LoRA of {module} is {b.shape[0]}x{a.shape[1]}, weight is {lm[name].shape}"
            )


def sources_from_files(
    gguf: str | Path, effnet: str | Path, weights: str | Path, tokenizer_files: dict | None = None
) -> BundleSources:
    """The torch-free path: GGUF + EfficientNet .pth + our shipped weights."""
    from stepdiff.export.gguf_tokenizer import tokenizer_files_from_gguf
    from stepdiff.export.gguf_weights import weights_from_gguf
    from stepdiff.export.torch_pickle import load_state_dict

    shipped = read_shipped_weights(weights)
    lm, dims = weights_from_gguf(str(gguf))
    check_lora_fits(lm, shipped, str(weights))
    return BundleSources(
        lm=lm,
        dims=dims,
        backbone=load_state_dict(effnet),
        projector=shipped.projector,
        config=shipped.config,
        tokenizer_files=tokenizer_files or tokenizer_files_from_gguf(gguf),
        description=f"{Path(weights).name} (step {shipped.step})",
        weights_sha256=sha256_file(Path(weights)),
        lora=shipped.lora,
        lora_scale=shipped.lora_scale,
    )


def sources_from_model(model, description: str = "untrained projector") -> BundleSources:
    """A live StepDiffModel (torch), LoRA merged if it has any."""
    from stepdiff.models.lora import merged_state_dict
    from stepdiff.models.pretrained import smollm2_hf_dir

    def np_dict(sd) -> dict[str, np.ndarray]:
        return {k: v.detach().float().numpy().copy() for k, v in sd.items()}

    hf = smollm2_hf_dir()
    files = {
        n: (hf / n).read_bytes()
        for n in (contract.TOKENIZER, "chat_template.jinja", "generation_config.json")
        if (hf / n).is_file()
    }
    dims = lm_dims(model.lm.config)
    return BundleSources(
        lm=np_dict(merged_state_dict(model.lm)),
        dims=dims,
        backbone=np_dict(model.vision.backbone.state_dict()),
        projector=np_dict(model.projector.state_dict()),
        config=model.config.to_dict(),
        tokenizer_files=files,
        description=description,
    )
