"""The shipped weights (models/weights/stepdiff-v1.safetensors): they load, the default bundle
builds from them with torch unimportable, and on a fixed subset of the tiny benchmark they give
the predictions recorded below (recorded from `stepdiff eval --checkpoint` on them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stepdiff.models.pretrained import SHIPPED_WEIGHTS

pytestmark = pytest.mark.skipif(
    not SHIPPED_WEIGHTS.is_file(), reason="no shipped weights in this checkout"
)

# The first RECORDED_N items of each task of `stepdiff data build --scale tiny --seed 0`'s test
# split, predicted by the PyTorch model with the shipped weights. Scores are rounded to 3 places.
# Re-recorded when the renderer learned to draw amounts as material and the prompts began to
# name the item's category (the same weights, new videos and questions).
RECORDED_N = 2
RECORDED: dict[str, list] = {
    "diffcap": [
        "No difference.",
        "added 1/4 cup of chopped cilantro instead of 1/8 cup of chopped cilantro",
    ],
    "diffmcq": [[-1.188, -1.226, -1.204, -1.164], [-1.199, -1.17, -1.23, -1.156]],
    "diffrank": [[4.281, 4.269, 4.277, 4.268], [4.198, 4.205, 4.2, 4.191]],
}


@pytest.fixture(scope="module")
def shipped_model():
    pytest.importorskip("torch")
    from stepdiff.models.evaluate import load_checkpoint

    return load_checkpoint(SHIPPED_WEIGHTS)


def test_default_bundle_builds_without_torch(device_bundle):
    from stepdiff.runtime.bundle import load_bundle
    from stepdiff.runtime.files import sha256_file

    manifest = load_bundle(device_bundle).manifest  # every sha256 and the graph IO verified
    weights = manifest["models"]["stepdiff_weights"]
    assert weights["sha256"] == sha256_file(SHIPPED_WEIGHTS)
    assert weights["source"].startswith(SHIPPED_WEIGHTS.name)
    assert {"tokenizer.json", "chat_template.jinja"} <= set(manifest["files"])


def _items(root: str, task: str) -> list[dict]:
    lines = (Path(root) / "bench" / "test" / f"{task}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines[:RECORDED_N]]


def _predict(scorer, root: str) -> dict[str, list]:
    from stepdiff.models.predictors import ModelPredictor

    p = ModelPredictor(scorer, max_new_tokens=24, progress=False)
    out = {}
    for task in ("diffcap", "diffmcq", "diffrank"):
        preds = list(getattr(p, task)(_items(root, task)))
        out[task] = [
            pr["generated_text"] if task == "diffcap" else [round(s, 3) for s in pr["scores"]]
            for pr in preds
        ]
    return out


@pytest.fixture(scope="module")
def shipped_predictions(shipped_model, tiny_dataset) -> dict[str, list]:
    from stepdiff.models.data.clipstore import ClipStore
    from stepdiff.models.predictors_torch import TorchScorer

    return _predict(TorchScorer(shipped_model, ClipStore(tiny_dataset)), tiny_dataset)


def test_shipped_weights_give_the_recorded_predictions(shipped_predictions):
    assert shipped_predictions["diffcap"] == RECORDED["diffcap"]
    for task in ("diffmcq", "diffrank"):
        np.testing.assert_allclose(shipped_predictions[task], RECORDED[task], atol=2e-3)
    # and the recorded MCQ choice is the argmax of those scores
    for got, want in zip(shipped_predictions["diffmcq"], RECORDED["diffmcq"], strict=True):
        assert int(np.argmax(got)) == int(np.argmax(want))


def test_device_bundle_predicts_like_the_checkpoint(
    device_bundle, shipped_predictions, tiny_dataset
):
    from stepdiff.models.data.clipstore import ClipStore
    from stepdiff.models.predictors_onnx import OnnxScorer
    from stepdiff.runtime.compare import StepDiff

    onnx = _predict(OnnxScorer(StepDiff(device_bundle), ClipStore(tiny_dataset)), tiny_dataset)
    assert onnx["diffcap"] == shipped_predictions["diffcap"]
    for task in ("diffmcq", "diffrank"):
        np.testing.assert_allclose(onnx[task], shipped_predictions[task], atol=5e-3)


@pytest.mark.parametrize("lora", ["side", "merged"])
def test_int4_keeps_the_shipped_lora_only_as_a_side_branch(device_bundle, tmp_path, lora):
    """Most LoRA deltas are below half a 4-bit step: merged and re-quantized, they round away
    and the trained answers change; as a float side branch beside the exact Q4_1 weights they
    stay (teacher-forced greedy agreement with the fp32 bundle)."""
    from stepdiff.export.cli import main
    from stepdiff.export.parity import prompt_agreement
    from stepdiff.runtime.compare import StepDiff

    out = tmp_path / f"int4-{lora}"
    assert main(["--quant", "int4", "--lora", lora, "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["graphs"]["decoder"]["quantization_detail"]["lora"] == (
        "float side branch" if lora == "side" else "merged"
    )
    q, ref = StepDiff(out, threads=1), StepDiff(device_bundle, threads=1)
    questions = [
        "How much salt should I add to a pot of pasta water?",
        "How long should I boil an egg for a soft yolk?",
    ]
    rates = [
        prompt_agreement(q, ref, text, steps=16, stop_at_eos=False).teacher_forced_rate
        for text in questions
    ]
    if lora == "side":
        assert min(rates) >= 0.9, rates
    else:  # the measured failure the side branch fixes; if it ever passes, revisit the default
        assert min(rates) < 0.9, rates
