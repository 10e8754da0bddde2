"""The dimensions export builds from: the LM's (LlamaDims) and the bundle contract's ModelDims.

LlamaDims is what the decoder builder needs to know of a Llama LM, more than the graphs' IO
depends on (heads, RoPE, norm epsilon, ...). ModelDims (stepdiff.runtime.contract) is what the
IO of the bundle's graphs depends on; the manifest records it in its `video` and `lm` fields.

This module imports nothing of export's own, so the GGUF reader, the sources, the builders and
the bundle writer can all depend on it without depending on each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from stepdiff.runtime.contract import ModelDims


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


# A graph builder knows only its own half of ModelDims: the LM graphs' IO reads none of the video
# fields and the vision encoder's reads none of the LM's but `hidden`, so the half a builder does
# not know is left 0. Only model_dims, which the bundle writer uses for the manifest, is whole.


def lm_graph_dims(lm: LlamaDims) -> ModelDims:
    """ModelDims for embed_tokens' and the decoder's IO (the video fields are 0)."""
    return ModelDims(
        frames=0,
        frame_size=0,
        tokens_per_video=0,
        hidden=lm.hidden,
        layers=lm.layers,
        kv_heads=lm.kv_heads,
        head_dim=lm.head_dim,
        vocab=lm.vocab,
    )


def vision_graph_dims(config: Mapping) -> ModelDims:
    """ModelDims for the vision encoder's IO, from StepDiffConfig's fields (frames, frame_size,
    grid, lm_dim); the LM fields but `hidden` are 0."""
    frames = int(config["frames"])
    return ModelDims(
        frames=frames,
        frame_size=int(config["frame_size"]),
        tokens_per_video=frames * int(config["grid"]) ** 2,
        hidden=int(config["lm_dim"]),
        layers=0,
        kv_heads=0,
        head_dim=0,
        vocab=0,
    )


def model_dims(config: Mapping, lm: LlamaDims) -> ModelDims:
    """The whole ModelDims of a bundle: the video fields from StepDiffConfig's, the LM's from
    `lm`. ValueError if the projector's width (config lm_dim) is not the LM's."""
    if int(config["lm_dim"]) != lm.hidden:
        raise ValueError(
            f"config lm_dim {config['lm_dim']} does not match the LM's hidden size {lm.hidden}"
        )
    video = vision_graph_dims(config)
    return replace(
        lm_graph_dims(lm),
        frames=video.frames,
        frame_size=video.frame_size,
        tokens_per_video=video.tokens_per_video,
    )
