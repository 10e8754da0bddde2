"""stepdiff bench decode: records, report files and the bandwidth bound, on a tiny run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stepdiff.runtime.bench import decode as bench_decode
from stepdiff.runtime.errors import BadInput


@pytest.fixture(scope="module")
def tiny_run(device_bundle, tmp_path_factory):
    """Our engine on the fp32 bundle, 1 thread, 4 tokens, plus llama.cpp made 'missing'."""
    out = tmp_path_factory.mktemp("bench")
    mp = pytest.MonkeyPatch()
    # Whatever is installed here, the skip path is what we check: point it at no module.
    mp.setitem(bench_decode._MODULES, "llama-cpp-python", "no_such_module_for_stepdiff")
    try:
        argv = ["--engines", "stepdiff,llama.cpp", "--bundle", str(device_bundle)]
        argv += ["--threads", "1", "--new-tokens", "4", "--repeats", "1", "--out", str(out)]
        rc = bench_decode.main(argv)
    finally:
        mp.undo()
    return rc, out, device_bundle


def test_tiny_run_writes_records_report_and_chart(tiny_run):
    import cv2

    rc, out, bundle = tiny_run
    assert rc == 0
    result = json.loads((out / "bench.json").read_text())
    ours, llama = result["records"]
    assert ours["status"] == "ok" and ours["engine"] == "stepdiff-fp32"
    assert ours["threads"] == 1 and ours["new_tokens"] == 4
    assert ours["ttft_ms"] > 0 and ours["tok_s"] > 0
    # Peak RSS is the engine's own process, which holds the whole fp32 decoder.
    assert ours["rss_mb"] > (bundle / "decoder.onnx").stat().st_size / 2**20
    assert ours["prompt_tokens"] == result["prompt_tokens"]
    assert llama["status"] == "skipped" and llama["tok_s"] is None
    assert "llama-cpp-python" in llama["note"]
    assert result["machine"]["cores"] and result["bandwidth"]["read_gb_s"] > 0

    md = (out / "bench.md").read_text()
    assert f"| stepdiff-fp32 | 1 | {ours['ttft_ms']:.0f} | {ours['tok_s']:.1f} |" in md
    assert "| llama.cpp | 1 | - | - | - |" in md

    img = cv2.imread(str(out / "bench.png"))
    assert img is not None and img.shape[2] == 3
    blue = np.all(img == (180, 119, 31), axis=2)  # the 1-thread bar's colour
    assert blue.sum() > 100
    assert not list(out.glob(".bench*"))  # no temporaries left behind


def test_bandwidth_bound_is_bandwidth_over_bytes_per_token(tiny_run):
    import onnx
    from onnx import numpy_helper

    _, out, bundle = tiny_run
    result = json.loads((out / "bench.json").read_text())
    (b,) = result["bounds"]
    m = json.loads((bundle / "manifest.json").read_text())["lm"]
    # Independently: every decoder initializer's bytes (the fp32 graph has no position tables).
    model = onnx.load(str(bundle / "decoder.onnx"))
    weights = sum(numpy_helper.to_array(t).nbytes for t in model.graph.initializer)
    assert b["weights"] == weights
    assert b["embedding_row"] == m["hidden"] * 4  # one float32 row of the table
    context = result["prompt_tokens"] + (4 - 1) / 2
    assert b["context"] == context
    kv = 2 * m["layers"] * m["kv_heads"] * m["head_dim"] * 4 * context
    assert b["kv_cache"] == int(kv)
    total = weights + m["hidden"] * 4 + int(kv)
    assert b["bytes_per_token"] == total
    assert b["bound_tok_s"] == pytest.approx(result["bandwidth"]["read_gb_s"] * 1e9 / total)


def test_bad_options_name_the_problem(device_bundle):
    with pytest.raises(BadInput, match="--engines: unknown engine"):
        bench_decode.main(["--engines", "stepdiff-int3"])
    with pytest.raises(BadInput, match="--threads"):
        bench_decode.main(["--engines", "torch-fp32", "--threads", "0"])
    with pytest.raises(BadInput, match="is a fp32 bundle, not int4"):
        bench_decode.resolve_bundle("int4", str(device_bundle))


def test_bandwidth_measure_gives_plausible_numbers():
    bw = bench_decode.measure_bandwidth(array_mb=16, repeats=2)
    assert bw.read_gb_s > 0.1 and bw.copy_gb_s > 0.1
