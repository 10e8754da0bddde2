"""Training the comparison module on cached features (models/compare.py), in one explicit loop.

Data: the build's train-split items in benchmark format (bench/train/*.jsonl):
- diffmcq: the difference text against its four option pairs, cross-entropy over the options'
  match scores. The options hold the hard negatives: the reversed pair and the same reference
  with another mistake.
- diffcap: each (reference, candidate, text) against the other texts of the batch and against
  its own pair reversed (InfoNCE), so direction is learned everywhere, not only in MCQ.
- diffrank: the severity of each target against the reference, regressed to 5 - score and
  ranked within the item (pairwise hinge), in the item's category.
- speak: every performed step of the train recipes' recordings against a clean execution of the
  same step, with no category ("any", what the device asks), its severity regressed to the
  annotation's (models/speak_eval.py builds the same pairs on val and test to measure it).

The vision tower is frozen, so features come from the feature cache (models/features.py); a
user clip is aligned to its reference by DTW on the head features (runtime/align.py, the
function the device runs). Seeded; checkpoints every `save_every` steps and resumes from them.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from stepdiff.models.compare import CATEGORIES, CompareConfig, CompareHead, category_index
from stepdiff.runtime.align import align
from stepdiff.runtime.errors import BadInput
from stepdiff.runtime.files import read_jsonl, write_atomic, write_atomic_with


@dataclass(frozen=True)
class CompareTrainConfig:
    data: str = "artifacts/data_full"
    out: str = "artifacts/compare"
    steps: int = 3000
    batch: int = 16  # items per task per step
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: int = 100
    seed: int = 0
    save_every: int = 250
    eval_every: int = 500
    rank_margin: float = 0.5
    any_category: float = 0.25  # share of pairs whose category is hidden ("any"), as at runtime


class PairFeatures:
    """Clip ids -> aligned feature tensors, with durations; alignments cached per pair."""

    def __init__(self, features, seconds: dict[str, float]) -> None:
        self.features = features
        self.seconds = seconds
        self._align: dict[tuple[str, str], np.ndarray] = {}

    def batch(
        self, pairs: list[tuple[str, str]]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        refs = [r for r, _ in pairs]
        users = [u for _, u in pairs]
        rh, rm = self.features.rows("head", refs), self.features.rows("mid", refs)
        uh, um = self.features.rows("head", users), self.features.rows("mid", users)
        for i, key in enumerate(pairs):
            if key not in self._align:
                self._align[key] = align(rh[i].mean(1), uh[i].mean(1))
            idx = self._align[key]
            uh[i], um[i] = uh[i][idx], um[i][idx]
        secs = np.array([[self.seconds[r], self.seconds[u]] for r, u in pairs], np.float32)
        return (
            torch.from_numpy(rm),
            torch.from_numpy(rh),
            torch.from_numpy(um),
            torch.from_numpy(uh),
            torch.from_numpy(secs),
        )


def load_items(data: Path, split: str) -> dict[str, list[dict]]:
    root = data / "bench" / split
    hint = "rebuild the data with this version's `stepdiff data build` (it writes bench/train)"
    return {t: read_jsonl(root / f"{t}.jsonl", hint) for t in ("diffmcq", "diffcap", "diffrank")}


def clip_ids_of(items: dict[str, list[dict]]) -> set[str]:
    ids: set[str] = set()
    for r in items["diffcap"]:
        ids |= {r["reference"], r["candidate"]}
    for r in items["diffmcq"]:
        ids |= {c for pair in r["options"] for c in pair}
    for r in items["diffrank"]:
        ids |= {r["reference"], *r["targets"]}
    return ids


class TextTable:
    """Difference texts -> (did, instead) mean token embeddings, computed once."""

    def __init__(self, texts: set[str]) -> None:
        from tokenizers import Tokenizer

        from stepdiff.models.compare import text_halves
        from stepdiff.models.pretrained import load_smollm2, smollm2_hf_dir

        lm, _ = load_smollm2()
        tok = Tokenizer.from_file(str(smollm2_hf_dir() / "tokenizer.json"))
        order = sorted(texts)
        did, instead = text_halves(lm.get_input_embeddings(), tok, order)
        self.row = {t: i for i, t in enumerate(order)}
        self.did, self.instead = torch.from_numpy(did), torch.from_numpy(instead)
        del lm

    def get(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        rows = [self.row[t] for t in texts]
        return self.did[rows], self.instead[rows]


def _categories(items: list[dict], rng: random.Random, hide: float) -> torch.Tensor:
    return torch.tensor(
        [category_index(None if rng.random() < hide else it["category"]) for it in items]
    )


def mcq_loss(head, pf, texts, items, rng, cfg) -> torch.Tensor:
    pairs = [tuple(p) for it in items for p in it["options"]]
    cats = _categories(items, rng, cfg.any_category).repeat_interleave(4)
    z = head.encode_pair(*pf.batch(pairs), cats)
    pv = head.pair_vector(z).reshape(len(items), 4, -1)
    tv = head.text_vector(*texts.get([it["difference"] for it in items]))
    logits = head.match(pv, tv[:, None, :].expand_as(pv))
    target = torch.tensor([it["options"].index(it["answer"]) for it in items])
    return F.cross_entropy(logits, target)


def cap_loss(head, pf, texts, items, rng, cfg) -> torch.Tensor:
    chosen = [(it, rng.choice(it["text"])) for it in items]
    pairs = [(it["reference"], it["candidate"]) for it, _ in chosen]
    cats = _categories(items, rng, cfg.any_category)
    z = head.encode_pair(*pf.batch(pairs + [(b, a) for a, b in pairs]), torch.cat([cats, cats]))
    pv = head.pair_vector(z)
    fwd, rev = pv[: len(items)], pv[len(items) :]
    tv = head.text_vector(*texts.get([t for _, t in chosen]))
    scale = head.logit_scale.exp().clamp(max=100)
    logits = scale * fwd @ tv.T  # [pairs, texts]
    rev_own = head.match(rev, tv)[:, None]  # each text against its own pair reversed
    target = torch.arange(len(items))
    by_pair = F.cross_entropy(torch.cat([logits, rev_own], 1), target)
    by_text = F.cross_entropy(logits.T, target)
    return 0.5 * (by_pair + by_text)


def speak_loss(head, pf, pairs) -> torch.Tensor:
    cats = torch.full((len(pairs),), category_index(None))
    sev = head.severity_of(
        head.encode_pair(*pf.batch([(p.reference, p.user) for p in pairs]), cats)
    )
    return F.smooth_l1_loss(sev, torch.tensor([p.severity for p in pairs], dtype=torch.float32))


def rank_loss(head, pf, items, rng, cfg) -> torch.Tensor:
    pairs = [(it["reference"], t) for it in items for t in it["targets"]]
    cats = torch.tensor([category_index(it["category"]) for it in items]).repeat_interleave(4)
    sev = head.severity_of(head.encode_pair(*pf.batch(pairs), cats)).reshape(len(items), 4)
    want = 5.0 - torch.tensor([it["scores"] for it in items], dtype=torch.float32)
    reg = F.smooth_l1_loss(sev, want)
    diff_want = want[:, :, None] - want[:, None, :]  # > 0 where i is more severe than j
    diff_got = sev[:, :, None] - sev[:, None, :]
    mask = (diff_want > 0).float()
    hinge = (F.relu(cfg.rank_margin - diff_got) * mask).sum() / mask.sum().clamp(min=1)
    return reg + hinge


@torch.no_grad()
def evaluate_head(head, pf, texts, items: dict[str, list[dict]], batch: int = 64) -> dict:
    """MCQ accuracy and Rank tau (per category and overall) with the head's own scores."""
    from scipy.stats import kendalltau

    head.eval()
    mcq, rank = {}, {}
    rows = items["diffmcq"]
    for i in range(0, len(rows), batch):
        chunk = rows[i : i + batch]
        pairs = [tuple(p) for it in chunk for p in it["options"]]
        cats = torch.tensor([category_index(it["category"]) for it in chunk]).repeat_interleave(4)
        pv = head.pair_vector(head.encode_pair(*pf.batch(pairs), cats)).reshape(len(chunk), 4, -1)
        tv = head.text_vector(*texts.get([it["difference"] for it in chunk]))
        scores = head.match(pv, tv[:, None, :].expand_as(pv))
        for it, s in zip(chunk, scores, strict=True):
            ok = int(s.argmax()) == it["options"].index(it["answer"])
            mcq.setdefault(it["category"], []).append(ok)
    rows = items["diffrank"]
    for i in range(0, len(rows), batch):
        chunk = rows[i : i + batch]
        pairs = [(it["reference"], t) for it in chunk for t in it["targets"]]
        cats = torch.tensor([category_index(it["category"]) for it in chunk]).repeat_interleave(4)
        sev = head.severity_of(head.encode_pair(*pf.batch(pairs), cats)).reshape(len(chunk), 4)
        for it, s in zip(chunk, sev, strict=True):
            tau = kendalltau((-s).numpy(), it["scores"]).correlation
            rank.setdefault(it["category"], []).append(0.0 if np.isnan(tau) else float(tau))
    head.train()

    def summary(d: dict[str, list]) -> dict:
        flat = [x for v in d.values() for x in v]
        out = {"all": float(np.mean(flat)) if flat else float("nan"), "n": len(flat)}
        out.update({k: float(np.mean(v)) for k, v in sorted(d.items())})
        return out

    return {"diffmcq_accuracy": summary(mcq), "diffrank_tau": summary(rank)}


