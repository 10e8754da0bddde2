"""vision_encoder.onnx written node by node from numpy weights, with no torch in the process.

uint8 [B, T, H, W, 3] -> normalise -> EfficientNet-Lite0 features (BatchNorm folded into the
convolutions, ReLU6 as Clip) -> grid pool -> projector -> video_embeds [B, T*G, D].
Beside the tokens, for the comparison module (models/compare.py):
- frame_head [B, T, G, C]: the grid-pooled head features the projector reads (VisionTower.forward);
- frame_mid [B, T, M, Cm]: the outputs of blocks 4 and 10 average-pooled to 7x7 cells, channels
  concatenated in block order (VisionTower.multi_scale's second output).

It computes what models/model.py's `encode_videos` and `VisionTower.multi_scale` compute; export/encoder_export.py (the
torch.onnx route) stays as the reference it is tested against. Building from weights instead of
tracing lets export run on a machine with only numpy and onnx, and gives a graph whose every node
we chose: one Conv per conv+BN, asymmetric "same" padding as Conv pads instead of Pad nodes, and
the grid pool as one MatMul.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from stepdiff.export.dims import vision_graph_dims
from stepdiff.export.onnx_ops import Graph
from stepdiff.runtime import contract

# EfficientNet-Lite0, from efficientnet_lite_pytorch's block table: (repeats, kernel, stride) per
# stage. Strides cannot be read off the weights, kernels and channels can and are checked.
_LITE0_STAGES = ((1, 3, 1), (2, 3, 2), (2, 5, 2), (3, 3, 2), (3, 5, 1), (4, 5, 2), (1, 3, 1))
_STEM_KERNEL, _STEM_STRIDE = 3, 2
# efficientnet_lite_pytorch computes its static "same" padding once, for this input size, and
# uses it whatever the real frame size is; the graph must pad exactly the same way.
_DESIGN_SIZE = 224
_BN_EPS = 1e-3  # efficientnet_lite's batch_norm_epsilon
_LN_EPS = 1e-5  # nn.LayerNorm's default, which Projector uses
_RELU6 = (0.0, 6.0)

_CONFIG_KEYS = ("frames", "frame_size", "grid", "vision_dim", "lm_dim", "pixel_mean", "pixel_std")
# StepDiffConfig's mid-level defaults (models/model.py), for configs written before it had them
# (the shipped v1 weights'): blocks 4 (stride 8) and 10 (stride 16), pooled to 7x7 cells.
_MID_DEFAULTS = {"mid_blocks": (4, 10), "mid_grid": 7}


@dataclass(frozen=True)
class _ConvSpec:
    kernel: int
    stride: int
    pads: tuple[int, int, int, int]  # ONNX order: top, left, bottom, right


def _same_pads(design_in: int, kernel: int, stride: int) -> tuple[tuple[int, int, int, int], int]:
    """Conv2dStaticSamePadding's padding at the design size, and the design size after the conv."""
    out = math.ceil(design_in / stride)
    total = max((out - 1) * stride + kernel - design_in, 0)
    lo, hi = total // 2, total - total // 2
    return (lo, lo, hi, hi), out


def _conv_out(size: int, spec: _ConvSpec) -> int:
    return (size + spec.pads[0] + spec.pads[2] - spec.kernel) // spec.stride + 1


