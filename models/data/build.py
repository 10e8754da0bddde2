"""`stepdiff data build`: executions -> rendered videos + annotations -> PairQA, benchmarks, card.

Output layout (DIR):
  videos/<video_id>.mp4            rendered recordings
  annotations/<video_id>.json      one annotation per video (design.md format)
  pairqa/{train,val,test}.jsonl    PairQA chat samples, split by recipe
  bench/{val,test}/{diffcap,diffmcq,diffrank}.jsonl   StepDiff benchmarks, split by recipe
  by_recording/pairqa/..., by_recording/bench/...     the same, split by recording
  clips.json                       clip id -> {"video", "start", "end"} for every clip used
  splits.json                      recipe and recording splits
  card.json, DATASET_CARD.md       counts per task, category and split
"""

from __future__ import annotations

import os
import sys
import time
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context

import numpy as np

from stepdiff.models.data import bench as bench_mod
from stepdiff.models.data import pairqa as pairqa_mod
from stepdiff.models.data.annotation import check, parse_clip_id
from stepdiff.models.data.captaincook import load_recipes, load_recordings
from stepdiff.models.data.deviations import change_for
from stepdiff.models.data.narrate import narrate, narrate_idle
from stepdiff.models.data.recordings import Execution, reenact, sample_execution, step_slots
from stepdiff.models.data.schemas import BENCH_SCHEMAS, CARD, CLIP_ENTRY, PAIRQA, errors
from stepdiff.models.data.slots import CATEGORIES
from stepdiff.models.data.splits import (
    SPLITS,
    by_recipe,
    by_recording,
    recipe_split_of,
    recording_split_of,
)
from stepdiff.runtime.files import write_json, write_jsonl


@dataclass(frozen=True)
class Scale:
    name: str
    recipes: tuple[str, ...] | None  # None: all 24
    reenact_per_recipe: int | None  # real recordings re-enacted per recipe; None: all
    correct_per_recipe: int  # sampled executions with no deviation
    deviant_per_recipe: int  # sampled executions with deviations
    size: int  # frame size
    fps: float
    pairqa: pairqa_mod.PairQAOptions = field(default_factory=pairqa_mod.PairQAOptions)
    bench_max: int | None = None  # lines per benchmark task and split


SCALES = {
    "tiny": Scale(
        "tiny",
        ("breakfastburritos", "spicedhotchocolate", "capresebruschetta", "microwaveeggsandwich"),
        reenact_per_recipe=2,
        correct_per_recipe=2,
        deviant_per_recipe=3,
        size=224,  # the renderer's floor at every scale: tests see what training sees
        fps=10.0,
        pairqa=pairqa_mod.PairQAOptions(multi_per_recipe=4),
        bench_max=200,
    ),
    "small": Scale(
        "small", None, 4, 2, 4, 224, 10.0, pairqa_mod.PairQAOptions(multi_per_recipe=8), 1000
    ),
    "full": Scale(
        "full",
        None,
        None,
        6,
        10,
        224,
        10.0,
        pairqa_mod.PairQAOptions(
            refs_per_candidate=4, rank_per_step_category=4, multi_per_recipe=30
        ),
        4000,
    ),
}


@dataclass(frozen=True)
class Job:
    execution: Execution
    seed: int
    path: str
    size: int
    fps: float


def _seed(base: int, key: str) -> int:
    return zlib.crc32(f"{base}:{key}".encode()) & 0x7FFFFFFF


