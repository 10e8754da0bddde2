"""compare_head.onnx written node by node from models.compare.CompareHead's weights (numpy arrays),
with no torch in the process.

It computes CompareHead.encode_pair, then severity_of, pair_vector, text_vector, match and
tokens_of, on the contract's inputs (stepdiff.runtime.contract.compare_head_io):

    ref/user mid [B, T, M, Cm], head [B, T, G, C]   both streams through FrameEncoder at once
                                                     (concatenated along T, split after)
    [r, u, u - r, |u - r|] -> step MLP -> mean, max over T
    seconds [B, 2] -> log1p -> duration Linear       (its [l_ref, l_user, l_user - l_ref] input
                                                     folded into a [2, d] weight)
    category [B] -> embedding row (Gather)
    -> pair MLP -> z [B, d] -> severity [B], pair_vector [B, E], diff_tokens [B, N, D]
    text_did, text_instead [B, D] -> text MLP -> unit vector; match = scale * <pair, text>
                                                     (scale = min(exp(logit_scale), 100), a constant)

GELU is the exact erf form, LayerNorm eps 1e-5 and F.normalize's x / max(|x|, 1e-12), as torch.

Bundles carry the fp32 graph. `quant="int8"` (MatMulNBits, 8-bit block-quantized weights, int8
activations) stays for the measurement that decided it (tests/test_export_compare.py): on the
2-core x86 dev box, batch 1, 2 threads, the best round of three runs of 30-40 interleaved rounds
took 1.3 ms per comparison in fp32 and 2.1 ms in int8 (medians 2.8-4.0 ms and 3.5-4.4 ms, the box
shared with other jobs); the head is ~17 M multiply-adds in 87 nodes, so op overhead, not weight
bytes, is the cost. int8 moved severity by ~3e-3 and match by ~1e-2; only the file shrinks
(9.6 MB -> 2.9 MB), which next to the LM does not matter.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from stepdiff.export.onnx_ops import Graph, matmul_nbits
from stepdiff.export.quantize_weights import quantize_blockwise
from stepdiff.runtime import contract

_LN_EPS = 1e-5  # nn.LayerNorm's default
_NORM_EPS = 1e-12  # F.normalize's default
_SCALE_MAX = 100.0  # CompareHead.match clamps exp(logit_scale) here
SEVERITY_MAX = 5.0  # models.compare.SEVERITY_MAX
QUANTS = ("fp32", "int8")
# CompareConfig fields the graph's shapes depend on.
_CONFIG_KEYS = (
    "frames",
    "head_tokens",
    "head_dim",
    "mid_cells",
    "mid_dim",
    "cell_dim",
    "dim",
    "embed_dim",
    "text_dim",
    "diff_tokens",
    "categories",
)


@dataclass(frozen=True)
class CompareHeadWeights:
    """A CompareHead as numpy: its state dict, its CompareConfig fields and category names."""

    state: dict[str, np.ndarray]  # CompareHead.state_dict() names, float32
    config: dict  # CompareConfig fields
    categories: tuple[str, ...]  # the category input's names, by index
    description: str = "compare head"  # for the manifest
    sha256: str = ""  # of the weights file, when it came from one


def check_config(config: Mapping, categories: tuple[str, ...] = ()) -> dict:
    missing = [k for k in _CONFIG_KEYS if k not in config]
    if missing:
        raise ValueError(f"compare head config: missing {', '.join(missing)} (CompareConfig)")
    c = {}
    for k in _CONFIG_KEYS:
        v = config[k]
        if not isinstance(v, int | np.integer) or isinstance(v, bool) or v <= 0:
            raise ValueError(f"compare head config: {k} must be a positive integer, got {v!r}")
        c[k] = int(v)
    if categories and len(categories) != c["categories"]:
        raise ValueError(
            f"compare head: {len(categories)} category names for config.categories "
            f"{c['categories']}"
        )
    if categories and contract.ANY_CATEGORY not in categories:
        raise ValueError(f"compare head: categories lack {contract.ANY_CATEGORY!r}")
    return c


def compare_dims(config: Mapping) -> contract.ModelDims:
    """The ModelDims compare_head.onnx's IO depends on (the LM fields but `hidden` are 0)."""
    c = check_config(config)
    return contract.ModelDims(
        frames=c["frames"],
        frame_size=0,
        tokens_per_video=c["frames"] * c["head_tokens"],
        hidden=c["text_dim"],
        layers=0,
        kv_heads=0,
        head_dim=0,
        vocab=0,
        vision_dim=c["head_dim"],
        mid_cells=c["mid_cells"],
        mid_dim=c["mid_dim"],
        compare_embed=c["embed_dim"],
        diff_tokens=c["diff_tokens"],
    )


