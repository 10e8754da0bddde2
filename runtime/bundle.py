"""The bundle contract, checked before anything is loaded.

The runtime trusts only what manifest.json says, and only after checking it: every file's sha256,
every path staying inside the bundle, and every graph's IO against what this runtime expects.
A failed check raises BadInput naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from stepdiff.runtime.errors import BadInput

FORMAT_VERSION = 1
GRAPHS = ("vision_encoder", "embed_tokens", "decoder")
REQUIRED_FILES = ("tokenizer.json",)


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str
    shape: tuple[str | int, ...]


@dataclass(frozen=True)
class GraphSpec:
    path: Path
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    quantization: str


@dataclass(frozen=True)
class Bundle:
    root: Path
    manifest: dict
    manifest_sha256: str
    graphs: dict[str, GraphSpec]
    frames: int
    frame_size: int
    tokens_per_video: int
    hidden: int
    layers: int
    kv_heads: int
    head_dim: int
    vocab: int
    eos_token_ids: tuple[int, ...]
    system_prompt: str

    @property
    def tokenizer_path(self) -> Path:
        return self.root / "tokenizer.json"

    def file(self, name: str) -> Path:
        return self.root / name


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def expected_io(
    m: dict,
) -> dict[str, tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]]]:
    """What this runtime can drive: (name, dtype, rank) per input and output, per graph."""
    layers = int(m["lm"]["layers"])
    kv_in = []
    kv_out = []
    for i in range(layers):
        for kind in ("key", "value"):
            kv_in.append((f"past_key_values.{i}.{kind}", "float32", 4))
            kv_out.append((f"present.{i}.{kind}", "float32", 4))
    return {
        "vision_encoder": ([("pixel_values", "uint8", 5)], [("video_embeds", "float32", 3)]),
        "embed_tokens": ([("input_ids", "int64", 2)], [("inputs_embeds", "float32", 3)]),
        "decoder": (
            [
                ("inputs_embeds", "float32", 3),
                ("attention_mask", "int64", 2),
                ("position_ids", "int64", 2),
                *kv_in,
            ],
            [("logits", "float32", 3), *kv_out],
        ),
    }


def _inside(root: Path, rel: str, manifest_path: Path) -> Path:
    if os.path.isabs(rel) or rel.startswith(("/", "\\")):
        raise BadInput(manifest_path, f"path {rel!r} is absolute; bundle paths must be relative")
    p = (root / rel).resolve()
    if root.resolve() not in p.parents:
        raise BadInput(manifest_path, f"path {rel!r} leaves the bundle directory")
    return p


def _specs(items: list, manifest_path: Path, where: str) -> tuple[TensorSpec, ...]:
    try:
        return tuple(TensorSpec(t["name"], t["dtype"], tuple(t["shape"])) for t in items)
    except (KeyError, TypeError) as e:
        raise BadInput(manifest_path, f"{where}: each tensor needs name, dtype and shape") from e


def check_io(graph: str, spec: GraphSpec, m: dict, where: Path) -> None:
    want_in, want_out = expected_io(m)[graph]
    for side, want, got in (("input", want_in, spec.inputs), ("output", want_out, spec.outputs)):
        have = [(t.name, t.dtype, len(t.shape)) for t in got]
        if have != want:
            missing = [w[0] for w in want if w not in have]
            extra = [h[0] for h in have if h not in want]
            raise BadInput(
                where,
                f"graph {graph} has the wrong {side}s (missing or different: {missing[:4]}, "
                f"unexpected: {extra[:4]}); re-export the bundle with `stepdiff export`",
            )


def load_bundle(path: str | os.PathLike, verify_hashes: bool = True) -> Bundle:
    root = Path(path)
    mpath = root / "manifest.json"
    if not root.is_dir():
        raise BadInput(root, "is not a bundle directory; build one with `stepdiff export`")
    if not mpath.is_file():
        raise BadInput(mpath, "is missing; build the bundle with `stepdiff export`")
    raw = mpath.read_bytes()
    try:
        m = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadInput(mpath, f"is not valid JSON ({e})") from e
    if not isinstance(m, dict) or m.get("format_version") != FORMAT_VERSION:
        raise BadInput(
            mpath,
            f"format_version {m.get('format_version') if isinstance(m, dict) else None!r} is not "
            f"{FORMAT_VERSION}; rebuild the bundle with this version's `stepdiff export`",
        )
    for key in ("files", "graphs", "video", "lm"):
        if not isinstance(m.get(key), dict):
            raise BadInput(mpath, f"field {key!r} is missing or not an object")

    files = m["files"]
    for name in (*REQUIRED_FILES, *(g["path"] for g in m["graphs"].values() if "path" in g)):
        if name not in files:
            raise BadInput(mpath, f"file {name!r} is not listed under 'files'")
    for rel, meta in files.items():
        p = _inside(root, rel, mpath)
        if not p.is_file():
            raise BadInput(p, "is listed in manifest.json but missing from the bundle")
        if p.stat().st_size != meta.get("size"):
            raise BadInput(p, f"size {p.stat().st_size} != {meta.get('size')} in manifest.json")
        if verify_hashes and sha256_file(p) != meta.get("sha256"):
            raise BadInput(p, "sha256 does not match manifest.json: the bundle is corrupt")

    graphs = {}
    for g in GRAPHS:
        entry = m["graphs"].get(g)
        if not isinstance(entry, dict) or "path" not in entry:
            raise BadInput(mpath, f"graph {g!r} is missing from 'graphs'")
        spec = GraphSpec(
            path=_inside(root, entry["path"], mpath),
            inputs=_specs(entry.get("inputs", []), mpath, f"graphs.{g}.inputs"),
            outputs=_specs(entry.get("outputs", []), mpath, f"graphs.{g}.outputs"),
            quantization=str(entry.get("quantization", "fp32")),
        )
        check_io(g, spec, m, mpath)
        graphs[g] = spec

    v, lm = m["video"], m["lm"]
    try:
        return Bundle(
            root=root,
            manifest=m,
            manifest_sha256=hashlib.sha256(raw).hexdigest(),
            graphs=graphs,
            frames=int(v["frames"]),
            frame_size=int(v["frame_size"]),
            tokens_per_video=int(v["tokens_per_video"]),
            hidden=int(lm["hidden"]),
            layers=int(lm["layers"]),
            kv_heads=int(lm["kv_heads"]),
            head_dim=int(lm["head_dim"]),
            vocab=int(lm["vocab"]),
            eos_token_ids=tuple(int(t) for t in lm["eos_token_ids"]),
            system_prompt=str(lm["system_prompt"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise BadInput(mpath, f"field {e} is missing or malformed in 'video' or 'lm'") from e


_ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(uint8)": "uint8",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(float16)": "float16",
}


def open_session(bundle: Bundle, graph: str, threads: int = 2):
    """An onnxruntime session whose real IO is checked against the manifest's."""
    import onnxruntime as ort

    spec = bundle.graphs[graph]
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(spec.path), so, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        raise BadInput(spec.path, f"onnxruntime cannot load this graph ({str(e)[:200]})") from e
    real_in = [(i.name, _ORT_TYPES.get(i.type, i.type)) for i in sess.get_inputs()]
    real_out = [(o.name, _ORT_TYPES.get(o.type, o.type)) for o in sess.get_outputs()]
    if real_in != [(t.name, t.dtype) for t in spec.inputs] or real_out != [
        (t.name, t.dtype) for t in spec.outputs
    ]:
        raise BadInput(spec.path, "the graph's real inputs/outputs differ from manifest.json")
    return sess
