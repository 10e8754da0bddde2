"""The `stepdiff` console script.

Each subcommand lives in its own module and is imported only when asked for, so the on-device
commands (compare, run, bench decode, ...) never import torch. Exit codes: 0 ok, 2 bad input
(one line naming the file and the problem), 1 internal error.
"""

from __future__ import annotations

import importlib
import os
import sys

from stepdiff.runtime.errors import BadInput

# subcommand -> (module with `main(argv) -> int`, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "stepdiff.runtime.demo",
        "build or reuse the default bundle, compare two sample videos, speak",
    ),
    "compare": ("stepdiff.runtime.compare_cli", "compare a reference video and a user video"),
    "export": ("stepdiff.export.cli", "export the model to an ONNX bundle"),
    "data": ("stepdiff.models.data.cli", "build the procedural dataset, PairQA and benchmarks"),
    "train": ("stepdiff.models.train", "train the projector and LoRA on PairQA"),
    "eval": ("stepdiff.models.evaluate", "DiffCap / DiffMCQ / DiffRank metrics on a benchmark"),
    "bench": ("stepdiff.runtime.bench_cli", "benchmarks (render, ...)"),
}


def usage() -> str:
    lines = ["usage: stepdiff COMMAND [ARGS]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"stepdiff: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(COMMANDS[name][0])
        return int(module.main(rest) or 0)
    except BadInput as e:
        print(f"stepdiff {name}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"stepdiff {name}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # the one place that turns any other failure into exit code 1
        if os.environ.get("STEPDIFF_DEBUG"):
            raise
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(
            f"stepdiff {name}: internal error: {type(e).__name__}: {msg} "
            "(set STEPDIFF_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
