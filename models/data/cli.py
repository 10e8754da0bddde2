"""`stepdiff data ...`: build the dataset, report parser coverage, make PairQA from annotations.

data build --out DIR --scale {tiny,small,full} --seed N [--workers 2]
data coverage
data pairqa --annotations DIR_OR_FILE... --out FILE.jsonl [--seed N]
data convert-cc4d --out DIR        (real CaptainCook4D annotations in the annotation format)
"""

from __future__ import annotations

import argparse
import os
import sys

from stepdiff.runtime.errors import BadInput


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stepdiff data", description="StepDiff data engine")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser(
        "build", help="render videos and write annotations, PairQA, benchmarks and a card"
    )
    b.add_argument("--out", required=True, help="output directory")
    b.add_argument("--scale", choices=("tiny", "small", "full"), default="tiny")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--workers", type=int, default=2, help="rendering processes (default 2)")
    b.add_argument("--no-progress", action="store_true")
    sub.add_parser("coverage", help="how much of the real CaptainCook4D text the step parser reads")
    q = sub.add_parser("pairqa", help="PairQA samples from annotation files")
    q.add_argument(
        "--annotations", nargs="+", required=True, help="annotation .json files or directories"
    )
    q.add_argument("--out", required=True, help="output .jsonl")
    q.add_argument("--seed", type=int, default=0)
    c = sub.add_parser(
        "convert-cc4d", help="write the real CaptainCook4D recordings as annotation files"
    )
    c.add_argument("--out", required=True)
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "build":
            from stepdiff.models.data.build import build

            if os.path.exists(args.out) and not os.path.isdir(args.out):
                raise BadInput(args.out, "exists and is not a directory; pass a directory to --out")
            card = build(
                args.out, args.scale, args.seed, workers=args.workers, progress=not args.no_progress
            )
            from stepdiff.models.data.parse_coverage import coverage

            print(coverage().summary())
            pq = card["pairqa"]["recipe"]
            print(
                f"{card['videos']['total']} videos; PairQA train/val/test "
                f"{pq['train']['total']}/{pq['val']['total']}/{pq['test']['total']}; "
                f"{card['seconds']['total']} s -> {args.out}"
            )
            return 0
        if args.cmd == "coverage":
            from stepdiff.models.data.parse_coverage import coverage

            print(coverage().summary())
            return 0
        if args.cmd == "pairqa":
            from stepdiff.models.data.annotation import load_all
            from stepdiff.models.data.pairqa import generate
            from stepdiff.runtime.files import write_jsonl

            anns = load_all(args.annotations)
            if not anns:
                raise BadInput(" ".join(args.annotations), "holds no annotation .json files")
            n = write_jsonl(args.out, generate(anns, seed=args.seed))
            print(f"{n} PairQA samples from {len(anns)} videos -> {args.out}")
            return 0
        if args.cmd == "convert-cc4d":
            from stepdiff.models.data.annotation import from_captaincook
            from stepdiff.models.data.captaincook import load_recordings
            from stepdiff.runtime.files import write_json

            os.makedirs(args.out, exist_ok=True)
            recs = load_recordings()
            for rec in recs:
                a = from_captaincook(rec)
                write_json(os.path.join(args.out, f"{a['video_id']}.json"), a)
            print(f"{len(recs)} annotations -> {args.out}")
            return 0
    except BadInput as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
