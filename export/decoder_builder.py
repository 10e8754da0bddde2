"""Write SmolLM2 (Llama) as two ONNX graphs, node by node from numpy weights.

    embed_tokens.onnx  input_ids [B, S] -> inputs_embeds [B, S, D]
    decoder.onnx       inputs_embeds, attention_mask [B, P+S], position_ids [B, S],
                       past_key_values.{i}.key/.value [B, Hkv, P, Dh]
                       -> logits [B, S, V], present.{i}.key/.value [B, Hkv, P+S, Dh]

The split is the one SmolVLM and onnxruntime-genai use: the runtime can splice video embeddings
between token embeddings before the decoder ever runs.

Two attention flavours share that IO:
- "standard": plain ONNX ops (opset 17). RoPE from position_ids, a causal + padding bias from
  attention_mask (any 0 in it is honoured), grouped KV heads read through a reshape of the query
  (no repeat of K/V). It is the float reference and runs on any ONNX runtime.
- "gqa": com.microsoft GroupQueryAttention with the rotary fused in (cos/sin caches stored as
  initializers, position_ids passed to the op) and SkipSimplifiedLayerNormalization for the
  residual adds. The op reads attention_mask as one length per row (ReduceSum - 1), so it
  assumes the valid tokens are a prefix of each row: no holes, no left padding.

Linear layers can be MatMulNBits (com.microsoft) with 4- or 8-bit block-quantized weights; see
export/quantize_weights.py for why 4-bit uses "split" zero points by default. With the default
accuracy_level=4, ORT's CPU kernel quantizes the activations to int8 per block as well; that,
not the weights, is where the quantized graphs' remaining difference from fp32 comes from.
The lm_head "int8" option uses MatMulNBits with bits=8 too: weights-only quantization with
per-block scales is exact for SmolLM2's Q8_0 tied embedding, and runs as an int8 GEMM.
DynamicQuantizeLinear + MatMulInteger would run on more runtimes, but with one scale for the
whole 49152-row matrix it costs far more accuracy.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from stepdiff.export.dims import LlamaDims, lm_graph_dims
from stepdiff.export.gguf_weights import weights_from_gguf
from stepdiff.export.onnx_ops import MS_DOMAIN, Graph, matmul_nbits
from stepdiff.export.quantize_weights import (
    ZERO_POINTS,
    quantize_blockwise,
    quantize_table_int8,
)
from stepdiff.runtime import contract
from stepdiff.runtime.contract import (
    ATTENTION_MASK,
    INPUT_IDS,
    INPUTS_EMBEDS,
    LOGITS,
    POSITION_IDS,
    past_name,
    present_name,
)

__all__ = [
    "DecoderBuildOptions",
    "build_decoder",
    "build_embed_tokens",
    "weights_from_gguf",
]

QUANTS = ("fp32", "int8", "int4")
LM_HEAD_QUANTS = ("fp32", "int8")
ATTENTIONS = ("standard", "gqa")
_BITS = {"int8": 8, "int4": 4}
# Masked scores get the lowest float rather than -inf: a row whose keys are all masked (a padded
# query) then softmaxes to a harmless uniform row instead of NaN, as in HF.
_MASKED = float(np.finfo(np.float32).min)


@dataclass(frozen=True)
class DecoderBuildOptions:
    quant: str = "fp32"  # "fp32" | "int8" | "int4": the linear layers of the blocks
    block_size: int = 32  # MatMulNBits block size along K
    accuracy_level: int = 4  # MatMulNBits: 0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8 activations
    lm_head: str = "fp32"  # "fp32" | "int8" (MatMulNBits, bits=8)
    attention: str = "standard"  # "standard" (plain ONNX) | "gqa" (com.microsoft)
    # How 4-bit blocks store their zero points (export/quantize_weights.py says why):
    # "split": exact asymmetric grid run as integer zero points (ORT's fast int8-activation
    #          kernel) plus a small residual matmul; a Q4_1 source stays exact.
    # "uint8": rounded integer zero points: fastest, but visibly changes SmolLM2's output.
    # "float": exact, but ORT's CPU kernel then computes in float, ~10x slower at decode.
    # "none":  symmetric.
    # 8-bit layers always use "uint8".
    zero_points: str = "split"

    def __post_init__(self) -> None:
        checks = [
            ("quant", self.quant, QUANTS),
            ("lm_head", self.lm_head, LM_HEAD_QUANTS),
            ("attention", self.attention, ATTENTIONS),
            ("zero_points", self.zero_points, ZERO_POINTS),
            ("accuracy_level", self.accuracy_level, (0, 1, 2, 3, 4)),
        ]
        for field, value, allowed in checks:
            if value not in allowed:
                raise ValueError(f"DecoderBuildOptions.{field}={value!r}: use one of {allowed}")
        if self.block_size < 16 or self.block_size & (self.block_size - 1):
            raise ValueError(
                f"DecoderBuildOptions.block_size={self.block_size}: use a power of two >= 16"
            )


def expected_shapes(dims: LlamaDims) -> dict[str, tuple[int, ...]]:
    d, dh, inter = dims.hidden, dims.head_dim, dims.intermediate
    shapes = {"model.embed_tokens.weight": (dims.vocab, d), "model.norm.weight": (d,)}
    if not dims.tied:
        shapes["lm_head.weight"] = (dims.vocab, d)
    for i in range(dims.layers):
        p = f"model.layers.{i}."
        shapes[p + "input_layernorm.weight"] = (d,)
        shapes[p + "post_attention_layernorm.weight"] = (d,)
        shapes[p + "self_attn.q_proj.weight"] = (dims.heads * dh, d)
        shapes[p + "self_attn.k_proj.weight"] = (dims.kv_heads * dh, d)
        shapes[p + "self_attn.v_proj.weight"] = (dims.kv_heads * dh, d)
        shapes[p + "self_attn.o_proj.weight"] = (d, dims.heads * dh)
        shapes[p + "mlp.gate_proj.weight"] = (inter, d)
        shapes[p + "mlp.up_proj.weight"] = (inter, d)
        shapes[p + "mlp.down_proj.weight"] = (d, inter)
    return shapes


def check_weights(weights: dict[str, np.ndarray], dims: LlamaDims) -> None:
    if dims.heads % dims.kv_heads:
        raise ValueError(f"LlamaDims: heads={dims.heads} is not a multiple of {dims.kv_heads}")
    if dims.head_dim % 2:
        raise ValueError(f"LlamaDims: head_dim={dims.head_dim} must be even for RoPE")
    for name, shape in expected_shapes(dims).items():
        if name not in weights:
            raise ValueError(f"weights: missing '{name}' (expected shape {list(shape)})")
        if tuple(weights[name].shape) != shape:
            raise ValueError(
                f"weights: '{name}' has shape {list(weights[name].shape)}, "
                f"expected {list(shape)} for {dims}"
            )


def rope_inv_freq(dims: LlamaDims) -> np.ndarray:
    # float32 throughout, in HF's order of operations, so the graph's angles match the reference.
    exponents = np.arange(0, dims.head_dim, 2, dtype=np.int64).astype(np.float32) / dims.head_dim
    return (1.0 / (np.float32(dims.rope_theta) ** exponents)).astype(np.float32)


def build_decoder(
    weights: dict[str, np.ndarray],
    dims: LlamaDims,
    options: DecoderBuildOptions,
    out_path: str,
    lora: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    lora_scale: float = 0.0,
) -> dict:
    """Write decoder.onnx to out_path; returns its IO as the manifest records it.

    lora: module name (e.g. "model.layers.0.self_attn.q_proj") -> (A [r, in], B [out, r]),
    added as float side branches y += lora_scale * (x A^T) B^T next to the (quantized) weights.
    """
    check_weights(weights, dims)
    graph = _DecoderWriter(weights, dims, options, lora or {}, lora_scale).build()
    graph.save(out_path)
    return contract.decoder_io(lm_graph_dims(dims)).to_json()


def build_embed_tokens(
    weights: dict[str, np.ndarray], dims: LlamaDims, out_path: str, quant: str = "fp32"
) -> dict:
    """Write embed_tokens.onnx: a Gather from the table (int8: codes times per-block scales)."""
    if quant not in ("fp32", "int8"):
        raise ValueError(f"build_embed_tokens quant={quant!r}: use 'fp32' or 'int8'")
    table = weights.get("model.embed_tokens.weight")
    if table is None or table.shape != (dims.vocab, dims.hidden):
        got = None if table is None else list(table.shape)
        raise ValueError(
            f"weights: 'model.embed_tokens.weight' is {got}, expected {[dims.vocab, dims.hidden]}"
        )
    io = contract.embed_tokens_io(lm_graph_dims(dims))
    g = Graph("embed_tokens")
    g.declare_io(io)
    ids = INPUT_IDS
    if quant == "fp32":
        w = g.initializer(table.astype(np.float32), "model.embed_tokens.weight")
        g.op("Gather", [w, ids], "/model/embed_tokens/Gather", outputs=[INPUTS_EMBEDS])
    else:
        q = quantize_table_int8(table.astype(np.float32))
        n_blocks = dims.hidden // q.block_size
        codes = g.initializer(q.codes, "model.embed_tokens.weight.int8")
        scales = g.initializer(q.scales, "model.embed_tokens.weight.scales")
        rows = g.op("Gather", [codes, ids], "/model/embed_tokens/Gather")
        rows = g.op("Cast", [rows], "/model/embed_tokens/Cast", to=1)
        rows = g.op(
            "Reshape", [rows, g.const([0, 0, n_blocks, q.block_size])], "/model/embed_tokens/Blocks"
        )
        row_scales = g.op("Gather", [scales, ids], "/model/embed_tokens/GatherScales")
        rows = g.op("Mul", [rows, row_scales], "/model/embed_tokens/Mul")
        g.op(
            "Reshape",
            [rows, g.const([0, 0, dims.hidden])],
            "/model/embed_tokens/Rows",
            outputs=[INPUTS_EMBEDS],
        )
    g.save(out_path)
    return io.to_json()


class _DecoderWriter:
    """Holds the graph being written and the tensors shared by all layers."""

    def __init__(
        self,
        weights: dict[str, np.ndarray],
        dims: LlamaDims,
        opts: DecoderBuildOptions,
        lora: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
        lora_scale: float = 0.0,
    ):
        self.w = weights
        self.lora, self.lora_scale = lora or {}, lora_scale
        self.dims = dims
        self.opts = opts
        self.g = Graph("decoder")
        self.g.declare_io(contract.decoder_io(lm_graph_dims(dims)))
        self._block_sums: dict[int, str] = {}

    def build(self) -> Graph:
        g, dims = self.g, self.dims
        if self.opts.attention == "standard":
            self._rope_tables()
            self._attention_bias()
        else:
            self._gqa_lengths()
        # The residual stream and the block output still to be added to it: the add is done by
        # the next norm, which the "gqa" flavour fuses into one SkipSimplifiedLayerNormalization.
        residual, pending = INPUTS_EMBEDS, None
        desc = f"decoder {self.opts.quant}/{self.opts.attention}"
        for i in tqdm(range(dims.layers), desc=desc, file=sys.stderr, leave=False):
            residual, pending = self._layer(i, residual, pending)
        h, _ = self._add_norm(residual, pending, "model.norm.weight", "/model/norm")
        head = self.w["model.embed_tokens.weight" if dims.tied else "lm_head.weight"]
        bits = _BITS.get(self.opts.lm_head)
        self._base_linear(h, head, "/model/lm_head", bits, output=LOGITS)
        return g

    # --- building blocks -------------------------------------------------------------------

    def _projection(self, x: str, modules: tuple[str, ...], name: str, bits: int | None) -> str:
        """x @ W.T for the HF linears `modules` stacked into one weight (one matmul for q, k, v
        or gate, up), plus their LoRA side branch if they have one."""
        w = np.concatenate([self.w[f"{m}.weight"] for m in modules], axis=0)
        y = self._base_linear(x, w, name, bits)
        side = self._lora_factors(modules, w.shape[0])
        if side is None:
            return y
        g = self.g
        a = g.initializer(np.ascontiguousarray(side[0].T), f"{name}.lora_a")
        b = g.initializer(np.ascontiguousarray(side[1].T), f"{name}.lora_b")
        low = g.op("MatMul", [x, a], f"{name}/lora/A")
        up = g.op("MatMul", [low, b], f"{name}/lora/B")
        return g.op("Add", [y, up], f"{name}/lora/Add")

    def _lora_factors(self, modules: tuple[str, ...], n: int):
        """Stacked (A [sum r, K], block-diagonal scaled B [N, sum r]) for `modules`, or None."""
        pairs = [self.lora.get(m) for m in modules]
        if all(p is None for p in pairs):
            return None
        if any(p is None for p in pairs):
            raise ValueError(f"LoRA covers only some of {modules}; export needs all or none")
        a = np.concatenate([p[0] for p in pairs], axis=0).astype(np.float32)
        b = np.zeros((n, a.shape[0]), np.float32)
        row = col = 0
        for pa, pb in pairs:
            b[row : row + pb.shape[0], col : col + pa.shape[0]] = pb * self.lora_scale
            row, col = row + pb.shape[0], col + pa.shape[0]
        if row != n:
            raise ValueError(f"LoRA of {modules} has {row} output rows, the weight has {n}")
        return a, b

    def _base_linear(
        self, x: str, w: np.ndarray, name: str, bits: int | None, output: str | None = None
    ) -> str:
        g = self.g
        outs = [output] if output else 1
        if bits is None:
            wt = g.initializer(np.ascontiguousarray(w.T, dtype=np.float32), f"{name}.weight")
            return g.op("MatMul", [x, wt], f"{name}/MatMul", outputs=outs)
        # 8 bits: CPU MatMulNBits refuses float zero points, and integer ones pick, per block,
        # symmetric (exact for a Q8_0 source like SmolLM2's tied lm_head) or min/max.
        zero_points = "uint8" if bits == 8 else self.opts.zero_points
        qw = quantize_blockwise(w, bits, self.opts.block_size, zero_points)
        y = matmul_nbits(
            g,
            x,
            qw,
            f"{name}.weight",
            f"{name}/MatMulNBits",
            self.opts.accuracy_level,
            outputs=outs if qw.residual is None else 1,
        )
        if qw.residual is None:
            return y
        # The rest of each block's zero point: sum the activations per block, then one small
        # [k_blocks, N] matmul (see export/quantize_weights.py).
        sums = g.op("MatMul", [x, self._block_sum_matrix(qw.k)], f"{name}/BlockSum")
        resid = g.initializer(np.ascontiguousarray(qw.residual.T), f"{name}.weight.residual")
        fix = g.op("MatMul", [sums, resid], f"{name}/Residual")
        return g.op("Add", [y, fix], f"{name}/AddResidual", outputs=outs)

    def _block_sum_matrix(self, k: int) -> str:
        """[K, k_blocks] of 0/1: x @ it sums x over each quantization block. One per K."""
        if k not in self._block_sums:
            size = self.opts.block_size
            blocks = np.arange(k) // size
            onehot = blocks[:, None] == np.arange(-(-k // size))[None, :]
            self._block_sums[k] = self.g.initializer(onehot.astype(np.float32), f"/block_sum_{k}")
        return self._block_sums[k]

    def _rms_norm(self, x: str, weight: str, name: str) -> str:
        # Pow -> ReduceMean -> Add -> Sqrt -> Div -> Mul is the pattern ORT fuses into a single
        # SimplifiedLayerNormalization kernel, and any other runtime can still run it.
        g = self.g
        sq = g.op("Pow", [x, g.const(2.0, "float32")], f"{name}/Pow")
        mean = g.op("ReduceMean", [sq], f"{name}/ReduceMean", axes=[-1], keepdims=1)
        var = g.op("Add", [mean, g.const(self.dims.rms_eps, "float32")], f"{name}/Add")
        rms = g.op("Sqrt", [var], f"{name}/Sqrt")
        normed = g.op("Div", [x, rms], f"{name}/Div")
        gamma = g.initializer(self.w[weight].astype(np.float32), weight)
        return g.op("Mul", [normed, gamma], f"{name}/Mul")

    def _add_norm(
        self, residual: str, delta: str | None, weight: str, name: str
    ) -> tuple[str, str]:
        """(rms_norm(residual + delta), residual + delta); delta None means nothing to add."""
        g = self.g
        if delta is None:
            return self._rms_norm(residual, weight, name), residual
        if self.opts.attention == "standard":
            total = g.op("Add", [residual, delta], f"{name}/residual_add")
            return self._rms_norm(total, weight, name), total
        # The "gqa" graph needs onnxruntime anyway, so it may use its fused add + norm.
        gamma = g.initializer(self.w[weight].astype(np.float32), weight)
        normed, _, _, total = g.op(
            "SkipSimplifiedLayerNormalization",
            [delta, residual, gamma],
            f"{name}/SkipSimplifiedLayerNorm",
            outputs=[f"{name}/output_0", "", "", f"{name}/output_3"],
            domain=MS_DOMAIN,
            epsilon=self.dims.rms_eps,
        )
        return normed, total

    def _dim(self, tensor: str, axis: int, name: str) -> str:
        shape = self.g.op("Shape", [tensor], f"{name}/Shape")
        return self.g.op("Gather", [shape, self.g.const(axis)], f"{name}/Gather", axis=0)

    # --- shared by all layers ---------------------------------------------------------------

    def _rope_tables(self) -> None:
        """cos and sin [B, 1, S, Dh] at position_ids, computed in the graph: no length limit."""
        g, name = self.g, "/model/rotary_emb"
        pos = g.op("Cast", [POSITION_IDS], f"{name}/Cast", to=1)
        pos = g.op("Unsqueeze", [pos, g.const([-1])], f"{name}/Unsqueeze")
        inv_freq = g.initializer(rope_inv_freq(self.dims), "/model/rotary_emb/inv_freq")
        freqs = g.op("Mul", [pos, inv_freq], f"{name}/Mul")
        emb = g.op("Concat", [freqs, freqs], f"{name}/Concat", axis=-1)
        cos = g.op("Cos", [emb], f"{name}/Cos")
        sin = g.op("Sin", [emb], f"{name}/Sin")
        self.cos = g.op("Unsqueeze", [cos, g.const([1])], f"{name}/UnsqueezeCos")
        self.sin = g.op("Unsqueeze", [sin, g.const([1])], f"{name}/UnsqueezeSin")

    def _attention_bias(self) -> None:
        """0 where query s may see key t, lowest float elsewhere: [B, 1, n_rep * S, T].

        Query s sits at absolute index P + s (P = T - S, the past length); it sees keys at or
        before it whose attention_mask is 1.
        """
        g, name = self.g, "/model/attn_mask"
        total = self._dim(ATTENTION_MASK, 1, f"{name}/total")
        seq = self._dim(INPUTS_EMBEDS, 1, f"{name}/seq")
        past = g.op("Sub", [total, seq], f"{name}/past")
        rows = g.op("Range", [past, total, g.const(1)], f"{name}/rows")
        cols = g.op("Range", [g.const(0), total, g.const(1)], f"{name}/cols")
        rows = g.op("Unsqueeze", [rows, g.const([1])], f"{name}/rows2d")
        cols = g.op("Unsqueeze", [cols, g.const([0])], f"{name}/cols2d")
        future = g.op("Greater", [cols, rows], f"{name}/future")
        pad = g.op("Equal", [ATTENTION_MASK, g.const(0)], f"{name}/pad")
        pad = g.op("Unsqueeze", [pad, g.const([1, 2])], f"{name}/pad4d")
        blocked = g.op("Or", [future, pad], f"{name}/blocked")
        bias = g.op(
            "Where",
            [blocked, g.const(_MASKED, "float32"), g.const(0.0, "float32")],
            f"{name}/Where",
        )
        n_rep = self.dims.heads // self.dims.kv_heads
        if n_rep > 1:
            # The query is viewed as [B, Hkv, n_rep * S, Dh]: one copy of the mask per group head.
            bias = g.op("Tile", [bias, g.const([1, 1, n_rep, 1])], f"{name}/Tile")
        self.bias = bias

    def _gqa_lengths(self) -> None:
        g, name = self.g, "/model/attn_mask"
        valid = g.op("ReduceSum", [ATTENTION_MASK, g.const([1])], f"{name}/ReduceSum", keepdims=0)
        last = g.op("Sub", [valid, g.const(1)], f"{name}/Sub")
        self.seqlens_k = g.op("Cast", [last], f"{name}/seqlens_k", to=6)
        total = self._dim(ATTENTION_MASK, 1, f"{name}/total")
        self.total_len = g.op("Cast", [total], f"{name}/total_seq_len", to=6)
        positions = np.arange(self.dims.max_positions, dtype=np.float32)[:, None]
        angles = positions * rope_inv_freq(self.dims)[None, :]
        self.cos_cache = g.initializer(np.cos(angles), "cos_cache")
        self.sin_cache = g.initializer(np.sin(angles), "sin_cache")

    # --- one decoder layer ------------------------------------------------------------------

    def _layer(self, i: int, residual: str, pending: str | None) -> tuple[str, str]:
        g, p, name = self.g, f"model.layers.{i}.", f"/model/layers.{i}"
        bits = _BITS.get(self.opts.quant)
        x, residual = self._add_norm(
            residual, pending, p + "input_layernorm.weight", f"{name}/input_layernorm"
        )
        qkv = self._projection(
            x, tuple(p + f"self_attn.{k}_proj" for k in "qkv"), f"{name}/attn/qkv_proj", bits
        )
        if self.opts.attention == "gqa":
            attn = self._gqa(i, qkv, f"{name}/attn")
        else:
            attn = self._standard_attention(i, qkv, f"{name}/attn")
        attn = self._projection(attn, (p + "self_attn.o_proj",), f"{name}/attn/o_proj", bits)
        x, residual = self._add_norm(
            residual, attn, p + "post_attention_layernorm.weight", f"{name}/post_attn_layernorm"
        )
        gate_up = self._projection(
            x, (p + "mlp.gate_proj", p + "mlp.up_proj"), f"{name}/mlp/gate_up_proj", bits
        )
        inter = self.dims.intermediate
        gate, up = g.op(
            "Split", [gate_up, g.const([inter, inter])], f"{name}/mlp/Split", outputs=2, axis=-1
        )
        act = g.op(
            "Mul", [gate, g.op("Sigmoid", [gate], f"{name}/mlp/Sigmoid")], f"{name}/mlp/SiLU"
        )
        act = g.op("Mul", [act, up], f"{name}/mlp/Mul")
        down = self._projection(act, (p + "mlp.down_proj",), f"{name}/mlp/down_proj", bits)
        return residual, down

    def _rotate(self, x: str, name: str) -> str:
        """x * cos + rotate_half(x) * sin, on [B, N, S, Dh]."""
        g, half = self.g, self.dims.head_dim // 2
        x1, x2 = g.op("Split", [x, g.const([half, half])], f"{name}/Split", outputs=2, axis=-1)
        neg = g.op("Neg", [x2], f"{name}/Neg")
        rotated = g.op("Concat", [neg, x1], f"{name}/Concat", axis=-1)
        a = g.op("Mul", [x, self.cos], f"{name}/MulCos")
        b = g.op("Mul", [rotated, self.sin], f"{name}/MulSin")
        return g.op("Add", [a, b], f"{name}/Add")

    def _heads(self, x: str, n: int, name: str) -> str:
        """[B, S, n * Dh] -> [B, n, S, Dh]."""
        g = self.g
        x = g.op("Reshape", [x, g.const([0, 0, n, self.dims.head_dim])], f"{name}/Reshape")
        return g.op("Transpose", [x], f"{name}/Transpose", perm=[0, 2, 1, 3])

    def _standard_attention(self, i: int, qkv: str, name: str) -> str:
        g, d = self.g, self.dims
        q_size, kv_size = d.heads * d.head_dim, d.kv_heads * d.head_dim
        q, k, v = g.op(
            "Split", [qkv, g.const([q_size, kv_size, kv_size])], f"{name}/Split", outputs=3, axis=-1
        )
        q = self._rotate(self._heads(q, d.heads, f"{name}/q"), f"{name}/q_rotary")
        k = self._rotate(self._heads(k, d.kv_heads, f"{name}/k"), f"{name}/k_rotary")
        v = self._heads(v, d.kv_heads, f"{name}/v")
        k = g.op(
            "Concat",
            [past_name(i, "key"), k],
            f"{name}/k_cache",
            outputs=[present_name(i, "key")],
            axis=2,
        )
        v = g.op(
            "Concat",
            [past_name(i, "value"), v],
            f"{name}/v_cache",
            outputs=[present_name(i, "value")],
            axis=2,
        )
        # Heads h*n_rep .. h*n_rep+n_rep-1 share KV head h, so the query viewed as
        # [B, Hkv, n_rep * S, Dh] meets each KV head once, without copying K or V n_rep times.
        q = g.op("Reshape", [q, g.const([0, d.kv_heads, -1, d.head_dim])], f"{name}/q_groups")
        kt = g.op("Transpose", [k], f"{name}/k_T", perm=[0, 1, 3, 2])
        scores = g.op("MatMul", [q, kt], f"{name}/qk")
        scores = g.op("Mul", [scores, g.const(d.head_dim**-0.5, "float32")], f"{name}/scale")
        scores = g.op("Add", [scores, self.bias], f"{name}/mask")
        probs = g.op("Softmax", [scores], f"{name}/Softmax", axis=-1)
        out = g.op("MatMul", [probs, v], f"{name}/pv")
        out = g.op("Reshape", [out, g.const([0, d.heads, -1, d.head_dim])], f"{name}/heads")
        out = g.op("Transpose", [out], f"{name}/Transpose", perm=[0, 2, 1, 3])
        return g.op("Reshape", [out, g.const([0, 0, q_size])], f"{name}/merge")

    def _gqa(self, i: int, qkv: str, name: str) -> str:
        d = self.dims
        out, _, _ = self.g.op(
            "GroupQueryAttention",
            [
                qkv,  # packed Q|K|V: the op splits it
                "",
                "",
                past_name(i, "key"),
                past_name(i, "value"),
                self.seqlens_k,
                self.total_len,
                self.cos_cache,
                self.sin_cache,
                POSITION_IDS,
            ],
            f"{name}/GroupQueryAttention",
            outputs=[f"{name}/output", present_name(i, "key"), present_name(i, "value")],
            domain=MS_DOMAIN,
            num_heads=d.heads,
            kv_num_heads=d.kv_heads,
            do_rotary=1,
            rotary_interleaved=0,
            scale=d.head_dim**-0.5,
        )
        return out


def main(argv: list[str] | None = None) -> int:
    """python -m stepdiff.export.decoder_builder GGUF OUT_DIR [options]: both graphs from a GGUF."""
    import argparse
    import json
    import os

    from stepdiff.runtime.errors import BadInput

    parser = argparse.ArgumentParser(
        prog="python -m stepdiff.export.decoder_builder", description=main.__doc__
    )
    parser.add_argument("gguf")
    parser.add_argument("out_dir")
    parser.add_argument("--quant", choices=QUANTS, default="fp32")
    parser.add_argument("--lm-head", choices=LM_HEAD_QUANTS, default="fp32")
    parser.add_argument("--embed", choices=("fp32", "int8"), default="fp32")
    parser.add_argument("--attention", choices=ATTENTIONS, default="standard")
    parser.add_argument("--block-size", type=int, default=32)
    parser.add_argument("--accuracy-level", type=int, default=4)
    parser.add_argument("--zero-points", choices=ZERO_POINTS, default="split")
    args = parser.parse_args(argv)
    try:
        options = DecoderBuildOptions(
            quant=args.quant,
            block_size=args.block_size,
            accuracy_level=args.accuracy_level,
            lm_head=args.lm_head,
            attention=args.attention,
            zero_points=args.zero_points,
        )
        weights, dims = weights_from_gguf(args.gguf)
    except (BadInput, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    os.makedirs(args.out_dir, exist_ok=True)
    embed_file, decoder_file = (contract.graph_file(g) for g in ("embed_tokens", "decoder"))
    io = {
        embed_file: build_embed_tokens(
            weights, dims, os.path.join(args.out_dir, embed_file), quant=args.embed
        ),
        decoder_file: build_decoder(
            weights, dims, options, os.path.join(args.out_dir, decoder_file)
        ),
    }
    print(json.dumps({"dims": dims.__dict__, "options": options.__dict__, "graphs": io}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
