"""LoRA wraps the right layers, starts as a no-op, and merges back into plain weights exactly."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=100,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    return LlamaForCausalLM(cfg).eval()


def test_lora_starts_as_identity_and_merges_exactly():
    from stepdiff.models.lora import LoraConfig, apply_lora, lora_state_dict, merged_state_dict

    lm = tiny_llama()
    ids = torch.randint(0, 100, (1, 12))
    before = lm(ids).logits
    wrapped = apply_lora(lm, LoraConfig(rank=4, alpha=8, dropout=0.0))
    assert len(wrapped) == 2 * 7
    assert torch.allclose(lm(ids).logits, before, atol=1e-6)  # B = 0 at start

    for name, p in lm.named_parameters():
        if "lora_b" in name:
            p.data.normal_(std=0.05)
    trainable = {n for n, p in lm.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_" in n for n in trainable)
    with_lora = lm(ids).logits
    assert not torch.allclose(with_lora, before, atol=1e-4)

    merged = tiny_llama()
    merged.load_state_dict(merged_state_dict(lm))
    assert torch.allclose(merged(ids).logits, with_lora, atol=1e-5)
    assert len(lora_state_dict(lm)) == 2 * len(wrapped)
