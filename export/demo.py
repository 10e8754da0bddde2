"""stepdiff demo: the whole path on the default model and two sample videos.

1. Reuse the default bundle if it verifies and was built from the shipped weights, else export
   it (the `export` extra; no torch needed).
2. Render two short first-person videos of a real CaptainCook4D step and its real mistake
   ("Top cup with 1 tablespoon of salsa", done with 1 teaspoon).
3. Compare them on the ONNX runtime, print the answer and write it as speech to a WAV file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stepdiff.runtime.errors import BadInput
from stepdiff.runtime.paths import default_bundle


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stepdiff demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/demo", help="where the videos and WAV go")
    p.add_argument("--bundle", default=None, help="bundle directory (default: the default bundle)")
    p.add_argument("--rebuild", action="store_true", help="export the bundle even if it exists")
    p.add_argument("--threads", type=int, default=2)
    return p


def ensure_bundle(path: Path, rebuild: bool = False) -> Path:
    """Reuse `path` if it verifies and holds the shipped weights, else export it there."""
    from stepdiff.runtime.bundle import load_bundle

    if not rebuild:
        try:
            manifest = load_bundle(path).manifest
            stale = _stale(manifest)
            if not stale:
                print(f"reusing bundle {path}", file=sys.stderr)
                return path
            print(f"rebuilding bundle {path}: {stale}", file=sys.stderr)
        except BadInput as e:
            print(f"building bundle ({e})", file=sys.stderr)
    from stepdiff.export.cli import main as export_main

    export_main(["--quant", "fp32", "--out", str(path)])
    return path


def _stale(manifest: dict) -> str:
    """Why a verified bundle is not the one the shipped weights make ("" if it is)."""
    from stepdiff.models.pretrained import SHIPPED_WEIGHTS
    from stepdiff.runtime.files import sha256_file

    have = manifest.get("models", {}).get("stepdiff_weights", {}).get("sha256", "")
    if not SHIPPED_WEIGHTS.is_file():
        return ""  # a checkout without shipped weights: any verified bundle will do
    if have != sha256_file(SHIPPED_WEIGHTS):
        return f"it was not built from {SHIPPED_WEIGHTS.name}"
    return ""


def sample_videos(out: Path, seed: int = 7) -> tuple[Path, Path]:
    """A reference and a user video of the same step, differing only in the measured amount."""
    from stepdiff.models.data.render import (
        RenderOptions,
        Segment,
        render_video,
        segment_length,
        write_video,
    )
    from stepdiff.models.data.slots import Slots

    reference = Slots(
        verb="top", ingredients=("salsa",), quantity=1.0, unit="tbsp", container="cup"
    )
    user = reference.with_changes(unit="tsp")
    opts = RenderOptions()
    paths = []
    for name, slots in (("reference", reference), ("user", user)):
        n = segment_length(slots, opts.fps)
        segments = [Segment(None, segment_length(None, opts.fps), 0), Segment(slots, n, 1)]
        path = out / f"{name}.mp4"
        write_video(str(path), render_video(segments, seed, opts), opts.fps)
        paths.append(path)
    return paths[0], paths[1]


def main(argv: list[str]) -> int:
    from stepdiff.runtime.compare import StepDiff
    from stepdiff.runtime.compare_cli import speak

    a = parser().parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    bundle = ensure_bundle(Path(a.bundle) if a.bundle else default_bundle(), a.rebuild)
    ref, usr = sample_videos(out)
    print(f"reference video: {ref}\nuser video:      {usr}", file=sys.stderr)
    result = StepDiff(bundle, threads=a.threads).compare(str(ref), str(usr))
    print(result.text)
    t = result.timings
    print(
        f"encode {t['decode_video_and_encode_ms'][1]:.0f} ms/clip, "
        f"first token {t.get('ttft_ms', 0):.0f} ms, {t.get('decode_tok_s', 0):.1f} tok/s",
        file=sys.stderr,
    )
    print(speak(result.text or "I see no difference.", str(out / "answer.wav")), file=sys.stderr)
    return 0
