"""`stepdiff eval` end to end on a tiny fake benchmark, the prompts, and the two scorers."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pycocoevalcap")
pytest.importorskip("scipy")

from stepdiff.models import evaluate, tasks  # noqa: E402
from stepdiff.runtime.errors import BadInput  # noqa: E402
from stepdiff.runtime.prompt import VIDEO  # noqa: E402

COLORS = {"v0": (200, 40, 40), "v1": (40, 200, 40), "v2": (40, 40, 200), "v3": (200, 200, 40)}


def _video(path: Path, color: tuple[int, int, int], seconds: float = 2.0, fps: float = 10.0):
    import cv2

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (96, 64))
    for i in range(int(seconds * fps)):
        img = np.full((64, 96, 3), color[::-1], np.uint8)
        cv2.circle(img, (10 + i * 4, 32), 8, (255, 255, 255), -1)  # moves: frames differ
        w.write(img)
    w.release()


class CountingClips:
    """The real clip store, counting the clips it is asked for."""

    def __init__(self, root: Path) -> None:
        from stepdiff.models.data.clipstore import ClipStore

        self.store = ClipStore(str(root))
        self.calls = 0

    def frames(self, clip_id: str, num_frames: int, size: int) -> np.ndarray:
        self.calls += 1
        return self.store.frames(clip_id, num_frames, size)


def _c(vid: str, half: int) -> str:
    return f"{vid}_{half}.0_{half + 1}.0"


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    """The layout `stepdiff data build` writes: videos/, pairqa/train.jsonl, bench/test/."""
    root = tmp_path_factory.mktemp("data")
    (root / "videos").mkdir()
    for vid, color in COLORS.items():
        _video(root / "videos" / f"{vid}.mp4", color)
    b = root / "bench"

    def pairqa(ref: str, cand: str, answer: str, cat: str | None) -> dict:
        return {
            "task": "diffcap",
            "videos": [ref, cand],
            "category": cat,
            "answer": answer,
            "prompt": "Reference: <video>\nUser: <video>\nWhat did I do differently?",
        }

    _write(
        root / "pairqa" / "train.jsonl",
        [
            pairqa(
                _c("v0", 0),
                _c("v1", 0),
                "added one teaspoon of salt instead of one tablespoon of salt",
                "Measurement",
            ),
            pairqa(
                _c("v0", 0),
                _c("v2", 0),
                "chopped the onion instead of sliced the onion",
                "Technique",
            ),
            pairqa(_c("v1", 0), _c("v1", 1), "No difference.", None),  # not a caption
            pairqa(
                _c("v2", 1), _c("v3", 1), "stirred the pot instead of whisked the eggs", "Technique"
            ),
            {"task": "diffrank", "videos": [_c("v0", 0)] * 5, "prompt": "x", "answer": "5 5 5 5"},
        ],
    )
    test = b / "test"
    _write(
        test / "diffcap.jsonl",
        [
            {
                "reference": _c("v0", 1),
                "candidate": _c("v1", 1),
                "category": "Measurement",
                "text": ["added one teaspoon of salt instead of one tablespoon of salt"],
            },
            {
                "reference": _c("v2", 0),
                "candidate": _c("v3", 0),
                "category": "Technique",
                "text": ["chopped the onion instead of sliced the onion", "cut the onion instead"],
            },
            {
                "reference": _c("v1", 0),
                "candidate": _c("v3", 1),
                "category": "Technique",
                "text": ["whisked the eggs instead of stirred the eggs"],
            },
        ],
    )
    opts = [
        [_c("v0", 0), _c("v1", 0)],
        [_c("v0", 0), _c("v0", 0)],
        [_c("v2", 0), _c("v3", 0)],
        [_c("v1", 1), _c("v2", 1)],
    ]
    _write(
        test / "diffmcq.jsonl",
        [
            {
                "difference": "added one teaspoon of salt instead of one tablespoon",
                "category": "Measurement",
                "options": opts,
                "answer": opts[0],
            },
            {
                "difference": "chopped the onion instead of sliced it",
                "category": "Technique",
                "options": opts,
                "answer": opts[2],
            },
        ],
    )
    _write(
        test / "diffrank.jsonl",
        [
            # target 0 is the reference clip itself: the most similar by construction.
            {
                "reference": _c("v0", 0),
                "category": "Measurement",
                "targets": [_c("v0", 0), _c("v0", 1), _c("v1", 0), _c("v2", 1)],
                "scores": [5, 4, 2, 0],
            },
            {
                "reference": _c("v3", 1),
                "category": "Technique",
                "targets": [_c("v1", 0), _c("v3", 1), _c("v3", 0), _c("v2", 0)],
                "scores": [1, 5, 4, 2],
            },
        ],
    )
    return root


@pytest.fixture
def fake_store(bench, monkeypatch) -> CountingClips:
    store = CountingClips(bench)

    def open_clips(root: Path) -> CountingClips:
        assert Path(root) == bench.resolve()  # the data root found from --bench
        return store

    monkeypatch.setattr(evaluate, "open_clips", open_clips)
    return store


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def _check_outputs(out: Path, bench: Path) -> dict:
    for task in tasks.TASKS:
        gt = _lines(bench / "bench" / "test" / f"{task}.jsonl")
        preds = _lines(out / f"{task}_preds.jsonl")
        evaluate.check_predictions(task, gt, preds, out)  # the StepDiff prediction format
        for p, g in zip(preds, gt, strict=True):
            if task == "diffcap":
                assert set(p) == {"generated_text"}
            else:
                assert set(p) == {"scores"}
                assert len(p["scores"]) == len(g["options" if task == "diffmcq" else "targets"])
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["tasks"]) == set(tasks.TASKS)
    for task in tasks.TASKS:
        assert set(m["tasks"][task]["per_category"]) == {"Measurement", "Technique"}
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))
    return m


# ---------------------------------------------------------------------------------------------
# baselines end to end


def test_chance_baseline_end_to_end_is_seeded(bench, fake_store, tmp_path, capsys):
    out1, out2, out3 = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert evaluate.main(["--bench", str(bench), "--baseline", "chance", "--out", str(out1)]) == 0
    m = _check_outputs(out1, bench)
    assert m["source"] == "baseline:chance"
    assert m["tasks"]["diffcap"]["overall"]["n"] == 3
    train_caps = {r["answer"] for r in _lines(bench / "pairqa/train.jsonl")} - {"No difference."}
    assert {p["generated_text"] for p in _lines(out1 / "diffcap_preds.jsonl")} <= train_caps
    assert fake_store.calls == 0  # chance never looks at a video
    evaluate.main(["--bench", str(bench), "--baseline", "chance", "--out", str(out2), "--quiet"])
    evaluate.main(
        [
            "--bench",
            str(bench / "bench"),
            "--baseline",
            "chance",
            "--out",
            str(out3),
            "--seed",
            "7",
            "--quiet",
        ]
    )
    same = (out1 / "diffrank_preds.jsonl").read_text() == (
        out2 / "diffrank_preds.jsonl"
    ).read_text()
    other = (out1 / "diffrank_preds.jsonl").read_text() != (
        out3 / "diffrank_preds.jsonl"
    ).read_text()
    assert same and other
    assert "DiffMCQ accuracy=" in capsys.readouterr().out


def test_heuristic_baseline_end_to_end(bench, tmp_path):
    out = tmp_path / "h"
    assert evaluate.main(["--bench", str(bench), "--baseline", "heuristic", "--out", str(out)]) == 0
    m = _check_outputs(out, bench)
    rank = _lines(out / "diffrank_preds.jsonl")
    # The identical clip has aligned distance 0, so it ranks first.
    assert int(np.argmax(rank[0]["scores"])) == 0 and rank[0]["scores"][0] == pytest.approx(
        0.0, abs=1e-6
    )
    assert int(np.argmax(rank[1]["scores"])) == 1
    assert m["tasks"]["diffrank"]["overall"]["nan_items"] == 0
    train_caps = {r["answer"] for r in _lines(bench / "pairqa/train.jsonl")} - {"No difference."}
    assert {p["generated_text"] for p in _lines(out / "diffcap_preds.jsonl")} <= train_caps
    # --preds rescoring what was written reproduces the metrics: the reference script's role.
    again = tmp_path / "again"
    evaluate.main(["--bench", str(bench), "--preds", str(out), "--out", str(again), "--quiet"])
    m2 = json.loads((again / "metrics.json").read_text())
    assert m2["tasks"] == m["tasks"]


def test_heuristic_alignment_ignores_speed():
    from stepdiff.models.predictors_heuristic import compare, dtw_path

    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 16))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    slow = a[[0, 0, 1, 1, 2, 2, 3, 3]]  # the same frames at half speed
    dist, diff = compare(a, slow)
    assert dist == pytest.approx(0.0, abs=1e-12) and np.abs(diff).max() < 1e-12
    assert dtw_path(1 - a @ slow.T)[0] == (0, 0) and dtw_path(1 - a @ slow.T)[-1] == (3, 7)
    other = compare(a, a[::-1].copy())[0]
    assert other > 0.1


def test_limit_and_task_subset(bench, fake_store, tmp_path):
    out = tmp_path / "l"
    evaluate.main(
        [
            "--bench",
            str(bench),
            "--baseline",
            "chance",
            "--out",
            str(out),
            "--limit",
            "1",
            "--tasks",
            "diffmcq,diffrank",
            "--quiet",
        ]
    )
    assert not (out / "diffcap_preds.jsonl").exists()
    assert len(_lines(out / "diffmcq_preds.jsonl")) == 1
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["tasks"]) == {"diffmcq", "diffrank"}


def test_locate_finds_the_split_and_the_clip_store_root(tmp_path):
    (tmp_path / "by_recording" / "bench" / "test").mkdir(parents=True)
    (tmp_path / "bench" / "test").mkdir(parents=True)
    (tmp_path / "clips.json").write_text("{}")
    root = tmp_path.resolve()
    assert evaluate.locate(tmp_path, "test") == (tmp_path / "bench" / "test", root)
    assert evaluate.locate(tmp_path / "bench", "test")[1] == root
    split, found = evaluate.locate(tmp_path / "by_recording", "test")
    assert split == tmp_path / "by_recording" / "bench" / "test" and found == root


def test_training_pairs_prefer_a_bench_train_split(bench, tmp_path):
    from_pairqa = evaluate.training_pairs(bench / "bench" / "test")
    assert [r["text"] for r in from_pairqa] == [
        ["added one teaspoon of salt instead of one tablespoon of salt"],
        ["chopped the onion instead of sliced the onion"],
        ["stirred the pot instead of whisked the eggs"],
    ]
    assert from_pairqa[2]["reference"] == _c("v2", 1) and from_pairqa[2]["candidate"] == _c("v3", 1)
    own = tmp_path / "bench"
    row = {"reference": "a_0_1", "candidate": "b_0_1", "category": "A", "text": ["x instead of y"]}
    _write(own / "train" / "diffcap.jsonl", [row, row])
    (own / "test").mkdir()
    assert evaluate.training_pairs(own / "test", limit=1) == [row]
    with pytest.raises(BadInput, match=r"x/pairqa/train.jsonl: is missing"):
        evaluate.training_pairs(tmp_path / "x" / "bench" / "test")


def test_markdown_table(bench, fake_store, tmp_path, capsys):
    out = tmp_path / "t"
    evaluate.main(["--bench", str(bench), "--baseline", "chance", "--out", str(out), "--quiet"])
    capsys.readouterr()
    assert evaluate.main(["--table", str(out / "metrics.json"), "--names", "chance"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("| run | DiffCap BLEU-1 | DiffCap CIDEr")
    assert "normalised" not in lines[0]  # the table shows the reference's raw-string DiffCap
    m = json.loads((out / "metrics.json").read_text())
    cap = m["tasks"]["diffcap"]
    for scores in (cap["overall"], *cap["per_category"].values()):
        for key in ("BLEU-1", "CIDEr", "ROUGE-L"):
            assert key in scores and f"{key} (normalised)" in scores
    acc = m["tasks"]["diffmcq"]["overall"]["accuracy"]
    assert lines[2].startswith("| chance |") and f"{acc:.3f}" in lines[2]


# ---------------------------------------------------------------------------------------------
# bad input


def _bad(argv: list[str], match: str) -> None:
    with pytest.raises(BadInput, match=match):
        evaluate.main(argv)


def test_bad_inputs_name_the_file_and_problem(bench, fake_store, tmp_path):
    _bad(["--bench", str(tmp_path / "nope"), "--baseline", "chance"], "no such benchmark")
    _bad(["--bench", str(bench), "--baseline", "chance", "--split", "val"], "has no val/ split")
    _bad(["--bench", str(bench)], "give one of")
    _bad(["--bench", str(bench), "--baseline", "chance", "--tasks", "diffx"], "unknown task")
    broken = tmp_path / "broken" / "bench" / "test"
    broken.mkdir(parents=True)
    (broken / "diffcap.jsonl").write_text('{"reference": "a_0_1"\n')
    _bad(
        ["--bench", str(broken.parent.parent), "--baseline", "chance", "--tasks", "diffcap"],
        r"diffcap.jsonl: line 1 is not valid JSON",
    )
    _write(
        broken / "diffmcq.jsonl",
        [{"difference": "x", "category": "A", "options": [["a", "b"]], "answer": ["a", "c"]}],
    )
    _bad(
        ["--bench", str(broken.parent.parent), "--baseline", "chance", "--tasks", "diffmcq"],
        r"diffmcq.jsonl: line 1: its 'answer' is not one of its 'options'",
    )
    preds = tmp_path / "preds"
    _write(preds / "diffrank_preds.jsonl", [{"scores": [1, 2, 3]}, {"scores": [1, 2, 3, 4]}])
    _bad(
        ["--bench", str(bench), "--preds", str(preds), "--tasks", "diffrank"],
        r"diffrank_preds.jsonl: line 1: needs \"scores\", 4 finite numbers",
    )
    _bad(["--table", str(tmp_path / "none.json")], "no such metrics file")


# ---------------------------------------------------------------------------------------------
# prompts


def test_prompts_and_training_samples_match_eval():
    assert tasks.cap_prompt().count(VIDEO) == 2 and tasks.cap_prompt().endswith(tasks.CAP_QUESTION)
    assert VIDEO not in tasks.cap_prompt(blind=True) and VIDEO not in tasks.rank_prompt(blind=True)
    assert tasks.rank_prompt(blind=True) == tasks.RANK_QUESTION
    cap = {
        "reference": "r_0_1",
        "candidate": "c_0_1",
        "category": "A",
        "text": ["x instead of y", "z"],
    }
    s = tasks.training_samples("diffcap", cap)
    assert [x["answer"] for x in s] == ["x instead of y", "z"]
    want = tasks.cap_prompt(category="A")
    assert all(x["prompt"] == want and x["videos"] == ["r_0_1", "c_0_1"] for x in s)
    mcq = {
        "difference": "d",
        "category": "A",
        "options": [["a", "b"], ["c", "e"]],
        "answer": ["c", "e"],
    }
    assert tasks.training_samples("diffmcq", mcq) == [
        {
            "task": "diffmcq",
            "videos": ["c", "e"],
            "prompt": tasks.cap_prompt(category="A"),
            "answer": "d",
        }
    ]
    rank = {"reference": "r", "targets": ["a", "b"], "category": "A", "scores": [5, 1.6]}
    s = tasks.training_samples("diffrank", rank)
    assert [x["answer"] for x in s] == ["5", "2"] and s[1]["videos"] == ["r", "b"]
    assert all(x["prompt"] == tasks.rank_prompt(category="A") for x in s)

    para = {
        tasks.training_samples("diffcap", cap, random.Random(i))[0]["prompt"] for i in range(40)
    }
    assert len(para) > 2 and all(p.count(VIDEO) == 2 for p in para)
    assert tasks.cap_answer(" added salt ", "sugar") == "added salt instead of sugar"
    assert tasks.expected_digit([0, 0, 0, 0, 0, 1]) == 5.0
    assert tasks.expected_digit([1, 0, 0, 0, 0, 1]) == 2.5
    assert tasks.expected_digit([0.2, 0, 0, 0.2, 0, 0]) == 1.5  # renormalised over the digits


def test_diffcap_and_diffrank_are_asked_within_the_category():
    """As the StepDiff release defines the tasks: the prompt names the item's category."""
    for category, noun in (("Measurement", "the amounts used"), ("Tools/Equipment", "tools")):
        for prompt in (tasks.cap_prompt(category=category), tasks.rank_prompt(category=category)):
            assert noun in prompt and prompt.count(VIDEO) == 2
        for i in range(10):
            assert noun in tasks.cap_prompt(rng=random.Random(i), category=category)
    assert tasks.cap_prompt(category="Timing") != tasks.cap_prompt(category="Temperature")
    assert "timing" not in tasks.cap_prompt()  # the headset's own question names no category


