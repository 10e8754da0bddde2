"""The bundle contract, checked before anything is loaded.

The runtime trusts only what manifest.json says, and only after checking it: every file's sha256,
every path staying inside the bundle, and every graph's IO against what this runtime expects.
A failed check raises BadInput naming the file and the problem.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from stepdiff.runtime import contract
from stepdiff.runtime.contract import TensorIO
from stepdiff.runtime.errors import BadInput
from stepdiff.runtime.files import sha256_bytes, sha256_file


@dataclass(frozen=True)
class GraphSpec:
    path: Path
    inputs: tuple[TensorIO, ...]
    outputs: tuple[TensorIO, ...]
    quantization: str


@dataclass(frozen=True)
class Bundle:
    root: Path
    manifest: dict
    manifest_sha256: str
    graphs: dict[str, GraphSpec]
    dims: contract.ModelDims
    eos_token_ids: tuple[int, ...]
    system_prompt: str
    # The compare head's category names, in the order of its `category` input; () without one.
    categories: tuple[str, ...] = ()

    @property
    def tokenizer_path(self) -> Path:
        return self.root / contract.TOKENIZER

    @property
    def has_compare_head(self) -> bool:
        return contract.COMPARE_HEAD in self.graphs

    def file(self, name: str) -> Path:
        return self.root / name

    # The dimensions callers use most, by name.
    frames = property(lambda self: self.dims.frames)
    frame_size = property(lambda self: self.dims.frame_size)
    tokens_per_video = property(lambda self: self.dims.tokens_per_video)
    hidden = property(lambda self: self.dims.hidden)
    layers = property(lambda self: self.dims.layers)
    kv_heads = property(lambda self: self.dims.kv_heads)
    head_dim = property(lambda self: self.dims.head_dim)
    vocab = property(lambda self: self.dims.vocab)


def _inside(root: Path, rel: str, manifest_path: Path) -> Path:
    if os.path.isabs(rel) or rel.startswith(("/", "\\")):
        raise BadInput(manifest_path, f"path {rel!r} is absolute; bundle paths must be relative")
    p = (root / rel).resolve()
    if root.resolve() not in p.parents:
        raise BadInput(manifest_path, f"path {rel!r} leaves the bundle directory")
    return p


def _specs(items: object, manifest_path: Path, where: str) -> tuple[TensorIO, ...]:
    try:
        return tuple(TensorIO(t["name"], t["dtype"], tuple(t["shape"])) for t in items)
    except (KeyError, TypeError) as e:
        raise BadInput(manifest_path, f"{where}: each tensor needs name, dtype and shape") from e


def check_io(graph: str, spec: GraphSpec, dims: contract.ModelDims, where: Path) -> None:
    """The manifest's IO of `graph` must be exactly what the contract says for these dims."""
    want = contract.graph_io(graph, dims)
    for side, w, got in (
        ("input", want.inputs, spec.inputs),
        ("output", want.outputs, spec.outputs),
    ):
        if tuple(got) != tuple(w):
            missing = [t.name for t in w if t not in got]
            extra = [t.name for t in got if t not in w]
            raise BadInput(
                where,
                f"graph {graph} has the wrong {side}s (missing or different: {missing[:4]}, "
                f"unexpected: {extra[:4]}); re-export the bundle with `stepdiff export`",
            )


def load_bundle(path: str | os.PathLike, verify_hashes: bool = True) -> Bundle:
    root = Path(path)
    mpath = root / contract.MANIFEST
    if not root.is_dir():
        raise BadInput(root, "is not a bundle directory; build one with `stepdiff export`")
    if not mpath.is_file():
        raise BadInput(mpath, "is missing; build the bundle with `stepdiff export`")
    raw = mpath.read_bytes()
    try:
        m = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadInput(mpath, f"is not valid JSON ({e})") from e
    if not isinstance(m, dict) or m.get("format_version") != contract.FORMAT_VERSION:
        raise BadInput(
            mpath,
            f"format_version {m.get('format_version') if isinstance(m, dict) else None!r} is not "
            f"{contract.FORMAT_VERSION}; rebuild the bundle with this version's `stepdiff export`",
        )
    for key in ("files", "graphs", "video", "lm"):
        if not isinstance(m.get(key), dict):
            raise BadInput(mpath, f"field {key!r} is missing or not an object")
    try:
        dims = contract.dims_from_manifest(m)
        eos = tuple(int(t) for t in m["lm"]["eos_token_ids"])
        system_prompt = str(m["lm"]["system_prompt"])
    except (KeyError, TypeError, ValueError) as e:
        raise BadInput(
            mpath, f"field {e} is missing or malformed in 'video', 'lm' or 'compare'"
        ) from e

    files = m["files"]
    graph_paths = [g["path"] for g in m["graphs"].values() if isinstance(g, dict) and "path" in g]
    for name in (*contract.REQUIRED_FILES, *graph_paths):
        if name not in files:
            raise BadInput(mpath, f"file {name!r} is not listed under 'files'")
    for rel, meta in files.items():
        p = _inside(root, rel, mpath)
        if not p.is_file():
            raise BadInput(p, f"is listed in {contract.MANIFEST} but missing from the bundle")
        if not isinstance(meta, dict):
            raise BadInput(mpath, f"files.{rel} must be an object with sha256 and size")
        if p.stat().st_size != meta.get("size"):
            raise BadInput(
                p, f"size {p.stat().st_size} != {meta.get('size')} in {contract.MANIFEST}"
            )
        if verify_hashes and sha256_file(p) != meta.get("sha256"):
            raise BadInput(p, f"sha256 does not match {contract.MANIFEST}: the bundle is corrupt")

    categories: tuple[str, ...] = ()
    listed = [g for g in contract.OPTIONAL_GRAPHS if g in m["graphs"]]
    if contract.COMPARE_HEAD in listed:
        compare = m.get("compare")
        cats = compare.get("categories") if isinstance(compare, dict) else None
        if (
            not isinstance(cats, list)
            or not all(isinstance(c, str) for c in cats)
            or contract.ANY_CATEGORY not in cats
        ):
            raise BadInput(
                mpath,
                f"graph {contract.COMPARE_HEAD} needs field 'compare' with its 'categories' "
                f"(names, {contract.ANY_CATEGORY!r} among them)",
            )
        categories = tuple(cats)

    graphs = {}
    for g in (*contract.GRAPHS, *listed):
        entry = m["graphs"].get(g)
        if not isinstance(entry, dict) or "path" not in entry:
            raise BadInput(mpath, f"graph {g!r} is missing from 'graphs'")
        spec = GraphSpec(
            path=_inside(root, entry["path"], mpath),
            inputs=_specs(entry.get("inputs", []), mpath, f"graphs.{g}.inputs"),
            outputs=_specs(entry.get("outputs", []), mpath, f"graphs.{g}.outputs"),
            quantization=str(entry.get("quantization", "fp32")),
        )
        check_io(g, spec, dims, mpath)
        graphs[g] = spec

    return Bundle(
        root=root,
        manifest=m,
        manifest_sha256=sha256_bytes(raw),
        graphs=graphs,
        dims=dims,
        eos_token_ids=eos,
        system_prompt=system_prompt,
        categories=categories,
    )


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
        raise BadInput(
            spec.path, f"the graph's real inputs/outputs differ from {contract.MANIFEST}"
        )
    return sess
