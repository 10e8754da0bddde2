"""Bad input gives one line naming the file and the problem, and exit code 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_bundle import linked_copy


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stepdiff.runtime", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, names: str | Path) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert str(names) in lines[0]
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_missing_video(tmp_path, two_videos, device_bundle):
    missing = tmp_path / "nope.mp4"
    proc = run_cli("compare", str(missing), str(two_videos[1]), "--bundle", str(device_bundle))
    assert "no such file" in assert_one_line_error(proc, missing)


def test_not_a_video(tmp_path, two_videos, device_bundle):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is a shopping list, not a video\n" * 20)
    proc = run_cli("compare", str(two_videos[0]), str(fake), "--bundle", str(device_bundle))
    assert "not a readable video" in assert_one_line_error(proc, fake)


def test_zero_byte_mp4(tmp_path, two_videos, device_bundle):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    proc = run_cli("compare", str(empty), str(two_videos[1]), "--bundle", str(device_bundle))
    assert "0 bytes" in assert_one_line_error(proc, empty)


def corrupt_copy(src: Path, dst: Path, name: str) -> Path:
    """dst is a bundle whose file `name` has one byte flipped (a real copy, not a link)."""
    linked_copy(src, dst)
    (dst / name).unlink()
    shutil.copyfile(src / name, dst / name)
    data = bytearray((dst / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (dst / name).write_bytes(bytes(data))
    return dst / name


@pytest.mark.parametrize("name", ["vision_encoder.onnx", "tokenizer.json"])
def test_one_byte_changed_in_bundle(tmp_path, two_videos, device_bundle, name):
    bad = corrupt_copy(device_bundle, tmp_path / "b", name)
    proc = run_cli("compare", *map(str, two_videos), "--bundle", str(tmp_path / "b"))
    assert "sha256" in assert_one_line_error(proc, bad)


def test_manifest_not_json(tmp_path, two_videos, device_bundle):
    b = linked_copy(device_bundle, tmp_path / "b")
    (b / "manifest.json").unlink()
    (b / "manifest.json").write_text("{ not json")
    proc = run_cli("compare", *map(str, two_videos), "--bundle", str(b))
    assert "not valid JSON" in assert_one_line_error(proc, b / "manifest.json")


def edit_manifest(src: Path, dst: Path, edit) -> Path:
    b = linked_copy(src, dst)
    m = json.loads((src / "manifest.json").read_text())
    edit(m)
    (b / "manifest.json").unlink()
    (b / "manifest.json").write_text(json.dumps(m))
    return b / "manifest.json"


def test_manifest_path_leaving_bundle(tmp_path, two_videos, device_bundle):
    outside = tmp_path / "outside.onnx"
    shutil.copyfile(device_bundle / "embed_tokens.onnx", outside)

    def edit(m):
        m["graphs"]["embed_tokens"]["path"] = "../outside.onnx"
        m["files"]["../outside.onnx"] = m["files"].pop("embed_tokens.onnx")

    mpath = edit_manifest(device_bundle, tmp_path / "b", edit)
    proc = run_cli("compare", *map(str, two_videos), "--bundle", str(tmp_path / "b"))
    assert "leaves the bundle" in assert_one_line_error(proc, mpath)


def test_graph_with_wrong_io(tmp_path, two_videos, device_bundle):
    def edit(m):
        m["graphs"]["decoder"]["inputs"] = m["graphs"]["decoder"]["inputs"][:-2]

    mpath = edit_manifest(device_bundle, tmp_path / "b", edit)
    proc = run_cli("compare", *map(str, two_videos), "--bundle", str(tmp_path / "b"))
    assert "wrong inputs" in assert_one_line_error(proc, mpath)


def test_graph_file_swapped_for_another(tmp_path, two_videos, device_bundle):
    """A manifest that lists the embedder's file as the decoder: hashes match, the IO does not."""

    def edit(m):
        m["graphs"]["decoder"]["path"] = "embed_tokens.onnx"

    edit_manifest(device_bundle, tmp_path / "b", edit)
    proc = run_cli("compare", *map(str, two_videos), "--bundle", str(tmp_path / "b"))
    assert "differ from manifest.json" in assert_one_line_error(
        proc, tmp_path / "b" / "embed_tokens.onnx"
    )


def test_missing_bundle(tmp_path, two_videos):
    proc = run_cli("compare", *map(str, two_videos), "--bundle", str(tmp_path / "nobundle"))
    assert "stepdiff export" in assert_one_line_error(proc, tmp_path / "nobundle")
