"""int8 vision_encoder.onnx: static QDQ quantization calibrated on real-looking clips.

Every convolution of the backbone but the stem becomes int8 (weights per output channel,
activations per tensor with ranges from calibration clips); the grid pool and the projector stay
float, since they see T*G tokens instead of pixels, cost almost nothing, and their error would
reach the LM unfiltered. QDQ keeps the file a plain ONNX graph that onnxruntime fuses into int8
kernels.

Rounding the weights alone costs EfficientNet-Lite a lot: its BatchNorm-folded depthwise kernels
are edge detectors whose taps nearly cancel, so rounding leaves each channel a constant offset on
flat image regions, and later layers amplify it (cosine 0.985 vs fp32 from weight rounding
alone). A bias correction removes that offset: for every quantized conv, the bias absorbs the
expected output error E[conv(x, w_int8 - w)] over the calibration clips (Nagel et al., "Data-Free
Quantization", 2019, computed here from data); weights rounding then costs about 0.0008 cosine.

Calibration clips should look like what the headset sees: the renderer's frames
(models/data/render.py), resized the way runtime/video.py does. Random noise gives activation
ranges that real frames never reach.

The file must compute the same on every CPU that runs it. onnxruntime runs these convs as uint8
activations x int8 weights. On x86 without VNNI (AVX2; AVX-512 without VNNI) its kernels multiply
with vpmaddubsw, which adds two u8*s8 products into a saturating int16, and 2*255*127 = 64770
does not fit: with full-range weights the encoder fell to cosine 0.93 (min 0.81) vs fp32 on an
AVX2 EPYC, against 0.998 for the same file with its QDQ nodes evaluated in float, which is what
VNNI and ARM kernels (32-bit sums) compute. So the dense convs (expand, project, head: kernels
that pair input channels) get 7-bit weights, [-64, 64] (onnxruntime's reduce_range, for those
weights only): 2*255*64 = 32640 fits, on every CPU. Depthwise convs keep [-127, 127]: every
depthwise kernel widens each product to 32 bits first. The stem stays float: its 27-tap kernels
on the raw image lose the most from 7 bits (cosine mean 0.989 -> 0.994 on 16 held-out clips), it
reads float pixels, and it costs little. uint8 weights (U8U8) avoid the overflow too, but run
slower on x86 (with them the depthwise convs made the encoder 6x slower here), miss the
symmetric-weight conv kernels on ARM, and some onnxruntime releases sent U8U8 GEMMs to U8S8
kernels on VNNI/AMX CPUs (onnxruntime PR #27671).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

from stepdiff.runtime.files import write_atomic_with

# The stem and everything after the backbone stay float (see the module docstring).
DEFAULT_KEEP_FLOAT_PREFIXES = ("/vision/stem/", "/vision/pool/", "/projector/")

# Weight ranges that keep uint8 x int8 products exact on every CPU (see the module docstring):
# a dense conv's kernel adds two u8*s8 products in int16 on x86 without VNNI, so its weights
# stay within 64 (2*255*64 = 32640 <= 32767); depthwise kernels add each product in 32 bits.
DENSE_WEIGHT_LIMIT = 64
DEPTHWISE_WEIGHT_LIMIT = 127


@dataclass(frozen=True)
class QuantizeOptions:
    calibrate_method: str = "minmax"  # "minmax", "percentile" or "entropy"
    activation_type: str = "uint8"  # uint8 activations x int8 weights: the fast x86/ARM path
    bias_correction: bool = True
    keep_float_prefixes: tuple[str, ...] = DEFAULT_KEEP_FLOAT_PREFIXES
    keep_float_nodes: tuple[str, ...] = ()  # whole node names, e.g. a projector MatMul
    max_clips: int = 32  # calibration clips used at most


def _graph_input(model: onnx.ModelProto, path: str) -> tuple[str, tuple]:
    if len(model.graph.input) != 1:
        raise ValueError(
            f"{path}: expected one input (pixel_values), found {len(model.graph.input)}"
        )
    inp = model.graph.input[0]
    dims = tuple(
        d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim
    )
    return inp.name, dims


def _progress(total: int | None, desc: str):
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional: no bar, same result
        return _NoBar()
    return tqdm(total=total, desc=desc, unit="clip", file=sys.stderr, leave=False)


class _NoBar:
    def update(self, _n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _take_clips(clips: Iterable[np.ndarray], dims: tuple, limit: int) -> list[np.ndarray]:
    """The first `limit` clips as [1, T, H, W, 3] uint8, each checked against the graph input."""
    out: list[np.ndarray] = []
    want = tuple(dims[1:])
    for i, clip in enumerate(clips):
        if i >= limit:
            break
        clip = np.asarray(clip)
        if clip.ndim == len(dims) - 1:
            clip = clip[None]
        if clip.dtype != np.uint8 or clip.ndim != len(dims) or clip.shape[1:] != want:
            raise ValueError(
                f"calibration clip {i}: got {clip.dtype} {list(clip.shape)}, the encoder takes "
                f"uint8 [T, H, W, 3] = {list(want)} (resize frames like runtime/video.py does)"
            )
        out.extend(clip[j : j + 1] for j in range(clip.shape[0]))
    if not out:
        raise ValueError("calibration: no clips given; pass rendered clips at the frame size")
    return out[:limit]


def _keep_float(model: onnx.ModelProto, options: QuantizeOptions) -> list[str]:
    names = [n.name for n in model.graph.node]
    unknown = [n for n in options.keep_float_nodes if n not in names]
    if unknown:
        raise ValueError(f"keep_float_nodes: no node named {unknown[0]!r} in the encoder graph")
    kept = [n for n in names if n.startswith(options.keep_float_prefixes)]
    return sorted(set(kept) | set(options.keep_float_nodes))


class _DropHint(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing" not in record.getMessage()


@contextlib.contextmanager
def _quiet_preprocessing_hint():
    """quantize_static logs a hint to run its shape-inference pre-pass; this graph is built with
    BatchNorm already folded and static shapes, so the hint is noise."""
    hint = _DropHint()
    root = logging.getLogger()
    root.addFilter(hint)
    try:
        yield
    finally:
        root.removeFilter(hint)


def _session(model: onnx.ModelProto):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _is_depthwise(node: onnx.NodeProto) -> bool:
    return _attrs(node).get("group", 1) > 1


def _dense_weight_overrides(model: onnx.ModelProto, keep: list[str]) -> dict:
    """TensorQuantOverrides giving every quantized dense conv 7-bit weights, per output channel
    (without "axis" onnxruntime would fall back to one scale per tensor)."""
    kept = set(keep)
    return {
        n.input[1]: [{"axis": 0, "reduce_range": True}]
        for n in model.graph.node
        if n.op_type == "Conv" and n.name not in kept and not _is_depthwise(n)
    }


def _check_weight_ranges(q: onnx.ModelProto, path: str) -> None:
    """Every int8 conv weight within the limit its kernels need (DENSE/DEPTHWISE_WEIGHT_LIMIT):
    a dense weight of 65..127 would saturate the int16 pair sums of non-VNNI x86 kernels."""
    inits = {t.name: t for t in q.graph.initializer}
    producer = {o: n for n in q.graph.node for o in n.output}
    for n in q.graph.node:
        wdq = producer.get(n.input[1]) if n.op_type == "Conv" else None
        if wdq is None or wdq.op_type != "DequantizeLinear" or wdq.input[0] not in inits:
            continue
        w = numpy_helper.to_array(inits[wdq.input[0]])
        zero = numpy_helper.to_array(inits[wdq.input[2]]) if len(wdq.input) > 2 else 0
        largest = int(np.abs(w.astype(np.int32)).max())
        limit = DEPTHWISE_WEIGHT_LIMIT if _is_depthwise(n) else DENSE_WEIGHT_LIMIT
        if w.dtype != np.int8 or np.any(zero != 0) or largest > limit:
            raise ValueError(
                f"{path}: conv {n.name} has {w.dtype} weights up to {largest}"
                f"{'' if not np.any(zero != 0) else ' with a zero point'}; symmetric int8 within "
                f"{limit} is what every CPU computes exactly"
            )


def _tap_means(x: np.ndarray, node: onnx.NodeProto) -> np.ndarray:
    """Mean input seen by each kernel tap over all output positions: [C_in, kh, kw]."""
    a = _attrs(node)
    kh, kw = a.get("kernel_shape", (1, 1))
    sh, sw = a.get("strides", (1, 1))
    top, left, bottom, right = a.get("pads", (0, 0, 0, 0))
    if any(d != 1 for d in a.get("dilations", (1, 1))):
        raise ValueError(f"{node.name}: dilated convs are not supported by the bias correction")
    if (kh, kw, sh, sw) == (1, 1, 1, 1) and not any((top, left, bottom, right)):
        return x.mean(axis=(0, 2, 3), dtype=np.float64)[:, None, None]
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    m = np.empty((x.shape[1], kh, kw), np.float64)
    for i in range(kh):
        for j in range(kw):
            taps = xp[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
            m[:, i, j] = taps.mean(axis=(0, 2, 3), dtype=np.float64)
    return m


def _conv_input_means(fp32: onnx.ModelProto, clips: list[np.ndarray], name: str) -> dict:
    """{conv name: tap means of its input} over the calibration clips, from the fp32 graph."""
    convs = [n for n in fp32.graph.node if n.op_type == "Conv"]
    probe = onnx.ModelProto()
    probe.CopyFrom(fp32)
    outputs = {o.name for o in probe.graph.output}
    for n in convs:
        if n.input[0] not in outputs:
            probe.graph.output.append(
                helper.make_tensor_value_info(n.input[0], onnx.TensorProto.FLOAT, None)
            )
            outputs.add(n.input[0])
    sess = _session(probe)
    sums: dict[str, np.ndarray] = {}
    bar = _progress(len(clips), "bias correction")
    for clip in clips:
        values = sess.run([n.input[0] for n in convs], {name: clip})
        for n, v in zip(convs, values, strict=True):
            sums[n.name] = sums.get(n.name, 0.0) + _tap_means(v, n)
        bar.update(1)
    bar.close()
    return {k: v / len(clips) for k, v in sums.items()}


def _correct_biases(q: onnx.ModelProto, fp32: onnx.ModelProto, means: dict) -> int:
    """Fold each quantized conv's expected weight-rounding error into its int32 bias."""
    inits = {t.name: t for t in q.graph.initializer}
    producer = {o: n for n in q.graph.node for o in n.output}
    float_weights = {t.name: t for t in fp32.graph.initializer}
    fp32_convs = {n.name: n for n in fp32.graph.node if n.op_type == "Conv"}
    corrected = 0
    for node in q.graph.node:
        if node.op_type != "Conv" or node.name not in fp32_convs or len(node.input) < 3:
            continue
        wdq, bdq = producer.get(node.input[1]), producer.get(node.input[2])
        if any(d is None or d.op_type != "DequantizeLinear" for d in (wdq, bdq)):
            continue  # kept float
        ref = fp32_convs[node.name]
        w = numpy_helper.to_array(float_weights[ref.input[1]]).astype(np.float64)
        wq = numpy_helper.to_array(inits[wdq.input[0]]).astype(np.float64)
        ws = numpy_helper.to_array(inits[wdq.input[1]]).astype(np.float64)
        wz = (
            numpy_helper.to_array(inits[wdq.input[2]]).astype(np.float64)
            if len(wdq.input) > 2
            else 0.0
        )
        shape = (-1,) + (1,) * (w.ndim - 1)
        dw = (wq - np.reshape(wz, shape)) * np.reshape(ws, shape) - w  # [O, I/g, kh, kw]

        groups = _attrs(node).get("group", 1)
        m = means[node.name]  # [I, kh, kw]
        o = dw.shape[0]
        err = np.einsum(
            "goikl,gikl->go",
            dw.reshape(groups, o // groups, *dw.shape[1:]),
            m.reshape(groups, m.shape[0] // groups, *m.shape[1:]),
        ).reshape(o)

        b = numpy_helper.to_array(float_weights[ref.input[2]]).astype(np.float64)
        bq_init = inits[bdq.input[0]]
        bs = numpy_helper.to_array(inits[bdq.input[1]]).astype(np.float64)
        new = np.clip(np.round((b - err) / bs), -(2**31), 2**31 - 1).astype(np.int32)
        bq_init.CopyFrom(
            numpy_helper.from_array(new.reshape(numpy_helper.to_array(bq_init).shape), bq_init.name)
        )
        corrected += 1
    return corrected


def _check_float_convs(q: onnx.ModelProto, path: str) -> None:
    """onnxruntime re-quantizes a float Conv fed by a DequantizeLinear with one per-tensor weight
    scale when it loads the graph (its WeightBiasQuantization pass), which wrecks depthwise
    kernels; refuse such a graph instead of shipping that surprise."""
    producer = {o: n for n in q.graph.node for o in n.output}
    for n in q.graph.node:
        if n.op_type != "Conv":
            continue
        src, w = producer.get(n.input[0]), producer.get(n.input[1])
        if (
            src is not None
            and src.op_type == "DequantizeLinear"
            and (w is None or w.op_type != "DequantizeLinear")
        ):
            raise ValueError(
                f"{path}: conv {n.name} is kept float after an int8 tensor; onnxruntime would "
                "quantize its weights per-tensor at load. Keep float only a prefix of the backbone "
                "(convs fed by float tensors), or no conv"
            )


def quantize_vision_encoder(
    fp32_path: str,
    out_path: str,
    calibration: Iterable[np.ndarray],
    options: QuantizeOptions = QuantizeOptions(),
) -> dict:
    """Write an int8 QDQ copy of the fp32 encoder atomically, calibrated on `calibration`.

    calibration: uint8 clips [T, H, W, 3] (or [B, T, H, W, 3]) at the graph's frame size; the
    first `options.max_clips` are used. Returns the manifest's quantization entry for the graph.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    methods = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
        "entropy": CalibrationMethod.Entropy,
    }
    types = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}
    if options.calibrate_method not in methods:
        raise ValueError(
            f"calibrate_method {options.calibrate_method!r}: use one of {sorted(methods)}"
        )
    if options.activation_type not in types:
        raise ValueError(f"activation_type {options.activation_type!r}: use uint8 or int8")
    if not os.path.isfile(fp32_path):
        raise ValueError(f"{fp32_path}: no such file; build the fp32 encoder first")
    try:
        fp32 = onnx.load(fp32_path)
    except Exception as e:
        raise ValueError(f"{fp32_path}: not a readable ONNX model ({e})") from e
    name, dims = _graph_input(fp32, fp32_path)
    keep = _keep_float(fp32, options)
    clips = _take_clips(calibration, dims, options.max_clips)

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.left = iter(clips)
            self.bar = _progress(len(clips), "calibrating")

        def get_next(self):
            clip = next(self.left, None)
            if clip is None:
                self.bar.close()
                return None
            self.bar.update(1)
            return {name: clip}

    directory = os.path.dirname(os.path.abspath(out_path)) or "."
    os.makedirs(directory, exist_ok=True)
    print(f"quantizing {os.path.basename(fp32_path)} on {len(clips)} clips ...", file=sys.stderr)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".quant-") as tmp:
        tmp_out = os.path.join(tmp, os.path.basename(out_path))
        with _quiet_preprocessing_hint():
            quantize_static(
                fp32_path,
                tmp_out,
                _Reader(),
                quant_format=QuantFormat.QDQ,
                per_channel=True,  # one scale per output channel: depthwise kernels differ widely
                activation_type=types[options.activation_type],
                weight_type=QuantType.QInt8,
                nodes_to_exclude=keep,
                calibrate_method=methods[options.calibrate_method],
                extra_options={"TensorQuantOverrides": _dense_weight_overrides(fp32, keep)},
            )
        q = onnx.load(tmp_out)
        _check_float_convs(q, out_path)
        _check_weight_ranges(q, out_path)
        corrected = 0
        if options.bias_correction:
            corrected = _correct_biases(q, fp32, _conv_input_means(fp32, clips, name))
        q.producer_name = "stepdiff.export.quantize_encoder"
        write_atomic_with(out_path, lambda tmp_path: onnx.save_model(q, tmp_path))
    return {
        "format": "QDQ static",
        "weights": "int8 per-channel",
        # The ranges that make the int8 kernels exact with and without VNNI and on ARM.
        "weight_range": {
            "dense": [-DENSE_WEIGHT_LIMIT, DENSE_WEIGHT_LIMIT],
            "depthwise": [-DEPTHWISE_WEIGHT_LIMIT, DEPTHWISE_WEIGHT_LIMIT],
        },
        "activations": options.activation_type + " per-tensor",
        "calibration": options.calibrate_method,
        "calibration_clips": len(clips),
        "bias_correction": corrected,
        "kept_float": keep,
        "size_bytes": os.path.getsize(out_path),
    }


def _maybe(rng: np.random.Generator, values, p: float) -> str | None:
    return str(values[rng.integers(len(values))]) if rng.random() < p else None


def rendered_clips(count: int, frames: int, frame_size: int, seed: int = 0) -> Iterator[np.ndarray]:
    """`count` uint8 clips [T, S, S, 3] of procedurally rendered cooking steps, sampled the way
    the runtime samples a step (T bin centres), for calibration or held-out checks."""
    try:
        from stepdiff.models.data.lexicon import INGREDIENTS
        from stepdiff.models.data.render import (
            RenderOptions,
            Segment,
            render_segment,
            segment_length,
        )
        from stepdiff.models.data.slots import CONTAINERS, HEATS, TOOLS, UNITS, VERB_MOTION, Slots
    except ImportError as e:
        raise ValueError(
            f"rendered calibration clips need the renderer (models/data/render.py): {e}"
        ) from e
    from stepdiff.runtime.video import sample_indices

    verbs, foods = sorted(VERB_MOTION), sorted(INGREDIENTS)
    options = RenderOptions(size=frame_size)
    for i in range(count):
        rng = np.random.default_rng([seed, i, 0xCA1])

        slots = Slots(
            verb=verbs[rng.integers(len(verbs))],
            ingredients=tuple(str(f) for f in rng.choice(foods, rng.integers(1, 3), replace=False)),
            quantity=float(rng.integers(1, 4)) if rng.random() < 0.6 else None,
            unit=_maybe(rng, UNITS, 0.6),
            tool=_maybe(rng, TOOLS, 0.4),
            container=_maybe(rng, CONTAINERS, 0.8),
            duration_s=float(rng.integers(10, 300)) if rng.random() < 0.3 else None,
            heat=_maybe(rng, HEATS, 0.3),
        )
        n = segment_length(slots, options.fps)
        video = render_segment(
            Segment(slots, n, int(rng.integers(0, 12))), seed * 100_003 + i, options
        )
        yield video[sample_indices(0, n, frames)]


def encoder_parity(
    reference_path: str, candidate_path: str, clips: Iterable[np.ndarray], threads: int = 2
) -> dict:
    """How close a candidate encoder's video_embeds are to the reference's on the same clips:
    per-token cosine similarity (mean, min) and the largest absolute difference."""
    import onnxruntime as ort

    def session(path: str):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

    ref, cand = session(reference_path), session(candidate_path)
    name = ref.get_inputs()[0].name
    cos: list[np.ndarray] = []
    max_abs = 0.0
    for clip in clips:
        x = clip[None] if clip.ndim == 4 else clip
        a = ref.run(None, {name: x})[0].astype(np.float64)
        b = cand.run(None, {name: x})[0].astype(np.float64)
        norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
        cos.append(((a * b).sum(-1) / np.maximum(norms, 1e-12)).ravel())
        max_abs = max(max_abs, float(np.abs(a - b).max()))
    if not cos:
        raise ValueError("encoder_parity: no clips given")
    c = np.concatenate(cos)
    return {
        "cos_mean": float(c.mean()),
        "cos_min": float(c.min()),
        "max_abs_diff": max_abs,
        "tokens": int(c.size),
    }
