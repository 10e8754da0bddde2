"""Read a Llama GGUF into float32 numpy weights with Hugging Face names. No torch.

llama.cpp's converter permutes the rows of q_proj and k_proj so that its rotary kernel can rotate
adjacent pairs; HF Llama rotates the two halves of each head instead (rotate_half). The permute
is undone here per head group, the same way transformers does when it loads a GGUF, so the
weights plug into a graph that uses the rotate_half convention.
"""

from __future__ import annotations

import re

import numpy as np

from stepdiff.export.dims import LlamaDims
from stepdiff.runtime.errors import BadInput

_BLOCK_NAMES = {
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
_TOP_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
_BLOCK_RE = re.compile(r"blk\.(\d+)\.(\w+)\.weight")


def unpermute_rotary_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo llama.cpp's q/k row permutation: per head, interleaved pairs back to two halves."""
    half = w.shape[0] // n_heads // 2
    return w.reshape(n_heads, half, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _field(reader, key: str, path: str, default=None):
    field = reader.fields.get(key)
    if field is None:
        if default is None:
            raise BadInput(path, f"GGUF metadata has no '{key}'; is this a Llama model?")
        return default
    value = field.contents()
    return value


def weights_from_gguf(path: str) -> tuple[dict[str, np.ndarray], LlamaDims]:
    """All weights of a Llama GGUF, de-quantized to float32 and named like HF's state_dict."""
    from gguf import GGUFReader, dequantize

    try:
        reader = GGUFReader(path)
    except FileNotFoundError as e:
        raise BadInput(path, "no such GGUF file") from e
    except (ValueError, OSError) as e:
        raise BadInput(path, f"not a readable GGUF file ({e})") from e

    arch = _field(reader, "general.architecture", path)
    if arch != "llama":
        raise BadInput(path, f"architecture is '{arch}', only 'llama' is supported")
    scaling = _field(reader, "llama.rope.scaling.type", path, default="none")
    if scaling not in ("none", ""):
        raise BadInput(path, f"rope scaling '{scaling}' is not supported by the decoder builder")

    hidden = int(_field(reader, "llama.embedding_length", path))
    heads = int(_field(reader, "llama.attention.head_count", path))
    kv_heads = int(_field(reader, "llama.attention.head_count_kv", path, default=heads))
    names = {t.name for t in reader.tensors}
    token_embd = next((t for t in reader.tensors if t.name == "token_embd.weight"), None)
    if token_embd is None:
        raise BadInput(path, "GGUF has no token_embd.weight tensor")
    vocab_default = int(token_embd.shape[-1])
    dims = LlamaDims(
        hidden=hidden,
        layers=int(_field(reader, "llama.block_count", path)),
        heads=heads,
        kv_heads=kv_heads,
        head_dim=int(_field(reader, "llama.rope.dimension_count", path, default=hidden // heads)),
        intermediate=int(_field(reader, "llama.feed_forward_length", path)),
        vocab=int(_field(reader, "llama.vocab_size", path, default=vocab_default)),
        rms_eps=float(_field(reader, "llama.attention.layer_norm_rms_epsilon", path)),
        rope_theta=float(_field(reader, "llama.rope.freq_base", path, default=10000.0)),
        tied="output.weight" not in names,
        max_positions=int(_field(reader, "llama.context_length", path, default=2048)),
    )

    weights: dict[str, np.ndarray] = {}
    for tensor in reader.tensors:
        name = _TOP_NAMES.get(tensor.name)
        match = _BLOCK_RE.fullmatch(tensor.name)
        if name is None and match and match.group(2) in _BLOCK_NAMES:
            name = f"model.layers.{match.group(1)}.{_BLOCK_NAMES[match.group(2)]}.weight"
        if name is None:
            raise BadInput(path, f"unexpected tensor '{tensor.name}' for a plain Llama model")
        w = np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
        if match and match.group(2) == "attn_q":
            w = unpermute_rotary_rows(w, dims.heads)
        elif match and match.group(2) == "attn_k":
            w = unpermute_rotary_rows(w, dims.kv_heads)
        weights[name] = np.ascontiguousarray(w)
    return weights, dims