def compare_head_io(config: Mapping) -> contract.GraphIO:
    return contract.compare_head_io(compare_dims(config))


def expected_shapes(c: Mapping) -> dict[str, tuple[int, ...]]:
    """CompareHead.state_dict()'s names and shapes for a CompareConfig."""
    d, t = c["dim"], c["text_dim"]
    shapes: dict[str, tuple[int, ...]] = {"logit_scale": ()}

    def linear(name: str, out: int, inp: int) -> None:
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (out, inp), (out,)

    def norm(name: str, n: int) -> None:
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (n,), (n,)

    norm("frame.mid_norm", c["mid_dim"])
    linear("frame.mid_cell", c["cell_dim"], c["mid_dim"])
    linear("frame.mid_frame", d, c["mid_cells"] * c["cell_dim"])
    norm("frame.head_norm", c["head_dim"])
    linear("frame.head_frame", d, c["head_dim"])
    norm("frame.out_norm", d)
    linear("step.0", d, 4 * d)
    linear("step.2", d, d)
    linear("duration", d, 3)
    shapes["category.weight"] = (c["categories"], d)
    norm("pair.0", 4 * d)
    linear("pair.1", d, 4 * d)
    linear("pair.3", d, d)
    linear("severity", 1, d)
    linear("pair_embedding", c["embed_dim"], d)
    linear("diff_tokens", c["diff_tokens"] * t, d)
    norm("text.0", 3 * t)
    linear("text.1", d, 3 * t)
    linear("text.3", c["embed_dim"], d)
    return shapes


def check_state(state: Mapping[str, np.ndarray], c: Mapping, what: str = "compare head") -> None:
    want = expected_shapes(c)
    missing = [k for k in want if k not in state]
    if missing:
        raise ValueError(f"{what}: weight {missing[0]!r} is missing ({len(missing)} missing)")
    extra = sorted(set(state) - set(want))
    if extra:
        raise ValueError(f"{what}: unexpected weight {extra[0]!r}; not a CompareHead state dict")
    for k, shape in want.items():
        got = tuple(np.shape(state[k]))
        if got != shape:
            raise ValueError(f"{what}: {k} has shape {list(got)}, expected {list(shape)}")
        if not np.all(np.isfinite(state[k])):
            raise ValueError(f"{what}: {k} holds NaN or infinite values")


