"""stepdiff bench parity: a quantized bundle against the fp32 one (also `stepdiff export --report`).

Three questions, each answered with numbers a reader can check:

1. Does the quantized decoder pick the tokens fp32 picks? On PROMPTS, a fixed prompt set (two
   pairs of rendered clips with the runtime's question, and text-only cooking questions):
   - teacher-forced agreement: along fp32's greedy continuation, the share of positions where
     the quantized argmax is fp32's token. Each position sees fp32's history, so one near-tie
     does not derail the rest: this measures the logits, not luck;
   - free-running: each bundle decodes greedily on its own; how many tokens match before the
     first difference, and how often the whole answer is the same. This is what a user sees.
2. Does it cost benchmark points? Given a `stepdiff data build` output, the StepDiff metrics of
   both bundles on the first `limit` items of each task of the val split, through the same ONNX
   path as `stepdiff eval --bundle` (models/evaluate.py), and their deltas.
3. What does it save? File sizes per graph and in all, and the peak RSS of a fresh process that
   loads the bundle and runs one comparison (runtime.bench.probe, runtime only).

`stepdiff bench parity --bundle DIR [--reference DIR] [--bench DIR] [--out DIR]` runs it; the
export CLI's --report calls `parity_report` and `write_report`. Every greedy continuation here is
runtime.decoder's, the loop the headset runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from stepdiff.models.tasks import TASKS
from stepdiff.runtime import contract
from stepdiff.runtime.prompt import compare_prompt

REPORT_VERSION = 1


@dataclass(frozen=True)
class Prompt:
    name: str
    user_text: str
    clips: tuple[int, ...] = ()  # indices of rendered clips, one per `<video>` placeholder


# Fixed so that reports of different bundles, or of one bundle over time, compare. The clip
# prompts ask what the headset asks; the text-only ones exercise the LM without the projector.
PROMPTS = (
    Prompt("compare, clips 0-1", compare_prompt(2), (0, 1)),
    Prompt("compare, clips 2-3", compare_prompt(2), (2, 3)),
    Prompt("salt", "How much salt should I add to a pot of pasta water?"),
    Prompt("onion", "What is the quickest way to dice an onion?"),
    Prompt("egg", "How long should I boil an egg for a soft yolk?"),
    Prompt("rest", "Why should I let meat rest after cooking it?"),
)


@dataclass(frozen=True)
class ReportOptions:
    steps: int = 32  # new tokens per prompt, greedy, stopping after EOS
    clip_seed: int = 0  # seed of the rendered clips (export.quantize_encoder.rendered_clips)
    limit: int = 100  # val items per task; 0 = the whole split (392+392+88 on data_full)
    split: str = "val"
    tasks: tuple[str, ...] = TASKS
    max_new_tokens: int = 32  # DiffCap caption length, as `stepdiff eval` decodes them
    memory: bool = True  # peak RSS of a fresh process per bundle
    threads: int = 2
    progress: bool = True

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"ReportOptions.steps={self.steps}: needs at least 1 token")
        if self.limit < 0:
            raise ValueError(f"ReportOptions.limit={self.limit}: use >= 0 (0 = whole split)")
        if self.threads < 1:
            raise ValueError(f"ReportOptions.threads={self.threads}: use >= 1")
        bad = [t for t in self.tasks if t not in TASKS]
        if bad or not self.tasks:
            raise ValueError(f"ReportOptions.tasks: unknown {bad}; choose from {list(TASKS)}")


# ---------------------------------------------------------------------------------------------
# 1. greedy token agreement


@dataclass(frozen=True)
class PromptAgreement:
    reference_tokens: tuple[int, ...]  # fp32's greedy continuation, its EOS included
    tokens: tuple[int, ...]  # the quantized bundle's own greedy continuation
    teacher_forced: int  # positions of reference_tokens where the quantized argmax agrees

    @property
    def positions(self) -> int:
        return len(self.reference_tokens)

    @property
    def teacher_forced_rate(self) -> float:
        return self.teacher_forced / self.positions

    @property
    def prefix(self) -> int:
        """Free-running exact-match length: tokens equal before the first difference."""
        n = 0
        for a, b in zip(self.tokens, self.reference_tokens, strict=False):
            if a != b:
                break
            n += 1
        return n

    @property
    def full_match(self) -> bool:
        return self.tokens == self.reference_tokens


def prompt_agreement(
    quantized,
    reference,
    user_text: str,
    clips: Sequence[np.ndarray] = (),
    steps: int = 32,
    stop_at_eos: bool = True,
) -> PromptAgreement:
    """How a quantized runtime.compare.StepDiff follows the reference one on one prompt.

    clips: uint8 [T, H, W, 3], one per `<video>` in user_text; each engine encodes them with
    its own vision encoder, so a quantized encoder counts too. A continuation keeps the EOS that
    ended it, so agreeing on when to stop counts too.
    """
    from stepdiff.runtime.decoder import DecodingOptions, greedy

    def embeds(engine) -> np.ndarray:
        videos = list(engine.encoder.encode_frames(np.stack(clips))) if len(clips) else []
        return engine.prompt_embeds(user_text, videos)

    opts = DecodingOptions(max_new_tokens=steps, ignore_eos=not stop_at_eos)
    ref_tokens = greedy(reference.decoder, embeds(reference), opts).tokens_with_stop
    dec, emb = quantized.decoder, embeds(quantized)
    # Teacher-forced: the quantized decoder along fp32's continuation, from its own prefill.
    last = dec.prefill(emb)
    agree = int(last.argmax() == ref_tokens[0])
    if len(ref_tokens) > 1:
        forced = dec.forward_all(dec.embed(np.asarray(ref_tokens[:-1], np.int64)), dec.cache)
        agree += int((forced.argmax(-1) == np.asarray(ref_tokens[1:])).sum())
    own = greedy(dec, emb, opts).tokens_with_stop
    return PromptAgreement(tuple(ref_tokens), tuple(own), agree)


def token_agreement(quantized, reference, options: ReportOptions) -> dict:
    """PROMPTS through both engines: per-prompt rows and the totals."""
    from tqdm import tqdm

    from stepdiff.export.quantize_encoder import rendered_clips

    b = reference.bundle
    n_clips = 1 + max(i for p in PROMPTS for i in p.clips)
    clips = list(rendered_clips(n_clips, b.frames, b.frame_size, seed=options.clip_seed))

    def text(tokens: Sequence[int]) -> str:
        return reference.tokenizer.decode(list(tokens), skip_special_tokens=True).strip()

    rows = []
    for p in tqdm(
        PROMPTS,
        desc="token agreement",
        unit="prompt",
        file=sys.stderr,
        disable=not options.progress,
    ):
        a = prompt_agreement(
            quantized, reference, p.user_text, [clips[i] for i in p.clips], options.steps
        )
        rows.append(
            {
                "prompt": p.name,
                "videos": len(p.clips),
                "positions": a.positions,
                "teacher_forced_agree": a.teacher_forced,
                "teacher_forced": a.teacher_forced_rate,
                "exact_prefix": a.prefix,
                "reference_length": len(a.reference_tokens),
                "quantized_length": len(a.tokens),
                "full_match": a.full_match,
                "reference_text": text(a.reference_tokens),
                "quantized_text": text(a.tokens),
            }
        )
    positions = sum(r["positions"] for r in rows)
    return {
        "prompts": rows,
        "steps": options.steps,
        "clip_seed": options.clip_seed,
        "positions": positions,
        # Pooled over positions, so a long answer weighs more than one that stops at once.
        "teacher_forced": sum(r["teacher_forced_agree"] for r in rows) / positions,
        "exact_prefix_mean": float(np.mean([r["exact_prefix"] for r in rows])),
        "exact_prefix_fraction": float(
            np.mean([r["exact_prefix"] / r["reference_length"] for r in rows])
        ),
        "full_match_rate": float(np.mean([r["full_match"] for r in rows])),
    }


# ---------------------------------------------------------------------------------------------
# 2. StepDiff metrics on the val split


def _prediction_agreement(task: str, ref: list[dict], q: list[dict]) -> dict:
    """How often the two bundles give the same prediction, whatever the ground truth says."""
    n = len(ref)
    if n == 0:
        return {"measure": "-", "value": None, "n": 0}
    if task == "diffcap":
        same = [a["generated_text"] == b["generated_text"] for a, b in zip(ref, q, strict=True)]
        return {"measure": "same caption", "value": float(np.mean(same)), "n": n}
    if task == "diffmcq":
        same = [
            int(np.argmax(a["scores"])) == int(np.argmax(b["scores"]))
            for a, b in zip(ref, q, strict=True)
        ]
        return {"measure": "same answer", "value": float(np.mean(same)), "n": n}
    same = [
        list(np.argsort(-np.asarray(a["scores"]), kind="stable"))
        == list(np.argsort(-np.asarray(b["scores"]), kind="stable"))
        for a, b in zip(ref, q, strict=True)
    ]
    return {"measure": "same ranking", "value": float(np.mean(same)), "n": n}


def _number(x) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else None


def val_metrics(quantized, reference, bench: Path, options: ReportOptions) -> dict:
    """Both engines through `stepdiff eval`'s ONNX predictor on the first `limit` items."""
    from stepdiff.models.evaluate import evaluate, locate, open_clips, read_jsonl
    from stepdiff.models.predictors import ModelPredictor
    from stepdiff.models.predictors_onnx import OnnxScorer

    split_dir, root = locate(Path(bench), options.split)
    clips = open_clips(root)
    runs, preds = {}, {}
    with tempfile.TemporaryDirectory(prefix="stepdiff-report-") as tmp:
        for role, engine in (("reference", reference), ("quantized", quantized)):
            print(f"val metrics: {role} bundle {engine.bundle.root}", file=sys.stderr)
            predictor = ModelPredictor(
                OnnxScorer(engine, clips),
                max_new_tokens=options.max_new_tokens,
                progress=options.progress,
            )
            out = Path(tmp) / role
            runs[role] = evaluate(
                split_dir, predictor, options.tasks, out, options.limit, progress=options.progress
            )
            preds[role] = {t: read_jsonl(out / f"{t}_preds.jsonl") for t in options.tasks}
    rows = []
    for task in options.tasks:
        ref = runs["reference"]["tasks"][task]["overall"]
        q = runs["quantized"]["tasks"][task]["overall"]
        for key, value in ref.items():
            if key in ("n", "nan_items"):
                continue
            a, b = _number(value), _number(q.get(key))
            rows.append(
                {
                    "task": task,
                    "metric": key,
                    "reference": a,
                    "quantized": b,
                    "delta": None if a is None or b is None else b - a,
                    "n": ref.get("n"),
                }
            )
    return {
        "status": "ok",
        "bench": str(split_dir),
        "split": options.split,
        "limit": options.limit,
        "metrics": rows,
        "prediction_agreement": {
            t: _prediction_agreement(t, preds["reference"][t], preds["quantized"][t])
            for t in options.tasks
        },
        "seconds": {role: r["seconds"] for role, r in runs.items()},
    }


