"""The int8 and int4 bundles load through the runtime's checks; int8 follows the fp32 bundle.

int4's agreement is held once, on the bundle that matters: the default int4 built from the
shipped weights (tests/test_shipped_weights.py).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

STEPS = 16


@pytest.mark.parametrize("quant", ["int4", "int8"])
def test_quantized_bundle_loads_and_is_smaller(quant, fp32_bundle, quantized_bundle):
    from stepdiff.runtime.bundle import load_bundle

    bundle = quantized_bundle(quant)
    assert load_bundle(bundle).graphs["decoder"].quantization == quant
    size = (bundle / "decoder.onnx").stat().st_size
    assert size < 0.4 * (fp32_bundle / "decoder.onnx").stat().st_size


def test_int8_agrees_with_fp32(stepdiff_model, fp32_bundle, quantized_bundle):
    from stepdiff.export.parity import prompt_agreement
    from stepdiff.runtime.compare import StepDiff
    from stepdiff.runtime.prompt import compare_prompt

    q, ref = StepDiff(quantized_bundle("int8")), StepDiff(fp32_bundle)
    c = stepdiff_model.config
    clips = np.random.default_rng(1).integers(
        0, 256, (2, c.frames, c.frame_size, c.frame_size, 3), dtype=np.uint8
    )
    # Teacher-forced on fp32's own tokens (EOS or not), so one near-tie does not derail the
    # rest; the quantized prompt goes through its own int8 embedding.
    a = prompt_agreement(q, ref, compare_prompt(2), list(clips), STEPS, stop_at_eos=False)
    assert a.positions == STEPS
    assert a.teacher_forced >= 0.9 * STEPS, f"int8: {a.teacher_forced}/{STEPS} tokens agree"
