"""The three StepDiff tasks as prompts: one canonical phrasing each, shared by training and eval.

- DiffCap: "what did video 2 do differently in <category>?" -> "<did> instead of <instead_of>"
  (generated). As in the StepDiff release, DiffCap and DiffRank are asked within the item's
  category, and the prompt names it; without a category (the headset's own question) it asks
  about any difference.
- DiffMCQ: no prompt of its own. Each option pair is scored by how likely the model finds the
  given difference text as the DiffCap answer for that pair (mean log-prob per answer token).
- DiffRank: "how similar is video 2 to video 1 in <category>, 0 to 5?" -> one digit. The score of a target is
  the expected digit under the model's next-token distribution over "0".."5".

Eval always asks the canonical question. Training may ask a paraphrase (pass an `rng`), so the
model does not overfit one wording; the answers never change wording.

`training_samples` turns a benchmark item into the chat samples `stepdiff train` reads
({"videos", "prompt", "answer"}, as in PairQA), with exactly the prompts eval uses.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from stepdiff.models.data.slots import CATEGORY_NOUN
from stepdiff.runtime.prompt import COMPARE_QUESTION, VIDEO, compare_prompt

TASKS = ("diffcap", "diffmcq", "diffrank")

# The runtime's question: the headset asks what the model was trained and evaluated on.
CAP_QUESTION = COMPARE_QUESTION
CAP_PARAPHRASES = (
    "Video 1 shows the reference step. Video 2 shows the same step by another person. "
    "What is different in video 2?",
    "Compare video 2 with the reference in video 1. What did the person in video 2 do differently?",
    "Video 1 is how the step should be done. How does video 2 differ from it?",
)

RANK_QUESTION = (
    "Video 1 is the reference step. Video 2 is the same step done by someone else. "
    "How similar is video 2 to video 1, on a scale from 0 to 5, where 5 means the same? "
    "Answer with one digit."
)
RANK_PARAPHRASES = (
    "Video 1 is the reference. Rate from 0 to 5 how closely video 2 follows it "
    "(5 = the same). Answer with one digit.",
    "On a 0 to 5 scale, where 5 means no difference, how similar is video 2 to the reference "
    "in video 1? Answer with one digit.",
)
RANK_DIGITS = ("0", "1", "2", "3", "4", "5")
RANK_MAX = 5


def user_text(question: str, num_videos: int = 2, blind: bool = False) -> str:
    """The user turn: one `<video>` line per video, then the question. `blind` drops the
    videos, so a text-only LM sees the same words without any video tokens."""
    return question if blind else compare_prompt(num_videos, question)


CAP_CATEGORY_QUESTION = (
    "Video 1 is the reference step. Video 2 is the same step done by someone else. "
    "What did video 2 do differently in {noun}?"
)
CAP_CATEGORY_PARAPHRASES = (
    "Compare video 2 with the reference in video 1. How does video 2 differ in {noun}?",
    "Video 1 is how the step should be done. What is different in video 2, in terms of {noun}?",
)
RANK_CATEGORY_QUESTION = (
    "Video 1 is the reference step. Video 2 is the same step done by someone else. "
    "In terms of {noun}, how similar is video 2 to video 1, on a scale from 0 to 5, where 5 "
    "means the same? Answer with one digit."
)
RANK_CATEGORY_PARAPHRASES = (
    "Video 1 is the reference. Rate from 0 to 5 how closely video 2 follows it in {noun} "
    "(5 = the same). Answer with one digit.",
)


def category_noun(category: str) -> str:
    return CATEGORY_NOUN.get(category, category.lower())


def cap_prompt(
    blind: bool = False, rng: random.Random | None = None, category: str | None = None
) -> str:
    """The DiffCap question, within `category` when given (the release's task definition)."""
    plain = (CAP_QUESTION, CAP_PARAPHRASES)
    within = (CAP_CATEGORY_QUESTION, CAP_CATEGORY_PARAPHRASES)
    return _ask(plain, within, blind, rng, category)


def rank_prompt(
    blind: bool = False, rng: random.Random | None = None, category: str | None = None
) -> str:
    """The DiffRank question, within `category` when given."""
    plain = (RANK_QUESTION, RANK_PARAPHRASES)
    within = (RANK_CATEGORY_QUESTION, RANK_CATEGORY_PARAPHRASES)
    return _ask(plain, within, blind, rng, category)


def _ask(plain, within, blind: bool, rng: random.Random | None, category: str | None) -> str:
    """A two-video question: `plain` (canonical, paraphrases) without a category, else `within`
    with the category's noun filled in."""
    if category is None:
        return user_text(_pick(*plain, rng), 2, blind)
    return user_text(_pick(*within, rng).format(noun=category_noun(category)), 2, blind)


def _pick(canonical: str, paraphrases: Sequence[str], rng: random.Random | None) -> str:
    if rng is None:
        return canonical
    return rng.choice((canonical, *paraphrases))


def cap_answer(did: str, instead_of: str) -> str:
    """The DiffCap caption form of the StepDiff release: "<did> instead of <instead_of>"."""
    return f"{did.strip()} instead of {instead_of.strip()}"


def rank_answer(score: float) -> str:
    """A ground-truth similarity (0..5, maybe fractional) as the one digit the model says."""
    return RANK_DIGITS[int(np.clip(round(float(score)), 0, RANK_MAX))]


def digit_token_ids(tokenizer) -> list[int]:
    """Token ids of "0".."5" (a `tokenizers.Tokenizer`); each digit must be a single token,
    which is true of SmolLM2's tokenizer (digits are split one per token)."""
    ids = []
    for d in RANK_DIGITS:
        enc = tokenizer.encode(d, add_special_tokens=False).ids
        if len(enc) != 1:
            raise ValueError(f"the tokenizer splits the digit {d!r} into {enc}; need one token")
        ids.append(enc[0])
    return ids


def expected_digit(probs: Sequence[float]) -> float:
    """E[digit] under the probabilities of "0".."5", renormalised over those six tokens."""
    p = np.asarray(probs, dtype=np.float64)
    total = p.sum()
    if not np.isfinite(total) or total <= 0:
        return float(RANK_MAX) / 2
    return float((p / total) @ np.arange(len(p)))


def training_samples(task: str, item: dict, rng: random.Random | None = None) -> list[dict]:
    """A benchmark line (StepDiff schema) -> PairQA-style chat samples with the eval prompts.

    - diffcap: one sample per reference caption;
    - diffmcq: the answer pair, with the difference text as the DiffCap answer (the thing MCQ
      scores);
    - diffrank: one sample per target, answering the similarity digit.
    """
    if task == "diffcap":
        return [
            _sample(task, [item["reference"], item["candidate"]], prompt, text)
            for prompt, text in (
                (cap_prompt(rng=rng, category=item["category"]), t) for t in item["text"]
            )
        ]
    if task == "diffmcq":
        ref, cand = item["answer"]
        prompt = cap_prompt(rng=rng, category=item["category"])
        return [_sample(task, [ref, cand], prompt, item["difference"])]
    if task == "diffrank":
        return [
            _sample(
                task,
                [item["reference"], t],
                rank_prompt(rng=rng, category=item["category"]),
                rank_answer(s),
            )
            for t, s in zip(item["targets"], item["scores"], strict=True)
        ]
    raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")


def _sample(task: str, videos: list[str], prompt: str, answer: str) -> dict:
    assert prompt.count(VIDEO) == len(videos)
    return {"task": task, "videos": list(videos), "prompt": prompt, "answer": answer}