# ---------------------------------------------------------------------------------------------
# 3. sizes and memory


def bundle_sizes(bundle) -> dict:
    """Bytes per graph file and of every file the manifest lists (a runtime.bundle.Bundle)."""
    graphs = {g: spec.path.stat().st_size for g, spec in bundle.graphs.items()}
    total = sum((bundle.root / rel).stat().st_size for rel in bundle.manifest["files"])
    return {"graphs": graphs, "total": total}


def _sizes(quantized, reference) -> dict:
    q, r = bundle_sizes(quantized), bundle_sizes(reference)
    rows = {g: {"reference": r["graphs"][g], "quantized": q["graphs"][g]} for g in r["graphs"]}
    rows["graphs total"] = {
        "reference": sum(r["graphs"].values()),
        "quantized": sum(q["graphs"].values()),
    }
    rows["bundle total"] = {"reference": r["total"], "quantized": q["total"]}
    for v in rows.values():
        v["ratio"] = v["quantized"] / v["reference"] if v["reference"] else None
    return rows


def peak_memory(bundle: Path, clips: np.ndarray, options: ReportOptions) -> dict:
    """Peak RSS of a fresh Python that loads `bundle` and compares the two clips [2, T, H, W, 3].

    A fresh process, because this one holds both bundles, torch and the dataset; the child
    imports only the runtime (what the headset runs) and reports its own peak.
    """
    from stepdiff.runtime.bench.probe import measure

    return measure(bundle, clips, options.threads, options.steps)