# ---------------------------------------------------------------------------------------------
# the two engines


def _clips(model, n: int, seed: int = 0) -> list[np.ndarray]:
    c = model.config
    rng = np.random.default_rng(seed)
    return list(rng.integers(0, 256, (n, c.frames, c.frame_size, c.frame_size, 3), dtype=np.uint8))


def test_torch_answer_logprobs_equal_a_full_forward(stepdiff_model):
    import torch

    from stepdiff.models.predictors import log_softmax
    from stepdiff.models.predictors_torch import TorchScorer
    from stepdiff.runtime.prompt import layout

    s = TorchScorer(stepdiff_model)
    videos = _clips(stepdiff_model, 2)
    answers = ["added salt instead of sugar", "used a knife"]
    got = s.answer_logprobs(videos, tasks.cap_prompt(), answers)
    # Without any cache: the whole prompt + answer in one forward pass, per answer.
    lay = layout(s.tokenizer, tasks.cap_prompt())
    vids = [torch.from_numpy(v) for v in s.videos.get(videos)]
    for answer, lp in zip(answers, got, strict=True):
        ids = s.tokenizer.encode(answer, add_special_tokens=False).ids
        with torch.no_grad():
            prompt = stepdiff_model.prompt_embeds(lay, vids)
            full = torch.cat([prompt, stepdiff_model.embed_ids(torch.tensor([ids]))], 1)
            logits = stepdiff_model.lm(inputs_embeds=full).logits[0].numpy()
        p = prompt.shape[1]
        want = log_softmax(logits[p - 1 : p - 1 + len(ids)])[np.arange(len(ids)), ids].mean()
        assert lp == pytest.approx(float(want), abs=1e-4)
    assert got[0] != pytest.approx(got[1], abs=1e-3)


