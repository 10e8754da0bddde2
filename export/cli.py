"""stepdiff export --quant {fp32,int8,int4} --out DIR [--checkpoint FILE]"""

from __future__ import annotations

import argparse
import sys

from runtime.paths import default_bundle


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stepdiff export", description=__doc__)
    p.add_argument("--quant", choices=("fp32", "int8", "int4"), default="fp32")
    p.add_argument("--out", default=None, help="bundle directory (default: the default bundle)")
    p.add_argument("--block-size", type=int, default=32, help="MatMulNBits block size")
    p.add_argument("--accuracy-level", type=int, default=4, choices=(0, 1, 2, 3, 4))
    return p


def main(argv: list[str]) -> int:
    a = parser().parse_args(argv)
    from export.bundle import ExportOptions, write_bundle
    from models.model import StepDiffModel

    model = StepDiffModel.from_pretrained()
    out = write_bundle(
        model,
        a.out or default_bundle(),
        ExportOptions(quant=a.quant, block_size=a.block_size, accuracy_level=a.accuracy_level),
    )
    print(f"bundle written to {out}", file=sys.stderr)
    print(out)
    return 0
