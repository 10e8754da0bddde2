"""PairQA and benchmarks from real CaptainCook4D annotations alone (no videos), and bad input."""

from __future__ import annotations

import json
import re

import pytest

from stepdiff.models.data.annotation import check, from_captaincook, load, parse_clip_id
from stepdiff.models.data.captaincook import clean_text, load_recordings
from stepdiff.models.data.pairqa import generate
from stepdiff.models.data.schemas import PAIRQA, errors
from stepdiff.runtime.errors import BadInput


@pytest.fixture(scope="module")
def real_annotations() -> list[dict]:
    return [from_captaincook(r) for r in load_recordings()]


def test_real_annotations_are_valid(real_annotations: list[dict]) -> None:
    assert len(real_annotations) == 384
    for a in real_annotations:
        check(a, a["video_id"])


def test_diffcap_captions_carry_the_real_modified_description(real_annotations: list[dict]) -> None:
    samples = generate(real_annotations, seed=0)
    caps = [s for s in samples if s["task"] == "diffcap" and s["subtask"] == "step"]
    assert len(caps) > 1000
    # what the person did, per mistaken step: the modified description where there is one
    real: dict[tuple[str, str], set[str]] = {}
    has_md: set[tuple[str, str]] = set()
    for r in load_recordings():
        for st in r.steps:
            key = (f"cc4d_{r.recording_id}", str(st.step_id))
            md = st.modified_description
            if md and md.lower() != "skipped this step" and st.mistakes:
                real.setdefault(key, set()).add(clean_text(md).lower().rstrip("."))
                has_md.add(key)
            elif st.mistakes:
                real.setdefault(key, set()).update(
                    m.description.strip().lower().rstrip(".") for m in st.mistakes
                )
    n_md = 0
    for s in caps:
        video, _, _ = parse_clip_id(s["videos"][1])  # the candidate
        key = (video, str(s["step_id"]))
        for cap in s["answer"].lower().split("\n"):
            assert any(cap.startswith(d + " instead of ") for d in real[key]), (cap, real[key])
        n_md += key in has_md
    assert n_md > 0.6 * len(caps)


def test_every_sample_validates_and_has_one_placeholder_per_video(
    real_annotations: list[dict],
) -> None:
    samples = generate(real_annotations[:80], seed=1)
    tasks = {s["task"] for s in samples}
    assert {"diffcap", "diffmcq", "diffrank", "same_or_different", "multi_video"} <= tasks
    assert any(s["answer"] == "No difference." for s in samples)  # pairs with no difference
    for s in samples:
        assert errors(s, PAIRQA) == [], s
        assert s["prompt"].count("<video>") == len(s["videos"])
        for c in s["videos"]:
            parse_clip_id(c)
        if s["task"] == "diffmcq":
            assert s["answer"] == s["options"][s["answer_index"]] and len(s["videos"]) == 8
        if s["task"] == "diffrank":
            assert len(s["scores"]) == 4 and len(set(s["scores"])) >= 2
    # several paraphrases per template
    prompts = {re.sub(r'"[^"]*"', "", s["prompt"]) for s in samples if s["task"] == "diffcap"}
    assert len(prompts) >= 4


def test_bad_annotation_names_the_file_and_the_field(
    tmp_path, real_annotations: list[dict]
) -> None:
    a = json.loads(json.dumps(real_annotations[0]))
    a["steps"][3]["start"] = "abc"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(a))
    with pytest.raises(BadInput) as e:
        load(str(path))
    msg = str(e.value)
    assert str(path) in msg and "steps[3].start" in msg

    del a["steps"][3]["start"]
    path.write_text(json.dumps(a))
    with pytest.raises(
        BadInput, match=r"steps\.?\[?3\]?\.start.*missing|steps\[3\]\.start': missing"
    ):
        load(str(path))

    path.write_text("{not json")
    with pytest.raises(BadInput, match="not valid JSON"):
        load(str(path))


def test_cli_pairqa_exit_code_2_on_bad_annotation(
    tmp_path, real_annotations: list[dict], capsys
) -> None:
    from stepdiff.models.data.cli import main

    good = tmp_path / "ok"
    good.mkdir()
    for a in real_annotations[:5]:
        (good / f"{a['video_id']}.json").write_text(json.dumps(a))
    out = tmp_path / "pq.jsonl"
    assert main(["pairqa", "--annotations", str(good), "--out", str(out)]) == 0
    assert out.read_text().count("\n") > 0
    bad = json.loads(json.dumps(next(a for a in real_annotations if a["deviations"])))
    bad["deviations"][0]["severity"] = 9
    (good / "zz.json").write_text(json.dumps({**bad, "video_id": "zz"}))
    assert main(["pairqa", "--annotations", str(good), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "zz.json" in err and "deviations[0].severity" in err
