"""The tokenizer files rebuilt from the GGUF with torch and transformers unimportable match the
ones transformers' GGUF conversion wrote (models.pretrained.smollm2_hf_dir())."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from stepdiff.runtime.contract import TOKENIZER
from stepdiff.runtime.prompt import COMPARE_QUESTION, SYSTEM, chat_text, compare_prompt

TEXTS = [
    chat_text(compare_prompt(2)),
    chat_text(compare_prompt(1), system="Be brief."),
    chat_text("Here is the step: <video>\nAnd mine: <video>\nDid I do anything differently?"),
    compare_prompt(3),
    COMPARE_QUESTION,
    SYSTEM,
    "<|im_start|>assistant\nYou added one teaspoon of salsa instead of one tablespoon.<|im_end|>\n",
    "<|im_start|><|im_end|><|endoftext|><video>",
    "x<|im_start|>y <|im_end|>z",
    "<|im_start |> <|im_ <repo_name>abc<file_sep>",
    "waited the coffee for 1 minute instead of 30 seconds",
    "Wait about 30 seconds for the coffee to bloom. (You will see small bubbles or foam.)",
    "0 12 123 1234567890 2024-11-25 3.14159 1/2 cup 1,000,000 -40°C",
    "  leading, trailing   ",
    "a  b   c    d\t\te\n\n\nf\r\ng",
    " ",
    "\n",
    "",
    "don't I'll we've THEY'RE it's",
    "café naïve Zürich ½ tsp ﬁ e\u0301",
    "日本語のテキスト 한국어 مرحبا Ελληνικά",
    "emoji 🍳🥚👩‍🍳🇫🇷 🤷🏽‍♂️",
    "\u00a0nbsp\u200bzero-width\x00\x01\x7f",
    "!!!???... ```code``` {json: [1, 2]}",
    "A" * 300,
]


SCRIPT = r"""
import json, sys
sys.modules["torch"] = None          # any `import torch` now raises ImportError
sys.modules["transformers"] = None
from stepdiff.export.gguf_tokenizer import write_tokenizer_files
from tokenizers import Tokenizer
gguf, out = sys.argv[1], sys.argv[2]
paths = write_tokenizer_files(gguf, out)
tok = Tokenizer.from_file(f"{out}/tokenizer.json")
texts = json.loads(sys.stdin.read())
ids = [tok.encode(t, add_special_tokens=False).ids for t in texts]
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers")
                and sys.modules[m] is not None)
print(json.dumps({"files": sorted(p.name for p in paths), "ids": ids, "leaked": leaked}))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[dict, Path]:
    from stepdiff.models.pretrained import smollm2_gguf

    out = tmp_path_factory.mktemp("gguf_tok")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(smollm2_gguf().path), str(out)],
        input=json.dumps(TEXTS),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), out


@pytest.fixture(scope="module")
def reference() -> Path:
    from stepdiff.models.pretrained import smollm2_hf_dir

    return smollm2_hf_dir()


def test_files_are_built_without_torch(built):
    result, out = built
    assert result["leaked"] == []
    names = {TOKENIZER, "tokenizer_config.json", "generation_config.json"}
    assert set(result["files"]) == names | {"chat_template.jinja"}
    assert sorted(p.name for p in out.iterdir()) == result["files"]  # no temp files left


def test_encodings_match_reference(built, reference):
    result, out = built
    ref = Tokenizer.from_file(str(reference / "tokenizer.json"))
    mine = Tokenizer.from_file(str(out / TOKENIZER))
    for text, ids in zip(TEXTS, result["ids"], strict=True):
        want = ref.encode(text, add_special_tokens=False)
        assert ids == want.ids, text
        assert mine.encode(text).offsets == ref.encode(text).offsets, text
        for skip in (False, True):
            assert mine.decode(ids, skip_special_tokens=skip) == ref.decode(
                ids, skip_special_tokens=skip
            )
    # The ChatML markers stay whole: one id each, the ids the decoder's stop list relies on.
    assert mine.encode("<|im_start|><|im_end|>").ids == [1, 2]


def test_tokenizer_json_is_the_reference(built, reference):
    _, out = built
    mine = json.loads((out / TOKENIZER).read_text())
    ref = json.loads((reference / "tokenizer.json").read_text())
    for key in ("added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder"):
        assert mine[key] == ref[key], key
    assert mine["model"]["merges"] == ref["model"]["merges"]
    assert mine["model"]["vocab"] == ref["model"]["vocab"]
    assert mine == ref


def test_chat_template_and_configs_match_reference(built, reference):
    _, out = built
    assert (out / "chat_template.jinja").read_bytes() == (
        reference / "chat_template.jinja"
    ).read_bytes()
    gen = json.loads((out / "generation_config.json").read_text())
    ref_gen = json.loads((reference / "generation_config.json").read_text())
    ref_gen.pop("transformers_version")  # written by transformers only; we write none
    assert gen == ref_gen
    tok = json.loads((out / "tokenizer_config.json").read_text())
    ref_tok = json.loads((reference / "tokenizer_config.json").read_text())
    for load_time_key in ("is_local", "local_files_only"):
        ref_tok.pop(load_time_key, None)
    assert tok == ref_tok


def _gguf(path: Path, tokenizer_model: str | None) -> Path:
    import numpy as np
    from gguf import GGUFWriter

    w = GGUFWriter(str(path), "llama")
    if tokenizer_model is not None:
        w.add_tokenizer_model(tokenizer_model)
        w.add_token_list(["<unk>", "a", "b"])
        w.add_token_types([2, 1, 1])
    w.add_tensor("x", np.zeros(4, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.mark.parametrize("tokenizer_model", [None, "llama"])
def test_gguf_without_bpe_tokenizer_is_refused(tmp_path, tokenizer_model):
    from stepdiff.export.gguf_tokenizer import tokenizer_files_from_gguf

    path = _gguf(tmp_path / "no-bpe.gguf", tokenizer_model)
    with pytest.raises(ValueError, match=r"no-bpe\.gguf: has no byte-level BPE tokenizer") as e:
        tokenizer_files_from_gguf(path)
    assert "\n" not in str(e.value)


def test_not_a_gguf_is_refused(tmp_path):
    from stepdiff.export.gguf_tokenizer import write_tokenizer_files

    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"not a gguf at all" * 10)
    with pytest.raises(ValueError, match=r"model\.gguf: not a GGUF file"):
        write_tokenizer_files(bad, tmp_path / "out")
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(b"GGUF\x03\x00\x00\x00\x07")
    with pytest.raises(ValueError, match=r"truncated\.gguf: not a readable GGUF file"):
        write_tokenizer_files(truncated, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match=r"missing\.gguf: no such file"):
        write_tokenizer_files(tmp_path / "missing.gguf", tmp_path / "out")
