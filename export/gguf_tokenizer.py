"""The bundle's tokenizer files, rebuilt from a GGUF's metadata without torch or transformers.

A GGUF carries no tokenizer.json. It stores the byte-level BPE vocabulary, the merges, the token
types, the special token ids and the chat template under llama.cpp's `tokenizer.*` keys. This
module reads them with `gguf` (numpy only) and writes them back out through `tokenizers`, laid out
the way transformers' own GGUF conversion lays them out, so a bundle built here tokenizes exactly
like one built from `stepdiff.models.pretrained.smollm2_hf_dir()`:

    files = tokenizer_files_from_gguf("SmolLM2-135M-Instruct.Q4_1.gguf")
    files["tokenizer.json"]  # bytes
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

from stepdiff.runtime.contract import TOKENIZER
from stepdiff.runtime.errors import BadInput
from stepdiff.runtime.files import write_atomic

# llama.cpp's token types (gguf.TokenType); only these two change how text is split.
_CONTROL = 3
_USER_DEFINED = 4

# Pre-tokenizer names whose split transformers (and therefore our reference tokenizer.json) does
# with the plain GPT-2 regex of the ByteLevel pre-tokenizer. llama.cpp splits "smollm" text one
# digit at a time first; transformers does not, and the model in this project was fine-tuned
# through transformers' tokenizer, so we follow transformers. Other names need their own regex,
# which nothing here has been checked against, so they are refused rather than guessed.
_GPT2_REGEX_PRE = frozenset({"default", "gpt2", "smollm"})

# What transformers writes for a tokenizer with no length limit (its VERY_LARGE_INTEGER).
_NO_MAX_LENGTH = int(1e30)


@dataclass(frozen=True)
class GgufVocab:
    """The tokenizer as the GGUF states it, under llama.cpp's names."""

    model: str  # tokenizer.ggml.model: "gpt2" is byte-level BPE
    pre: str  # tokenizer.ggml.pre: which split the merges were learned on
    tokens: tuple[str, ...]
    token_types: tuple[int, ...]
    merges: tuple[str, ...]  # "left right"
    bos_id: int | None
    eos_id: int | None
    unk_id: int | None
    pad_id: int | None
    add_bos: bool
    add_eos: bool
    add_space_prefix: bool
    chat_template: str | None


def tokenizer_files_from_gguf(gguf_path: str | os.PathLike) -> dict[str, bytes]:
    """tokenizer.json, tokenizer_config.json, generation_config.json and (when the file has one)
    chat_template.jinja, as bytes, from the GGUF's metadata alone."""
    vocab = read_vocab(gguf_path)
    tokenizer = build_tokenizer(vocab, gguf_path)
    files = {
        TOKENIZER: tokenizer.to_str(pretty=True).encode(),
        "tokenizer_config.json": _json_bytes(_tokenizer_config(vocab)),
        "generation_config.json": _json_bytes(_generation_config(vocab)),
    }
    if vocab.chat_template:
        files["chat_template.jinja"] = vocab.chat_template.encode()
    return files


def write_tokenizer_files(gguf_path: str | os.PathLike, out_dir: str | os.PathLike) -> list[Path]:
    """Writes tokenizer_files_from_gguf() into `out_dir`, each file atomically; returns the paths."""
    files = tokenizer_files_from_gguf(gguf_path)  # first, so bad input leaves no directory
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in sorted(files.items()):
        written.append(write_atomic(out / name, data))
    return written


def read_vocab(gguf_path: str | os.PathLike) -> GgufVocab:
    """The `tokenizer.*` metadata of a GGUF; BadInput if it has no byte-level BPE tokenizer."""
    path = str(gguf_path)
    if not Path(path).is_file():
        raise BadInput(
            path, "no such file; pass the SmolLM2 GGUF (models.pretrained.smollm2_gguf())"
        )
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise BadInput(path, "not a GGUF file (it does not start with b'GGUF')")
    from gguf import GGUFReader  # numpy only; imported here so the module loads without it

    try:
        fields = GGUFReader(path, "r").fields
    except (ValueError, OSError, IndexError) as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise BadInput(path, f"not a readable GGUF file ({reason})") from e

    def get(key: str, default=None):
        field = fields.get(key)
        return default if field is None else field.contents()

    model = get("tokenizer.ggml.model")
    if model != "gpt2":
        raise BadInput(
            path,
            f"has no byte-level BPE tokenizer (tokenizer.ggml.model is {model!r}, expected 'gpt2'); "
            "use the SmolLM2 GGUF",
        )
    tokens = get("tokenizer.ggml.tokens")
    merges = get("tokenizer.ggml.merges")
    if not tokens or not merges:
        missing = "tokenizer.ggml.tokens" if not tokens else "tokenizer.ggml.merges"
        raise BadInput(path, f"BPE tokenizer without {missing}; the file is incomplete")
    types = get("tokenizer.ggml.token_type") or [1] * len(tokens)
    if len(types) != len(tokens):
        raise BadInput(path, f"{len(tokens)} tokens but {len(types)} token types")
    return GgufVocab(
        model=model,
        pre=get("tokenizer.ggml.pre", "default"),
        tokens=tuple(tokens),
        token_types=tuple(int(t) for t in types),
        merges=tuple(merges),
        bos_id=get("tokenizer.ggml.bos_token_id"),
        eos_id=get("tokenizer.ggml.eos_token_id"),
        unk_id=get("tokenizer.ggml.unknown_token_id"),
        pad_id=get("tokenizer.ggml.padding_token_id"),
        add_bos=bool(get("tokenizer.ggml.add_bos_token", False)),
        add_eos=bool(get("tokenizer.ggml.add_eos_token", False)),
        add_space_prefix=bool(get("tokenizer.ggml.add_space_prefix", False)),
        chat_template=get("tokenizer.chat_template"),
    )


