"""The workstation commands and benchmarks of this package, as `stepdiff` registers them.

pyproject.toml lists these objects under the `stepdiff.commands` and `stepdiff.benches`
entry-point groups; the console script in runtime/ finds them there. Importing this module must
stay cheap: nothing here imports torch.
"""

from __future__ import annotations

from stepdiff.runtime.cli import Command

DATA = Command(
    "stepdiff.models.data.cli", "build the procedural dataset, PairQA and benchmarks", "train"
)
TRAIN = Command("stepdiff.models.train", "train the projector and LoRA on PairQA", "train")
EVAL = Command(
    "stepdiff.models.evaluate", "DiffCap / DiffMCQ / DiffRank metrics on a benchmark", "train"
)
BENCH_RENDER = Command(
    "stepdiff.models.data.bench_render", "procedural renderer frames/s on one core", "train"
)