class _Writer:
    def __init__(self, g: Graph, state: Mapping[str, np.ndarray], quant: str, block: int) -> None:
        self.g, self.state, self.quant, self.block = g, state, quant, block

    def w(self, name: str) -> np.ndarray:
        return np.asarray(self.state[name], dtype=np.float32)

    def linear(self, x: str, name: str, quantize: bool = True, outputs=1) -> str:
        """torch Linear `name` (weight [out, in], bias [out]) on the last axis of x."""
        g, w = self.g, self.w(f"{name}.weight")
        path = "/compare/" + name
        bias = g.initializer(self.w(f"{name}.bias"), f"{path}/bias")
        # int8 only where the weight is the cost: a wide input (mid_cell's K = 152 runs on
        # B*2T*M rows, where MatMulNBits is slower than the float MatMul) and a real output.
        if self.quant == "int8" and quantize and w.shape[1] >= 256 and w.shape[0] >= 16:
            qw = quantize_blockwise(w, 8, self.block, "uint8")
            y = matmul_nbits(g, x, qw, f"{path}/weight", f"{path}/MatMulNBits", accuracy_level=4)
        else:
            y = g.op("MatMul", [x, g.initializer(w.T.copy(), f"{path}/weight")], f"{path}/MatMul")
        return g.op("Add", [y, bias], f"{path}/Add", outputs=outputs)

    def layer_norm(self, x: str, name: str) -> str:
        g = self.g
        scale = g.initializer(self.w(f"{name}.weight"), f"/compare/{name}/weight")
        shift = g.initializer(self.w(f"{name}.bias"), f"/compare/{name}/bias")
        return g.op(
            "LayerNormalization",
            [x, scale, shift],
            f"/compare/{name}/LayerNorm",
            axis=-1,
            epsilon=_LN_EPS,
        )

    def gelu(self, x: str, name: str) -> str:
        """Exact (erf) GELU, written the way onnxruntime's GeluFusion recognises it."""
        g, p = self.g, f"/compare/{name}/gelu"
        half = g.op("Div", [x, g.const(math.sqrt(2.0), "float32")], f"{p}/Div")
        e = g.op("Erf", [half], f"{p}/Erf")
        e = g.op("Add", [e, g.const(1.0, "float32")], f"{p}/Add")
        y = g.op("Mul", [x, e], f"{p}/Mul")
        return g.op("Mul", [y, g.const(0.5, "float32")], f"{p}/Mul_1")

    def normalize(self, x: str, name: str, outputs=1) -> str:
        """F.normalize(x, dim=-1): x / max(|x|, 1e-12)."""
        g, p = self.g, f"/compare/{name}/normalize"
        n = g.op("ReduceL2", [x], f"{p}/ReduceL2", axes=[-1], keepdims=1)
        n = g.op("Max", [n, g.const(_NORM_EPS, "float32")], f"{p}/Max")
        return g.op("Div", [x, n], f"{p}/Div", outputs=outputs)