# ---------------------------------------------------------------------------------------------
# the report


def _describe(bundle) -> dict:
    return {
        "path": str(bundle.root),
        "name": bundle.manifest.get("name", bundle.root.name),
        "manifest_sha256": bundle.manifest_sha256,
        "quantization": {g: spec.quantization for g, spec in bundle.graphs.items()},
    }


def _check_comparable(quantized, reference) -> None:
    """Refuses two bundles that are not one model: their numbers would measure the difference
    between models, not the cost of quantization."""
    from stepdiff.runtime.errors import BadInput

    def fields(b) -> dict:
        models = b.manifest.get("models", {})
        return {
            "weights": models.get("stepdiff_weights"),
            "language model": models.get("lm"),
            "vision model": models.get("vision"),
            "frames": b.frames,
            "frame_size": b.frame_size,
            "tokens_per_video": b.tokens_per_video,
            "hidden": b.hidden,
            "vocab": b.vocab,
            "system_prompt": b.system_prompt,
            f"{contract.TOKENIZER} sha256": b.manifest["files"][contract.TOKENIZER].get("sha256"),
        }

    q, r = fields(quantized), fields(reference)
    for key in r:
        if q[key] != r[key]:
            raise BadInput(
                quantized.root / contract.MANIFEST,
                f"{key} {q[key]!r} differs from the reference bundle's {r[key]!r} "
                f"({reference.root}); export both bundles from the same weights",
            )


