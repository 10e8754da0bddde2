"""The `stepdiff` console script.

The device commands live in this package. The workstation commands (train, eval, export, data,
demo) register themselves under the `stepdiff.commands` entry-point group, so the dependency runs
one way: runtime/ never names models/ or export/. Each command's module is imported only when it
is asked for, so the on-device commands never import torch. Exit codes: 0 ok, 2 bad input (one
line naming the file and the problem), 1 internal error.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from importlib import metadata

from stepdiff.runtime.errors import BadInput

ENTRY_POINTS = "stepdiff.commands"


@dataclass(frozen=True)
class Command:
    module: str  # has main(argv: list[str]) -> int
    help: str
    extra: str = ""  # the pip extra its imports need, named when they are missing

    def run(self, argv: list[str]) -> int:
        try:
            return int(importlib.import_module(self.module).main(argv) or 0)
        except ModuleNotFoundError as e:
            if not self.extra or (e.name or "").startswith("stepdiff"):
                raise
            # A runtime-only install has every command's code but not the workstation's
            # dependencies: say which extra brings them.
            print(
                f"stepdiff: {self.module.rsplit('.', 1)[-1]} needs the {self.extra!r} extra "
                f"({e.name} is not installed): pip install 'stepdiff[{self.extra}]'",
                file=sys.stderr,
            )
            return 1


DEVICE_COMMANDS: dict[str, Command] = {
    "compare": Command(
        "stepdiff.runtime.compare_cli", "compare a reference video and a user video"
    ),
    "bench": Command("stepdiff.runtime.bench.cli", "benchmarks (pipeline, decode, render, parity)"),
}


def registered(built_in: dict[str, Command], group: str) -> dict[str, Command]:
    """`built_in`, then the Commands other installed packages register under `group`."""
    found = dict(built_in)
    for ep in metadata.entry_points(group=group):
        if ep.name in found:
            continue
        try:
            found[ep.name] = ep.load()
        except ImportError:
            continue  # a registering package that cannot load here offers no commands
    return found


def commands() -> dict[str, Command]:
    return registered(DEVICE_COMMANDS, ENTRY_POINTS)


def usage(table: dict[str, Command]) -> str:
    lines = ["usage: stepdiff COMMAND [ARGS]", "", "commands:"]
    lines += [f"  {name:<10} {c.help}" for name, c in sorted(table.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    table = commands()
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage(table))
        return 0
    name, rest = argv[0], argv[1:]
    if name not in table:
        print(f"stepdiff: unknown command {name!r}\n\n{usage(table)}", file=sys.stderr)
        return 2
    command = table[name]
    try:
        return command.run(rest)
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
