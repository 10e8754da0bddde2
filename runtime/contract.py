"""The bundle contract: graph names, their inputs and outputs, the KV names, the format version.

This module is the seam between export/ and the runtime. Export writes each graph and its
manifest entry from `graph_io`; genai_config.json takes its names from here; the runtime checks a
bundle's manifest against the same function before it opens any session. Nothing else spells
these names.

    vision_encoder  pixel_values uint8 [B, T, H, W, 3] -> video_embeds float32 [B, K, D],
                    frame_head float32 [B, T, G, C], frame_mid float32 [B, T, M, Cm]
    embed_tokens    input_ids int64 [B, S] -> inputs_embeds float32 [B, S, D]
    decoder         inputs_embeds [B, S, D], attention_mask int64 [B, P+S],
                    position_ids int64 [B, S], past_key_values.{i}.key/.value [B, Hkv, P, Dh]
                    -> logits [B, S, V], present.{i}.key/.value [B, Hkv, P+S, Dh]
    compare_head    (optional) ref_mid [B, T, M, Cm], ref_head [B, T, G, C], user_mid, user_head
                    (the user clip's frames already aligned to the reference's), seconds float32
                    [B, 2] (reference, user durations), category int64 [B] (index into the
                    manifest's compare.categories), text_did, text_instead float32 [B, D]
                    -> severity [B] (0..5), match [B], pair_vector [B, E], diff_tokens [B, N, D]

frame_head is the per-frame EfficientNet-Lite0 head pooled to the grid (G = grid^2 cells,
row-major; what the projector reads), frame_mid the mid-level blocks' maps pooled to M cells with
their channels concatenated (the manifest's video.features says which blocks).
"""

from __future__ import annotations

from dataclasses import dataclass

# 2: vision_encoder gained frame_head and frame_mid; the optional compare_head graph.
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
TOKENIZER = "tokenizer.json"
GENAI_CONFIG = "genai_config.json"
VISION_ENCODER, EMBED_TOKENS, DECODER = "vision_encoder", "embed_tokens", "decoder"
COMPARE_HEAD = "compare_head"
GRAPHS = (VISION_ENCODER, EMBED_TOKENS, DECODER)  # every bundle has them
OPTIONAL_GRAPHS = (COMPARE_HEAD,)  # a bundle has them when its model does
REQUIRED_FILES = (TOKENIZER,)

# Tensor names.
PIXEL_VALUES = "pixel_values"
VIDEO_EMBEDS = "video_embeds"
FRAME_HEAD = "frame_head"
FRAME_MID = "frame_mid"
REF_MID, REF_HEAD = "ref_mid", "ref_head"
USER_MID, USER_HEAD = "user_mid", "user_head"
SECONDS = "seconds"
CATEGORY = "category"
TEXT_DID, TEXT_INSTEAD = "text_did", "text_instead"
SEVERITY = "severity"
MATCH = "match"
PAIR_VECTOR = "pair_vector"
DIFF_TOKENS = "diff_tokens"
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
    """What the graph shapes depend on; the manifest's `video`, `lm` and `compare` fields hold
    them. A field a graph builder does not need may be left 0; a bundle's are all set, but for
    the compare head's, which are 0 when the bundle has none."""

    frames: int  # T
    frame_size: int  # H = W
    tokens_per_video: int  # K = T * G
    hidden: int  # D, the LM's width (the compare head's text and token width too)
    layers: int
    kv_heads: int
    head_dim: int
    vocab: int
    vision_dim: int = 0  # C: head feature channels
    mid_cells: int = 0  # M: mid-level cells per frame
    mid_dim: int = 0  # Cm: mid-level channels, the blocks' concatenated
    compare_embed: int = 0  # E: the compare head's pair and text vectors
    diff_tokens: int = 0  # N: the compare head's difference tokens

    @property
    def tokens_per_frame(self) -> int:  # G
        return self.tokens_per_video // self.frames if self.frames else 0


def frame_head_shape(d: ModelDims) -> tuple[str | int, ...]:
    return (BATCH, d.frames, d.tokens_per_frame, d.vision_dim)


def frame_mid_shape(d: ModelDims) -> tuple[str | int, ...]:
    return (BATCH, d.frames, d.mid_cells, d.mid_dim)