def prepare(cfg: CompareTrainConfig, splits: tuple[str, ...], extra_clips: set[str] = frozenset()):
    """Items per split, the feature store (built where missing), durations, text table."""
    from stepdiff.models.data.clipstore import ClipStore
    from stepdiff.models.features import build_features, feature_key
    from stepdiff.models.model import StepDiffConfig, VisionTower
    from stepdiff.models.pretrained import load_efficientnet

    data = Path(cfg.data)
    if not (data / "clips.json").is_file():
        raise BadInput(data, "is not a `stepdiff data build` output (no clips.json)")
    items = {s: load_items(data, s) for s in splits}
    ids = set().union(*(clip_ids_of(v) for v in items.values())) | set(extra_clips)
    store = ClipStore(str(data))
    seconds = {}
    for cid in ids:
        _, start, end = store.resolve(cid)
        seconds[cid] = float(end - start)
    vcfg = StepDiffConfig()
    features = build_features(
        ids,
        store,
        VisionTower(vcfg, load_efficientnet()),
        data / "features" / feature_key(vcfg),
    )
    texts = {it["difference"] for v in items.values() for it in v["diffmcq"]}
    texts |= {t for v in items.values() for it in v["diffcap"] for t in it["text"]}
    return items, PairFeatures(features, seconds), TextTable(texts)


