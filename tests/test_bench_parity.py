"""The parity report of `stepdiff export --report`: token agreement, val deltas, sizes, memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from fixtures_bundle import linked_copy  # noqa: E402

from stepdiff.export.parity import PROMPTS, ReportOptions, parity_report, write_report  # noqa: E402
from stepdiff.runtime.errors import BadInput  # noqa: E402


def test_a_bundle_against_itself_agrees_everywhere(fp32_bundle, tmp_path):
    options = ReportOptions(steps=6, memory=False, progress=False)
    report = parity_report(fp32_bundle, fp32_bundle, options, bench=None)

    a = report["agreement"]
    assert [p["prompt"] for p in a["prompts"]] == [p.name for p in PROMPTS]
    assert a["teacher_forced"] == 1.0
    assert a["full_match_rate"] == 1.0 and a["exact_prefix_fraction"] == 1.0
    for p in a["prompts"]:
        assert 1 <= p["positions"] <= 6
        assert p["teacher_forced_agree"] == p["positions"] == p["exact_prefix"]
        assert p["reference_text"] == p["quantized_text"]
    assert report["self_comparison"] is True
    assert report["val"]["status"] == "skipped"
    assert report["memory"]["status"] == "skipped"
    assert {s["ratio"] for s in report["sizes"].values()} == {1.0}

    json_path, md_path = write_report(report, tmp_path / "report")
    assert json.loads(json_path.read_text()) == json.loads(json.dumps(report))
    md = md_path.read_text()
    assert "compared with itself" in md and "skipped" in md
    assert sum(line.startswith(f"| {p.name} | ") for p in PROMPTS for line in md.splitlines()) == (
        2 * len(PROMPTS)  # the agreement table and the answers table
    )
    assert not list((tmp_path / "report").glob(".*tmp"))


def test_int4_report_with_val_deltas_and_memory(
    fp32_bundle, quantized_bundle, tiny_dataset, tmp_path, monkeypatch
):
    int4 = quantized_bundle("int4")
    monkeypatch.chdir(int4.parent)  # a relative bundle path, as on the command line
    options = ReportOptions(steps=4, limit=1, max_new_tokens=4, progress=False)
    report = parity_report(Path(int4.name), fp32_bundle, options, bench=Path(tiny_dataset))

    assert report["bundle"]["quantization"]["decoder"] == "int4"
    assert report["reference"]["quantization"]["decoder"] == "fp32"
    a = report["agreement"]
    assert 0.0 <= a["teacher_forced"] <= 1.0 and 0.0 <= a["full_match_rate"] <= 1.0
    for p in a["prompts"]:
        assert 0 <= p["teacher_forced_agree"] <= p["positions"] <= 4
        assert p["exact_prefix"] <= min(p["reference_length"], p["quantized_length"])
        if p["full_match"]:
            assert p["exact_prefix"] == p["positions"] == p["quantized_length"]
            assert p["reference_text"] == p["quantized_text"]

    v = report["val"]
    assert v["status"] == "ok" and v["split"] == "val" and v["limit"] == 1
    assert {m["task"] for m in v["metrics"]} == {"diffcap", "diffmcq", "diffrank"}
    for m in v["metrics"]:
        assert m["n"] == 1
        if m["delta"] is not None:
            assert m["delta"] == pytest.approx(m["quantized"] - m["reference"])
    for pa in v["prediction_agreement"].values():
        assert 0.0 <= pa["value"] <= 1.0 and pa["n"] == 1

    s = report["sizes"]
    assert s["decoder"]["ratio"] < 0.4
    assert s["bundle total"]["quantized"] < s["bundle total"]["reference"]
    mem = report["memory"]
    for role in ("reference", "quantized"):
        m = mem[role]
        assert "error" not in m, m
        assert m["peak_rss_mb"] > m["startup_rss_mb"] > 0
        assert m["new_tokens"] >= 1 and not m["torch_imported"]  # the runtime alone
    assert mem["quantized"]["peak_rss_mb"] < mem["reference"]["peak_rss_mb"]

    _, md_path = write_report(report, tmp_path / "int4-report")
    md = md_path.read_text()
    assert "| diffmcq | accuracy | 1 |" in md and "## Peak memory" in md


def test_bad_input_is_refused_before_any_model_work(fp32_bundle, tmp_path):
    with pytest.raises(ValueError, match="limit"):
        ReportOptions(limit=-1)
    with pytest.raises(ValueError, match="unknown"):
        ReportOptions(tasks=("diffcap", "captioning"))
    missing = tmp_path / "no_such_data"
    with pytest.raises(BadInput, match="no_such_data"):
        parity_report(fp32_bundle, fp32_bundle, ReportOptions(progress=False), bench=missing)
    with pytest.raises(BadInput, match="manifest.json"):
        parity_report(tmp_path, fp32_bundle, ReportOptions(progress=False))

    other = linked_copy(fp32_bundle, tmp_path / "other")
    m = json.loads((other / "manifest.json").read_text())
    m["models"]["stepdiff_weights"] = {"source": "another checkpoint", "sha256": "0" * 64}
    (other / "manifest.json").unlink()  # a hard link: replace it, never write through it
    (other / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BadInput, match="weights .*another checkpoint.* same weights"):
        parity_report(other, fp32_bundle, ReportOptions(progress=False))
