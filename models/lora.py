"""LoRA on SmolLM2's linear layers, and the merge that export needs.

Only the low-rank factors are trained and shipped (a few MB); export merges W + (alpha/r) B A back
into plain weights, so the ONNX decoder has no LoRA-specific ops.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class LoraConfig:
    rank: int = 16
    alpha: float = 32.0
    dropout: float = 0.05
    targets: tuple[str, ...] = TARGETS

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    def to_dict(self) -> dict:
        return asdict(self)


class LoraLinear(nn.Module):
    """y = base(x) + scale * B(A(dropout(x))); base stays frozen, B starts at zero."""

    def __init__(self, base: nn.Linear, config: LoraConfig) -> None:
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.scale = config.scale
        self.lora_a = nn.Parameter(torch.empty(config.rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, config.rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.lora_a.T @ self.lora_b.T) * self.scale

    def merged_weight(self) -> torch.Tensor:
        return self.base.weight + (self.lora_b @ self.lora_a) * self.scale


def apply_lora(lm: nn.Module, config: LoraConfig) -> list[str]:
    """Freezes `lm`, then wraps every target Linear in place; returns the wrapped names."""
    for p in lm.parameters():
        p.requires_grad_(False)
    wrapped = []
    for name, module in list(lm.named_modules()):
        for child_name, child in list(module.named_children()):
            if child_name in config.targets and isinstance(child, nn.Linear):
                setattr(module, child_name, LoraLinear(child, config))
                wrapped.append(f"{name}.{child_name}" if name else child_name)
    return wrapped


def lora_state_dict(lm: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in lm.state_dict().items() if ".lora_" in k}


def merged_state_dict(lm: nn.Module) -> dict[str, torch.Tensor]:
    """The LM's state dict in plain HF names, with every LoRA merged into its base weight."""
    out: dict[str, torch.Tensor] = {}
    lora_modules = {n: m for n, m in lm.named_modules() if isinstance(m, LoraLinear)}
    for k, v in lm.state_dict().items():
        if ".lora_" in k:
            continue
        if k.endswith(".base.weight") and k[: -len(".base.weight")] in lora_modules:
            name = k[: -len(".base.weight")]
            out[f"{name}.weight"] = lora_modules[name].merged_weight().detach()
        elif ".base." in k:
            out[k.replace(".base.", ".")] = v
        else:
            out[k] = v
    return out
