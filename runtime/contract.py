"""The bundle contract: graph names, their inputs and outputs, the KV names, the format version.

This module is the seam between export/ and the runtime. Export writes each graph and its
manifest entry from `graph_io`; genai_config.json takes its names from here; the runtime checks a
bundle's manifest against the same function before it opens any session. Nothing else spells
these names.

    vision_encoder  pixel_values uint8 [B, T, H, W, 3] -> video_embeds float32 [B, K, D]
    embed_tokens    input_ids int64 [B, S] -> inputs_embeds float32 [B, S, D]
    decoder         inputs_embeds [B, S, D], attention_mask int64 [B, P+S],
                    position_ids int64 [B, S], past_key_values.{i}.key/.value [B, Hkv, P, Dh]
                    -> logits [B, S, V], present.{i}.key/.value [B, Hkv, P+S, Dh]
"""

from __future__ import annotations

from dataclasses import dataclass

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TOKENIZER = "tokenizer.json"
GENAI_CONFIG = "genai_config.json"
GRAPHS = ("vision_encoder", "embed_tokens", "decoder")
REQUIRED_FILES = (TOKENIZER,)

# Tensor names.
PIXEL_VALUES = "pixel_values"
VIDEO_EMBEDS = "video_embeds"
INPUT_IDS = "input_ids"
INPUTS_EMBEDS = "inputs_embeds"
ATTENTION_MASK = "attention_mask"
POSITION_IDS = "position_ids"
LOGITS = "logits"
KV_KINDS = ("key", "value")
# printf patterns, the form onnxruntime-genai's config takes them in.
PAST_PATTERN = "past_key_values.%d.{kind}"
PRESENT_PATTERN = "present.%d.{kind}"

# Symbolic dimensions.
BATCH = "batch_size"
SEQUENCE = "sequence_length"
PAST_SEQUENCE = "past_sequence_length"
TOTAL_SEQUENCE = "total_sequence_length"


def graph_file(graph: str) -> str:
    return f"{graph}.onnx"


def past_name(layer: int, kind: str) -> str:
    return PAST_PATTERN.format(kind=kind) % layer


def present_name(layer: int, kind: str) -> str:
    return PRESENT_PATTERN.format(kind=kind) % layer


def past_names(layers: int) -> list[str]:
    return [past_name(i, k) for i in range(layers) for k in KV_KINDS]


def present_names(layers: int) -> list[str]:
    return [present_name(i, k) for i in range(layers) for k in KV_KINDS]


@dataclass(frozen=True)
class TensorIO:
    name: str
    dtype: str  # numpy spelling: "float32", "int64", "uint8"
    shape: tuple[str | int, ...]  # str = symbolic dimension

    def to_json(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


@dataclass(frozen=True)
class GraphIO:
    inputs: tuple[TensorIO, ...]
    outputs: tuple[TensorIO, ...]

    def to_json(self) -> dict:
        return {
            "inputs": [t.to_json() for t in self.inputs],
            "outputs": [t.to_json() for t in self.outputs],
        }


@dataclass(frozen=True)
class ModelDims:
    """What the graph shapes depend on; the manifest's `video` and `lm` fields hold them."""

    frames: int
    frame_size: int
    tokens_per_video: int
    hidden: int
    layers: int
    kv_heads: int
    head_dim: int
    vocab: int


def vision_encoder_io(d: ModelDims) -> GraphIO:
    return GraphIO(
        inputs=(TensorIO(PIXEL_VALUES, "uint8", (BATCH, d.frames, d.frame_size, d.frame_size, 3)),),
        outputs=(TensorIO(VIDEO_EMBEDS, "float32", (BATCH, d.tokens_per_video, d.hidden)),),
    )


def embed_tokens_io(d: ModelDims) -> GraphIO:
    return GraphIO(
        inputs=(TensorIO(INPUT_IDS, "int64", (BATCH, SEQUENCE)),),
        outputs=(TensorIO(INPUTS_EMBEDS, "float32", (BATCH, SEQUENCE, d.hidden)),),
    )


def decoder_io(d: ModelDims) -> GraphIO:
    kv_past = (BATCH, d.kv_heads, PAST_SEQUENCE, d.head_dim)
    kv_total = (BATCH, d.kv_heads, TOTAL_SEQUENCE, d.head_dim)
    inputs = [
        TensorIO(INPUTS_EMBEDS, "float32", (BATCH, SEQUENCE, d.hidden)),
        TensorIO(ATTENTION_MASK, "int64", (BATCH, TOTAL_SEQUENCE)),
        TensorIO(POSITION_IDS, "int64", (BATCH, SEQUENCE)),
    ]
    outputs = [TensorIO(LOGITS, "float32", (BATCH, SEQUENCE, d.vocab))]
    inputs += [TensorIO(n, "float32", kv_past) for n in past_names(d.layers)]
    outputs += [TensorIO(n, "float32", kv_total) for n in present_names(d.layers)]
    return GraphIO(tuple(inputs), tuple(outputs))


def graph_io(graph: str, dims: ModelDims) -> GraphIO:
    builders = {
        "vision_encoder": vision_encoder_io,
        "embed_tokens": embed_tokens_io,
        "decoder": decoder_io,
    }
    if graph not in builders:
        raise KeyError(f"no graph {graph!r} in the bundle contract; graphs: {', '.join(GRAPHS)}")
    return builders[graph](dims)


def dims_from_manifest(manifest: dict) -> ModelDims:
    """ModelDims from a manifest's `video` and `lm` fields (KeyError/TypeError/ValueError if
    they are missing or malformed; the caller names the file)."""
    v, lm = manifest["video"], manifest["lm"]
    return ModelDims(
        frames=int(v["frames"]),
        frame_size=int(v["frame_size"]),
        tokens_per_video=int(v["tokens_per_video"]),
        hidden=int(lm["hidden"]),
        layers=int(lm["layers"]),
        kv_heads=int(lm["kv_heads"]),
        head_dim=int(lm["head_dim"]),
        vocab=int(lm["vocab"]),
    )
