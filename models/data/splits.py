"""Splits: by recipe (train, val and test recipes are disjoint) and by recording.

The recipe split is a fixed list, so every build and every scale holds out the same recipes.
The recording split follows the CaptainCook4D authors' split for re-enacted recordings and a
hash of the video id (70/10/20) for sampled ones.
"""

from __future__ import annotations

import hashlib

from stepdiff.models.data.captaincook import recording_split

SPLITS = ("train", "val", "test")

# Test recipes cover microwave, stove, no-heat and drink recipes; val likewise, smaller.
RECIPE_SPLIT: dict[str, str] = {
    **{
        r: "test"
        for r in ("microwaveeggsandwich", "scrambledeggs", "cucumberraita", "coffee", "pinwheels")
    },
    **{r: "val" for r in ("sautedmushrooms", "mugcake", "capresebruschetta")},
    **{
        r: "train"
        for r in (
            "blenderbananapancakes",
            "breakfastburritos",
            "broccolistirfry",
            "buttercorncup",
            "cheesepimiento",
            "dressedupmeatballs",
            "herbomeletwithfriedtomatoes",
            "microwavefrenchtoast",
            "microwavemugpizza",
            "panfriedtofu",
            "ramen",
            "spicedhotchocolate",
            "spicytunaavocadowraps",
            "tomatochutney",
            "tomatomozzarellasalad",
            "zoodles",
        )
    },
}


def recipe_split_of(recipe: str) -> str:
    if recipe in RECIPE_SPLIT:
        return RECIPE_SPLIT[recipe]
    return _hash_split(recipe)  # a recipe from outside CaptainCook4D


def _hash_split(key: str) -> str:
    h = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100
    return "train" if h < 70 else "val" if h < 80 else "test"


def recording_split_of(video_id: str, source: str | None = None) -> str:
    """Split by recording: the authors' split for a re-enacted recording, else a hash."""
    if source and source.startswith("captaincook4d:"):
        rid = source.split(":", 1)[1]
        split = recording_split().get(rid)
        if split in SPLITS:
            return split
    if video_id.startswith("cc4d_"):
        split = recording_split().get(video_id[len("cc4d_") :])
        if split in SPLITS:
            return split
    return _hash_split(video_id)


def by_recipe(annotations: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for a in annotations:
        out[recipe_split_of(a["recipe"])].append(a)
    return out


def by_recording(annotations: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for a in annotations:
        out[recording_split_of(a["video_id"])].append(a)
    return out
