"""stepdiff train --config FILE: two-stage training on PairQA, in one explicit loop.

Stage 1 aligns the projector with the LM frozen. Stage 2 adds LoRA on SmolLM2 and trains both.
The vision tower is frozen throughout, so per-clip features are computed once (models/features.py)
and training touches only the projector, the LoRA factors and the LM's forward/backward.

A config is a TOML file of overrides of TrainConfig. The run directory holds ckpt.pt (resumed
automatically), log.jsonl and, at the end, weights.safetensors: the shippable weights that differ
from the pretrained parts (projector + LoRA, float16).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from stepdiff.models.lora import LoraConfig, apply_lora, lora_state_dict
from stepdiff.models.model import StepDiffConfig, StepDiffModel
from stepdiff.runtime.errors import BadInput
from stepdiff.runtime.files import write_atomic_with
from stepdiff.runtime.prompt import VIDEO, chat_text

IM_END = 2  # <|im_end|>, SmolLM2's end of turn: the model learns to stop
IGNORE = -100


@dataclass(frozen=True)
class TrainConfig:
    data: str = "artifacts/data_full"  # a `stepdiff data build` output directory
    out: str = "artifacts/run"
    train_files: tuple[str, ...] = ("pairqa/train.jsonl",)
    val_files: tuple[str, ...] = ("pairqa/val.jsonl",)
    stage1_steps: int = 300
    stage2_steps: int = 1500
    batch_size: int = 4
    lr_projector: float = 1e-3
    lr_lora: float = 3e-4
    warmup_steps: int = 30
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    max_answer_tokens: int = 48
    lora_rank: int = 16
    lora_alpha: float = 32.0
    eval_every: int = 100
    eval_samples: int = 64
    ckpt_every: int = 50
    seed: int = 0
    threads: int = 2
    max_train_samples: int = 0  # 0 = all
    eval_format: bool = True  # add PairQA re-asked with eval's prompts (see training_mix)
    mix_original: float = 0.35  # share of the original PairQA records kept beside them
    model: dict = field(default_factory=dict)  # StepDiffConfig overrides

    @property
    def total_steps(self) -> int:
        return self.stage1_steps + self.stage2_steps


def load_config(path: str | None, overrides: dict | None = None) -> TrainConfig:
    raw: dict = {}
    if path:
        p = Path(path)
        if not p.is_file():
            raise BadInput(p, "no such config file")
        try:
            raw = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as e:
            raise BadInput(p, f"is not valid TOML ({e})") from e
        known = {f.name for f in fields(TrainConfig)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise BadInput(p, f"unknown field(s) {unknown}; known: {sorted(known)}")
    raw.update(overrides or {})
    for k in ("train_files", "val_files"):
        if k in raw:
            raw[k] = tuple(raw[k])
    return replace(TrainConfig(), **raw)


# ---------------------------------------------------------------------------------------------
# data


def read_samples(root: Path, files: tuple[str, ...], limit: int = 0) -> list[dict]:
    out = []
    for rel in files:
        p = root / rel
        if not p.is_file():
            raise BadInput(p, "training file is missing; build the data with `stepdiff data build`")
        for n, line in enumerate(p.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                s = json.loads(line)
                videos, prompt, answer = s["videos"], s["prompt"], s["answer"]
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise BadInput(p, f"line {n}: needs 'videos', 'prompt', 'answer' ({e})") from e
            if prompt.count(VIDEO) != len(videos):
                raise BadInput(
                    p, f"line {n}: {len(videos)} videos but {prompt.count(VIDEO)} <video>"
                )
            out.append({**s, "videos": list(videos), "prompt": prompt, "answer": str(answer)})
    if limit:
        out = out[:limit]
    return out


def eval_format(records: list[dict], rng: random.Random) -> list[dict]:
    """PairQA DiffCap and DiffRank records re-asked with the exact prompts eval uses
    (models/tasks.py), so the benchmark questions are ones the model has been trained on."""
    from stepdiff.models.tasks import cap_prompt, rank_answer, rank_prompt

    out = []
    for s in records:
        if s.get("task") == "diffcap" and len(s["videos"]) == 2:
            out.append(
                {
                    "videos": s["videos"],
                    "prompt": cap_prompt(rng=rng, category=s.get("category")),
                    "answer": s["answer"],
                }
            )
        elif s.get("task") == "diffrank" and "scores" in s:
            ref, *targets = s["videos"]
            for t, score in zip(targets, s["scores"], strict=True):
                out.append(
                    {
                        "videos": [ref, t],
                        "prompt": rank_prompt(rng=rng, category=s.get("category")),
                        "answer": rank_answer(score),
                    }
                )
    return out


def training_mix(records: list[dict], cfg: TrainConfig, rng: random.Random) -> list[dict]:
    """Eval-format samples plus a share of the original PairQA (paraphrases, multi-video)."""
    if not cfg.eval_format:
        return records
    return eval_format(records, rng) + [s for s in records if rng.random() < cfg.mix_original]


@dataclass(frozen=True)
class Encoded:
    ids: list[int]  # with placeholder 0 at video positions
    labels: list[int]
    video_starts: list[int]
    videos: list[str]


def encode_sample(tokenizer, sample: dict, k: int, max_answer: int) -> Encoded:
    pieces = chat_text(sample["prompt"]).split(VIDEO)
    ids: list[int] = []
    starts: list[int] = []
    for i, piece in enumerate(pieces):
        ids += tokenizer.encode(piece, add_special_tokens=False).ids
        if i < len(pieces) - 1:
            starts.append(len(ids))
            ids += [0] * k
    answer = tokenizer.encode(sample["answer"], add_special_tokens=False).ids[:max_answer]
    answer = answer + [IM_END]
    labels = [IGNORE] * len(ids) + answer
    return Encoded(ids + answer, labels, starts, sample["videos"])


def collate(batch: list[Encoded]) -> dict[str, torch.Tensor]:
    s = max(len(e.ids) for e in batch)
    ids = torch.full((len(batch), s), IM_END, dtype=torch.long)
    labels = torch.full((len(batch), s), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), s), dtype=torch.long)
    for b, e in enumerate(batch):
        ids[b, : len(e.ids)] = torch.tensor(e.ids)
        labels[b, : len(e.labels)] = torch.tensor(e.labels)
        mask[b, : len(e.ids)] = 1
    return {"ids": ids, "labels": labels, "mask": mask}


def loss_on(model: StepDiffModel, batch: list[Encoded], feats) -> torch.Tensor:
    """Cross-entropy on the answer tokens; video positions carry the projector's output."""
    t = collate(batch)
    clip_ids = [v for e in batch for v in e.videos]
    video = model.projector(feats.get(clip_ids))  # [Nv, K, D]
    k = video.shape[1]
    b_idx, s_idx = [], []
    for b, e in enumerate(batch):
        for start in e.video_starts:
            b_idx += [b] * k
            s_idx += list(range(start, start + k))
    emb = model.embed_ids(t["ids"]).clone()
    emb[torch.tensor(b_idx), torch.tensor(s_idx)] = video.reshape(-1, video.shape[-1])
    logits = model.lm(inputs_embeds=emb, attention_mask=t["mask"]).logits
    return F.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]),
        t["labels"][:, 1:].reshape(-1),
        ignore_index=IGNORE,
    )


