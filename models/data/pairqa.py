"""PairQA: instruction samples for a video LM from pairs of same-step clips (the paper's method).

Input: annotated videos (ours, or real annotations converted to the same format). Output: chat
records, one per line:

  {"id", "task", "subtask", "category", "recipe", "step_id",
   "videos": [clip ids, in the order their "<video>" placeholders appear in the prompt],
   "prompt": user turn with one "<video>" per video, "answer": assistant turn,
   "options"/"answer_index" (multiple choice), "scores" (ranking)}

Tasks: diffcap, diffmcq, diffrank, same_or_different and multi_video (which video added X
first; what did video 2 skip; which video followed the recipe; which did A before B). Every
template has several paraphrases; pairs with no difference are included.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from stepdiff.models.data.captaincook import load_recipes
from stepdiff.models.data.pairs import (
    CapItem,
    Clip,
    Index,
    RankItem,
    build_index,
    cap_items,
    caption,
    mcq_options,
    rank_items,
    whole_clip,
)
from stepdiff.models.data.parse_steps import parse_step
from stepdiff.models.data.slots import CATEGORIES, CATEGORY_NOUN

V = "<video>"
LETTERS = ("A", "B", "C", "D")


DIFFCAP = (
    'Here is how the step "{step}" should be done: {v}\nAnd here is how I did it: {v}\nWhat did I do differently in {cat}?',
    'Reference: {v}\nUser: {v}\nCompare how the user did "{step}" with the reference. Describe the difference in {cat}.',
    '{v} {v}\nThe first clip shows the step "{step}" done as the recipe says, the second as it was actually done. What is the difference in {cat}?',
    'Watch the reference {v} and then the attempt {v} at "{step}". In one sentence, what did the attempt do instead, regarding {cat}?',
    'Compare these two clips of "{step}": reference {v}, candidate {v}. Say what the candidate did instead of the reference, focusing on {cat}.',
)
DIFFCAP_NOCAT = (
    'Here is how the step "{step}" should be done: {v}\nAnd here is how I did it: {v}\nDid I do anything differently?',
    'Reference: {v}\nUser: {v}\nIs there any difference in how the user did "{step}"? If so, describe it.',
    '{v} {v}\nThe first clip is the reference for "{step}", the second is my attempt. What did I do differently, if anything?',
)
NO_DIFFERENCE = "No difference."

SAME_OR_DIFF = (
    'Do these two clips of "{step}" differ in {cat}? {v} {v} Answer yes or no.',
    "Reference {v} and attempt {v}: is the attempt different in {cat}? Yes or no?",
    'Compare {v} with {v}. Is there a difference in {cat} in how "{step}" was done? Answer yes or no, then explain.',
)

DIFFMCQ = (
    'Which pair of clips shows this difference: "{diff}"?\n{opts}\nAnswer with the letter.',
    'In each option the first clip is the reference and the second the attempt. Which option shows: "{diff}"?\n{opts}\nAnswer A, B, C or D.',
    'Find the pair of clips that matches this description of what the second clip did: "{diff}".\n{opts}\nGive the letter of the pair.',
)

DIFFRANK = (
    "Reference: {v}\n{targets}\nScore each of A-D from 0 to 5 for how similar it is to the reference in {cat} (5 = the same).",
    "Here is a reference clip {v} and four attempts:\n{targets}\nRate each attempt 0-5 by how close it is to the reference in {cat}; 5 means no difference.",
    "Compare four clips with the reference {v}, looking only at {cat}.\n{targets}\nGive each a similarity score from 0 (most different) to 5 (same).",
)

FOLLOWED = (
    'Which of these videos followed the recipe "{recipe}" exactly?\n{vids}\nAnswer with the video number.',
    'These are {n} attempts at "{recipe}".\n{vids}\nWhich one made no mistakes?',
    '{vids}\nOnly one of these people cooked "{recipe}" exactly as written. Which video is it?',
)
# (template, True when the reference's <video> comes first)
SKIPPED = (
    ('Video 1 follows the recipe "{recipe}": {v}\nWhat did video 2 skip? {v}', True),
    ('Video 1: {v}\nVideo 2: {v}\nBoth cook "{recipe}". Which step did video 2 leave out?', True),
    (
        'Compare video 2 {v} with the reference video 1 {v} for "{recipe}". What step is missing in video 2?',
        False,
    ),
)
ADDED_FIRST = (
    "{vids}\nWhich video added the {ing} first?",
    "Watch these {n} videos.\n{vids}\nIn which one does the person add the {ing} earliest?",
    "{vids}\nWho got to the {ing} first? Answer with the video number.",
)
BEFORE = (
    '{vids}\nIn which video was "{a}" done before "{b}"?',
    'Both videos cook "{recipe}".\n{vids}\nWhich one did "{a}" before "{b}"?',
)


@dataclass(frozen=True)
class PairQAOptions:
    refs_per_candidate: int = 2  # reference clips paired with each deviating clip
    same_ratio: float = 0.25  # no-difference pairs per difference pair
    nocat_ratio: float = 0.25  # diffcap prompts that do not name the category
    rank_per_step_category: int = 2
    multi_per_recipe: int = 12  # multi-video questions per recipe and kind
    max_mcq: int | None = None  # cap on diffmcq samples (they hold 8 clips each)


def _t(rng: np.random.Generator, templates: tuple[str, ...]) -> str:
    return templates[int(rng.integers(len(templates)))]


def _fill(template: str, **kw: str) -> str:
    # "{v}" marks a video, in the template or in text filled into it ("A: {v} {v}")
    return template.replace("{v}", "\0").format(**kw).replace("{v}", "\0").replace("\0", V)


def _cap_answer(item: CapItem) -> str:
    return "\n".join(item.texts)


def _recipe_name(key: str) -> str:
    r = load_recipes().get(key)
    return r.name if r else key


def _record(
    task: str,
    videos: list[Clip],
    prompt: str,
    answer: str,
    item_recipe: str,
    step_id: str | None,
    category: str | None,
    subtask: str | None = None,
    **extra,
) -> dict:
    assert prompt.count(V) == len(videos), (prompt, len(videos))
    rec = {
        "id": "",
        "task": task,
        "subtask": subtask or task,
        "category": category,
        "recipe": item_recipe,
        "step_id": step_id,
        "videos": [c.id for c in videos],
        "prompt": prompt,
        "answer": answer,
    }
    rec.update(extra)
    return rec


def diffcap_samples(
    items: list[CapItem], rng: np.random.Generator, opts: PairQAOptions
) -> Iterator[dict]:
    for it in items:
        step = it.step_text.rstrip(".")
        vids = [it.reference, it.candidate]
        if it.category is None:
            prompt = _fill(_t(rng, DIFFCAP_NOCAT), step=step)
            yield _record(
                "diffcap", vids, prompt, NO_DIFFERENCE, it.recipe, it.step_id, None, "no_difference"
            )
            continue
        if rng.random() < opts.nocat_ratio:
            prompt = _fill(_t(rng, DIFFCAP_NOCAT), step=step)
        else:
            prompt = _fill(
                _t(rng, DIFFCAP), step=step, cat=CATEGORY_NOUN.get(it.category, it.category)
            )
        yield _record(
            "diffcap", vids, prompt, _cap_answer(it), it.recipe, it.step_id, it.category, it.kind
        )


def same_or_different_samples(items: list[CapItem], rng: np.random.Generator) -> Iterator[dict]:
    cats = list(CATEGORIES)  # the seven of the data engine, in their fixed order
    for it in items:
        if it.kind not in ("step", "same"):
            continue
        cat = it.category or cats[int(rng.integers(len(cats)))]
        prompt = _fill(_t(rng, SAME_OR_DIFF), step=it.step_text.rstrip("."), cat=CATEGORY_NOUN[cat])
        answer = f"Yes. The attempt {_cap_answer(it)}." if it.category else "No."
        yield _record(
            "same_or_different",
            [it.reference, it.candidate],
            prompt,
            answer,
            it.recipe,
            it.step_id,
            cat,
            options=["yes", "no"],
            answer_index=0 if it.category else 1,
        )


def diffmcq_samples(
    items: list[CapItem], rng: np.random.Generator, opts: PairQAOptions
) -> Iterator[dict]:
    n = 0
    for it in items:
        if it.category is None:
            continue
        got = mcq_options(it, items, rng)
        if got is None:
            continue
        options, k = got
        diff = it.texts[0]
        lines = [f"{LETTERS[i]}: {V} {V}" for i in range(4)]
        prompt = _fill(_t(rng, DIFFMCQ), diff=diff, opts="\n".join(lines).replace(V, "{v}"))
        vids = [c for pair in options for c in pair]
        yield _record(
            "diffmcq",
            vids,
            prompt,
            LETTERS[k],
            it.recipe,
            it.step_id,
            it.category,
            options=list(LETTERS),
            answer_index=k,
        )
        n += 1
        if opts.max_mcq is not None and n >= opts.max_mcq:
            return


def diffrank_samples(items: list[RankItem], rng: np.random.Generator) -> Iterator[dict]:
    for it in items:
        targets = "\n".join(f"{LETTERS[i]}: {{v}}" for i in range(4))
        prompt = _fill(
            _t(rng, DIFFRANK), targets=targets, cat=CATEGORY_NOUN.get(it.category, it.category)
        )
        answer = ", ".join(f"{LETTERS[i]}: {s}" for i, s in enumerate(it.scores))
        yield _record(
            "diffrank",
            [it.reference, *it.targets],
            prompt,
            answer,
            it.recipe,
            it.step_id,
            it.category,
            scores=list(it.scores),
        )


def _video_lines(n: int) -> str:
    return "\n".join(f"Video {i + 1}: {{v}}" for i in range(n))


def multi_video_samples(
    idx: Index, rng: np.random.Generator, opts: PairQAOptions
) -> Iterator[dict]:
    """Whole-video questions across two or three executions of one recipe."""
    for recipe in idx.recipes():
        vids = sorted(v for v, a in idx.videos.items() if a["recipe"] == recipe)
        correct = [v for v in vids if not idx.videos[v]["deviations"]]
        wrong = [v for v in vids if idx.videos[v]["deviations"]]
        name = _recipe_name(recipe)
        # which video followed the recipe
        for _ in range(opts.multi_per_recipe if correct and wrong else 0):
            n = int(rng.integers(2, 4))
            if len(wrong) < n - 1:
                break
            group = [correct[int(rng.integers(len(correct)))]] + list(
                rng.choice(wrong, n - 1, replace=False)
            )
            rng.shuffle(group)
            k = next(i for i, v in enumerate(group) if v in correct)
            prompt = _fill(_t(rng, FOLLOWED), recipe=name, n=str(n), vids=_video_lines(n))
            yield _record(
                "multi_video",
                [whole_clip(idx, v) for v in group],
                prompt,
                f"Video {k + 1}",
                recipe,
                None,
                None,
                "followed_recipe",
                options=[f"Video {i + 1}" for i in range(n)],
                answer_index=k,
            )
        # what did video 2 skip
        skippers = [
            v
            for v in wrong
            if any(d["category"] == "Missing Step" for d in idx.videos[v]["deviations"])
        ]
        for v in list(rng.permutation(skippers))[: opts.multi_per_recipe] if correct else []:
            ref = correct[int(rng.integers(len(correct)))]
            texts = _skipped_texts(idx, recipe, str(v))
            if not texts:
                continue
            t, ref_first = SKIPPED[int(rng.integers(len(SKIPPED)))]
            order = [ref, str(v)] if ref_first else [str(v), ref]
            prompt = _fill(t, recipe=name)
            yield _record(
                "multi_video",
                [whole_clip(idx, x) for x in order],
                prompt,
                "; ".join(texts),
                recipe,
                None,
                "Missing Step",
                "what_skipped",
            )
        # which video added X first / did A before B
        yield from _timing_questions(idx, recipe, vids, rng, opts)


def _skipped_texts(idx: Index, recipe: str, vid: str) -> list[str]:
    texts = []
    for d in idx.videos[vid]["deviations"]:
        if d["category"] != "Missing Step":
            continue
        runs = idx.runs.get((recipe, str(d["step_id"])), [])
        if runs:
            texts.append(runs[0].text.rstrip("."))
    return texts


_ADD_VERBS = {
    "add",
    "pour",
    "sprinkle",
    "top",
    "drizzle",
    "season",
    "garnish",
    "scoop",
    "put",
    "place",
    "spread",
    "crack",
    "fill",
    "squeeze",
}


def _timing_questions(
    idx: Index, recipe: str, vids: list[str], rng: np.random.Generator, opts: PairQAOptions
) -> Iterator[dict]:
    if len(vids) < 2:
        return
    # ingredient -> {video: start time of the first step that adds it}
    first_add: dict[str, dict[str, float]] = {}
    for v in vids:
        for run in idx.order[v]:
            s = parse_step(run.text).slots
            if s.verb in _ADD_VERBS and s.ingredients and s.ingredients[0] != "contents":
                ing = s.ingredients[0]
                first_add.setdefault(ing, {}).setdefault(v, run.clip.start)
    ings = sorted(i for i, d in first_add.items() if len(d) >= 2)
    for _ in range(opts.multi_per_recipe if ings else 0):
        ing = ings[int(rng.integers(len(ings)))]
        have = sorted(first_add[ing])
        n = min(len(have), int(rng.integers(2, 4)))
        group = list(rng.choice(have, n, replace=False))
        times = [first_add[ing][v] for v in group]
        if len(set(round(t, 1) for t in times)) < n:
            continue
        k = int(np.argmin(times))
        prompt = _fill(_t(rng, ADDED_FIRST), ing=ing, n=str(n), vids=_video_lines(n))
        yield _record(
            "multi_video",
            [whole_clip(idx, v) for v in group],
            prompt,
            f"Video {k + 1}",
            recipe,
            None,
            "Order",
            "added_first",
            options=[f"Video {i + 1}" for i in range(n)],
            answer_index=k,
        )
    # did A before B: two videos whose relative order of two steps differs
    pos = {v: {r.step_id: i for i, r in enumerate(idx.order[v])} for v in vids}
    text = {r.step_id: r.text.rstrip(".") for v in vids for r in idx.order[v]}
    for _ in range(opts.multi_per_recipe):
        v1, v2 = rng.choice(vids, 2, replace=False)
        common = sorted(set(pos[v1]) & set(pos[v2]))
        flips = [
            (a, b)
            for a in common
            for b in common
            if a < b and (pos[v1][a] < pos[v1][b]) != (pos[v2][a] < pos[v2][b])
        ]
        if not flips:
            continue
        a, b = flips[int(rng.integers(len(flips)))]
        if rng.random() < 0.5:
            a, b = b, a
        k = 0 if pos[v1][a] < pos[v1][b] else 1
        prompt = _fill(
            _t(rng, BEFORE), a=text[a], b=text[b], recipe=_recipe_name(recipe), vids=_video_lines(2)
        )
        yield _record(
            "multi_video",
            [whole_clip(idx, str(v1)), whole_clip(idx, str(v2))],
            prompt,
            f"Video {k + 1}",
            recipe,
            None,
            "Order",
            "before",
            options=["Video 1", "Video 2"],
            answer_index=k,
        )


def generate(
    annotations: list[dict],
    seed: int = 0,
    opts: PairQAOptions = PairQAOptions(),
    prefix: str = "pairqa",
) -> list[dict]:
    """All PairQA samples for a set of annotated videos, with stable ids."""
    rng = np.random.default_rng(seed)
    idx = build_index(annotations)
    items = cap_items(idx, rng, opts.refs_per_candidate, opts.same_ratio)
    ranks = list(rank_items(idx, rng, opts.rank_per_step_category))
    out: list[dict] = []
    out += diffcap_samples(items, rng, opts)
    out += diffmcq_samples(items, rng, opts)
    out += diffrank_samples(ranks, rng)
    out += same_or_different_samples(items, rng)
    out += multi_video_samples(idx, rng, opts)
    for i, rec in enumerate(out):
        rec["id"] = f"{prefix}-{rec['task']}-{i:07d}"
    return out


__all__ = ["PairQAOptions", "generate", "caption", "NO_DIFFERENCE"]