def build_compare_head(
    state: Mapping[str, np.ndarray],
    config: Mapping,
    out_path: str,
    quant: str = "fp32",
    block_size: int = 32,
) -> dict:
    """Write compare_head.onnx atomically; return its IO as the manifest records it.

    state: CompareHead.state_dict() as float32 numpy arrays; config: its CompareConfig fields.
    quant "fp32" (what bundles carry) or "int8": MatMulNBits 8-bit weights for the Linear layers
    with >= 256 inputs and >= 16 outputs (see the module docstring: smaller, not faster).
    """
    if quant not in QUANTS:
        raise ValueError(f"compare head quant {quant!r}: use one of {QUANTS}")
    c = check_config(config)
    check_state(state, c)
    print(f"building {os.path.basename(out_path)} ({quant}) ...", file=sys.stderr)
    io = compare_head_io(c)
    g = Graph("stepdiff_compare_head", opset=17, producer="stepdiff.export.compare_builder")
    g.declare_io(io)
    w = _Writer(g, state, quant, block_size)
    t, m, cell = c["frames"], c["mid_cells"], c["cell_dim"]

    # FrameEncoder on both streams at once: [B, 2T, ...], the reference's frames first.
    mid = g.op("Concat", [contract.REF_MID, contract.USER_MID], "/compare/frame/mid/Concat", axis=1)
    head = g.op(
        "Concat", [contract.REF_HEAD, contract.USER_HEAD], "/compare/frame/head/Concat", axis=1
    )
    x = w.layer_norm(mid, "frame.mid_norm")
    x = w.gelu(w.linear(x, "frame.mid_cell"), "frame.mid_cell")  # [B, 2T, M, cell]
    x = g.op("Reshape", [x, g.const([0, 0, m * cell])], "/compare/frame/mid/Reshape")
    mid_vec = w.linear(x, "frame.mid_frame")  # [B, 2T, d]
    h = g.op("ReduceMean", [head], "/compare/frame/head/ReduceMean", axes=[-2], keepdims=0)
    head_vec = w.linear(w.layer_norm(h, "frame.head_norm"), "frame.head_frame")
    x = g.op("Add", [mid_vec, head_vec], "/compare/frame/Add")
    frames = w.layer_norm(w.gelu(x, "frame.out"), "frame.out_norm")  # [B, 2T, d]
    r, u = g.op("Split", [frames, g.const([t, t])], "/compare/frame/Split", outputs=2, axis=1)

    # Per step: [r, u, u - r, |u - r|] -> step MLP; pooled over T by mean and max.
    diff = g.op("Sub", [u, r], "/compare/step/Sub")
    absdiff = g.op("Abs", [diff], "/compare/step/Abs")
    x = g.op("Concat", [r, u, diff, absdiff], "/compare/step/Concat", axis=-1)
    x = w.linear(w.gelu(w.linear(x, "step.0"), "step"), "step.2")  # [B, T, d]
    mean = g.op("ReduceMean", [x], "/compare/pool/ReduceMean", axes=[1], keepdims=0)
    peak = g.op("ReduceMax", [x], "/compare/pool/ReduceMax", axes=[1], keepdims=0)

    # Durations: log1p(max(s, 0)); Linear(3) on [l_ref, l_user, l_user - l_ref] is Linear(2) on
    # [l_ref, l_user] with the third column folded into the other two.
    s = g.op("Max", [contract.SECONDS, g.const(0.0, "float32")], "/compare/duration/Max")
    s = g.op("Add", [s, g.const(1.0, "float32")], "/compare/duration/Add")
    logs = g.op("Log", [s], "/compare/duration/Log")
    wd = w.w("duration.weight").astype(np.float64)  # [d, 3]
    folded = np.stack([wd[:, 0] - wd[:, 2], wd[:, 1] + wd[:, 2]]).astype(np.float32)  # [2, d]
    dur = g.op(
        "MatMul",
        [logs, g.initializer(folded, "/compare/duration/weight")],
        "/compare/duration/MatMul",
    )
    dur = g.op(
        "Add",
        [dur, g.initializer(w.w("duration.bias"), "/compare/duration/bias")],
        "/compare/duration/Add_1",
    )

    table = g.initializer(w.w("category.weight"), "/compare/category/weight")
    cat = g.op("Gather", [table, contract.CATEGORY], "/compare/category/Gather", axis=0)

    x = g.op("Concat", [mean, peak, dur, cat], "/compare/pair/Concat", axis=-1)  # [B, 4d]
    x = w.gelu(w.linear(w.layer_norm(x, "pair.0"), "pair.1"), "pair")
    z = w.linear(x, "pair.3")  # [B, d]

    # Heads.
    sev = w.linear(z, "severity", quantize=False)  # [B, 1]
    sev = g.op("Reshape", [sev, g.const([-1])], "/compare/severity/Reshape")
    sev = g.op("Sigmoid", [sev], "/compare/severity/Sigmoid")
    g.op(
        "Mul",
        [sev, g.const(SEVERITY_MAX, "float32")],
        "/compare/severity/Mul",
        outputs=[contract.SEVERITY],
    )
    pair = w.normalize(
        w.linear(z, "pair_embedding"), "pair_embedding", outputs=[contract.PAIR_VECTOR]
    )
    tokens = w.linear(z, "diff_tokens")  # [B, N*D]
    g.op(
        "Reshape",
        [tokens, g.const([-1, c["diff_tokens"], c["text_dim"]])],
        "/compare/diff_tokens/Reshape",
        outputs=[contract.DIFF_TOKENS],
    )

    # Text: [did, instead, did - instead] -> text MLP -> unit vector; match = scale * cosine.
    did_minus = g.op("Sub", [contract.TEXT_DID, contract.TEXT_INSTEAD], "/compare/text/Sub")
    x = g.op(
        "Concat",
        [contract.TEXT_DID, contract.TEXT_INSTEAD, did_minus],
        "/compare/text/Concat",
        axis=-1,
    )
    x = w.linear(w.gelu(w.linear(w.layer_norm(x, "text.0"), "text.1"), "text"), "text.3")
    text = w.normalize(x, "text")
    dot = g.op("Mul", [pair, text], "/compare/match/Mul")
    dot = g.op("ReduceSum", [dot, g.const([-1])], "/compare/match/ReduceSum", keepdims=0)
    scale = np.minimum(np.exp(np.float32(w.w("logit_scale"))), np.float32(_SCALE_MAX))
    g.op(
        "Mul",
        [dot, g.const(float(scale), "float32")],
        "/compare/match/Mul_1",
        outputs=[contract.MATCH],
    )
    g.save(out_path)
    return io.to_json()