def vision_encoder_io(d: ModelDims) -> GraphIO:
    return GraphIO(
        inputs=(TensorIO(PIXEL_VALUES, "uint8", (BATCH, d.frames, d.frame_size, d.frame_size, 3)),),
        outputs=(
            TensorIO(VIDEO_EMBEDS, "float32", (BATCH, d.tokens_per_video, d.hidden)),
            TensorIO(FRAME_HEAD, "float32", frame_head_shape(d)),
            TensorIO(FRAME_MID, "float32", frame_mid_shape(d)),
        ),
    )


def compare_head_io(d: ModelDims) -> GraphIO:
    return GraphIO(
        inputs=(
            TensorIO(REF_MID, "float32", frame_mid_shape(d)),
            TensorIO(REF_HEAD, "float32", frame_head_shape(d)),
            TensorIO(USER_MID, "float32", frame_mid_shape(d)),
            TensorIO(USER_HEAD, "float32", frame_head_shape(d)),
            TensorIO(SECONDS, "float32", (BATCH, 2)),
            TensorIO(CATEGORY, "int64", (BATCH,)),
            TensorIO(TEXT_DID, "float32", (BATCH, d.hidden)),
            TensorIO(TEXT_INSTEAD, "float32", (BATCH, d.hidden)),
        ),
        outputs=(
            TensorIO(SEVERITY, "float32", (BATCH,)),
            TensorIO(MATCH, "float32", (BATCH,)),
            TensorIO(PAIR_VECTOR, "float32", (BATCH, d.compare_embed)),
            TensorIO(DIFF_TOKENS, "float32", (BATCH, d.diff_tokens, d.hidden)),
        ),
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
        VISION_ENCODER: vision_encoder_io,
        EMBED_TOKENS: embed_tokens_io,
        DECODER: decoder_io,
        COMPARE_HEAD: compare_head_io,
    }
    if graph not in builders:
        known = ", ".join((*GRAPHS, *OPTIONAL_GRAPHS))
        raise KeyError(f"no graph {graph!r} in the bundle contract; graphs: {known}")
    return builders[graph](dims)


def dims_from_manifest(manifest: dict) -> ModelDims:
    """ModelDims from a manifest's `video`, `lm` and (when it has a compare head) `compare`
    fields (KeyError/TypeError/ValueError if they are missing or malformed; the caller names the
    file)."""
    v, lm = manifest["video"], manifest["lm"]
    compare = manifest.get("compare")
    return ModelDims(
        frames=int(v["frames"]),
        frame_size=int(v["frame_size"]),
        tokens_per_video=int(v["tokens_per_video"]),
        hidden=int(lm["hidden"]),
        layers=int(lm["layers"]),
        kv_heads=int(lm["kv_heads"]),
        head_dim=int(lm["head_dim"]),
        vocab=int(lm["vocab"]),
        vision_dim=int(v["vision_dim"]),
        mid_cells=int(v["mid_cells"]),
        mid_dim=int(v["mid_dim"]),
        compare_embed=int(compare["embed_dim"]) if compare is not None else 0,
        diff_tokens=int(compare["diff_tokens"]) if compare is not None else 0,
    )


# What the manifest's `compare` field records beside the dims: how a difference text becomes the
# compare head's two text inputs. The runtime and models/compare.py (split_difference,
# text_halves) follow it.
TEXT_SEPARATOR = " instead of "
TEXT_RULE = (
    "a difference text 'X instead of Y' is split at its last ' instead of ' into what the user "
    "did (X, text_did) and what the reference did (Y, text_instead); a text without the phrase "
    "is all X. Each half, stripped, is tokenized without special tokens, and its input is the "
    "mean of the LM's input token embeddings (embed_tokens) of those tokens; an empty half is "
    "zeros"
)
ANY_CATEGORY = "any"  # the category a comparison without one (the headset's) is asked in


def split_difference(text: str) -> tuple[str, str]:
    """TEXT_RULE's split: "X instead of Y" -> ("X", "Y"); without the phrase, (text, "")."""
    did, sep, instead = text.rpartition(TEXT_SEPARATOR)
    return (did, instead) if sep else (text, "")