def test_onnx_and_torch_scorers_agree(stepdiff_model, fp32_bundle, bench):
    from stepdiff.models.predictors_onnx import OnnxScorer
    from stepdiff.models.predictors_torch import TorchScorer
    from stepdiff.runtime.compare import StepDiff

    store_t, store_o = CountingClips(bench), CountingClips(bench)
    ts = TorchScorer(stepdiff_model, store_t)
    onnx = OnnxScorer(StepDiff(fp32_bundle), store_o)
    vids = [_c("v0", 0), _c("v1", 1)]
    answers = ["added one teaspoon of salt instead of one tablespoon", "stirred", "x y"]
    a_t = ts.answer_logprobs(vids, tasks.cap_prompt(), answers)
    a_o = onnx.answer_logprobs(vids, tasks.cap_prompt(), answers)
    np.testing.assert_allclose(a_o, a_t, atol=2e-3)
    # each answer alone gives the same score as in the batch: the shared prefix cache is intact
    alone = onnx.answer_logprobs(vids, tasks.cap_prompt(), answers[2:])
    assert alone[0] == pytest.approx(a_o[2], abs=1e-5)
    digits = tasks.digit_token_ids(onnx.tokenizer)
    p_t = ts.next_token_probs(vids, tasks.rank_prompt(), digits)
    p_o = onnx.next_token_probs(vids, tasks.rank_prompt(), digits)
    np.testing.assert_allclose(p_o, p_t, rtol=1e-2, atol=1e-5)
    assert 0 < p_o.sum() <= 1
    assert ts.generate(vids, tasks.cap_prompt(), 6) == onnx.generate(vids, tasks.cap_prompt(), 6)
    assert store_o.calls == 2 and store_t.calls == 2  # embeddings are cached per clip id
    onnx.answer_logprobs(vids, tasks.cap_prompt(), answers[:1])
    assert store_o.calls == 2


