"""The StepDiff metrics, as the reference evaluation of Nagarajan & Torresani defines them.

- DiffCap: corpus BLEU-1, CIDEr(-D) and ROUGE-L from pycocoevalcap's pure-Python scorers, on
  the raw strings, as the reference does (keys "BLEU-1", "CIDEr", "ROUGE-L"), and again on
  normalised tokens (keys "BLEU-1 (normalised)", "CIDEr (normalised)", "ROUGE-L (normalised)").
- DiffMCQ: accuracy of argmax(scores) against the answer's index among the options (ties go to
  the first option, as numpy's argmax does in the reference).
- DiffRank: the mean over items of scipy's Kendall tau-b between predicted and true scores.

Every metric is also reported per category, computed on that category's items alone (exactly
what the reference script gives on a file filtered to one category; for CIDEr this means the
IDF comes from that category's references).

Two documented choices:
- Tokenization. The headline DiffCap numbers ("BLEU-1", "CIDEr", "ROUGE-L", the ones
  `stepdiff eval --table` shows) are the reference's: the raw strings go to the scorers, which
  split on whitespace (BLEU and CIDEr) or on single spaces (ROUGE-L), with no PTBTokenizer, so
  "Onion" and "onion." do not match "onion". Next to them, each with the suffix " (normalised)"
  (`NORMALISED`), the same three scores after `tokenize` on both sides: lowercase, punctuation
  replaced by spaces, whitespace collapsed (about what COCO's PTBTokenizer does, without Java).
  The normalised keys are ours, not the reference's; they show how much of a score is lost to
  case and punctuation alone. Per category, both sets are computed on that category's items.
- NaN taus. Kendall tau is undefined (scipy returns NaN) when either side is constant, e.g. a
  model that gives the four targets the same score. The reference takes np.mean over the taus
  and so returns NaN for the whole split if any item is NaN. We report `ktau` with a NaN item
  counted as 0 (a constant prediction ranks nothing, and 0 is the expected tau of a random
  ranking), and also `ktau_reference` (the reference's plain mean, NaN if any item is
  NaN) and `nan_items`, so the number can always be compared with the reference script's.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import warnings
from collections.abc import Callable, Sequence

import numpy as np

_PUNCT = re.compile(r"[^\w\s]|_")


def tokenize(text: str) -> str:
    """Lowercase, punctuation to spaces, single spaces: "Added 1 tsp. salt!" -> "added 1 tsp salt"."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


# ---------------------------------------------------------------------------------------------
# DiffCap


DIFFCAP_KEYS = ("BLEU-1", "CIDEr", "ROUGE-L")
# Suffix of the DiffCap keys scored on `tokenize`d text: "BLEU-1 (normalised)", ...
NORMALISED = " (normalised)"


def _coco_scores(gts: dict[str, list[str]], res: dict[str, list[str]]) -> dict[str, float]:
    """pycocoevalcap's Bleu(4) (its BLEU-1), Cider and Rouge on the strings as given."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    with contextlib.redirect_stdout(io.StringIO()):  # BleuScorer prints its length ratio
        bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
        cider, _ = Cider().compute_score(gts, res)
        rouge, _ = Rouge().compute_score(gts, res)
    return {"BLEU-1": float(bleu[0]), "CIDEr": float(cider), "ROUGE-L": float(rouge)}


def diffcap_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """Corpus BLEU-1, CIDEr and ROUGE-L of one generated caption per item against its captions:
    on the raw strings as the reference does ("BLEU-1", ...), and on `tokenize`d strings
    ("BLEU-1 (normalised)", ...)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} captions for {len(references)} items")
    if not hypotheses:
        keys = (*DIFFCAP_KEYS, *(k + NORMALISED for k in DIFFCAP_KEYS))
        return {**dict.fromkeys(keys, math.nan), "n": 0}
    if any(not refs for refs in references):
        raise ValueError("every DiffCap item needs at least one reference caption")
    raw = _coco_scores(
        {str(i): list(refs) for i, refs in enumerate(references)},
        {str(i): [h] for i, h in enumerate(hypotheses)},
    )
    norm = _coco_scores(
        {str(i): [tokenize(r) for r in refs] for i, refs in enumerate(references)},
        {str(i): [tokenize(h)] for i, h in enumerate(hypotheses)},
    )
    return {**raw, **{k + NORMALISED: v for k, v in norm.items()}, "n": len(hypotheses)}


