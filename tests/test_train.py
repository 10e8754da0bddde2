"""A tiny training run lowers the loss, writes a checkpoint, and resumes from it."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")


def read_log(run):
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_tiny_training_lowers_loss_and_resumes(tiny_dataset, tmp_path):
    from stepdiff.models.train import load_config, train

    run = tmp_path / "run"
    over = {
        "data": str(tiny_dataset),
        "out": str(run),
        # train and validate on the same 8 samples: the loss on them must drop
        "val_files": ("pairqa/train.jsonl",),
        "max_train_samples": 8,
        "eval_samples": 8,
        "batch_size": 2,
        "stage1_steps": 6,
        "stage2_steps": 4,
        "warmup_steps": 1,
        "lr_projector": 3e-3,
        "lr_lora": 1e-3,
        "eval_every": 10,
        "ckpt_every": 5,
    }
    msgs: list[str] = []
    train(load_config(None, over), log=msgs.append)
    log = read_log(run)
    first = next(r for r in log if r["step"] == 0)["val_loss"]
    last = next(r for r in log if r["step"] == 10)["val_loss"]
    assert last < first - 0.05, (first, last)
    ckpt = torch.load(run / "ckpt.pt", weights_only=False)
    assert ckpt["step"] == 10 and ckpt["stage"] == 2 and ckpt["lora"]

    from safetensors import safe_open

    with safe_open(str(run / "weights.safetensors"), "np") as f:
        names = list(f.keys())
        assert any(n.startswith("projector.") for n in names)
        assert any(".lora_" in n for n in names)

    # Resume: two more steps continue from step 10, not from scratch.
    msgs.clear()
    train(load_config(None, {**over, "stage2_steps": 6}), log=msgs.append)
    assert any("resuming" in m and "step 10" in m for m in msgs)
    steps = [r["step"] for r in read_log(run) if "loss" in r]
    assert steps[-2:] == [11, 12]
    assert torch.load(run / "ckpt.pt", weights_only=False)["step"] == 12
