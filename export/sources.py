"""What a bundle is built from, as plain numpy arrays: the LM (LoRA merged), the vision backbone,
the projector, the StepDiff config, the tokenizer files and, optionally, the comparison head.

Two ways to get them:
- `sources_from_files`: the SmolLM2 GGUF, the EfficientNet-Lite0 .pth and our shipped
  weights (projector + LoRA, safetensors), and optionally a compare head (safetensors, see
  `read_compare_head`). Needs numpy, gguf, safetensors and tokenizers, not torch: a fresh
  machine builds the default bundle this way.
- `sources_from_model`: a live models.model.StepDiffModel (torch), and optionally a live
  models.compare.CompareHead, for tests and for the untrained baseline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from stepdiff.export.compare_builder import (
    CompareHeadWeights,
    check_config,
    check_state,
    compare_dims,
)
from stepdiff.export.dims import LlamaDims, lm_dims, model_dims
from stepdiff.export.encoder_builder import encoder_dims
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
    compare_head: CompareHeadWeights | None = None  # the bundle gets compare_head.onnx if set

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


def bundle_dims(src: BundleSources) -> contract.ModelDims:
    """The bundle's ModelDims: the LM's, the encoder's (its features too) and the compare head's.
    ValueError when the compare head was built for other features or another LM width."""
    c = src.config
    video = encoder_dims(c, src.backbone)
    dims = replace(
        model_dims(c, src.dims),
        vision_dim=video.vision_dim,
        mid_cells=video.mid_cells,
        mid_dim=video.mid_dim,
    )
    if src.compare_head is None:
        return dims
    head = compare_dims(src.compare_head.config)
    fields = ("frames", "tokens_per_frame", "vision_dim", "mid_cells", "mid_dim", "hidden")
    wrong = [f for f in fields if getattr(head, f) != getattr(dims, f)]
    if wrong:
        raise ValueError(
            "compare head: "
            + ", ".join(f"{f} {getattr(head, f)} (bundle: {getattr(dims, f)})" for f in wrong)
            + "; it was trained on other features or for another LM"
        )
    return replace(dims, compare_embed=head.compare_embed, diff_tokens=head.diff_tokens)


# The compare head's weights file: a safetensors file of CompareHead.state_dict() (its names,
# float32 or float16, `logit_scale` a 0-d tensor) with two metadata entries, both JSON:
COMPARE_CONFIG_META = "stepdiff_compare_config"  # CompareConfig.to_dict()
COMPARE_CATEGORIES_META = "stepdiff_compare_categories"  # models.compare.CATEGORIES, as a list
# and optionally "step" (the training step, for the manifest). models/ writes it as
#   safetensors.torch.save_file(
#       {k: v.contiguous() for k, v in head.state_dict().items()}, path,
#       metadata={COMPARE_CONFIG_META: json.dumps(head.config.to_dict()),
#                 COMPARE_CATEGORIES_META: json.dumps(list(CATEGORIES)), "step": str(step)})


def read_compare_head(path: str | Path) -> CompareHeadWeights:
    """A compare head's weights file (see COMPARE_CONFIG_META), checked, without torch."""
    from safetensors import SafetensorError, safe_open

    path = str(path)
    if not Path(path).is_file():
        raise BadInput(path, "no such compare head weights file")
    try:
        with safe_open(path, framework="np") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open API
    except (SafetensorError, OSError, ValueError, TypeError) as e:
        raise BadInput(path, f"not a readable safetensors file of float32/float16 ({e})") from e
    try:
        config = json.loads(meta[COMPARE_CONFIG_META])
        categories = tuple(json.loads(meta[COMPARE_CATEGORIES_META]))
    except (KeyError, json.JSONDecodeError, TypeError) as e:
        raise BadInput(
            path,
            f"metadata lacks {COMPARE_CONFIG_META} / {COMPARE_CATEGORIES_META} (JSON): not a "
            "compare head weights file",
        ) from e
    bad = [k for k, v in tensors.items() if v.dtype not in (np.float32, np.float16)]
    if bad:
        raise BadInput(path, f"tensor {bad[0]} is {tensors[bad[0]].dtype}; use float32 or float16")
    state = {k: v.astype(np.float32) for k, v in tensors.items()}
    try:
        c = check_config(config, categories)
        check_state(state, c, "weights")
    except ValueError as e:
        raise BadInput(path, str(e)) from e
    step = meta.get("step")
    return CompareHeadWeights(
        state=state,
        config=config,
        categories=categories,
        description=f"{Path(path).name}" + (f" (step {step})" if step else ""),
        sha256=sha256_file(Path(path)),
    )


def sources_from_files(
    gguf: str | Path,
    effnet: str | Path,
    weights: str | Path,
    tokenizer_files: dict | None = None,
    compare_head: str | Path | None = None,
) -> BundleSources:
    """The torch-free path: GGUF + EfficientNet .pth + our shipped weights (+ a compare head)."""
    from stepdiff.export.gguf_tokenizer import tokenizer_files_from_gguf
    from stepdiff.export.gguf_weights import weights_from_gguf
    from stepdiff.export.torch_pickle import load_state_dict

    shipped = read_shipped_weights(weights)
    head = read_compare_head(compare_head) if compare_head else None  # fail fast on a bad file
    lm, dims = weights_from_gguf(str(gguf))
    check_lora_fits(lm, shipped, str(weights))
    src = BundleSources(
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
        compare_head=head,
    )
    try:
        bundle_dims(src)
    except ValueError as e:
        raise BadInput(compare_head or weights, str(e)) from e
    return src


def compare_head_from_module(head, description: str = "compare head") -> CompareHeadWeights:
    """A live models.compare.CompareHead (torch) as numpy."""
    from stepdiff.models.compare import CATEGORIES

    state = {k: v.detach().float().numpy().copy() for k, v in head.state_dict().items()}
    return CompareHeadWeights(state, head.config.to_dict(), tuple(CATEGORIES), description)


def sources_from_model(
    model, description: str = "untrained projector", compare_head=None
) -> BundleSources:
    """A live StepDiffModel (torch), LoRA merged if it has any, and optionally a live
    CompareHead."""
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
        compare_head=compare_head_from_module(compare_head) if compare_head is not None else None,
    )