def _same_predictions(stepdiff_model, fp32_bundle, bench, tmp_path, monkeypatch, extra):
    from stepdiff.models.model import StepDiffModel

    monkeypatch.setattr(
        StepDiffModel, "from_pretrained", classmethod(lambda cls, c=None: stepdiff_model)
    )
    common = ["--bench", str(bench), "--limit", "1", "--max-new-tokens", "4", "--quiet", *extra]
    evaluate.main([*common, "--baseline", "untrained", "--out", str(tmp_path / "t")])
    evaluate.main([*common, "--bundle", str(fp32_bundle), "--out", str(tmp_path / "o")])
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["source"].startswith("bundle:")
    for task in m["tasks"]:
        t = _lines(tmp_path / "t" / f"{task}_preds.jsonl")[0]
        o = _lines(tmp_path / "o" / f"{task}_preds.jsonl")[0]
        if task == "diffcap":
            assert o == t
        else:
            np.testing.assert_allclose(o["scores"], t["scores"], atol=2e-3)
    return m


def test_checkpoint_and_bundle_give_the_same_rank_predictions(
    stepdiff_model, fp32_bundle, bench, fake_store, tmp_path, monkeypatch
):
    m = _same_predictions(
        stepdiff_model, fp32_bundle, bench, tmp_path, monkeypatch, ["--tasks", "diffrank"]
    )
    assert set(m["tasks"]) == {"diffrank"}


