"""The workstation commands and benchmarks of this package, as `stepdiff` registers them.

pyproject.toml lists these objects under the `stepdiff.commands` and `stepdiff.benches`
entry-point groups; the console script in runtime/ finds them there. Importing this module must
stay cheap.
"""

from __future__ import annotations

from stepdiff.runtime.cli import Command

EXPORT = Command("stepdiff.export.cli", "export the model to an ONNX bundle", "export")
DEMO = Command(
    "stepdiff.export.demo",
    "build or reuse the default bundle, compare two sample videos, speak",
    "export",
)
BENCH_PARITY = Command(
    "stepdiff.export.parity",
    "a quantized bundle against fp32: token agreement, val-metric deltas, sizes, peak RSS",
    "export",
)
