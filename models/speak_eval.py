"""The speak decision, measured: does the comparison head's severity stay quiet on steps done
right and speak up on real mistakes?

On the held-out recipes' re-enacted CaptainCook4D recordings (`cc4d_*` videos: real step orders,
skips and mistakes), every performed step is compared with the same step of a reference video
of that recipe that has no deviation on it. Ground truth is the annotation's severity on that step
(0 when none). Order and Missing Step deviations are left out: they are the step tracker's to
report, and a step done right but at the wrong time looks right.

The threshold is chosen on the val recipes (the lowest severity that still catches `recall` of the
severity >= `serious` steps) and reported on the test recipes: recall of serious mistakes and the
false-alarm rate on correctly done steps.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from stepdiff.models.data.annotation import clip_id

TRACKER_CATEGORIES = ("Order", "Missing Step")


@dataclass(frozen=True)
class SpeakPair:
    reference: str  # clip id
    user: str
    severity: float  # ground truth, 0 = done right
    category: str | None  # of the deviation, None when done right


@dataclass(frozen=True)
class SpeakReport:
    threshold: float
    serious: float
    recall_serious: float  # share of severity >= serious steps spoken
    false_alarms: float  # share of correctly done steps spoken
    correct_steps: int
    serious_steps: int
    recall_by_category: dict[str, float]

    def to_dict(self) -> dict:
        return asdict(self)


def _clip(video_id: str, seg: dict) -> str:
    return clip_id(video_id, seg["start"], seg["end"])


def speak_pairs(data: Path, split: str, real_only: bool = True) -> list[SpeakPair]:
    """Every performed step of the split's re-enacted recordings (with real_only=False, of all
    its recordings: training data) against a clean reference."""
    splits = json.loads((data / "splits.json").read_text())
    recipes = set(splits["by_recipe"][split])
    anns = []
    for p in sorted((data / "annotations").glob("*.json")):
        a = json.loads(p.read_text())
        if a["recipe"] in recipes:
            anns.append(a)
    # Clean executions of each (recipe, step): candidates for the reference.
    clean: dict[tuple[str, str], list[str]] = {}
    for a in anns:
        bad = {str(d["step_id"]) for d in a["deviations"]}
        for seg in a["steps"]:
            if str(seg["step_id"]) not in bad:
                clean.setdefault((a["recipe"], str(seg["step_id"])), []).append(
                    _clip(a["video_id"], seg)
                )
    pairs = []
    for a in anns:
        if real_only and not a["video_id"].startswith("cc4d_"):
            continue
        devs = {str(d["step_id"]): d for d in a["deviations"]}
        for seg in a["steps"]:
            sid = str(seg["step_id"])
            dev = devs.get(sid)
            if dev is not None and dev["category"] in TRACKER_CATEGORIES:
                continue
            user = _clip(a["video_id"], seg)
            refs = [
                c
                for c in clean.get((a["recipe"], sid), [])
                if not c.startswith(a["video_id"] + "_")
            ]
            if not refs:
                continue
            ref = refs[0]  # deterministic: the first clean execution in file order
            pairs.append(
                SpeakPair(
                    ref,
                    user,
                    float(dev["severity"]) if dev else 0.0,
                    dev["category"] if dev else None,
                )
            )
    return pairs


def choose_threshold(
    predicted: np.ndarray, truth: np.ndarray, serious: float, recall: float
) -> float:
    """The highest threshold that still speaks on `recall` of the serious steps."""
    s = np.sort(predicted[truth >= serious])
    if len(s) == 0:
        return float("inf")
    k = int(np.floor((1.0 - recall) * len(s)))
    return float(s[min(k, len(s) - 1)])


def speak_report(
    pairs: list[SpeakPair], predicted: np.ndarray, threshold: float, serious: float = 3.0
) -> SpeakReport:
    truth = np.array([p.severity for p in pairs])
    spoken = np.asarray(predicted) >= threshold
    correct = truth == 0
    bad = truth >= serious
    by_cat: dict[str, list[bool]] = {}
    for p, s in zip(pairs, spoken, strict=True):
        if p.severity >= serious and p.category:
            by_cat.setdefault(p.category, []).append(bool(s))
    return SpeakReport(
        threshold=float(threshold),
        serious=serious,
        recall_serious=float(spoken[bad].mean()) if bad.any() else float("nan"),
        false_alarms=float(spoken[correct].mean()) if correct.any() else float("nan"),
        correct_steps=int(correct.sum()),
        serious_steps=int(bad.sum()),
        recall_by_category={k: float(np.mean(v)) for k, v in sorted(by_cat.items())},
    )
