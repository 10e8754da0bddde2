"""`data build --scale tiny` end to end: videos, annotations, PairQA, benchmarks, clip store."""

from __future__ import annotations

import json
import os

import pytest

from stepdiff.models.data.annotation import load
from stepdiff.models.data.clipstore import ClipStore
from stepdiff.models.data.schemas import BENCH_SCHEMAS, CARD, CLIP_ENTRY, PAIRQA, errors
from stepdiff.models.data.slots import CATEGORIES
from stepdiff.runtime.video import probe


def _jsonl(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_layout_and_card(tiny_dataset: str) -> None:
    for name in (
        "videos",
        "annotations",
        "pairqa",
        "bench",
        "clips.json",
        "splits.json",
        "card.json",
        "DATASET_CARD.md",
    ):
        assert os.path.exists(os.path.join(tiny_dataset, name)), name
    card = json.load(open(os.path.join(tiny_dataset, "card.json")))
    assert errors(card, CARD) == []
    n_videos = len(os.listdir(os.path.join(tiny_dataset, "videos")))
    assert (
        card["videos"]["total"]
        == n_videos
        == len(os.listdir(os.path.join(tiny_dataset, "annotations")))
    )
    for split in ("train", "val", "test"):
        n = len(_jsonl(os.path.join(tiny_dataset, "pairqa", f"{split}.jsonl")))
        assert n == card["pairqa"]["recipe"][split]["total"] > 0


def test_annotation_times_agree_with_the_video(tiny_dataset: str) -> None:
    adir = os.path.join(tiny_dataset, "annotations")
    for name in sorted(os.listdir(adir)):
        a = load(os.path.join(adir, name))
        info = probe(os.path.join(tiny_dataset, "videos", f"{a['video_id']}.mp4"))
        assert abs(info.fps - a["fps"]) < 1e-3
        assert abs(info.num_frames / info.fps - a["duration"]) < 1.0 / a["fps"] + 1e-6
        for s in a["steps"]:
            # every boundary sits on a frame
            assert abs(s["start"] * a["fps"] - round(s["start"] * a["fps"])) < 1e-3
            assert 0 <= s["start"] < s["end"] <= a["duration"]
        starts = [s["start"] for s in a["steps"]]
        assert starts == sorted(starts)


def test_every_category_is_covered(tiny_dataset: str) -> None:
    adir = os.path.join(tiny_dataset, "annotations")
    cats = {
        d["category"] for n in os.listdir(adir) for d in load(os.path.join(adir, n))["deviations"]
    }
    assert set(CATEGORIES) <= cats
    correct = [n for n in os.listdir(adir) if not load(os.path.join(adir, n))["deviations"]]
    assert correct


def test_outputs_validate_and_clips_resolve(tiny_dataset: str) -> None:
    store = ClipStore(tiny_dataset)
    clips = json.load(open(os.path.join(tiny_dataset, "clips.json")))
    for entry in clips.values():
        assert errors(entry, CLIP_ENTRY) == []
    used: set[str] = set()
    for split in ("train", "val", "test"):
        for s in _jsonl(os.path.join(tiny_dataset, "pairqa", f"{split}.jsonl")):
            assert errors(s, PAIRQA) == []
            used.update(s["videos"])
    for split in ("train", "val", "test"):  # train: training data for the comparison head
        for task, schema in BENCH_SCHEMAS.items():
            rows = _jsonl(os.path.join(tiny_dataset, "bench", split, f"{task}.jsonl"))
            assert rows, (split, task)
            for r in rows:
                assert errors(r, schema) == []
                if task == "diffmcq":
                    assert r["answer"] in r["options"]
            used |= {c for r in rows for c in json.dumps(r).split('"') if c in clips}
    assert used <= set(clips)
    cid = sorted(used)[0]
    path, start, end = store.resolve(cid)
    assert os.path.exists(path) and 0 <= start < end
    frames = store.frames(cid, 4, 64)
    assert frames.shape == (4, 64, 64, 3) and frames.dtype.name == "uint8"
    with pytest.raises(KeyError, match="nope_1_2"):
        store.resolve("nope_1_2")


def test_narrations_are_speech_like_and_inside_the_video(tiny_dataset: str) -> None:
    adir = os.path.join(tiny_dataset, "annotations")
    texts = []
    for name in sorted(os.listdir(adir)):
        a = load(os.path.join(adir, name))
        assert len(a["narrations"]) >= len(a["steps"])
        for n in a["narrations"]:
            assert 0 <= n["start"] <= n["end"] <= a["duration"]
            texts.append(n["text"])
    assert all(t == t.lower() and "." not in t.replace("1.5", "") for t in texts)  # ASR-style
    spoken = [t for t in texts if len(t.split()) > 4]  # step narrations, not "hmm"
    assert len(set(spoken)) > 0.8 * len(spoken)


def test_recipe_splits_are_disjoint(tiny_dataset: str) -> None:
    splits = json.load(open(os.path.join(tiny_dataset, "splits.json")))
    r = splits["by_recipe"]
    assert (
        set(r["train"]).isdisjoint(r["val"])
        and set(r["train"]).isdisjoint(r["test"])
        and set(r["val"]).isdisjoint(r["test"])
    )
    ann = {
        n[:-5]: load(os.path.join(tiny_dataset, "annotations", n))
        for n in os.listdir(os.path.join(tiny_dataset, "annotations"))
    }
    for split in ("train", "val", "test"):
        recipes = {
            ann[c.rsplit("_", 2)[0]]["recipe"]
            for s in _jsonl(os.path.join(tiny_dataset, "pairqa", f"{split}.jsonl"))
            for c in s["videos"]
        }
        assert recipes <= set(r[split])
    v = splits["by_recording_videos"]
    assert set(v["train"]).isdisjoint(v["test"])