def plan_executions(scale: Scale, seed: int) -> list[Execution]:
    """Which recordings are re-enacted and which new executions are sampled, for a scale."""
    recipes = load_recipes()
    keys = list(scale.recipes) if scale.recipes else sorted(recipes)
    rng = np.random.default_rng(seed)
    out: list[Execution] = []
    by_recipe_recs: dict[str, list] = {}
    for rec in load_recordings():
        by_recipe_recs.setdefault(rec.recipe, []).append(rec)
    for key in keys:
        recs = sorted(by_recipe_recs.get(key, []), key=lambda r: r.recording_id)
        if scale.reenact_per_recipe is not None:
            # alternate recordings with and without mistakes, so both kinds are in
            wrong = [r for r in recs if r.has_mistakes]
            right = [r for r in recs if not r.has_mistakes]
            mixed = [x for pair in zip(wrong, right, strict=False) for x in pair]
            mixed += [r for r in recs if r not in mixed]
            recs = mixed[: scale.reenact_per_recipe]
        for rec in recs:
            out.append(reenact(rec, np.random.default_rng(_seed(seed, rec.recording_id))))
        recipe = recipes[key]
        for k in range(scale.correct_per_recipe):
            vid = f"syn_{key}_{k:03d}"
            out.append(
                sample_execution(recipe, vid, np.random.default_rng(_seed(seed, vid)), (), seed)
            )
        # deviant executions: the recipe's possible categories dealt out like cards, so every
        # category is in some video of the recipe, then topped up to two or three per video
        usable = [c for c in CATEGORIES if _category_possible(recipe, c)]
        deck = [usable[int(i)] for i in rng.permutation(len(usable))]
        hands: list[list[str]] = [[] for _ in range(scale.deviant_per_recipe)]
        for i, cat in enumerate(deck):
            if hands:
                hands[i % len(hands)].append(cat)
        for k, hand in enumerate(hands):
            want = int(rng.integers(2, 4))
            while len(hand) < want:
                extra = usable[int(rng.integers(len(usable)))]
                if extra not in hand:
                    hand.append(extra)
            vid = f"syn_{key}_{scale.correct_per_recipe + k:03d}"
            out.append(
                sample_execution(
                    recipe, vid, np.random.default_rng(_seed(seed, vid)), tuple(hand), seed
                )
            )
    return out


def _category_possible(recipe, category: str) -> bool:
    if category in ("Order", "Missing Step"):
        return True
    rng = np.random.default_rng(0)
    return any(change_for(category, step_slots(t), rng) is not None for t in recipe.steps.values())