def _fold_bn(weight: np.ndarray, bn: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """conv (no bias) then eval-mode BatchNorm == one conv with scaled weights and a bias."""
    w = weight.astype(np.float64)
    scale = bn["weight"].astype(np.float64) / np.sqrt(
        bn["running_var"].astype(np.float64) + _BN_EPS
    )
    bias = bn["bias"].astype(np.float64) - bn["running_mean"].astype(np.float64) * scale
    return (w * scale[:, None, None, None]).astype(np.float32), bias.astype(np.float32)


class _Weights:
    """Named access to a state dict that says which file-level name is missing or misshapen."""

    def __init__(self, tensors: Mapping[str, np.ndarray], what: str) -> None:
        self.tensors, self.what = tensors, what

    def get(self, name: str, shape: tuple[int | None, ...] | None = None) -> np.ndarray:
        if name not in self.tensors:
            raise ValueError(f"{self.what}: weight {name!r} is missing")
        a = np.asarray(self.tensors[name])
        if shape is not None and (
            a.ndim != len(shape)
            or any(s is not None and s != d for s, d in zip(shape, a.shape, strict=True))
        ):
            raise ValueError(f"{self.what}: {name} has shape {list(a.shape)}, expected {shape}")
        return a

    def bn(self, prefix: str, channels: int) -> dict[str, np.ndarray]:
        keys = ("weight", "bias", "running_mean", "running_var")
        return {k: self.get(f"{prefix}.{k}", (channels,)) for k in keys}

    def has(self, name: str) -> bool:
        return name in self.tensors


def _check_config(config: Mapping) -> dict:
    missing = [k for k in _CONFIG_KEYS if k not in config]
    if missing:
        raise ValueError(f"encoder config: missing {', '.join(missing)} (StepDiffConfig fields)")
    c = {k: config[k] for k in _CONFIG_KEYS}
    for k in ("frames", "frame_size", "grid", "vision_dim", "lm_dim"):
        if not isinstance(c[k], int | np.integer) or isinstance(c[k], bool) or c[k] <= 0:
            raise ValueError(f"encoder config: {k} must be a positive integer, got {c[k]!r}")
        c[k] = int(c[k])
    for k in ("pixel_mean", "pixel_std"):
        if not isinstance(c[k], int | float | np.number) or not math.isfinite(c[k]):
            raise ValueError(f"encoder config: {k} must be a number, got {c[k]!r}")
    if c["pixel_std"] == 0:
        raise ValueError("encoder config: pixel_std must not be 0")
    blocks = config.get("mid_blocks", _MID_DEFAULTS["mid_blocks"])
    mid_grid = config.get("mid_grid", _MID_DEFAULTS["mid_grid"])
    if (
        not isinstance(blocks, list | tuple)
        or not blocks
        or any(not isinstance(b, int | np.integer) or b < 0 for b in blocks)
        or list(blocks) != sorted(set(blocks))
    ):
        raise ValueError(
            f"encoder config: mid_blocks must be increasing block indices, got {blocks!r}"
        )
    if not isinstance(mid_grid, int | np.integer) or isinstance(mid_grid, bool) or mid_grid <= 0:
        raise ValueError(f"encoder config: mid_grid must be a positive integer, got {mid_grid!r}")
    c["mid_blocks"], c["mid_grid"] = tuple(int(b) for b in blocks), int(mid_grid)
    if "mid_channels" in config:  # checked against the weights when the graph is built
        c["mid_channels"] = tuple(int(ch) for ch in config["mid_channels"])
    return c


def _conv(
    g: Graph,
    x: str,
    name: str,
    folded: tuple[np.ndarray, np.ndarray],
    spec: _ConvSpec,
    groups: int = 1,
    relu6: bool = True,
) -> str:
    weight, bias = folded
    w = g.initializer(weight, f"{name}/weight")
    b = g.initializer(bias, f"{name}/bias")
    y = g.op(
        "Conv",
        [x, w, b],
        f"{name}/Conv",
        kernel_shape=[spec.kernel, spec.kernel],
        strides=[spec.stride, spec.stride],
        pads=list(spec.pads),
        group=groups,
    )
    if relu6:
        lo, hi = (g.const(v, "float32") for v in _RELU6)
        y = g.op("Clip", [y, lo, hi], f"{name}/Clip")
    return y


_POINTWISE = _ConvSpec(1, 1, (0, 0, 0, 0))


@dataclass(frozen=True)
class _Tap:
    """A tensor of the backbone: its name, channels and (square) size."""

    name: str
    channels: int
    size: int


def _backbone(
    g: Graph, x: str, w: _Weights, frame_size: int, taps: tuple[int, ...] = ()
) -> tuple[_Tap, dict[int, _Tap]]:
    """Normalised NCHW frames -> head features [N, C, h, h], and the outputs of the blocks in
    `taps` (their indices in `_blocks`)."""
    design, size = _DESIGN_SIZE, frame_size

    stem = w.get("_conv_stem.weight", (None, 3, _STEM_KERNEL, _STEM_KERNEL))
    channels = stem.shape[0]
    pads, design = _same_pads(design, _STEM_KERNEL, _STEM_STRIDE)
    spec = _ConvSpec(_STEM_KERNEL, _STEM_STRIDE, pads)
    size = _conv_out(size, spec)
    x = _conv(g, x, "/vision/stem", _fold_bn(stem, w.bn("_bn0", channels)), spec)

    tapped: dict[int, _Tap] = {}
    index = 0
    for repeats, kernel, stage_stride in _LITE0_STAGES:
        for r in range(repeats):
            p, name = f"_blocks.{index}", f"/vision/blocks.{index}"
            if not w.has(f"{p}._depthwise_conv.weight"):
                raise ValueError(
                    f"backbone weights: {p}._depthwise_conv.weight is missing; "
                    "these are not EfficientNet-Lite0 weights"
                )
            stride = stage_stride if r == 0 else 1
            block_in, channels_in = x, channels
            if w.has(f"{p}._expand_conv.weight"):  # the first block has no expansion
                expand = w.get(f"{p}._expand_conv.weight", (None, channels, 1, 1))
                channels = expand.shape[0]
                folded = _fold_bn(expand, w.bn(f"{p}._bn0", channels))
                x = _conv(g, x, f"{name}/expand", folded, _POINTWISE)

            depthwise = w.get(f"{p}._depthwise_conv.weight", (channels, 1, kernel, kernel))
            pads, design = _same_pads(design, kernel, stride)
            spec = _ConvSpec(kernel, stride, pads)
            size = _conv_out(size, spec)
            folded = _fold_bn(depthwise, w.bn(f"{p}._bn1", channels))
            x = _conv(g, x, f"{name}/depthwise", folded, spec, groups=channels)

            project = w.get(f"{p}._project_conv.weight", (None, channels, 1, 1))
            channels = project.shape[0]
            folded = _fold_bn(project, w.bn(f"{p}._bn2", channels))
            x = _conv(g, x, f"{name}/project", folded, _POINTWISE, relu6=False)
            if stride == 1 and channels == channels_in:  # id_skip is on for every Lite block
                x = g.op("Add", [x, block_in], f"{name}/Add")
            if index in taps:
                tapped[index] = _Tap(x, channels, size)
            index += 1
    if w.has(f"_blocks.{index}._depthwise_conv.weight"):
        raise ValueError(f"backbone weights: block {index} exists; expected EfficientNet-Lite0")
    missing = [t for t in taps if t not in tapped]
    if missing:
        raise ValueError(f"encoder config: mid_blocks {missing} past the backbone's {index} blocks")

    head = w.get("_conv_head.weight", (None, channels, 1, 1))
    x = _conv(g, x, "/vision/head", _fold_bn(head, w.bn("_bn1", head.shape[0])), _POINTWISE)
    return _Tap(x, head.shape[0], size), tapped


def _pool_matrix(size: int, grid: int) -> np.ndarray:
    """[h*w, G*G]: column g averages the cells of models.model._grid_pool's bin g."""
    m = np.zeros((size, size, grid * grid), np.float64)
    for i in range(grid):
        y0, y1 = (i * size) // grid, -((-(i + 1) * size) // grid)
        for j in range(grid):
            x0, x1 = (j * size) // grid, -((-(j + 1) * size) // grid)
            m[y0:y1, x0:x1, i * grid + j] = 1.0 / ((y1 - y0) * (x1 - x0))
    return m.reshape(size * size, grid * grid).astype(np.float32)


def _projector(g: Graph, x: str, w: _Weights, c: dict, channels: int) -> str:
    """[N, G*G, C] -> [B, T*G*G, D]."""
    t, gg, d = c["frames"], c["grid"] ** 2, c["lm_dim"]
    if channels != c["vision_dim"]:
        raise ValueError(
            f"encoder config: vision_dim {c['vision_dim']} but the backbone gives {channels}"
        )
    scale = g.initializer(w.get("norm.weight", (channels,)), "/projector/norm/weight")
    shift = g.initializer(w.get("norm.bias", (channels,)), "/projector/norm/bias")
    x = g.op("LayerNormalization", [x, scale, shift], "/projector/norm", axis=-1, epsilon=_LN_EPS)

    w1 = w.get("fc1.weight", (d, channels)).T
    x = g.op("MatMul", [x, g.initializer(w1, "/projector/fc1/weight")], "/projector/fc1/MatMul")
    b1 = g.initializer(w.get("fc1.bias", (d,)), "/projector/fc1/bias")
    x = g.op("Add", [x, b1], "/projector/fc1/Add")

    # exact (erf) GELU, written the way onnxruntime's GeluFusion recognises it
    half = g.op("Div", [x, g.const(math.sqrt(2.0), "float32")], "/projector/gelu/Div")
    e = g.op("Erf", [half], "/projector/gelu/Erf")
    e = g.op("Add", [e, g.const(1.0, "float32")], "/projector/gelu/Add")
    x = g.op("Mul", [x, e], "/projector/gelu/Mul")
    x = g.op("Mul", [x, g.const(0.5, "float32")], "/projector/gelu/Mul_1")

    w2 = w.get("fc2.weight", (d, d)).T
    x = g.op("MatMul", [x, g.initializer(w2, "/projector/fc2/weight")], "/projector/fc2/MatMul")
    # fc2's bias, the time and the space embeddings are all added per token: one constant.
    time = w.get("time", (None, 1, d))
    if time.shape[0] < t:
        raise ValueError(f"projector weights: time has {time.shape[0]} rows, config.frames is {t}")
    space = w.get("space", (1, gg, d))
    pos = time[:t].astype(np.float64) + space.astype(np.float64)  # [T, G*G, D]
    pos = pos + w.get("fc2.bias", (d,)).astype(np.float64)
    x = g.op("Reshape", [x, g.const([-1, t * gg, d])], "/projector/Reshape")
    bias = g.initializer(
        pos.reshape(t * gg, d).astype(np.float32), "/projector/fc2_bias_time_space"
    )
    return g.op("Add", [x, bias], "/projector/Add", outputs=[contract.VIDEO_EMBEDS])


def _mid_channels(c: dict, backbone: Mapping[str, np.ndarray] | None) -> tuple[int, ...]:
    """The channels of the mid-level blocks: read off the weights when given (and checked against
    the config's mid_channels), else the config's."""
    if backbone is None:
        if "mid_channels" not in c:
            raise ValueError("encoder config: mid_channels is missing and no weights were given")
        found = c["mid_channels"]
    else:
        w = _Weights(backbone, "backbone weights")
        past = [b for b in c["mid_blocks"] if not w.has(f"_blocks.{b}._project_conv.weight")]
        if past:
            raise ValueError(f"encoder config: mid_blocks {past} are not blocks of the backbone")
        found = tuple(
            int(w.get(f"_blocks.{b}._project_conv.weight", (None, None, 1, 1)).shape[0])
            for b in c["mid_blocks"]
        )
        if "mid_channels" in c and tuple(c["mid_channels"]) != found:
            raise ValueError(
                f"encoder config: mid_channels {list(c['mid_channels'])} but blocks "
                f"{list(c['mid_blocks'])} of the backbone give {list(found)}"
            )
    if len(found) != len(c["mid_blocks"]):
        raise ValueError(
            f"encoder config: {len(found)} mid_channels for {len(c['mid_blocks'])} mid_blocks"
        )
    return tuple(found)


def encoder_dims(
    config: Mapping, backbone: Mapping[str, np.ndarray] | None = None
) -> contract.ModelDims:
    """The ModelDims vision_encoder.onnx's IO depends on (the LM fields but `hidden` are 0)."""
    c = _check_config(config)
    return replace(
        vision_graph_dims(c),
        vision_dim=c["vision_dim"],
        mid_cells=c["mid_grid"] ** 2,
        mid_dim=sum(_mid_channels(c, backbone)),
    )


def encoder_io(
    config: Mapping, backbone: Mapping[str, np.ndarray] | None = None
) -> contract.GraphIO:
    """vision_encoder.onnx's IO, as the bundle contract gives it for StepDiffConfig's fields."""
    return contract.vision_encoder_io(encoder_dims(config, backbone))


def feature_record(config: Mapping, backbone: Mapping[str, np.ndarray] | None = None) -> dict:
    """What the encoder's outputs are, for the manifest's `video.features`."""
    c = _check_config(config)
    chans = _mid_channels(c, backbone)
    g, m = c["grid"], c["mid_grid"]
    return {
        contract.VIDEO_EMBEDS: (
            f"K = T*{g * g} tokens, frame-major: each frame's {contract.FRAME_HEAD} cells through "
            "the projector (LayerNorm, Linear, exact GELU, Linear) plus a learned temporal "
            "(per frame) and spatial (per cell) position; no mid-level features, no duration"
        ),
        contract.FRAME_HEAD: {
            "source": "EfficientNet-Lite0 head (conv_head, BatchNorm, ReLU6)",
            "pool": f"average over a {g}x{g} grid of static bins, row-major",
            "cells": g * g,
            "channels": c["vision_dim"],
        },
        contract.FRAME_MID: {
            "source": "EfficientNet-Lite0 block outputs (after the skip connection)",
            "blocks": list(c["mid_blocks"]),
            "block_channels": list(chans),
            "pool": f"each block average-pooled to {m}x{m} cells, row-major; channels "
            "concatenated in block order",
            "cells": m * m,
            "channels": sum(chans),
        },
    }


def _pool_cells(g: Graph, tap: _Tap, grid: int, name: str) -> str:
    """[N, C, h, h] -> [N, C, grid, grid]: AveragePool when the bins are equal (h a multiple of
    grid, as 28 and 14 are of 7), else the pool matrix of models.model._grid_pool's uneven bins."""
    if tap.size % grid == 0:
        k = tap.size // grid
        return g.op(
            "AveragePool", [tap.name], f"{name}/AveragePool", kernel_shape=[k, k], strides=[k, k]
        )
    x = g.op("Reshape", [tap.name, g.const([0, tap.channels, tap.size**2])], f"{name}/Reshape")
    pool = g.initializer(_pool_matrix(tap.size, grid), f"{name}/weight")
    x = g.op("MatMul", [x, pool], f"{name}/MatMul")
    return g.op("Reshape", [x, g.const([0, tap.channels, grid, grid])], f"{name}/Reshape_1")


def build_vision_encoder(
    backbone: Mapping[str, np.ndarray],
    projector: Mapping[str, np.ndarray],
    config: Mapping,
    out_path: str,
) -> dict:
    """Write the fp32 encoder graph atomically; return its IO as the manifest records it.

    backbone: EfficientNet-Lite0's state dict (efficientnet_lite_pytorch names, BatchNorm
    running stats included), e.g. from stepdiff.export.torch_pickle.load_state_dict.
    projector: models.model.Projector's state dict (norm.*, fc1.*, fc2.*, time, space).
    config: StepDiffConfig's fields (frames, frame_size, grid, vision_dim, lm_dim, pixel_mean,
    pixel_std; mid_blocks, mid_channels, mid_grid when it has them, else Lite0's 4, 10 and 7).
    """
    c = _check_config(config)
    size, grid, frames, mid_grid = c["frame_size"], c["grid"], c["frames"], c["mid_grid"]
    print(f"building {os.path.basename(out_path)} from weights ...", file=sys.stderr)

    io = encoder_io(c, backbone)
    g = Graph("stepdiff_vision_encoder", opset=17, producer="stepdiff.export.encoder_builder")
    g.declare_io(io)
    # Layout change on uint8 (a quarter of the bytes of float), then the exact torch arithmetic.
    x = g.op(
        "Reshape", [contract.PIXEL_VALUES, g.const([-1, size, size, 3])], "/vision/frames/Reshape"
    )
    x = g.op("Transpose", [x], "/vision/frames/Transpose", perm=[0, 3, 1, 2])
    x = g.op("Cast", [x], "/vision/frames/Cast", to=1)  # FLOAT
    x = g.op("Sub", [x, g.const(float(c["pixel_mean"]), "float32")], "/vision/normalise/Sub")
    x = g.op("Div", [x, g.const(float(c["pixel_std"]), "float32")], "/vision/normalise/Div")

    head, mids = _backbone(g, x, _Weights(backbone, "backbone weights"), size, taps=c["mid_blocks"])
    channels, fsize = head.channels, head.size
    if fsize < grid:
        raise ValueError(
            f"encoder config: frame_size {size} gives {fsize}x{fsize} features, fewer than grid {grid}"
        )
    small = [b for b, t in mids.items() if t.size < mid_grid]
    if small:
        raise ValueError(
            f"encoder config: frame_size {size} gives block {small[0]} "
            f"{mids[small[0]].size}x{mids[small[0]].size} maps, fewer than mid_grid {mid_grid}"
        )

    # Grid pool as one MatMul: [N, C, h*w] @ [h*w, G*G] -> [N, C, G*G] -> [N, G*G, C].
    # The "/vision/pool/" prefix keeps every pool float in the int8 encoder (quantize_encoder).
    x = g.op("Reshape", [head.name, g.const([0, channels, fsize * fsize])], "/vision/pool/Reshape")
    pool = g.initializer(_pool_matrix(fsize, grid), "/vision/pool/weight")
    x = g.op("MatMul", [x, pool], "/vision/pool/MatMul")
    x = g.op("Transpose", [x], "/vision/pool/Transpose", perm=[0, 2, 1])
    g.op(
        "Reshape",
        [x, g.const([-1, frames, grid * grid, channels])],
        "/vision/pool/frame_head",
        outputs=[contract.FRAME_HEAD],
    )

    # Mid-level maps: each block pooled to mid_grid x mid_grid, channels concatenated in block
    # order, then [N, Cm, M] -> [N, M, Cm] -> [B, T, M, Cm].
    cells = [_pool_cells(g, mids[b], mid_grid, f"/vision/pool/mid.{b}") for b in c["mid_blocks"]]
    mid_dim = sum(mids[b].channels for b in c["mid_blocks"])
    y = cells[0] if len(cells) == 1 else g.op("Concat", cells, "/vision/pool/mid/Concat", axis=1)
    y = g.op("Reshape", [y, g.const([0, mid_dim, mid_grid**2])], "/vision/pool/mid/Reshape")
    y = g.op("Transpose", [y], "/vision/pool/mid/Transpose", perm=[0, 2, 1])
    g.op(
        "Reshape",
        [y, g.const([-1, frames, mid_grid**2, mid_dim])],
        "/vision/pool/frame_mid",
        outputs=[contract.FRAME_MID],
    )

    _projector(g, x, _Weights(projector, "projector weights"), c, channels)
    g.save(out_path)
    return io.to_json()
