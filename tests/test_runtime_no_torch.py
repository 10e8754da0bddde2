"""The on-device path runs with torch (and transformers) made unimportable."""

from __future__ import annotations

import subprocess
import sys
import wave

SCRIPT = r"""
import sys
sys.modules["torch"] = None          # any `import torch` now raises ImportError
sys.modules["transformers"] = None
from stepdiff.runtime.cli import main
rc = main(sys.argv[1:])
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers")
                and sys.modules[m] is not None)
print("LEAKED", leaked, file=sys.stderr)
sys.exit(rc if not leaked else 3)
"""


def test_compare_runs_without_torch(tmp_path, two_videos, fp32_bundle):
    wav = tmp_path / "answer.wav"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            "compare",
            *map(str, two_videos),
            "--bundle",
            str(fp32_bundle),
            "--wav",
            str(wav),
            "--max-new-tokens",
            "12",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "LEAKED []" in proc.stderr
    import json

    record = json.loads(proc.stdout.strip().splitlines()[-1])
    assert record["timings"]["prompt_tokens"] > 2 * 32
    with wave.open(str(wav)) as w:
        assert w.getnframes() > w.getframerate() * 0.3  # at least a short utterance
