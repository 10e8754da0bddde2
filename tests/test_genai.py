"""genai_config.json: onnxruntime-genai runs a bundle's own graphs and decodes what our runtime does."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from stepdiff.export.genai_config import (
    GENAI_CONFIG,
    TOKENIZER_CONFIG,
    genai_config,
    write_genai_config,
    write_genai_files,
)
from stepdiff.runtime import contract
from stepdiff.runtime.files import sha256_file

PROMPT = (
    "<|im_start|>system\nYou are a helpful cooking assistant.<|im_end|>\n"
    "<|im_start|>user\nHow do I make scrambled eggs?<|im_end|>\n<|im_start|>assistant\n"
)
STEPS = 12
EOS = (2,)  # <|im_end|>


def _manifest(layers: int = 2) -> dict:
    dims = contract.ModelDims(
        frames=2,
        frame_size=32,
        tokens_per_video=8,
        hidden=16,
        layers=layers,
        kv_heads=2,
        head_dim=4,
        vocab=100,
    )
    return {
        "lm": {
            "hidden": 16,
            "layers": layers,
            "heads": 4,
            "kv_heads": 2,
            "head_dim": 4,
            "vocab": 100,
            "max_length": 512,
            "eos_token_ids": [2],
        },
        "graphs": {
            g: {"path": contract.graph_file(g), **contract.graph_io(g, dims).to_json()}
            for g in ("embed_tokens", "decoder")
        },
    }


def test_config_is_a_two_stage_pipeline_from_the_manifest():
    m = _manifest(layers=3)
    cfg = genai_config(m, threads=1)
    dec = cfg["model"]["decoder"]
    assert cfg["model"]["type"] == "decoder-pipeline"
    assert dec["num_hidden_layers"] == 3 and dec["num_key_value_heads"] == 2
    assert dec["head_size"] == 4 and dec["hidden_size"] == 16
    assert dec["session_options"]["intra_op_num_threads"] == 1
    (stages,) = dec["pipeline"]
    assert list(stages) == ["embed_tokens", "decoder"]  # run in this order
    want = m["graphs"]["decoder"]
    assert stages["decoder"]["inputs"] == [t["name"] for t in want["inputs"]]
    assert stages["decoder"]["outputs"] == [t["name"] for t in want["outputs"]]
    assert stages["embed_tokens"]["outputs"] == [contract.INPUTS_EMBEDS]
    # Our graphs concatenate past and new keys: no shared max_length buffer.
    assert cfg["search"]["past_present_share_buffer"] is False
    assert cfg["model"]["context_length"] == cfg["search"]["max_length"] == 512


def test_config_refuses_a_decoder_without_the_kv_cache():
    m = _manifest()
    m["graphs"]["decoder"]["inputs"] = m["graphs"]["decoder"]["inputs"][:3]
    with pytest.raises(ValueError, match=re.escape(contract.past_name(0, "key"))):
        genai_config(m)
    with pytest.raises(ValueError, match=re.escape(f"{contract.MANIFEST}: field 'lm'")):
        genai_config({"graphs": {}})


def test_files_keep_an_existing_tokenizer_config(tmp_path):
    fresh, kept = tmp_path / "fresh", tmp_path / "kept"
    fresh.mkdir()
    kept.mkdir()
    (kept / TOKENIZER_CONFIG).write_text('{"tokenizer_class": "TokenizersBackend"}\n')
    for d in (fresh, kept):
        entries = write_genai_files(d, _manifest())
        assert set(entries) == {GENAI_CONFIG, TOKENIZER_CONFIG}
        for name, e in entries.items():
            assert e == {"sha256": sha256_file(d / name), "size": (d / name).stat().st_size}
    assert json.loads((kept / TOKENIZER_CONFIG).read_text()) == {
        "tokenizer_class": "TokenizersBackend"
    }
    assert json.loads((fresh / TOKENIZER_CONFIG).read_text())["add_bos_token"] is False
    assert not list(fresh.glob(".*"))  # no temporaries left behind


def test_write_genai_config_on_a_bundle_without_manifest(tmp_path):
    from stepdiff.runtime.errors import BadInput

    with pytest.raises(BadInput, match=re.escape(f"{contract.MANIFEST}: is missing")):
        write_genai_config(tmp_path)


@pytest.fixture
def genai_bundle(fp32_bundle, tmp_path):
    """A copy of the fp32 bundle with genai_config.json added (the shared fixture stays as is)."""
    from fixtures_bundle import linked_copy

    bundle = linked_copy(fp32_bundle, tmp_path / "bundle")
    write_genai_config(bundle)
    return bundle


def test_written_files_are_listed_and_pass_the_runtime_checks(genai_bundle):
    from stepdiff.runtime.bundle import load_bundle

    b = load_bundle(genai_bundle)  # checks every listed sha256
    for name in (GENAI_CONFIG, TOKENIZER_CONFIG):
        assert b.manifest["files"][name]["sha256"] == sha256_file(genai_bundle / name)
    cfg = json.loads((genai_bundle / GENAI_CONFIG).read_text())
    assert cfg == genai_config(b.manifest)


def _runtime_greedy(bundle, ids: list[int]) -> list[int]:
    from stepdiff.runtime.bundle import load_bundle
    from stepdiff.runtime.decoder import Decoder, DecodingOptions, greedy

    dec = Decoder(load_bundle(bundle), threads=2)
    opts = DecodingOptions(max_new_tokens=STEPS)
    return list(greedy(dec, dec.embed(np.array(ids)), opts).tokens)


def _genai_greedy(bundle, ids: list[int]) -> list[int]:
    og = pytest.importorskip("onnxruntime_genai")
    model = og.Model(str(bundle))
    params = og.GeneratorParams(model)
    params.set_search_options(do_sample=False, max_length=len(ids) + STEPS)
    gen = og.Generator(model, params)
    gen.append_tokens(np.array(ids, dtype=np.int32))
    out: list[int] = []
    while not gen.is_done():
        gen.generate_next_token()
        out.append(int(gen.get_next_tokens()[0]))
    # It returns the EOS token it stopped on; the runtime does not yield it.
    return out[:-1] if out and out[-1] in EOS else out


def test_genai_tokenizes_and_decodes_like_the_runtime(genai_bundle):
    og = pytest.importorskip("onnxruntime_genai")
    from tokenizers import Tokenizer

    ids = (
        Tokenizer.from_file(str(genai_bundle / contract.TOKENIZER))
        .encode(PROMPT, add_special_tokens=False)
        .ids
    )
    assert [int(t) for t in og.Tokenizer(og.Model(str(genai_bundle))).encode(PROMPT)] == ids

    ours = _runtime_greedy(genai_bundle, ids)
    theirs = _genai_greedy(genai_bundle, ids)
    assert len(ours) >= 4  # the prompt must not end the turn at once, or this tests nothing
    assert theirs == ours


@pytest.mark.slow
def test_genai_runs_the_int4_gqa_decoder(stepdiff_model, tmp_path):
    pytest.importorskip("onnxruntime_genai")
    from tokenizers import Tokenizer

    from stepdiff.export.bundle import ExportOptions, write_bundle

    bundle = write_bundle(stepdiff_model, tmp_path / "int4", ExportOptions(quant="int4"))
    write_genai_config(bundle)
    tok = Tokenizer.from_file(str(bundle / contract.TOKENIZER))
    ids = tok.encode(PROMPT, add_special_tokens=False).ids
    assert _genai_greedy(bundle, ids) == _runtime_greedy(bundle, ids)
