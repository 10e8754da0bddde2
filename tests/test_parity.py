"""The ONNX path (encoder, embed_tokens, decoder with KV cache) reproduces the PyTorch model."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

NEW_TOKENS = 24


def test_onnx_kv_decoder_matches_pytorch_on_two_videos(
    stepdiff_model, fp32_bundle, record_property
):
    from stepdiff.runtime.compare import StepDiff
    from stepdiff.runtime.decoder import DecodingOptions, greedy
    from stepdiff.runtime.prompt import compare_prompt, layout

    m = stepdiff_model
    c = m.config
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 256, (2, c.frames, c.frame_size, c.frame_size, 3), dtype=np.uint8)

    rt = StepDiff(fp32_bundle)
    onnx_videos = rt.encoder.encode_frames(clips)
    torch_videos = m.encode_videos(torch.from_numpy(clips)).numpy()
    enc_diff = float(np.abs(onnx_videos - torch_videos).max())
    assert enc_diff < 1e-3

    user = compare_prompt(2)
    lay = layout(rt.tokenizer, user, rt.bundle.system_prompt)
    assert lay.num_videos == 2
    with torch.no_grad():
        embeds_t = m.prompt_embeds(lay, [torch.from_numpy(v) for v in torch_videos])
    want_tokens, want_logits = m.greedy(embeds_t, NEW_TOKENS, eos_ids=())

    embeds_o = rt.prompt_embeds(user, list(onnx_videos))
    assert embeds_o.shape == tuple(embeds_t.shape[1:])
    opts = DecodingOptions(max_new_tokens=NEW_TOKENS, ignore_eos=True, keep_logits=True)
    got = greedy(rt.decoder, embeds_o, opts)
    got_tokens, got_logits = list(got.tokens), got.logits

    assert len(got_tokens) == NEW_TOKENS >= 20
    assert got_tokens == want_tokens
    max_diff = max(float(np.abs(a - b).max()) for a, b in zip(got_logits, want_logits, strict=True))
    record_property("max_logits_diff", max_diff)
    record_property("encoder_max_diff", enc_diff)
    print(f"\nmax |logits diff| over {NEW_TOKENS} steps: {max_diff:.2e}; encoder {enc_diff:.2e}")
    assert max_diff < 1e-2