def lr_at(step: int, cfg: CompareTrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def train(cfg: CompareTrainConfig, log=print) -> Path:
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    from stepdiff.models.speak_eval import speak_pairs

    speak = speak_pairs(Path(cfg.data), "train", real_only=False)
    extra = {c for p in speak for c in (p.reference, p.user)}
    items, pf, texts = prepare(cfg, ("train", "val"), extra)
    train_items = items["train"]
    for task in ("diffmcq", "diffcap", "diffrank"):
        if not train_items[task]:
            raise BadInput(Path(cfg.data) / "bench" / "train" / f"{task}.jsonl", "has no items")
    head = CompareHead(CompareConfig(seed=cfg.seed))
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "ckpt.pt"
    step, history = 0, []
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=False)
        if state["config"] != asdict(cfg) | {"steps": state["config"]["steps"]}:
            log(f"note: resuming {ckpt} with a changed config")
        head.load_state_dict(state["head"])
        opt.load_state_dict(state["opt"])
        rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        step, history = state["step"], state["history"]
        log(f"resumed from step {step}")

    def save() -> None:
        state = {
            "head": head.state_dict(),
            "opt": opt.state_dict(),
            "rng": rng.getstate(),
            "torch_rng": torch.get_rng_state(),
            "step": step,
            "history": history,
            "config": asdict(cfg),
            "head_config": head.config.to_dict(),
        }
        write_atomic_with(ckpt, lambda tmp: torch.save(state, tmp))

    t0 = time.perf_counter()
    while step < cfg.steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)

        def pick(rows: list) -> list:
            return rng.sample(rows, min(cfg.batch, len(rows)))

        losses = {
            "mcq": mcq_loss(head, pf, texts, pick(train_items["diffmcq"]), rng, cfg),
            "cap": cap_loss(head, pf, texts, pick(train_items["diffcap"]), rng, cfg),
            "rank": rank_loss(head, pf, pick(train_items["diffrank"]), rng, cfg),
        }
        if speak:
            losses["speak"] = speak_loss(head, pf, pick(speak))
        loss = sum(losses.values())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 25 == 0 or step == cfg.steps:
            rate = step / max(1e-9, time.perf_counter() - t0)
            log(
                f"step {step}/{cfg.steps} loss {loss.item():.3f} "
                + " ".join(f"{k} {v.item():.3f}" for k, v in losses.items())
                + f" ({rate:.1f} steps/s)"
            )
        if step % cfg.eval_every == 0 or step == cfg.steps:
            metrics = evaluate_head(head, pf, texts, items["val"])
            history.append({"step": step, **metrics})
            log(f"val at step {step}: {json.dumps(metrics)}")
        if step % cfg.save_every == 0 or step == cfg.steps:
            save()
    weights = out / "compare_head.pt"
    write_atomic_with(
        weights,
        lambda tmp: torch.save({"head": head.state_dict(), "config": head.config.to_dict()}, tmp),
    )
    write_head_safetensors(head, out / "compare_head.safetensors", step)
    write_atomic(out / "history.json", json.dumps(history, indent=1) + "\n")
    return weights