def layout(job: Job) -> tuple[list, dict]:
    """The renderer's segments for an execution, and its annotation (times from frame counts)."""
    from stepdiff.models.data.render import Segment, segment_length

    ex, fps = job.execution, job.fps
    rng = np.random.default_rng(job.seed)
    speed = float(rng.uniform(0.85, 1.2))  # some people are faster than others
    segments: list[Segment] = []
    times = []
    narrations = []
    frame = 0
    idle_n = segment_length(None, fps)
    for step in ex.steps:
        n_idle = max(2, int(round(idle_n * rng.uniform(0.6, 1.8))))
        segments.append(Segment(None, n_idle, len(segments)))
        line = narrate_idle(rng)
        if line:
            narrations.append({"start": frame / fps, "end": (frame + n_idle) / fps, "text": line})
        frame += n_idle
        n = segment_length(step.slots, fps, speed)
        segments.append(Segment(step.slots, n, len(segments)))
        times.append((step, frame, frame + n))
        lead = int(rng.integers(0, max(1, n // 4)))
        narrations.append(
            {
                "start": (frame + lead) / fps,
                "end": (frame + n) / fps,
                "text": narrate(step.slots, rng),
            }
        )
        frame += n
    tail = max(2, int(round(idle_n * rng.uniform(0.6, 1.4))))
    segments.append(Segment(None, tail, len(segments)))
    frame += tail
    ann = {
        "video_id": ex.video_id,
        "recipe": ex.recipe,
        "fps": fps,
        "duration": round(frame / fps, 4),
        "steps": [
            {
                "step_id": s.step_id,
                "text": s.text,
                "start": round(a / fps, 4),
                "end": round(b / fps, 4),
            }
            for s, a, b in times
        ],
        "narrations": [
            {**n, "start": round(n["start"], 4), "end": round(n["end"], 4)} for n in narrations
        ],
        "deviations": [d.as_json() for d in ex.deviations],
    }
    return segments, ann


def render_job(job: Job) -> dict:
    """Renders one execution to job.path; returns its annotation."""
    from stepdiff.models.data.render import RenderOptions, render_video, write_video

    segments, ann = layout(job)
    planned = sum(s.num_frames for s in segments)
    opts = RenderOptions(size=job.size, fps=job.fps, nuisance=True)
    count = write_video(job.path, render_video(segments, job.seed, opts), job.fps)
    if count != planned:
        raise RuntimeError(f"{job.path}: wrote {count} frames, planned {planned}")
    return ann


def _progress(total: int, desc: str):
    try:
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, file=sys.stderr, unit="video", dynamic_ncols=True)
    except ImportError:  # keep going without a bar
        return None


def render_all(jobs: list[Job], workers: int, progress: bool) -> list[dict]:
    bar = _progress(len(jobs), "rendering") if progress else None
    out: list[dict] = []
    try:
        if workers <= 1:
            for job in jobs:
                out.append(render_job(job))
                if bar:
                    bar.update(1)
        else:
            with get_context("fork").Pool(workers) as pool:
                for ann in pool.imap_unordered(render_job, jobs, chunksize=1):
                    out.append(ann)
                    if bar:
                        bar.update(1)
    finally:
        if bar:
            bar.close()
    return sorted(out, key=lambda a: a["video_id"])


def _counts(rows: list[dict], key: str) -> dict[str, int]:
    return dict(sorted(Counter(str(r.get(key)) for r in rows).items()))


def build(
    out: str, scale: str | Scale = "tiny", seed: int = 0, workers: int = 2, progress: bool = True
) -> dict:
    """Builds the whole dataset into `out`; returns the card (also written as card.json)."""
    sc = SCALES[scale] if isinstance(scale, str) else scale
    t0 = time.time()
    for sub in ("videos", "annotations", "pairqa", "bench", "by_recording"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    executions = plan_executions(sc, seed)
    jobs = [
        Job(
            ex,
            _seed(seed, ex.video_id),
            os.path.join(out, "videos", f"{ex.video_id}.mp4"),
            sc.size,
            sc.fps,
        )
        for ex in executions
    ]
    anns = render_all(jobs, workers, progress)
    t_render = time.time() - t0
    for a in anns:
        path = os.path.join(out, "annotations", f"{a['video_id']}.json")
        check(a, path)
        write_json(path, a)
    source = {ex.video_id: ex.source for ex in executions}

    card: dict = {
        "scale": sc.name,
        "seed": seed,
        "render": {"size": sc.size, "fps": sc.fps},
        "videos": {},
        "pairqa": {},
        "bench": {},
        "splits": {},
        "categories": {},
    }
    clips_used: set[str] = set()
    for split_name, splitter, base in (
        ("recipe", by_recipe, out),
        ("recording", by_recording, os.path.join(out, "by_recording")),
    ):
        parts = splitter(anns)
        card["splits"][split_name] = {s: sorted({a["video_id"] for a in parts[s]}) for s in SPLITS}
        os.makedirs(os.path.join(base, "pairqa"), exist_ok=True)
        for split in SPLITS:
            samples = pairqa_mod.generate(
                parts[split],
                seed=_seed(seed, f"{split_name}/{split}"),
                opts=sc.pairqa,
                prefix=f"{split_name}-{split}",
            )
            for i, r in enumerate(samples):
                errs = errors(r, PAIRQA)
                if errs:
                    raise RuntimeError(f"pairqa sample {i} of {split}: {errs[0]}")
                clips_used.update(r["videos"])
            write_jsonl(os.path.join(base, "pairqa", f"{split}.jsonl"), samples)
            card["pairqa"].setdefault(split_name, {})[split] = {
                "total": len(samples),
                "by_task": _counts(samples, "task"),
                "by_subtask": _counts(samples, "subtask"),
                "by_category": _counts(samples, "category"),
            }
            # The train split's benchmark-format items are training data (the comparison head
            # learns MCQ and Rank from them); val and test are the benchmarks.
            bench = bench_mod.build(
                parts[split],
                seed=_seed(seed, f"bench/{split_name}/{split}"),
                max_per_task=None if split == "train" else sc.bench_max,
            )
            bdir = os.path.join(base, "bench", split)
            os.makedirs(bdir, exist_ok=True)
            for task, rows in bench.items():
                for i, r in enumerate(rows):
                    errs = errors(r, BENCH_SCHEMAS[task])
                    if errs:
                        raise RuntimeError(f"{task} line {i} of {split}: {errs[0]}")
                write_jsonl(os.path.join(bdir, f"{task}.jsonl"), rows)
                card["bench"].setdefault(split_name, {}).setdefault(split, {})[task] = {
                    "total": len(rows),
                    "by_category": _counts(rows, "category"),
                }
            clips_used |= bench_mod.clip_ids(bench)

    index = {}
    for cid in sorted(clips_used):
        vid, start, end = parse_clip_id(cid)
        entry = {"video": f"videos/{vid}.mp4", "start": start, "end": end}
        if errors(entry, CLIP_ENTRY) or not os.path.exists(os.path.join(out, entry["video"])):
            raise RuntimeError(f"clip {cid} does not resolve to a rendered video")
        index[cid] = entry
    write_json(os.path.join(out, "clips.json"), index)

    recipe_of = {a["video_id"]: a["recipe"] for a in anns}
    splits_doc = {
        "by_recipe": {
            s: sorted({recipe_of[v] for v in card["splits"]["recipe"][s]}) for s in SPLITS
        },
        "by_recipe_videos": card["splits"]["recipe"],
        "by_recording_videos": card["splits"]["recording"],
    }
    write_json(os.path.join(out, "splits.json"), splits_doc)
    card["splits"] = {
        "recipe": {
            s: {"recipes": splits_doc["by_recipe"][s], "videos": len(card["splits"]["recipe"][s])}
            for s in SPLITS
        },
        "recording": {s: {"videos": len(card["splits"]["recording"][s])} for s in SPLITS},
    }
    kinds = Counter(
        "reenacted"
        if source[a["video_id"]].startswith("captaincook4d")
        else ("sampled_correct" if not a["deviations"] else "sampled_deviant")
        for a in anns
    )
    card["videos"] = {
        "total": len(anns),
        "by_kind": dict(sorted(kinds.items())),
        "frames": int(sum(round(a["duration"] * a["fps"]) for a in anns)),
        "hours": round(sum(a["duration"] for a in anns) / 3600, 3),
        "by_recipe_split": {
            s: sum(recipe_split_of(a["recipe"]) == s for a in anns) for s in SPLITS
        },
        "by_recording_split": {
            s: sum(recording_split_of(a["video_id"], source[a["video_id"]]) == s for a in anns)
            for s in SPLITS
        },
    }
    dev_src = Counter(d.source for ex in executions for d in ex.deviations)
    card["categories"] = {
        "deviations": {
            s: dict(
                sorted(
                    Counter(
                        d["category"]
                        for a in anns
                        if recipe_split_of(a["recipe"]) == s
                        for d in a["deviations"]
                    ).items()
                )
            )
            for s in SPLITS
        },
        "deviation_sources": dict(sorted(dev_src.items())),
        "severity": dict(
            sorted(Counter(str(d["severity"]) for a in anns for d in a["deviations"]).items())
        ),
    }
    from stepdiff.models.data.parse_coverage import coverage

    cov = coverage()
    card["parser"] = {
        "step_texts": cov.steps_total,
        "step_texts_complete": cov.steps_complete,
        "mistakes": cov.mistakes_total,
        "mistakes_complete": cov.mistakes_complete,
    }
    card["seconds"] = {"render": round(t_render, 1), "total": round(time.time() - t0, 1)}
    errs = errors(card, CARD)
    if errs:
        raise RuntimeError(f"card.json: {errs[0]}")
    write_json(os.path.join(out, "card.json"), card)
    from stepdiff.models.data.card import write_card

    write_card(os.path.join(out, "DATASET_CARD.md"), card, sc)
    return card


__all__ = ["SCALES", "Scale", "build", "plan_executions", "render_job", "asdict"]