# ---------------------------------------------------------------------------------------------
# DiffMCQ


def answer_index(item: dict) -> int:
    """Index of the answer pair among the options, as the reference's options.index(answer)."""
    options = [list(o) for o in item["options"]]
    answer = list(item["answer"])
    if answer not in options:
        raise ValueError(f"the answer {answer} is not one of the options {options}")
    return options.index(answer)


def mcq_accuracy(scores: Sequence[Sequence[float]], answers: Sequence[int]) -> dict:
    if len(scores) != len(answers):
        raise ValueError(f"{len(scores)} score lists for {len(answers)} items")
    if not answers:
        return {"accuracy": math.nan, "n": 0}
    correct = [
        int(np.argmax(np.asarray(s, dtype=np.float64))) == a
        for s, a in zip(scores, answers, strict=True)
    ]
    return {"accuracy": float(np.mean(correct)), "n": len(answers)}


# ---------------------------------------------------------------------------------------------
# DiffRank


def kendall_tau(pred: Sequence[float], truth: Sequence[float]) -> float:
    """scipy's tau-b; NaN when either side is constant."""
    from scipy.stats import kendalltau

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on constant input; we count NaNs instead
        return float(kendalltau(pred, truth).statistic)


def rank_tau(scores: Sequence[Sequence[float]], truths: Sequence[Sequence[float]]) -> dict:
    if len(scores) != len(truths):
        raise ValueError(f"{len(scores)} score lists for {len(truths)} items")
    if not truths:
        return {"ktau": math.nan, "ktau_reference": math.nan, "nan_items": 0, "n": 0}
    taus = np.array([kendall_tau(p, t) for p, t in zip(scores, truths, strict=True)])
    nan = np.isnan(taus)
    return {
        "ktau": float(np.where(nan, 0.0, taus).mean()),
        "ktau_reference": float(taus.mean()),
        "nan_items": int(nan.sum()),
        "n": len(truths),
    }


# ---------------------------------------------------------------------------------------------
# per task, overall and per category


def score_task(task: str, gt: Sequence[dict], preds: Sequence[dict]) -> dict:
    """{"overall": {...}, "per_category": {category: {...}}} for one task's ground truth and
    predictions (same order, StepDiff formats)."""
    if len(gt) != len(preds):
        raise ValueError(f"{task}: {len(preds)} predictions for {len(gt)} ground-truth items")
    fn = _SCORERS.get(task)
    if fn is None:
        raise ValueError(f"unknown task {task!r}; expected one of {sorted(_SCORERS)}")
    cats: dict[str, list[int]] = {}
    for i, item in enumerate(gt):
        cats.setdefault(str(item.get("category", "unknown")), []).append(i)
    return {
        "overall": fn(gt, preds),
        "per_category": {
            c: fn([gt[i] for i in idx], [preds[i] for i in idx]) for c, idx in sorted(cats.items())
        },
    }


def _cap(gt: Sequence[dict], preds: Sequence[dict]) -> dict:
    return diffcap_scores([p["generated_text"] for p in preds], [g["text"] for g in gt])


def _mcq(gt: Sequence[dict], preds: Sequence[dict]) -> dict:
    return mcq_accuracy([p["scores"] for p in preds], [answer_index(g) for g in gt])


def _rank(gt: Sequence[dict], preds: Sequence[dict]) -> dict:
    return rank_tau([p["scores"] for p in preds], [g["scores"] for g in gt])


_SCORERS: dict[str, Callable[[Sequence[dict], Sequence[dict]], dict]] = {
    "diffcap": _cap,
    "diffmcq": _mcq,
    "diffrank": _rank,
}

# The headline number of each task, in the order a results table shows them. DiffCap's are the
# reference's raw-string scores; the normalised ones stay in metrics.json only.
HEADLINE = (
    ("diffcap", "BLEU-1"),
    ("diffcap", "CIDEr"),
    ("diffcap", "ROUGE-L"),
    ("diffmcq", "accuracy"),
    ("diffrank", "ktau"),
)
