"""The int8 and int4 bundles load through the runtime's checks and follow the fp32 bundle."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

STEPS = 16


@pytest.mark.parametrize("quant", ["int4", "int8"])
def test_quantized_bundle_loads_and_agrees_with_fp32(quant, stepdiff_model, fp32_bundle, tmp_path):
    from export.bundle import ExportOptions, write_bundle
    from runtime.compare import StepDiff
    from runtime.decoder import KVCache
    from runtime.prompt import compare_prompt

    bundle = write_bundle(stepdiff_model, tmp_path / quant, ExportOptions(quant=quant))
    q, ref = StepDiff(bundle), StepDiff(fp32_bundle)
    assert q.bundle.graphs["decoder"].quantization == quant
    assert (bundle / "decoder.onnx").stat().st_size < 0.4 * (
        fp32_bundle / "decoder.onnx"
    ).stat().st_size

    c = stepdiff_model.config
    clips = np.random.default_rng(1).integers(
        0, 256, (2, c.frames, c.frame_size, c.frame_size, 3), dtype=np.uint8
    )
    videos = list(ref.encoder.encode_frames(clips))
    embeds = ref.prompt_embeds(compare_prompt(2), videos)
    embeds_q = q.prompt_embeds(compare_prompt(2), videos)  # through its own int8 embedding
    # Teacher-forced on fp32's own tokens, so one near-tie does not derail the rest.
    cache_q, cache_r = KVCache(q.bundle), KVCache(ref.bundle)
    lq, lr = q.decoder.forward(embeds_q, cache_q), ref.decoder.forward(embeds, cache_r)
    agree = 0
    for _ in range(STEPS):
        tok = int(np.argmax(lr))
        agree += int(np.argmax(lq)) == tok
        ids = np.array([tok])
        lq = q.decoder.forward(q.decoder.embed(ids), cache_q)
        lr = ref.decoder.forward(ref.decoder.embed(ids), cache_r)
    assert agree >= 0.9 * STEPS, f"{quant}: {agree}/{STEPS} greedy tokens agree with fp32"
