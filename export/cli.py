"""stepdiff export --quant {fp32,int8,int4} --out DIR [--weights FILE | --untrained] [--compare-head FILE]

The default build needs no torch: the SmolLM2 GGUF, the EfficientNet-Lite0 weights and our
shipped projector + LoRA (models/weights/stepdiff-v1.safetensors), merged in numpy; and, when
given, a comparison head's weights (safetensors, see export/sources.py read_compare_head).
"""

from __future__ import annotations

import argparse
import sys

from stepdiff.runtime.paths import default_bundle


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stepdiff export",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quant", choices=("fp32", "int8", "int4"), default="fp32")
    p.add_argument("--out", default=None, help="bundle directory (default: the default bundle)")
    w = p.add_mutually_exclusive_group()
    w.add_argument(
        "--weights",
        default=None,
        help="projector + LoRA safetensors from `stepdiff train` (default: the shipped weights)",
    )
    w.add_argument(
        "--untrained",
        action="store_true",
        help="export the untrained projector instead (a baseline; needs torch)",
    )
    p.add_argument(
        "--encoder",
        choices=("fp32", "int8"),
        default="fp32",
        help="vision encoder precision (int8: static QDQ calibrated on rendered frames)",
    )
    p.add_argument(
        "--compare-head",
        default=None,
        metavar="FILE",
        help="comparison head weights (safetensors with stepdiff_compare_config metadata); "
        "the bundle gets compare_head.onnx (fp32)",
    )
    p.add_argument(
        "--lora",
        choices=("auto", "merged", "side"),
        default="auto",
        help="shipped LoRA merged into the weights, or a float side branch (auto: side for int4)",
    )
    r = p.add_argument_group("parity report (--report)")
    r.add_argument(
        "--report",
        action="store_true",
        help="after exporting, compare the bundle with the fp32 reference (token agreement, "
        "val-metric deltas, sizes, peak memory) into <out>-report/",
    )
    r.add_argument("--reference", default=None, help="fp32 bundle (default: the default bundle)")
    r.add_argument(
        "--report-bench", default=None, help="`stepdiff data build` output for val-metric deltas"
    )
    r.add_argument("--report-limit", type=int, default=100, help="val items per task (0 = all)")
    r.add_argument("--report-out", default=None, help="report directory")
    p.add_argument("--block-size", type=int, default=32, help="MatMulNBits block size")
    p.add_argument("--accuracy-level", type=int, default=4, choices=(0, 1, 2, 3, 4))
    return p


def sources(a: argparse.Namespace):
    if a.untrained:
        from dataclasses import replace

        from stepdiff.export.sources import read_compare_head, sources_from_model
        from stepdiff.models.model import StepDiffModel

        src = sources_from_model(StepDiffModel.from_pretrained())
        if a.compare_head:
            src = replace(src, compare_head=read_compare_head(a.compare_head))
        return src
    from stepdiff.export.sources import sources_from_files
    from stepdiff.models.pretrained import SHIPPED_WEIGHTS, efficientnet_weights, smollm2_gguf

    return sources_from_files(
        smollm2_gguf().path,
        efficientnet_weights().path,
        a.weights or SHIPPED_WEIGHTS,
        compare_head=a.compare_head,
    )


def main(argv: list[str]) -> int:
    a = parser().parse_args(argv)
    from stepdiff.export.bundle import ExportOptions, write_bundle

    if a.report and a.quant != "fp32":
        from pathlib import Path

        from stepdiff.runtime.errors import BadInput

        reference = Path(a.reference) if a.reference else default_bundle()
        if Path(a.out or default_bundle()).resolve() == reference.resolve():
            raise BadInput(
                "--out", f"would overwrite the fp32 reference {reference}; give --out DIR"
            )

    out = write_bundle(
        sources(a),
        a.out or default_bundle(),
        ExportOptions(
            quant=a.quant,
            block_size=a.block_size,
            accuracy_level=a.accuracy_level,
            encoder=a.encoder,
            lora=a.lora,
        ),
    )
    print(f"bundle written to {out}", file=sys.stderr)
    if a.report:
        from pathlib import Path

        from stepdiff.export.parity import ReportOptions, parity_report, report_dir, write_report

        report = parity_report(
            Path(out),
            Path(a.reference) if a.reference else default_bundle(),
            ReportOptions(limit=a.report_limit),
            Path(a.report_bench) if a.report_bench else None,
        )
        paths = write_report(report, Path(a.report_out) if a.report_out else report_dir(out))
        print(f"parity report: {paths[1]}", file=sys.stderr)
    print(out)
    return 0