def build_tokenizer(vocab: GgufVocab, source: str | os.PathLike = "<gguf>") -> Tokenizer:
    """A `tokenizers.Tokenizer` for a byte-level BPE vocabulary (`source` names it in errors)."""
    path = str(source)
    if vocab.pre not in _GPT2_REGEX_PRE:
        raise BadInput(
            path,
            f"pre-tokenizer {vocab.pre!r} is not supported (only {sorted(_GPT2_REGEX_PRE)}); "
            "its split regex would have to be added to export/gguf_tokenizer.py",
        )
    n = len(vocab.tokens)
    for name in ("bos_id", "eos_id", "unk_id", "pad_id"):
        i = getattr(vocab, name)
        if i is not None and not 0 <= i < n:
            raise BadInput(path, f"{name} {i} is outside the {n}-token vocabulary")

    alphabet = _byte_alphabet()
    spelled = set(alphabet.values())
    # Byte-level vocabularies write every token in the byte alphabet; a token written in plain
    # UTF-8 instead is respelled byte by byte, which is what the BPE model will look up.
    ids: dict[str, int] = {}
    for i, token in enumerate(vocab.tokens):
        key = token if set(token) <= spelled else "".join(alphabet[b] for b in token.encode())
        if key in ids:
            raise BadInput(path, f"tokens {ids[key]} and {i} are both spelled {key!r}")
        ids[key] = i

    pairs = []
    for line, merge in enumerate(vocab.merges):
        pair = tuple(merge.split(" "))
        if len(pair) != 2:
            raise BadInput(path, f"merge {line} is {merge!r}, not two tokens separated by a space")
        pairs.append(pair)

    tokenizer = Tokenizer(
        models.BPE(
            ids,
            pairs,
            continuing_subword_prefix="",
            end_of_word_suffix="",
            fuse_unk=False,
            byte_fallback=False,
        )
    )
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=vocab.add_space_prefix)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = _post_processor(vocab)

    # Control tokens (<|im_start|>, ...) must match whole, never be cut into bytes. One written
    # outside the byte alphabet is a converter's mislabel; adding it would grow the vocabulary
    # past the model's embedding table, so it is left out, as transformers does.
    def whole(kind: int) -> list[str]:
        return [
            t
            for t, k in zip(vocab.tokens, vocab.token_types, strict=True)
            if k == kind and set(t) <= spelled
        ]

    tokenizer.add_special_tokens(
        [AddedToken(t, normalized=False, special=True) for t in whole(_CONTROL)]
    )
    tokenizer.add_tokens(
        [AddedToken(t, normalized=False, special=False) for t in whole(_USER_DEFINED)]
    )
    if tokenizer.get_vocab_size(with_added_tokens=True) != n:
        raise BadInput(path, "added tokens grew the vocabulary; the token types are inconsistent")
    return tokenizer


def _post_processor(vocab: GgufVocab) -> processors.TemplateProcessing:
    """Adds BOS/EOS only where the file asks for it (SmolLM2 asks for neither)."""
    special, head, tail = [], [], []
    if vocab.add_bos and vocab.bos_id is not None:
        bos = vocab.tokens[vocab.bos_id]
        special.append((bos, vocab.bos_id))
        head = [bos]
    if vocab.add_eos and vocab.eos_id is not None:
        eos = vocab.tokens[vocab.eos_id]
        special.append((eos, vocab.eos_id))
        tail = [eos]
    single = [*head, "$A:0", *tail]
    pair = [*single, *(f"{t}:1" for t in head), "$B:1", *(f"{t}:1" for t in tail)]
    return processors.TemplateProcessing(single=single, pair=pair, special_tokens=special)


def _byte_alphabet() -> dict[int, str]:
    """GPT-2's reversible byte -> character map: printable Latin-1 bytes stand for themselves,
    the other 68 (controls, space, NBSP, soft hyphen) move to U+0100 onwards, in byte order."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    out = {b: chr(b) for b in printable}
    moved = (b for b in range(256) if b not in out)
    out.update({b: chr(0x100 + k) for k, b in enumerate(moved)})
    return out


def _token(vocab: GgufVocab, i: int | None) -> str | None:
    return None if i is None else vocab.tokens[i]


def _tokenizer_config(vocab: GgufVocab) -> dict:
    # The keys transformers writes for this tokenizer, less the load-time ones (is_local, ...).
    return {
        "backend": "tokenizers",
        "bos_token": _token(vocab, vocab.bos_id),
        "eos_token": _token(vocab, vocab.eos_id),
        "model_max_length": _NO_MAX_LENGTH,
        "pad_token": _token(vocab, vocab.pad_id),
        "tokenizer_class": "TokenizersBackend",
        "unk_token": _token(vocab, vocab.unk_id),
    }


def _generation_config(vocab: GgufVocab) -> dict:
    # What transformers derives from the model config, less "transformers_version": no
    # transformers wrote this, and a version string would make the bytes depend on the machine.
    out = {
        "_from_model_config": True,
        "bos_token_id": vocab.bos_id,
        "eos_token_id": vocab.eos_id,
        "output_attentions": False,
        "output_hidden_states": False,
        "pad_token_id": vocab.pad_id,
        "use_cache": True,
    }
    return {k: v for k, v in out.items() if v is not None}


def _json_bytes(obj: dict) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
