"""Writes a bundle directory: the three graphs (and compare_head.onnx when the sources have a
comparison head), the tokenizer and the manifest that binds them.

The directory is built beside its destination and moved into place at the end, so a failed
export never leaves a half-written bundle where a good one was.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from stepdiff.export.compare_builder import CompareHeadWeights, build_compare_head
from stepdiff.export.decoder_builder import DecoderBuildOptions, build_decoder, build_embed_tokens
from stepdiff.export.encoder_builder import build_vision_encoder, feature_record
from stepdiff.export.genai_config import write_genai_files
from stepdiff.export.sources import BundleSources, bundle_dims, sources_from_model
from stepdiff.runtime import contract
from stepdiff.runtime.contract import FORMAT_VERSION, MANIFEST, ModelDims, graph_file, graph_io
from stepdiff.runtime.files import sha256_file, write_json
from stepdiff.runtime.prompt import SYSTEM


@dataclass(frozen=True)
class ExportOptions:
    quant: str = "fp32"  # "fp32" | "int8" | "int4"
    block_size: int = 32
    accuracy_level: int = 4
    encoder: str = "fp32"  # "fp32" | "int8": static QDQ, calibrated on rendered frames
    # How the shipped LoRA reaches the decoder: "merged" into the weights, or a float "side"
    # branch beside the quantized base weights; "auto" = side for int4, merged otherwise.
    lora: str = "auto"


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("stepdiff", "torch", "transformers", "onnx", "onnxruntime", "numpy", "gguf"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def _graph_entry(graph: str, dims: ModelDims, quantization: str, **detail) -> dict:
    """A graph's manifest entry: its IO as the contract gives it, its file, its quantization."""
    return {
        **graph_io(graph, dims).to_json(),
        "path": graph_file(graph),
        "quantization": quantization,
        **detail,
    }


def _compare_record(head: CompareHeadWeights, dims: ModelDims) -> dict:
    """The manifest's `compare` field: what the compare head's inputs and outputs mean."""
    return {
        "embed_dim": dims.compare_embed,
        "diff_tokens": dims.diff_tokens,
        "text_dim": dims.hidden,
        "categories": list(head.categories),
        "any_category": contract.ANY_CATEGORY,
        "text_rule": contract.TEXT_RULE,
        "inputs": (
            f"{contract.REF_MID}/{contract.REF_HEAD} and {contract.USER_MID}/"
            f"{contract.USER_HEAD}: vision_encoder's {contract.FRAME_MID}/{contract.FRAME_HEAD} "
            "of each clip, the user's frames reordered to the reference's by DTW "
            "(runtime/align.py on the head features averaged over the grid); "
            f"{contract.SECONDS}: [reference, user] clip durations in seconds; "
            f"{contract.CATEGORY}: index into categories"
        ),
        "outputs": {
            contract.SEVERITY: "0..5, 0 = same; the DiffRank score is 5 - severity",
            contract.MATCH: "scaled cosine of pair_vector and the text's vector (DiffMCQ)",
            contract.PAIR_VECTOR: "unit vector of the (reference, user) pair",
            contract.DIFF_TOKENS: "N vectors in the LM's embedding space",
        },
        "config": dict(head.config),
        "source": head.description,
        "sha256": head.sha256,
    }


