"""genai_config.json: lets onnxruntime-genai run a bundle's own embed_tokens.onnx + decoder.onnx.

Our decoder takes inputs_embeds, not input_ids, so it is not one of onnxruntime-genai's plain LLM
types (those feed input_ids to a single decoder graph). Its multimodal types (phi3v, gemma3, ...)
do take inputs_embeds, but they also demand their own vision graph and image processor. The
simplest type that fits is "decoder-pipeline": a list of graphs run in order for every forward
pass, each stage's outputs feeding the next by name. Ours is two stages,

    embed_tokens.onnx  input_ids -> inputs_embeds
    decoder.onnx       inputs_embeds, attention_mask, position_ids, past_key_values.* ->
                       logits, present.*

so the graphs and their IO stay exactly as the runtime uses them. onnxruntime-genai then owns the
tokenizer, the KV cache, position_ids and attention_mask, and greedy search; that is text in,
text out (video embeddings are the runtime's business).

Two settings are not defaults:
- past_present_share_buffer is off: our graphs return present = concat(past, new) of length P+S,
  not a max_length buffer written in place.
- tokenizer_config.json: onnxruntime-genai's tokenizer (onnxruntime-extensions) reads tokenizer.json
  but refuses to start without this file beside it. The exporter's own (transformers' keys) does;
  where a bundle has none, a small one is written.

Everything is derived from the manifest (lm dims and each graph's IO), never guessed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from stepdiff.runtime import contract
from stepdiff.runtime.contract import (
    ATTENTION_MASK,
    GENAI_CONFIG,
    INPUT_IDS,
    INPUTS_EMBEDS,
    LOGITS,
    PAST_PATTERN,
    POSITION_IDS,
    PRESENT_PATTERN,
)
from stepdiff.runtime.errors import BadInput
from stepdiff.runtime.files import sha256_file, write_json

TOKENIZER_CONFIG = "tokenizer_config.json"
GENAI_FILES = (GENAI_CONFIG, TOKENIZER_CONFIG)


def _names(graph: dict, side: str, where: str, graph_name: str) -> list[str]:
    try:
        return [str(t["name"]) for t in graph[side]]
    except (KeyError, TypeError) as e:
        raise ValueError(f"{where}: graphs.{graph_name}.{side} is missing or malformed") from e


def _need(names: list[str], wanted: list[str], where: str, what: str) -> None:
    missing = [n for n in wanted if n not in names]
    if missing:
        raise ValueError(
            f"{where}: {what} lacks {missing[:4]}, which onnxruntime-genai needs; "
            "re-export the bundle with `stepdiff export`"
        )


def genai_config(manifest: dict, threads: int | None = 2, where: str = contract.MANIFEST) -> dict:
    """The genai_config.json content for a bundle manifest (a pure function of it).

    `threads` sets intra_op_num_threads of both sessions (None: onnxruntime's default); 2 is the
    runtime's own default, so both engines do the same work on the same cores out of the box.
    """
    try:
        lm = manifest["lm"]
        graphs = manifest["graphs"]
        layers, heads, kv_heads = int(lm["layers"]), int(lm["heads"]), int(lm["kv_heads"])
        head_dim, hidden, vocab = int(lm["head_dim"]), int(lm["hidden"]), int(lm["vocab"])
        context = int(lm.get("max_length", 8192))
        eos = [int(t) for t in lm["eos_token_ids"]]
        embed, decoder = graphs["embed_tokens"], graphs["decoder"]
        embed_path, decoder_path = str(embed["path"]), str(decoder["path"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{where}: field {e} is missing or malformed in 'lm' or 'graphs'") from e
    if not eos:
        raise ValueError(f"{where}: lm.eos_token_ids is empty; generation could never stop")

    embed_in = _names(embed, "inputs", where, "embed_tokens")
    embed_out = _names(embed, "outputs", where, "embed_tokens")
    dec_in = _names(decoder, "inputs", where, "decoder")
    dec_out = _names(decoder, "outputs", where, "decoder")
    kv_in, kv_out = contract.past_names(layers), contract.present_names(layers)
    _need(embed_in, [INPUT_IDS], where, "embed_tokens' inputs")
    _need(embed_out, [INPUTS_EMBEDS], where, "embed_tokens' outputs")
    _need(dec_in, [INPUTS_EMBEDS, ATTENTION_MASK, POSITION_IDS, *kv_in], where, "decoder")
    _need(dec_out, [LOGITS, *kv_out], where, "decoder's outputs")

    session_options: dict = {"log_id": "stepdiff", "provider_options": []}
    if threads is not None:
        session_options.update(intra_op_num_threads=int(threads), inter_op_num_threads=1)
    return {
        "model": {
            "type": "decoder-pipeline",
            "context_length": context,
            "vocab_size": vocab,
            "eos_token_id": eos if len(eos) > 1 else eos[0],
            "pad_token_id": eos[0],
            "decoder": {
                "session_options": session_options,
                "hidden_size": hidden,
                "head_size": head_dim,
                "num_attention_heads": heads,
                "num_key_value_heads": kv_heads,
                "num_hidden_layers": layers,
                "inputs": {
                    "input_ids": INPUT_IDS,
                    "inputs_embeds": INPUTS_EMBEDS,
                    "attention_mask": ATTENTION_MASK,
                    "position_ids": POSITION_IDS,
                    "past_key_names": PAST_PATTERN.format(kind="key"),
                    "past_value_names": PAST_PATTERN.format(kind="value"),
                },
                "outputs": {
                    "logits": LOGITS,
                    "present_key_names": PRESENT_PATTERN.format(kind="key"),
                    "present_value_names": PRESENT_PATTERN.format(kind="value"),
                },
                "pipeline": [
                    {
                        "embed_tokens": {
                            "filename": embed_path,
                            "inputs": embed_in,
                            "outputs": embed_out,
                        },
                        "decoder": {
                            "filename": decoder_path,
                            "inputs": dec_in,
                            "outputs": dec_out,
                        },
                    }
                ],
            },
        },
        "search": {
            "do_sample": False,
            "num_beams": 1,
            "num_return_sequences": 1,
            "top_k": 1,
            "max_length": context,
            "past_present_share_buffer": False,
        },
    }


def tokenizer_config(manifest: dict) -> dict:
    """The tokenizer_config.json onnxruntime-genai's tokenizer wants beside tokenizer.json.

    The chat prompt already carries its special tokens, so encoding must add none (as the
    runtime's `tokenizers` calls with add_special_tokens=False).
    """
    return {
        "tokenizer_class": "GPT2Tokenizer",  # SmolLM2: byte-level BPE
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": int(manifest.get("lm", {}).get("max_length", 8192)),
    }


def write_genai_files(bundle_dir: str | os.PathLike, manifest: dict) -> dict[str, dict]:
    """Writes genai_config.json, and tokenizer_config.json unless there is one, into bundle_dir.

    Returns both files' entries for the manifest's "files" ({name: {"sha256", "size"}}), so an
    exporter can list them before it writes manifest.json.
    """
    root = Path(bundle_dir)
    write_json(root / GENAI_CONFIG, genai_config(manifest), indent=2)
    if not (root / TOKENIZER_CONFIG).is_file():
        write_json(root / TOKENIZER_CONFIG, tokenizer_config(manifest), indent=2)
    return {
        name: {"sha256": sha256_file(root / name), "size": (root / name).stat().st_size}
        for name in GENAI_FILES
    }


def write_genai_config(bundle_dir: str | os.PathLike) -> Path:
    """Adds genai_config.json (and tokenizer_config.json) to an existing bundle.

    The two files are registered in manifest.json's "files" with their sha256, like every other
    file, so the runtime's checks cover them. That changes the manifest's hash: reference caches
    built for the bundle before must be rebuilt.
    """
    root = Path(bundle_dir)
    mpath = root / contract.MANIFEST
    if not mpath.is_file():
        raise BadInput(mpath, "is missing; build the bundle with `stepdiff export`")
    try:
        manifest = json.loads(mpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadInput(mpath, f"is not valid JSON ({e})") from e
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise BadInput(mpath, "has no 'files' object; rebuild the bundle with `stepdiff export`")
    try:
        entries = write_genai_files(root, manifest)
    except ValueError as e:
        raise BadInput(mpath, str(e).removeprefix(f"{contract.MANIFEST}: ")) from e
    manifest["files"].update(entries)
    manifest["files"] = dict(sorted(manifest["files"].items()))
    write_json(mpath, manifest, indent=2)
    return root / GENAI_CONFIG
