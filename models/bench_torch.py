"""PyTorch eager numbers for `stepdiff bench pipeline --engine torch` (same work as ONNX)."""

from __future__ import annotations

import time

import numpy as np
import torch

from stepdiff.runtime.bench_pipeline import PipelineBench, _median_ms


def bench_torch(threads: int, repeats: int, new_tokens: int) -> PipelineBench:
    from tokenizers import Tokenizer

    from stepdiff.models.model import StepDiffModel
    from stepdiff.models.pretrained import smollm2_hf_dir
    from stepdiff.runtime.prompt import compare_prompt, layout

    torch.set_num_threads(threads)
    m = StepDiffModel.from_pretrained()
    c = m.config
    clip = np.random.default_rng(0).integers(0, 256, (1, c.frames, c.frame_size, c.frame_size, 3))
    pixels = torch.from_numpy(clip.astype(np.uint8))
    enc_ms = _median_ms(lambda: m.encode_videos(pixels), repeats)
    v = m.encode_videos(pixels)[0]
    tok = Tokenizer.from_file(str(smollm2_hf_dir() / "tokenizer.json"))
    with torch.no_grad():
        embeds = m.prompt_embeds(layout(tok, compare_prompt(2)), [v, v])
    ttft = _median_ms(lambda: m.greedy(embeds, 1), repeats)
    t = time.perf_counter()
    tokens, _ = m.greedy(embeds, new_tokens)
    total = time.perf_counter() - t
    decode_s = max(total - ttft / 1000, 1e-9)
    return PipelineBench(
        "torch-fp32",
        threads,
        enc_ms,
        ttft,
        (len(tokens) - 1) / decode_s,
        embeds.shape[1],
        len(tokens),
    )