# ---------------------------------------------------------------------------------------------
# the loop


def lr_at(step: int, start: int, length: int, base: float, warmup: int) -> float:
    """Linear warmup then cosine to 10%, restarted at each stage."""
    i = step - start
    if i < warmup:
        return base * (i + 1) / warmup
    progress = min(1.0, (i - warmup) / max(1, length - warmup))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def make_optimizer(model: StepDiffModel, cfg: TrainConfig, stage: int) -> torch.optim.Optimizer:
    groups = [
        {"params": list(model.projector.parameters()), "lr": cfg.lr_projector, "name": "proj"}
    ]
    if stage == 2:
        lora = [p for n, p in model.lm.named_parameters() if ".lora_" in n]
        groups.append({"params": lora, "lr": cfg.lr_lora, "name": "lora"})
    return torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)


def save_atomic(obj, path: Path) -> None:
    write_atomic_with(path, lambda tmp: torch.save(obj, tmp))


def shippable_weights(model: StepDiffModel, cfg: TrainConfig) -> dict[str, torch.Tensor]:
    out = {f"projector.{k}": v.detach().half() for k, v in model.projector.state_dict().items()}
    out.update({f"lm.{k}": v.detach().half() for k, v in lora_state_dict(model.lm).items()})
    return out


def write_weights(model: StepDiffModel, cfg: TrainConfig, path: Path, step: int) -> None:
    from safetensors.torch import save_file

    meta = {
        "stepdiff_config": json.dumps(model.config.to_dict()),
        "lora_config": json.dumps(
            LoraConfig(rank=cfg.lora_rank, alpha=cfg.lora_alpha).to_dict()
            if step > cfg.stage1_steps
            else None
        ),
        "train_config": json.dumps(asdict(cfg)),
        "step": str(step),
    }
    weights = {k: v.contiguous() for k, v in shippable_weights(model, cfg).items()}
    write_atomic_with(path, lambda tmp: save_file(weights, tmp, meta))


@torch.no_grad()
def evaluate_loss(model, data: list[Encoded], feats, batch_size: int) -> float:
    model.eval()
    losses = [
        float(loss_on(model, data[i : i + batch_size], feats))
        for i in range(0, len(data), batch_size)
    ]
    model.train()
    return float(np.mean(losses)) if losses else float("nan")


