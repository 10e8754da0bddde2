"""Pair mining: clips of the same step across annotated videos, and what differs between them.

Works on annotations alone (design.md format), so it runs the same on the synthetic videos and on
real annotations (CaptainCook4D converted with annotation.from_captaincook). The items it yields
are the raw material of both the PairQA training samples (pairqa.py) and the StepDiff
benchmarks (bench.py).

  - a clip is one step's segment; for an Order deviation it is the two-step window where the
    order differs; for a Missing Step it is the segment that took the skipped step's place.
  - a reference is an execution of the step with no deviation on it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from stepdiff.models.data.annotation import clip_id


@dataclass(frozen=True)
class Clip:
    id: str
    video_id: str
    start: float
    end: float


@dataclass(frozen=True)
class StepRun:
    """One performed step in one video."""

    video_id: str
    recipe: str
    step_id: str
    text: str
    clip: Clip
    devs: tuple[dict, ...]  # deviations on this step (not Missing Step)

    @property
    def correct(self) -> bool:
        return not self.devs


@dataclass(frozen=True)
class CapItem:
    """A reference/candidate pair and the difference in one category (none: texts == ())."""

    recipe: str
    step_id: str
    step_text: str
    reference: Clip
    candidate: Clip
    category: str | None
    texts: tuple[str, ...]  # "<did> instead of <instead_of>" captions
    severity: int
    kind: str = "step"  # "step", "order", "missing", "same"


@dataclass(frozen=True)
class RankItem:
    recipe: str
    step_id: str
    step_text: str
    category: str
    reference: Clip
    targets: tuple[Clip, ...]
    scores: tuple[int, ...]


@dataclass
class Index:
    videos: dict[str, dict] = field(default_factory=dict)
    runs: dict[tuple[str, str], list[StepRun]] = field(default_factory=lambda: defaultdict(list))
    order: dict[str, list[StepRun]] = field(default_factory=dict)  # video -> runs in time order

    def recipes(self) -> list[str]:
        return sorted({a["recipe"] for a in self.videos.values()})


def caption(dev: dict) -> str:
    did, instead = dev["did"].strip().rstrip("."), dev["instead_of"].strip().rstrip(".")
    did = did[:1].lower() + did[1:] if did[:2] != did[:2].upper() else did
    instead = instead[:1].lower() + instead[1:] if instead[:2] != instead[:2].upper() else instead
    return f"{did} instead of {instead}"


def build_index(annotations: list[dict]) -> Index:
    idx = Index()
    for a in annotations:
        vid = a["video_id"]
        idx.videos[vid] = a
        devs: dict[str, list[dict]] = defaultdict(list)
        for d in a["deviations"]:
            devs[str(d["step_id"])].append(d)
        seen: set[str] = set()
        runs = []
        for s in sorted(a["steps"], key=lambda s: s["start"]):
            sid = str(s["step_id"])
            if sid in seen:
                continue  # a repeated step: its first performance stands for it
            seen.add(sid)
            c = Clip(clip_id(vid, s["start"], s["end"]), vid, float(s["start"]), float(s["end"]))
            step_devs = tuple(d for d in devs.get(sid, []) if d["category"] != "Missing Step")
            run = StepRun(vid, a["recipe"], sid, s["text"], c, step_devs)
            runs.append(run)
            idx.runs[(a["recipe"], sid)].append(run)
        idx.order[vid] = runs
    return idx


def _span(runs: list[StepRun], video_id: str) -> Clip:
    start = min(r.clip.start for r in runs)
    end = max(r.clip.end for r in runs)
    return Clip(clip_id(video_id, start, end), video_id, start, end)


def _pick(rng: np.random.Generator, items: list, k: int) -> list:
    if len(items) <= k:
        return list(items)
    return [items[i] for i in sorted(rng.choice(len(items), size=k, replace=False))]


def step_items(
    idx: Index, rng: np.random.Generator, refs_per_candidate: int = 2, same_ratio: float = 0.25
) -> Iterator[CapItem]:
    """Slot-level differences on the same step, and pairs with no difference."""
    for (recipe, sid), runs in sorted(idx.runs.items()):
        correct = [r for r in runs if r.correct]
        wrong = [r for r in runs if any(d["category"] not in ("Order",) for d in r.devs)]
        n_diff = 0
        for cand in wrong:
            refs = [r for r in correct if r.video_id != cand.video_id]
            by_cat: dict[str, list[dict]] = defaultdict(list)
            for d in cand.devs:
                if d["category"] != "Order":
                    by_cat[d["category"]].append(d)
            for ref in _pick(rng, refs, refs_per_candidate):
                for cat, ds in sorted(by_cat.items()):
                    yield CapItem(
                        recipe,
                        sid,
                        cand.text,
                        ref.clip,
                        cand.clip,
                        cat,
                        tuple(dict.fromkeys(caption(d) for d in ds)),
                        max(int(d["severity"]) for d in ds),
                    )
                    n_diff += 1
        pairs = [
            (a, b)
            for i, a in enumerate(correct)
            for b in correct[i + 1 :]
            if a.video_id != b.video_id
        ]
        for a, b in _pick(rng, pairs, max(1, int(round(n_diff * same_ratio))) if pairs else 0):
            if rng.random() < 0.5:
                a, b = b, a
            yield CapItem(recipe, sid, a.text, a.clip, b.clip, None, (), 0, "same")


def order_items(
    idx: Index, rng: np.random.Generator, refs_per_candidate: int = 2
) -> Iterator[CapItem]:
    """An Order deviation: the window of the moved step and its neighbour, against a reference
    video that did the same two steps the other way round."""
    for vid, runs in sorted(idx.order.items()):
        recipe = idx.videos[vid]["recipe"]
        for i, run in enumerate(runs):
            devs = [d for d in run.devs if d["category"] == "Order"]
            if not devs:
                continue
            j = i + 1 if i + 1 < len(runs) else i - 1
            if j < 0:
                continue
            other = runs[j]
            cand_first = i < j
            refs = []
            for rvid, rruns in idx.order.items():
                if rvid == vid or idx.videos[rvid]["recipe"] != recipe:
                    continue
                pos = {r.step_id: k for k, r in enumerate(rruns)}
                if run.step_id in pos and other.step_id in pos:
                    ref_first = pos[run.step_id] < pos[other.step_id]
                    pair = [rruns[pos[run.step_id]], rruns[pos[other.step_id]]]
                    if ref_first != cand_first and all(not r.devs for r in pair):
                        refs.append(pair)
            for pair in _pick(rng, refs, refs_per_candidate):
                yield CapItem(
                    recipe,
                    run.step_id,
                    run.text,
                    _span(pair, pair[0].video_id),
                    _span([run, other], vid),
                    "Order",
                    tuple(dict.fromkeys(caption(d) for d in devs)),
                    max(int(d["severity"]) for d in devs),
                    "order",
                )


def missing_items(
    idx: Index, rng: np.random.Generator, refs_per_candidate: int = 2
) -> Iterator[CapItem]:
    """A Missing Step: the reference's segment of the step against the candidate's segment of the
    step that the reference did next (what the candidate did in its place)."""
    for vid, a in sorted(idx.videos.items()):
        cand_runs = {r.step_id: r for r in idx.order[vid]}
        for d in a["deviations"]:
            if d["category"] != "Missing Step":
                continue
            sid = str(d["step_id"])
            found = []
            for ref in idx.runs.get((a["recipe"], sid), []):
                if ref.video_id == vid or ref.devs:
                    continue
                rruns = idx.order[ref.video_id]
                k = next(i for i, r in enumerate(rruns) if r.step_id == sid)
                nxt = next((r for r in rruns[k + 1 :] if r.step_id in cand_runs), None)
                if nxt is not None:
                    found.append((ref, cand_runs[nxt.step_id]))
            for ref, cand in _pick(rng, found, refs_per_candidate):
                yield CapItem(
                    a["recipe"],
                    sid,
                    ref.text,
                    ref.clip,
                    cand.clip,
                    "Missing Step",
                    (caption(d),),
                    int(d["severity"]),
                    "missing",
                )


def cap_items(
    idx: Index, rng: np.random.Generator, refs_per_candidate: int = 2, same_ratio: float = 0.25
) -> list[CapItem]:
    items = list(step_items(idx, rng, refs_per_candidate, same_ratio))
    items += list(order_items(idx, rng, refs_per_candidate))
    items += list(missing_items(idx, rng, refs_per_candidate))
    return items


def mcq_options(
    item: CapItem, pool: list[CapItem], rng: np.random.Generator
) -> tuple[list[tuple[Clip, Clip]], int] | None:
    """Four [reference, candidate] pairs, one of which shows the item's difference.

    Distractors, hardest first: the same pair the other way round (the caption is directional),
    the same reference with a candidate that differs in another way, a pair of the same step with
    no difference, and pairs of other steps of the recipe.
    """
    answer = (item.reference, item.candidate)
    cands: list[tuple[Clip, Clip]] = []
    if item.kind == "step":
        cands.append((item.candidate, item.reference))
    same_step = [
        p for p in pool if p.recipe == item.recipe and p.step_id == item.step_id and p is not item
    ]
    other_diff = [p for p in same_step if p.category and set(p.texts).isdisjoint(item.texts)]
    no_diff = [p for p in same_step if p.category is None]
    other_step = [
        p for p in pool if p.recipe == item.recipe and p.step_id != item.step_id and p.category
    ]
    for group in (other_diff, no_diff, other_step):
        for p in _pick(rng, group, 3):
            cands.append((p.reference, p.candidate))
    seen = {(answer[0].id, answer[1].id)}
    options = []
    for c in cands:
        key = (c[0].id, c[1].id)
        if key not in seen:
            seen.add(key)
            options.append(c)
        if len(options) == 3:
            break
    if len(options) < 3:
        return None
    k = int(rng.integers(4))
    options.insert(k, answer)
    return options, k


def rank_items(
    idx: Index, rng: np.random.Generator, per_step_category: int = 2
) -> Iterator[RankItem]:
    """A reference and four targets of the same step, scored 5 - severity in one category
    (5: no difference in that category). Targets that differ in another category are left out,
    so a score only ever measures the named category."""
    for (recipe, sid), runs in sorted(idx.runs.items()):
        correct = [r for r in runs if r.correct]
        if not correct:
            continue
        cats = sorted({d["category"] for r in runs for d in r.devs if d["category"] != "Order"})
        for cat in cats:
            scored = [(r, 5) for r in correct]
            for r in runs:
                if r.devs and all(d["category"] == cat for d in r.devs):
                    scored.append((r, max(0, 5 - max(int(d["severity"]) for d in r.devs))))
            for _ in range(per_step_category):
                ref = correct[int(rng.integers(len(correct)))]
                pool = [(r, s) for r, s in scored if r.video_id != ref.video_id]
                diff = [p for p in pool if p[1] < 5]
                if len(pool) < 4 or not diff:
                    break
                picks = _pick(rng, diff, min(len(diff), int(rng.integers(1, 4))))
                rest = [p for p in pool if p not in picks]
                picks += _pick(rng, rest, 4 - len(picks))
                if len(picks) < 4 or len({s for _, s in picks}) < 2:
                    continue
                order = rng.permutation(4)
                picks = [picks[i] for i in order]
                yield RankItem(
                    recipe,
                    sid,
                    ref.text,
                    cat,
                    ref.clip,
                    tuple(r.clip for r, _ in picks),
                    tuple(s for _, s in picks),
                )


def whole_clip(idx: Index, video_id: str) -> Clip:
    a = idx.videos[video_id]
    return Clip(clip_id(video_id, 0.0, float(a["duration"])), video_id, 0.0, float(a["duration"]))
