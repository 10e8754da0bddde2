"""The dimensions export builds from: the LM's (LlamaDims).

LlamaDims is what the decoder builder needs to know of a Llama LM: more than the graphs' IO
depends on (heads, RoPE, norm epsilon, ...).

This module imports nothing of export's own, so the GGUF reader, the sources, the builders and
the bundle writer can all depend on it without depending on each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LlamaDims:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    rms_eps: float
    rope_theta: float
    tied: bool
    # Only the "gqa" graph needs it: the length of its cos/sin caches.
    max_positions: int = 8192


def lm_dims(lm_config) -> LlamaDims:
    """LlamaDims of a transformers LlamaConfig."""
    c = lm_config
    return LlamaDims(
        hidden=c.hidden_size,
        layers=c.num_hidden_layers,
        heads=c.num_attention_heads,
        kv_heads=c.num_key_value_heads,
        head_dim=getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads,
        intermediate=c.intermediate_size,
        vocab=c.vocab_size,
        rms_eps=float(c.rms_norm_eps),
        rope_theta=float(c.rope_parameters["rope_theta"])
        if getattr(c, "rope_parameters", None)
        else float(c.rope_theta),
        tied=bool(c.tie_word_embeddings),
        max_positions=int(getattr(c, "max_position_embeddings", 8192)),
    )