def write_bundle(
    model_or_sources,
    out_dir: str | os.PathLike,
    options: ExportOptions = ExportOptions(),
    source: str = "",
) -> Path:
    """Exports a models.model.StepDiffModel or export.sources.BundleSources into `out_dir`,
    replacing what was there. Only the StepDiffModel form needs torch."""
    from stepdiff.models.pretrained import EFFNET_ID, SMOLLM2_GGUF_SHA256, SMOLLM2_ID

    src = (
        model_or_sources
        if isinstance(model_or_sources, BundleSources)
        else sources_from_model(model_or_sources, source or "untrained projector")
    )
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".bundle-", dir=out.parent))
    try:
        c = src.config
        lm = src.dims
        dims = bundle_dims(src)
        graphs = {}
        encoder_path = tmp / graph_file("vision_encoder")
        build_vision_encoder(src.backbone, src.projector, c, str(encoder_path))
        graphs["vision_encoder"] = _graph_entry("vision_encoder", dims, "fp32")
        if options.encoder == "int8":
            from stepdiff.export.quantize_encoder import quantize_vision_encoder, rendered_clips

            fp32_path = tmp / "vision_encoder.fp32.onnx"
            os.replace(encoder_path, fp32_path)
            detail = quantize_vision_encoder(
                str(fp32_path),
                str(encoder_path),
                rendered_clips(32, c["frames"], c["frame_size"], seed=0),
            )
            fp32_path.unlink()
            graphs["vision_encoder"] = _graph_entry(
                "vision_encoder", dims, "int8", quantization_detail=detail
            )

        # int4 by default keeps the GGUF's Q4_1 weights on their own grid (exact) and runs the
        # LoRA as a small float side branch: most LoRA deltas are below half a 4-bit step, so
        # re-quantizing merged weights rounds them away (teacher-forced greedy agreement with
        # fp32 fell to 0.68; the side branch gives 1.00, at about 30% of decode speed). int8's
        # step is 16x finer, so it re-quantizes the merged weights (0.98).
        lora_mode = (
            options.lora
            if options.lora != "auto"
            else ("side" if options.quant == "int4" else "merged")
        )
        side = src.lora if lora_mode == "side" else {}
        weights = src.lm if side else src.merged_lm()
        embed_file, decoder_file = graph_file("embed_tokens"), graph_file("decoder")
        print(f"building {embed_file} and {decoder_file} ({options.quant}) ...", file=sys.stderr)
        q = options.quant
        # The GGUF stores the tied embedding as 8-bit, so int8 embedding and LM head lose
        # nothing against it; the fp32 bundle stays the plain reference.
        table_q = "fp32" if q == "fp32" else "int8"
        build_embed_tokens(weights, lm, str(tmp / embed_file), quant=table_q)
        graphs["embed_tokens"] = _graph_entry("embed_tokens", dims, table_q)
        dec_opts = DecoderBuildOptions(
            quant=q,
            block_size=options.block_size,
            accuracy_level=options.accuracy_level,
            lm_head=table_q,
            attention="standard" if q == "fp32" else "gqa",
        )
        build_decoder(weights, lm, dec_opts, str(tmp / decoder_file), side, src.lora_scale)
        graphs["decoder"] = _graph_entry("decoder", dims, q)
        if q != "fp32":
            graphs["decoder"]["quantization_detail"] = {
                "op": "MatMulNBits",
                "block_size": options.block_size,
                "accuracy_level": options.accuracy_level,
                "lm_head": table_q,
                "attention": "GroupQueryAttention",
                "lora": "float side branch" if side else "merged",
            }

        compare = None
        if src.compare_head is not None:
            # fp32 whatever the quant: an int8 head is not faster on a 2-core CPU and costs
            # accuracy (export/compare_builder.py has the numbers); the file is 9.6 MB.
            head = src.compare_head
            path = tmp / graph_file(contract.COMPARE_HEAD)
            build_compare_head(head.state, head.config, str(path))
            graphs[contract.COMPARE_HEAD] = _graph_entry(contract.COMPARE_HEAD, dims, "fp32")
            compare = _compare_record(head, dims)

        for name, data in src.tokenizer_files.items():
            (tmp / name).write_bytes(data)

        files = {}
        for p in sorted(tmp.iterdir()):
            if p.is_file():
                files[p.name] = {"sha256": sha256_file(p), "size": p.stat().st_size}
        manifest = {
            "format_version": FORMAT_VERSION,
            "name": f"stepdiff-smollm2-135m-effnetlite0-{q}",
            "models": {
                "lm": {
                    "id": SMOLLM2_ID,
                    "gguf_sha256": SMOLLM2_GGUF_SHA256,
                    "license": "Apache-2.0",
                },
                "vision": {"id": EFFNET_ID, "license": "Apache-2.0"},
                "stepdiff_weights": {
                    "source": src.description,
                    "sha256": src.weights_sha256,
                    "license": "Apache-2.0",
                },
            },
            "video": {
                "frames": c["frames"],
                "frame_size": c["frame_size"],
                "tokens_per_frame": c["grid"] ** 2,
                "tokens_per_video": c["frames"] * c["grid"] ** 2,
                "vision_dim": dims.vision_dim,
                "mid_cells": dims.mid_cells,
                "mid_dim": dims.mid_dim,
                "features": feature_record(c, src.backbone),
                "pixel_format": "RGB uint8, centre square crop, INTER_AREA resize",
                "pixel_normalization": {
                    "mean": c["pixel_mean"],
                    "std": c["pixel_std"],
                    "in_graph": True,
                },
                "sampling": "uniform: centres of T equal bins over the clip",
            },
            "lm": {
                "hidden": lm.hidden,
                "layers": lm.layers,
                "heads": lm.heads,
                "kv_heads": lm.kv_heads,
                "head_dim": lm.head_dim,
                "vocab": lm.vocab,
                "max_length": lm.max_positions,
                "eos_token_ids": [2],  # <|im_end|>: SmolLM2's end of turn
                "system_prompt": SYSTEM,
                "chat_format": "chatml",
                "video_placeholder": "<video>",
            },
            "graphs": graphs,
            "files": files,
            "tools": _versions(),
        }
        if compare is not None:
            manifest["compare"] = compare
        manifest["files"].update(write_genai_files(tmp, manifest))  # lists them with sha256
        write_json(tmp / MANIFEST, manifest, indent=2)
        tmp.chmod(0o755)  # mkdtemp makes it private; a bundle is meant to be shared
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=".old-bundle-", dir=out.parent))
            os.replace(out, old / "b")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