def train(cfg: TrainConfig, log=print) -> Path:
    from tokenizers import Tokenizer
    from tqdm import tqdm

    from stepdiff.models.data.clipstore import ClipStore
    from stepdiff.models.features import build_features, feature_key
    from stepdiff.models.pretrained import smollm2_hf_dir

    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    root, run = Path(cfg.data), Path(cfg.out)
    run.mkdir(parents=True, exist_ok=True)

    model = StepDiffModel.from_pretrained(replace(StepDiffConfig(), **cfg.model))
    tok = Tokenizer.from_file(str(smollm2_hf_dir() / "tokenizer.json"))
    k = model.config.tokens_per_video
    rng = random.Random(cfg.seed)
    train_raw = training_mix(read_samples(root, cfg.train_files), cfg, rng)
    if cfg.max_train_samples:
        train_raw = train_raw[: cfg.max_train_samples]
    val_raw = training_mix(read_samples(root, cfg.val_files), cfg, rng)
    val_raw = rng.sample(val_raw, min(cfg.eval_samples, len(val_raw)))
    train_set = [encode_sample(tok, s, k, cfg.max_answer_tokens) for s in train_raw]
    val_set = [encode_sample(tok, s, k, cfg.max_answer_tokens) for s in val_raw]

    store = ClipStore(root)
    clip_ids = {v for e in train_set + val_set for v in e.videos}
    feats = build_features(
        clip_ids, store, model.vision, root / "features" / feature_key(model.config)
    )

    ckpt_path = run / "ckpt.pt"
    step, stage = 0, 1
    state = None
    if ckpt_path.is_file():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        step, stage = state["step"], state["stage"]
        log(f"resuming from {ckpt_path} at step {step} (stage {stage})")
    if stage == 2:
        apply_lora(model.lm, LoraConfig(rank=cfg.lora_rank, alpha=cfg.lora_alpha))
    opt = make_optimizer(model, cfg, stage)
    if state is not None:
        model.projector.load_state_dict(state["projector"])
        if state.get("lora"):
            model.lm.load_state_dict(state["lora"], strict=False)
        opt.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        rng.setstate(state["py_rng"])
    else:
        for p in model.lm.parameters():
            p.requires_grad_(False)

    def checkpoint() -> None:
        save_atomic(
            {
                "step": step,
                "stage": stage,
                "projector": model.projector.state_dict(),
                "lora": lora_state_dict(model.lm) if stage == 2 else None,
                "optimizer": opt.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "py_rng": rng.getstate(),
                "config": model.config.to_dict(),
                "train_config": asdict(cfg),
            },
            ckpt_path,
        )

    model.train()
    model.vision.eval()
    order: list[int] = []
    bar = tqdm(total=cfg.total_steps, initial=step, desc=f"stage {stage}", file=sys.stderr)
    logf = open(run / "log.jsonl", "a")
    t0 = time.time()
    if step == 0:  # the starting point, so a run's log shows what training bought
        rec0 = {
            "step": 0,
            "stage": 1,
            "val_loss": evaluate_loss(model, val_set, feats, cfg.batch_size),
        }
        logf.write(json.dumps(rec0) + "\n")
        log(f"step 0: val loss {rec0['val_loss']:.4f}")
    while step < cfg.total_steps:
        if stage == 1 and step >= cfg.stage1_steps:
            stage = 2
            apply_lora(model.lm, LoraConfig(rank=cfg.lora_rank, alpha=cfg.lora_alpha))
            opt = make_optimizer(model, cfg, 2)
            bar.set_description("stage 2")
        start, length, _ = (
            (0, cfg.stage1_steps, None)
            if stage == 1
            else (cfg.stage1_steps, cfg.stage2_steps, None)
        )
        for g in opt.param_groups:
            base = cfg.lr_projector if g["name"] == "proj" else cfg.lr_lora
            g["lr"] = lr_at(step, start, length, base, cfg.warmup_steps)
        if len(order) < cfg.batch_size:
            fresh = list(range(len(train_set)))
            rng.shuffle(fresh)
            order += fresh
        batch = [train_set[order.pop()] for _ in range(cfg.batch_size)]
        loss = loss_on(model, batch, feats)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(
            [p for g in opt.param_groups for p in g["params"]], cfg.grad_clip
        )
        opt.step()
        step += 1
        rec = {"step": step, "stage": stage, "loss": loss.item(), "elapsed_s": time.time() - t0}
        if step % cfg.eval_every == 0 or step == cfg.total_steps:
            rec["val_loss"] = evaluate_loss(model, val_set, feats, cfg.batch_size)
        logf.write(json.dumps(rec) + "\n")
        logf.flush()
        bar.update(1)
        bar.set_postfix({k: round(v, 4) for k, v in rec.items() if "loss" in k})
        if step % cfg.ckpt_every == 0 or step == cfg.total_steps:
            checkpoint()
    bar.close()
    logf.close()
    write_weights(model, cfg, run / "weights.safetensors", step)
    log(f"wrote {run / 'weights.safetensors'}")
    return run


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="stepdiff train", description=__doc__.splitlines()[0])
    p.add_argument("--config", help="TOML file of TrainConfig overrides")
    p.add_argument("--data", help="override the dataset directory")
    p.add_argument("--out", help="override the run directory")
    a = p.parse_args(argv)
    over = {k: v for k, v in (("data", a.data), ("out", a.out)) if v}
    cfg = load_config(a.config, over)
    train(cfg, log=lambda m: print(m, file=sys.stderr))
    return 0