def _check_bench(bench: Path, options: ReportOptions) -> None:
    """Fails on a missing or malformed benchmark before any model work, like `stepdiff eval`."""
    from stepdiff.models.evaluate import check_ground_truth, locate, read_jsonl
    from stepdiff.runtime.errors import BadInput

    split_dir, _ = locate(Path(bench), options.split)
    for t in options.tasks:
        path = split_dir / f"{t}.jsonl"
        check_ground_truth(t, read_jsonl(path), path)
    # Found now, not after an hour of predictions.
    scorers = {"diffcap": "pycocoevalcap", "diffrank": "scipy"}
    for t in options.tasks:
        if t in scorers and importlib.util.find_spec(scorers[t]) is None:
            raise BadInput(
                bench,
                f"scoring {t} needs {scorers[t]}, which is not installed: "
                "pip install 'stepdiff[train]', or leave out the benchmark",
            )


def parity_report(
    bundle: Path,
    reference: Path,
    options: ReportOptions = ReportOptions(),
    bench: Path | None = None,
) -> dict:
    """Compares a quantized bundle with the fp32 reference bundle; see the module docstring.

    bench: a `stepdiff data build` output (or its bench/ folder) for the val-metric deltas; None
    skips them. Raises runtime.errors.BadInput (a ValueError) on a bad bundle or benchmark.
    """
    from stepdiff.runtime.bundle import load_bundle
    from stepdiff.runtime.compare import StepDiff

    t0 = time.perf_counter()
    same = Path(bundle).resolve() == Path(reference).resolve()
    rb = load_bundle(reference)
    qb = rb if same else load_bundle(bundle)  # a self-comparison loads and hashes once
    _check_comparable(qb, rb)
    if bench is not None:
        _check_bench(bench, options)
    report: dict = {
        "report_version": REPORT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "bundle": _describe(qb),
        "reference": _describe(rb),
        "self_comparison": same,
        "options": {**asdict(options), "tasks": list(options.tasks)},
    }
    seconds: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        seconds[name] = round(now - since, 1)
        return now

    print(f"parity report: {qb.root} against {rb.root}", file=sys.stderr)
    r = StepDiff(rb, options.threads)
    q = r if same else StepDiff(qb, options.threads)
    t = lap("load", t0)
    report["agreement"] = token_agreement(q, r, options)
    t = lap("agreement", t)
    if bench is None:
        report["val"] = {"status": "skipped", "reason": "no benchmark dataset given"}
    else:
        report["val"] = val_metrics(q, r, Path(bench), options)
        t = lap("val", t)
    del q, r
    report["sizes"] = _sizes(qb, rb)
    if options.memory:
        from stepdiff.export.quantize_encoder import rendered_clips

        clips = np.stack(list(rendered_clips(2, rb.frames, rb.frame_size, options.clip_seed)))
        report["memory"] = {}
        for role, b in (("reference", rb), ("quantized", qb)):
            print(f"peak memory: {role} bundle in a fresh process ...", file=sys.stderr)
            report["memory"][role] = peak_memory(b.root, clips, options)
        lap("memory", t)
    else:
        report["memory"] = {"status": "skipped", "reason": "ReportOptions.memory is off"}
    seconds["total"] = round(time.perf_counter() - t0, 1)
    report["seconds"] = seconds
    return report


