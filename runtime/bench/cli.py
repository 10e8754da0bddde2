"""stepdiff bench NAME [ARGS]: benchmarks are commands, never timed tests.

`pipeline` and `decode` run on the device runtime; `render` and `parity` need the workstation
and register themselves under the `stepdiff.benches` entry-point group.
"""

from __future__ import annotations

import sys

from stepdiff.runtime.cli import Command, registered

ENTRY_POINTS = "stepdiff.benches"

DEVICE_BENCHES: dict[str, Command] = {
    "pipeline": Command(
        "stepdiff.runtime.bench.pipeline", "encoder ms/clip, time to first token, decode tok/s"
    ),
    "decode": Command(
        "stepdiff.runtime.bench.decode",
        "decoder engines side by side: ours int4/int8, torch, onnxruntime-genai, llama.cpp",
    ),
}


def benches() -> dict[str, Command]:
    return registered(DEVICE_BENCHES, ENTRY_POINTS)


def main(argv: list[str]) -> int:
    table = benches()
    if not argv or argv[0] not in table:
        print("usage: stepdiff bench {" + ",".join(sorted(table)) + "} [ARGS]", file=sys.stderr)
        for k, c in sorted(table.items()):
            print(f"  {k:<10} {c.help}", file=sys.stderr)
        return 2
    return table[argv[0]].run(argv[1:])