@pytest.mark.slow
def test_checkpoint_and_bundle_give_the_same_predictions_on_every_task(
    stepdiff_model, fp32_bundle, bench, fake_store, tmp_path, monkeypatch
):
    m = _same_predictions(stepdiff_model, fp32_bundle, bench, tmp_path, monkeypatch, [])
    assert set(m["tasks"]) == set(tasks.TASKS)


def test_blind_lm_sees_no_video(stepdiff_model, bench, fake_store, tmp_path, monkeypatch):
    from stepdiff.models.model import StepDiffModel

    monkeypatch.setattr(
        StepDiffModel, "from_pretrained", classmethod(lambda cls, c=None: stepdiff_model)
    )
    out = tmp_path / "b"
    evaluate.main(
        [
            "--bench",
            str(bench),
            "--baseline",
            "blind",
            "--out",
            str(out),
            "--max-new-tokens",
            "4",
            "--quiet",
        ]
    )
    assert fake_store.calls == 0
    # The same words in, the same caption out: one caption per category (the prompt names it).
    cats = [it["category"] for it in _lines(bench / "bench" / "test" / "diffcap.jsonl")]
    caption_of: dict[str, set[str]] = {}
    for c, p in zip(cats, _lines(out / "diffcap_preds.jsonl"), strict=True):
        caption_of.setdefault(c, set()).add(p["generated_text"])
    assert all(len(v) == 1 for v in caption_of.values()), caption_of
    for p in _lines(out / "diffrank_preds.jsonl"):
        assert len(set(p["scores"])) == 1
    m = json.loads((out / "metrics.json").read_text())
    assert m["tasks"]["diffrank"]["overall"]["nan_items"] == 2
    assert m["tasks"]["diffrank"]["overall"]["ktau"] == 0.0
    assert m["tasks"]["diffrank"]["overall"]["ktau_reference"] is None  # NaN -> null in JSON