# ---------------------------------------------------------------------------------------------
# Markdown and files


def _f(x, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _signed(x, digits: int = 3) -> str:
    return "-" if x is None else f"{x:+.{digits}f}"


def _cell(text: str, width: int = 70) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def _mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:.1f}"


def render_markdown(report: dict) -> str:
    qb, rb = report["bundle"], report["reference"]
    qn, rn = qb["quantization"]["decoder"], rb["quantization"]["decoder"]
    if qn == rn:  # a self-comparison or two bundles of one kind: name them apart
        qn, rn = f"{qn} (bundle)", f"{rn} (reference)"
    lines = [
        f"# Parity report: {qb['name']} against {rb['name']}",
        "",
        f"- bundle: `{qb['path']}` " + ", ".join(f"{g} {q}" for g, q in qb["quantization"].items()),
        f"- reference: `{rb['path']}` "
        + ", ".join(f"{g} {q}" for g, q in rb["quantization"].items()),
        f"- created {report['created']} in {report['seconds']['total']} s ("
        + ", ".join(f"{k} {v} s" for k, v in report["seconds"].items() if k != "total")
        + ")",
    ]
    if report.get("self_comparison"):
        lines.append("- **the bundle is compared with itself** (same directory)")

    a = report["agreement"]
    lines += [
        "",
        "## Greedy token agreement",
        "",
        f"{len(a['prompts'])} fixed prompts (export/report.py PROMPTS; clips rendered with seed "
        f"{a['clip_seed']}), up to {a['steps']} greedy tokens each, stopping after EOS. "
        "Teacher-forced: share of positions along the reference's greedy answer where the "
        "bundle's argmax is the reference's token. Exact prefix: tokens equal before the first "
        "difference when each decodes on its own.",
        "",
        "| prompt | videos | positions | teacher-forced | exact prefix | full match |",
        "|---|---:|---:|---:|---:|:---:|",
    ]
    for p in a["prompts"]:
        lines.append(
            f"| {p['prompt']} | {p['videos']} | {p['positions']} | {_f(p['teacher_forced'])} "
            f"| {p['exact_prefix']}/{p['reference_length']} | {'yes' if p['full_match'] else 'no'} |"
        )
    lines += [
        f"| **all** | | {a['positions']} | **{_f(a['teacher_forced'])}** "
        f"| {_f(a['exact_prefix_mean'], 1)} ({_f(a['exact_prefix_fraction'], 2)}) "
        f"| {_f(a['full_match_rate'], 2)} |",
        "",
        f"| prompt | {rn} answer | {qn} answer |",
        "|---|---|---|",
    ]
    for p in a["prompts"]:
        lines.append(
            f"| {p['prompt']} | {_cell(p['reference_text'])} | {_cell(p['quantized_text'])} |"
        )

    v = report["val"]
    lines += ["", f"## StepDiff metrics, {report['options']['split']} split", ""]
    if v.get("status") != "ok":
        lines.append(f"skipped: {v.get('reason', '')}")
    else:
        limit = f"the first {v['limit']} items" if v["limit"] else "all items"
        lines += [
            f"`{v['bench']}`, {limit} of each task, through `stepdiff eval --bundle`'s predictor.",
            "",
            f"| task | metric | n | {rn} | {qn} | delta |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for m in v["metrics"]:
            lines.append(
                f"| {m['task']} | {m['metric']} | {m['n']} | {_f(m['reference'])} "
                f"| {_f(m['quantized'])} | {_signed(m['delta'])} |"
            )
        lines += [
            "",
            "| task | same prediction as the reference | share | n |",
            "|---|---|---:|---:|",
        ]
        for task, pa in v["prediction_agreement"].items():
            lines.append(f"| {task} | {pa['measure']} | {_f(pa['value'])} | {pa['n']} |")

    lines += [
        "",
        "## File sizes (MB)",
        "",
        f"| file | {rn} | {qn} | ratio |",
        "|---|---:|---:|---:|",
    ]
    for name, s in report["sizes"].items():
        lines.append(
            f"| {name} | {_mb(s['reference'])} | {_mb(s['quantized'])} | {_f(s['ratio'], 2)} |"
        )

    mem = report["memory"]
    lines += ["", "## Peak memory: load and one comparison in a fresh process", ""]
    if mem.get("status") == "skipped":
        lines.append(f"skipped: {mem.get('reason', '')}")
    else:
        lines += [
            "| bundle | peak RSS (MB) | at start (MB) | load (s) | comparison (s) | tokens |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for role, name in (("reference", rn), ("quantized", qn)):
            m = mem[role]
            if "error" in m:
                lines.append(f"| {name} | {m['error']} | | | | |")
                continue
            lines.append(
                f"| {name} | {_f(m['peak_rss_mb'], 0)} | {_f(m['startup_rss_mb'], 0)} "
                f"| {_f(m['load_s'], 1)} | {_f(m['compare_s'], 1)} | {m['new_tokens']} |"
            )
        lines += ["", "Times are wall-clock on the machine that wrote the report."]
    return "\n".join(lines) + "\n"


def _finite(x):
    """NaN and infinities -> null, so the JSON stays strict."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_report(report: dict, out_dir: Path) -> tuple[Path, Path]:
    """out_dir/parity_report.json and out_dir/parity_report.md, each written atomically."""
    from stepdiff.runtime.files import write_atomic

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a directory; give a directory for the report")
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "parity_report.json", out / "parity_report.md"
    write_atomic(json_path, json.dumps(_finite(report), indent=2, allow_nan=False) + "\n")
    write_atomic(md_path, render_markdown(report))
    return json_path, md_path


# ---------------------------------------------------------------------------------------------
# by hand


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stepdiff bench parity", description=__doc__.splitlines()[0])
    p.add_argument("--bundle", help="the quantized bundle directory")
    p.add_argument("--reference", help="the fp32 bundle (default: the default bundle)")
    p.add_argument("--bench", help="`stepdiff data build` output for the val-metric deltas")
    p.add_argument("--limit", type=int, default=ReportOptions.limit, help="val items per task")
    p.add_argument("--steps", type=int, default=ReportOptions.steps)
    p.add_argument("--threads", type=int, default=ReportOptions.threads)
    p.add_argument("--no-memory", action="store_true", help="skip the peak-RSS subprocesses")
    p.add_argument("--out", help="report directory (default: <bundle>-report beside the bundle)")
    p.add_argument("--quiet", action="store_true")
    # The child of peak_memory:
    return p


def main(argv: list[str]) -> int:
    a = parser().parse_args(argv)
    from stepdiff.runtime.errors import BadInput
    from stepdiff.runtime.paths import default_bundle

    if not a.bundle:
        raise BadInput("--bundle", "is required: the quantized bundle directory")
    bundle = Path(a.bundle)
    options = ReportOptions(
        steps=a.steps,
        limit=a.limit,
        threads=a.threads,
        memory=not a.no_memory,
        progress=not a.quiet,
    )
    report = parity_report(
        bundle,
        Path(a.reference) if a.reference else default_bundle(),
        options,
        Path(a.bench) if a.bench else None,
    )
    paths = write_report(report, Path(a.out) if a.out else report_dir(bundle))
    print(f"wrote {paths[0]} and {paths[1]}", file=sys.stderr)
    return 0


def report_dir(bundle: Path) -> Path:
    """Where a bundle's report goes by default: beside it, never inside it (the bundle directory
    is what gets sideloaded, and its manifest lists every file it ships)."""
    b = Path(bundle)
    return b.parent / f"{b.name}-report"
