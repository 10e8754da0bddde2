"""The comparison module's training (models/train_compare.py) lowers its losses, checkpoints and
resumes, and keeps direction: a reversed pair is a different input."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

torch = pytest.importorskip("torch")


def fixed_losses(head, pf, texts, items, cfg) -> float:
    from stepdiff.models.train_compare import cap_loss, mcq_loss, rank_loss

    rng = random.Random(0)
    cfg = replace(cfg, any_category=0.0)
    with torch.no_grad():
        return float(
            mcq_loss(head, pf, texts, items["diffmcq"][:8], rng, cfg)
            + cap_loss(head, pf, texts, items["diffcap"][:8], rng, cfg)
            + rank_loss(head, pf, items["diffrank"][:8], rng, cfg)
        )


def test_tiny_compare_training_lowers_the_loss_and_resumes(tiny_dataset, tmp_path):
    from stepdiff.models.compare import CompareConfig, CompareHead
    from stepdiff.models.train_compare import CompareTrainConfig, prepare, train

    cfg = CompareTrainConfig(
        data=str(tiny_dataset),
        out=str(tmp_path / "run"),
        steps=40,
        batch=8,
        lr=3e-3,
        warmup=5,
        save_every=20,
        eval_every=40,
    )
    items, pf, texts = prepare(cfg, ("train",))
    before = fixed_losses(CompareHead(CompareConfig(seed=0)), pf, texts, items["train"], cfg)
    msgs: list[str] = []
    weights = train(cfg, log=msgs.append)
    state = torch.load(weights, weights_only=False)
    head = CompareHead(CompareConfig(**state["config"]))
    head.load_state_dict(state["head"])
    after = fixed_losses(head, pf, texts, items["train"], cfg)
    assert after < before - 0.1, (before, after)
    assert any(m.startswith("val at step 40") for m in msgs)

    msgs.clear()
    train(replace(cfg, steps=50), log=msgs.append)
    assert "resumed from step 40" in msgs
    assert torch.load(tmp_path / "run" / "ckpt.pt", weights_only=False)["step"] == 50

    # Direction: the same two clips the other way round give another pair vector.
    it = items["train"]["diffcap"][0]
    a, b = it["reference"], it["candidate"]
    cat = torch.tensor([7, 7])
    with torch.no_grad():
        v = head.pair_vector(head.encode_pair(*pf.batch([(a, b), (b, a)]), cat))
    assert float((v[0] - v[1]).abs().max()) > 1e-3