def test_load_checkpoint_restores_projector_and_lora(stepdiff_model, tmp_path):
    import torch

    from stepdiff.models.lora import LoraLinear

    proj = {k: v + 0.01 for k, v in stepdiff_model.projector.state_dict().items()}
    g = torch.Generator().manual_seed(0)
    lora = {}
    for name, mod in stepdiff_model.lm.named_modules():
        if name.endswith(("q_proj", "down_proj")) and isinstance(mod, torch.nn.Linear):
            lora[f"{name}.lora_a"] = torch.randn(4, mod.in_features, generator=g) * 0.01
            lora[f"{name}.lora_b"] = torch.randn(mod.out_features, 4, generator=g) * 0.01
    path = tmp_path / "ckpt.pt"
    torch.save(
        {
            "config": stepdiff_model.config.to_dict(),
            "projector": proj,
            "lora": lora,
            "lora_config": {"rank": 4, "alpha": 8.0, "targets": ["q_proj", "down_proj"]},
        },
        path,
    )
    m = evaluate.load_checkpoint(path)
    assert not m.training
    for k, v in m.projector.state_dict().items():
        assert torch.equal(v, proj[k])
    q = m.lm.model.layers[0].self_attn.q_proj
    assert isinstance(q, LoraLinear) and q.scale == 2.0
    assert torch.equal(q.lora_b, lora["model.layers.0.self_attn.q_proj.lora_b"])
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(BadInput, match="bad.pt: is not a StepDiff checkpoint"):
        evaluate.load_checkpoint(tmp_path / "bad.pt")


def test_onnx_scorer_imports_no_torch():
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None\n"
        "import stepdiff.models.predictors_onnx, models.predictors, models.metrics, models.evaluate\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch' and sys.modules[m]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
