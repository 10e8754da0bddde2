"""The int8 and int4 bundles load through the runtime's checks and follow the fp32 bundle."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

STEPS = 16


@pytest.mark.parametrize("quant", ["int4", "int8"])
def test_quantized_bundle_loads_and_agrees_with_fp32(
    quant, stepdiff_model, fp32_bundle, quantized_bundle
):
    from stepdiff.export.report import prompt_agreement
    from stepdiff.runtime.compare import StepDiff
    from stepdiff.runtime.prompt import compare_prompt

    bundle = quantized_bundle(quant)
    q, ref = StepDiff(bundle), StepDiff(fp32_bundle)
    assert q.bundle.graphs["decoder"].quantization == quant
    assert (bundle / "decoder.onnx").stat().st_size < 0.4 * (
        fp32_bundle / "decoder.onnx"
    ).stat().st_size

    c = stepdiff_model.config
    clips = np.random.default_rng(1).integers(
        0, 256, (2, c.frames, c.frame_size, c.frame_size, 3), dtype=np.uint8
    )
    # Teacher-forced on fp32's own tokens (EOS or not), so one near-tie does not derail the
    # rest; the quantized prompt goes through its own int8 embedding.
    a = prompt_agreement(q, ref, compare_prompt(2), list(clips), STEPS, stop_at_eos=False)
    assert a.positions == STEPS
    assert a.teacher_forced >= 0.9 * STEPS, f"{quant}: {a.teacher_forced}/{STEPS} tokens agree"