def write_head_safetensors(head: CompareHead, path: Path, step: int) -> Path:
    """The head's weights as export reads them torch-free (export/sources.py read_compare_head):
    fp16 tensors under the state_dict's names, the config and categories as JSON metadata."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().half().contiguous() for k, v in head.state_dict().items()}
    meta = {
        "stepdiff_compare_config": json.dumps(head.config.to_dict()),
        "stepdiff_compare_categories": json.dumps(list(CATEGORIES)),
        "step": str(step),
    }
    return write_atomic_with(path, lambda tmp: save_file(tensors, tmp, meta))


@torch.no_grad()
def severities(head, pf, pairs: list[tuple[str, str]], batch: int = 64) -> np.ndarray:
    """The head's severity of each (reference, user) pair, category "any" (as the device asks)."""
    head.eval()
    out = []
    for i in range(0, len(pairs), batch):
        chunk = pairs[i : i + batch]
        cats = torch.full((len(chunk),), category_index(None))
        out.append(head.severity_of(head.encode_pair(*pf.batch(chunk), cats)).numpy())
    head.train()
    return np.concatenate(out) if out else np.zeros(0)


def report(cfg: CompareTrainConfig, weights: Path, log=print) -> dict:
    """The head's MCQ accuracy and Rank tau on val and test, and the speak decision: threshold
    chosen on val, false alarms and recall reported on test. Written to OUT/report.json."""
    from stepdiff.models.speak_eval import choose_threshold, speak_pairs, speak_report

    data = Path(cfg.data)
    speak = {s: speak_pairs(data, s) for s in ("val", "test")}
    extra = {c for ps in speak.values() for p in ps for c in (p.reference, p.user)}
    items, pf, texts = prepare(cfg, ("val", "test"), extra)
    state = torch.load(weights, weights_only=False)
    head = CompareHead(CompareConfig(**state["config"]))
    head.load_state_dict(state["head"])
    out: dict = {s: evaluate_head(head, pf, texts, items[s]) for s in ("val", "test")}
    pred = {s: severities(head, pf, [(p.reference, p.user) for p in speak[s]]) for s in speak}
    truth_val = np.array([p.severity for p in speak["val"]])
    threshold = choose_threshold(pred["val"], truth_val, serious=3.0, recall=0.8)
    out["speak"] = {
        "rule": "threshold = the highest that speaks on 80% of val severity>=3 steps",
        "val": speak_report(speak["val"], pred["val"], threshold).to_dict(),
        "test": speak_report(speak["test"], pred["test"], threshold).to_dict(),
    }
    write_atomic(Path(cfg.out) / "report.json", json.dumps(out, indent=1) + "\n")
    log(json.dumps(out))
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m stepdiff.models.train_compare", description=__doc__.splitlines()[0]
    )
    for f, default in asdict(CompareTrainConfig()).items():
        p.add_argument("--" + f.replace("_", "-"), type=type(default), default=default)
    a = p.parse_args(argv)
    cfg = CompareTrainConfig(**{k: getattr(a, k) for k in asdict(CompareTrainConfig())})
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    path = train(cfg, log=log)
    report(cfg, path, log=log)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
