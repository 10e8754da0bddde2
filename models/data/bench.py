"""StepDiff benchmarks from annotated videos, in exactly the release's schemas (design.md).

  diffcap:  {"reference", "candidate", "category", "text": [captions]}
  diffmcq:  {"difference", "category", "options": [[ref, cand] x4], "answer": [ref, cand]}
  diffrank: {"reference", "targets": [4 clips], "category", "scores": [0..5]}

Built from the same pair mining as PairQA (pairs.py), on held-out recipes or recordings only.
"""

from __future__ import annotations

import numpy as np

from stepdiff.models.data.pairs import build_index, cap_items, mcq_options, rank_items


def build(
    annotations: list[dict], seed: int = 0, max_per_task: int | None = None
) -> dict[str, list[dict]]:
    """The three benchmarks for a set of annotated videos: {"diffcap": [...], ...}."""
    rng = np.random.default_rng(seed)
    idx = build_index(annotations)
    items = cap_items(idx, rng, refs_per_candidate=1, same_ratio=0.25)
    diff = [it for it in items if it.category is not None]
    diffcap = [
        {
            "reference": it.reference.id,
            "candidate": it.candidate.id,
            "category": it.category,
            "text": list(it.texts),
        }
        for it in diff
    ]
    diffmcq = []
    for it in diff:
        got = mcq_options(it, items, rng)
        if got is None:
            continue
        options, k = got
        diffmcq.append(
            {
                "difference": it.texts[0],
                "category": it.category,
                "options": [[a.id, b.id] for a, b in options],
                "answer": [options[k][0].id, options[k][1].id],
            }
        )
    diffrank = [
        {
            "reference": it.reference.id,
            "targets": [t.id for t in it.targets],
            "category": it.category,
            "scores": list(it.scores),
        }
        for it in rank_items(idx, rng, per_step_category=1)
    ]
    out = {"diffcap": diffcap, "diffmcq": diffmcq, "diffrank": diffrank}
    if max_per_task is not None:
        for k, rows in out.items():
            if len(rows) > max_per_task:
                keep = sorted(rng.choice(len(rows), size=max_per_task, replace=False))
                out[k] = [rows[i] for i in keep]
    return out


def clip_ids(bench: dict[str, list[dict]]) -> set[str]:
    """Every clip id a benchmark refers to."""
    ids: set[str] = set()
    for r in bench.get("diffcap", []):
        ids |= {r["reference"], r["candidate"]}
    for r in bench.get("diffmcq", []):
        ids |= {c for pair in r["options"] for c in pair} | set(r["answer"])
    for r in bench.get("diffrank", []):
        ids |= {r["reference"], *r["targets"]}
    return ids
