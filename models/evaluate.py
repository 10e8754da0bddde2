"""stepdiff eval: the StepDiff benchmarks (DiffCap, DiffMCQ, DiffRank) on a model or a baseline.

    stepdiff eval --bench DIR (--bundle DIR | --checkpoint FILE | --baseline NAME | --preds DIR)
                  [--out DIR] [--split test] [--limit N] [--tasks diffcap,diffmcq,diffrank]
    stepdiff eval --table RUN/metrics.json [RUN2/metrics.json ...]

DIR is a `stepdiff data build` output (DIR/bench/<split>/<task>.jsonl, clip store in DIR), or
its bench/ folder. A checkpoint (PyTorch) and its exported bundle (onnxruntime) run through the
same predictors (models/predictors.py), so their numbers are comparable. Baselines: chance,
blind (the LM without the videos), untrained (the untrained projector), heuristic (frozen
EfficientNet-Lite0 features, models/predictors_heuristic.py). --preds scores existing prediction
files, like the reference evaluation script.

With --out, writes <task>_preds.jsonl (StepDiff prediction format, ground-truth line order) and
metrics.json (overall and per category; see models/metrics.py), each atomically.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from pickle import UnpicklingError

from stepdiff.models import metrics
from stepdiff.models.predictors import ClipSource, Predictor
from stepdiff.models.tasks import TASKS
from stepdiff.runtime import files
from stepdiff.runtime.errors import BadInput

BASELINES = ("chance", "blind", "untrained", "heuristic")


# ---------------------------------------------------------------------------------------------
# files


def locate(bench: Path, split: str) -> tuple[Path, Path]:
    """--bench DIR -> (the split's folder of <task>.jsonl, the data root holding the clip store).

    DIR is a build (DIR/bench/<split>), a bench folder (DIR/<split>), or a variant inside a build
    such as DIR/by_recording; the data root is the nearest folder up with clips.json or videos/.
    """
    if (bench / "bench" / split).is_dir():
        split_dir = bench / "bench" / split
    elif (bench / split).is_dir():
        split_dir = bench / split
    elif not bench.is_dir():
        raise BadInput(bench, "no such benchmark directory; build one with `stepdiff data build`")
    else:
        raise BadInput(
            bench,
            f"has no {split}/ split: expected {bench}/bench/{split}/diffcap.jsonl as "
            "`stepdiff data build --out DIR` writes it",
        )
    for root in split_dir.resolve().parents:
        if (root / "clips.json").is_file() or (root / "videos").is_dir():
            return split_dir, root
    return split_dir, split_dir.parent.parent


def read_jsonl(path: Path) -> list[dict]:
    return files.read_jsonl(path, "build the benchmarks with `stepdiff data build`")


def _is_str_list(x, n: int | None = None) -> bool:
    return isinstance(x, list) and all(isinstance(s, str) for s in x) and (n is None or len(x) == n)


def _is_num_list(x, n: int) -> bool:
    return (
        isinstance(x, list)
        and len(x) == n
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in x)
    )


def check_ground_truth(task: str, rows: Sequence[dict], path: Path) -> None:
    """The StepDiff release schema, as far as scoring needs it."""
    for n, r in enumerate(rows, 1):
        problem = None
        if not isinstance(r.get("category"), str):
            problem = "needs a string 'category'"
        elif task == "diffcap":
            if not (isinstance(r.get("reference"), str) and isinstance(r.get("candidate"), str)):
                problem = "needs clip ids 'reference' and 'candidate'"
            elif not _is_str_list(r.get("text")) or not r["text"]:
                problem = "needs 'text', a non-empty list of captions"
        elif task == "diffmcq":
            opts = r.get("options")
            if not isinstance(r.get("difference"), str):
                problem = "needs a string 'difference'"
            elif not (isinstance(opts, list) and opts and all(_is_str_list(o, 2) for o in opts)):
                problem = "needs 'options', a list of [reference, candidate] clip id pairs"
            elif r.get("answer") not in opts:
                problem = "its 'answer' is not one of its 'options'"
        elif task == "diffrank":
            if not isinstance(r.get("reference"), str) or not _is_str_list(r.get("targets")):
                problem = "needs a clip id 'reference' and a list of clip ids 'targets'"
            elif not _is_num_list(r.get("scores"), len(r["targets"])):
                problem = "needs 'scores', one number per target"
        if problem:
            raise BadInput(path, f"line {n}: {problem} (StepDiff {task} schema)")


def check_predictions(task: str, gt: Sequence[dict], preds: Sequence[dict], path: Path) -> None:
    """The StepDiff prediction format: {"generated_text"} or {"scores": [one per option]}."""
    if len(preds) != len(gt):
        raise BadInput(path, f"has {len(preds)} predictions for {len(gt)} ground-truth lines")
    for n, (p, g) in enumerate(zip(preds, gt, strict=True), 1):
        if task == "diffcap":
            ok = isinstance(p.get("generated_text"), str)
            want = 'a string "generated_text"'
        else:
            k = len(g["options"] if task == "diffmcq" else g["targets"])
            ok = _is_num_list(p.get("scores"), k) and all(math.isfinite(v) for v in p["scores"])
            want = f'"scores", {k} finite numbers'
        if not ok:
            raise BadInput(path, f"line {n}: needs {want} (StepDiff {task} prediction format)")


def _finite(x):
    """NaN -> null, so metrics.json stays strict JSON."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# ---------------------------------------------------------------------------------------------
# engines and predictors


def open_clips(root: Path) -> ClipSource:
    from stepdiff.models.data.clipstore import ClipStore

    return ClipStore(root)


def load_checkpoint(path: str | os.PathLike):
    """A training checkpoint -> StepDiffModel in eval mode.

    Reads either `stepdiff train`'s ckpt.pt (torch.save dict with "config", "projector", "lora"
    and "train_config" or "lora_config") or its weights.safetensors (projector.* and lm.* LoRA
    factors, configs in the metadata). LoRA factors are applied unmerged, with dropout off.
    """
    import torch

    from stepdiff.models.lora import LoraConfig, apply_lora
    from stepdiff.models.model import StepDiffConfig, StepDiffModel

    p = Path(path)
    if not p.is_file():
        raise BadInput(p, "no such checkpoint file")
    try:
        if p.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(p), "pt") as f:
                meta = f.metadata() or {}
                tensors = {k: f.get_tensor(k).float() for k in f.keys()}  # noqa: SIM118
            config = json.loads(meta["stepdiff_config"])
            lora_cfg = json.loads(meta.get("lora_config", "null"))
            projector = {k[10:]: v for k, v in tensors.items() if k.startswith("projector.")}
            lora = {k[3:]: v for k, v in tensors.items() if k.startswith("lm.")} or None
        else:
            # Our own training checkpoints (they hold RNG states, so not weights_only).
            ckpt = torch.load(p, map_location="cpu", weights_only=False)
            config, projector, lora = ckpt["config"], ckpt["projector"], ckpt.get("lora")
            lora_cfg = ckpt.get("lora_config")
            if lora and not lora_cfg:
                tc = ckpt.get("train_config") or {}
                lora_cfg = {"rank": tc["lora_rank"], "alpha": tc["lora_alpha"]}
    except (KeyError, TypeError, ValueError, RuntimeError, OSError, EOFError, UnpicklingError) as e:
        raise BadInput(p, f"is not a StepDiff checkpoint ({type(e).__name__}: {e})") from e

    model = StepDiffModel.from_pretrained(StepDiffConfig(**config))
    try:
        model.projector.load_state_dict(projector)
        if lora:
            keep = {k: v for k, v in lora_cfg.items() if k in ("rank", "alpha", "targets")}
            if "targets" in keep:
                keep["targets"] = tuple(keep["targets"])
            apply_lora(model.lm, LoraConfig(**keep, dropout=0.0))
            missing, unexpected = model.lm.load_state_dict(lora, strict=False)
            absent = [k for k in missing if ".lora_" in k]
            if absent or unexpected:
                raise ValueError(f"LoRA keys missing {absent[:2]} / unexpected {unexpected[:2]}")
    except (RuntimeError, ValueError, TypeError) as e:
        raise BadInput(p, f"does not fit the model ({str(e).splitlines()[0]})") from e
    return model.eval()


def training_pairs(split_dir: Path, limit: int = 0) -> list[dict]:
    """DiffCap-shaped training pairs for the baselines that draw on training data.

    The train split's diffcap.jsonl when the build has one; otherwise the DiffCap samples of the
    same build's PairQA train split (DIR/pairqa/train.jsonl beside DIR/bench/, so a by_recording
    benchmark draws on by_recording PairQA) that name a difference ("<did> instead of
    <instead_of>"; their first video is the reference in every template). Either way no test
    clip or caption is used.
    """
    bench_train = split_dir.parent / "train" / "diffcap.jsonl"
    if bench_train.is_file():
        rows = read_jsonl(bench_train)
        check_ground_truth("diffcap", rows, bench_train)
    else:
        pairqa = split_dir.parent.parent / "pairqa" / "train.jsonl"
        if not pairqa.is_file():
            raise BadInput(
                pairqa,
                "is missing: the chance and heuristic baselines need training captions "
                "(bench/train/diffcap.jsonl or pairqa/train.jsonl from `stepdiff data build`)",
            )
        rows = [
            {
                "reference": r["videos"][0],
                "candidate": r["videos"][1],
                "category": r.get("category") or "unknown",
                "text": [r["answer"]],
            }
            for r in read_jsonl(pairqa)
            if r.get("task") == "diffcap"
            and _is_str_list(r.get("videos"), 2)
            and " instead of " in str(r.get("answer", ""))
        ]
        if not rows:
            raise BadInput(pairqa, "has no DiffCap samples with a difference to draw captions from")
    return rows[:limit] if limit else rows


def make_predictor(a: argparse.Namespace, split_dir: Path, clips: ClipSource | None) -> Predictor:
    from stepdiff.models.predictors import ChancePredictor, ModelPredictor

    need_train = "diffcap" in a.tasks
    if a.baseline == "chance":
        train = training_pairs(split_dir, a.train_limit) if need_train else []
        return ChancePredictor([t for it in train for t in it["text"]], seed=a.seed)
    if a.baseline == "heuristic":
        from stepdiff.models.predictors_heuristic import FrameFeatures, HeuristicPredictor

        _torch_threads(a.threads)
        need_train = need_train or "diffmcq" in a.tasks
        train = training_pairs(split_dir, a.train_limit) if need_train else []
        return HeuristicPredictor(FrameFeatures(clips), train, progress=not a.quiet)
    blind = a.baseline == "blind"
    kw = {"blind": blind, "max_new_tokens": a.max_new_tokens, "progress": not a.quiet}
    if a.bundle:
        from stepdiff.models.predictors_onnx import OnnxScorer
        from stepdiff.runtime.compare import StepDiff

        return ModelPredictor(OnnxScorer(StepDiff(a.bundle, a.threads), clips), **kw)
    from stepdiff.models.predictors_torch import TorchScorer

    _torch_threads(a.threads)
    if a.checkpoint:
        model = load_checkpoint(a.checkpoint)
    else:
        from stepdiff.models.model import StepDiffModel

        model = StepDiffModel.from_pretrained()
    return ModelPredictor(TorchScorer(model, clips, features=_feature_store(a, model)), **kw)


def _feature_store(a: argparse.Namespace, model):
    """The bench's cached vision features (`python -m stepdiff.models.features`), unless --no-cache."""
    from stepdiff.models.features import FeatureStore, feature_key

    root = Path(a.bench) / "features" / feature_key(model.config)
    if a.no_feature_cache or not (root / "index.json").is_file():
        return None
    return FeatureStore(root)


def _torch_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


# ---------------------------------------------------------------------------------------------
# the run


def predict(
    task: str, predictor: Predictor, gt: Sequence[dict], progress: bool = True
) -> Iterator[dict]:
    from tqdm import tqdm

    stream = getattr(predictor, task)(gt)
    yield from tqdm(stream, total=len(gt), desc=task, file=sys.stderr, disable=not progress)


def evaluate(
    split_dir: Path,
    predictor: Predictor | None,
    tasks: Sequence[str] = TASKS,
    out: Path | None = None,
    limit: int = 0,
    preds_dir: Path | None = None,
    progress: bool = True,
    info: dict | None = None,
) -> dict:
    """Runs (or, with preds_dir, reads) the predictions for each task and scores them."""
    result: dict = {**(info or {}), "tasks": {}, "seconds": {}}
    for task in tasks:
        gt_path = split_dir / f"{task}.jsonl"
        gt = read_jsonl(gt_path)
        check_ground_truth(task, gt, gt_path)
        if limit:
            gt = gt[:limit]
        t0 = time.perf_counter()
        if preds_dir is not None:
            src = preds_dir / f"{task}_preds.jsonl"
            preds = read_jsonl(src)
            if limit:
                preds = preds[:limit]
        else:
            assert predictor is not None
            src = Path(f"<{predictor.name} predictions>")
            preds = list(predict(task, predictor, gt, progress))
        check_predictions(task, gt, preds, src)
        result["seconds"][task] = round(time.perf_counter() - t0, 2)
        if out is not None and preds_dir is None:
            files.write_jsonl(out / f"{task}_preds.jsonl", preds)
        result["tasks"][task] = metrics.score_task(task, gt, preds)
    if out is not None:
        files.write_atomic(out / "metrics.json", json.dumps(_finite(result), indent=2) + "\n")
    return result


# ---------------------------------------------------------------------------------------------
# tables


def headline(result: dict) -> dict[str, float | None]:
    """{"DiffCap BLEU-1": x, ...} from a metrics.json's content."""
    out = {}
    for task, key in metrics.HEADLINE:
        v = result.get("tasks", {}).get(task, {}).get("overall", {}).get(key)
        out[f"{_TASK_NAMES[task]} {key}"] = v
    return out


_TASK_NAMES = {"diffcap": "DiffCap", "diffmcq": "DiffMCQ", "diffrank": "DiffRank"}


def markdown_table(paths: Sequence[str | os.PathLike], names: Sequence[str] = ()) -> str:
    """One row per metrics.json, one column per headline metric."""
    rows = []
    for i, path in enumerate(paths):
        p = Path(path)
        try:
            r = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise BadInput(
                p, "no such metrics file; write one with `stepdiff eval --out DIR`"
            ) from e
        except json.JSONDecodeError as e:
            raise BadInput(p, f"is not valid JSON ({e.msg})") from e
        name = names[i] if i < len(names) else r.get("source") or p.parent.name
        rows.append((name, headline(r)))
    cols = [f"{_TASK_NAMES[t]} {k}" for t, k in metrics.HEADLINE]
    lines = ["| run | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for name, h in rows:
        cells = ["-" if h[c] is None else f"{h[c]:.3f}" for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(result: dict) -> str:
    return "  ".join(
        f"{k}={'nan' if v is None or not math.isfinite(v) else f'{v:.3f}'}"
        for k, v in headline(result).items()
        if k.split()[0].lower() in result["tasks"]
    )


# ---------------------------------------------------------------------------------------------
# CLI


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stepdiff eval", description=__doc__.splitlines()[0])
    p.add_argument("--bench", help="`stepdiff data build` output (or its bench/ folder)")
    src = p.add_argument_group("what to evaluate (one of; blind also takes --bundle/--checkpoint)")
    src.add_argument("--bundle", help="an exported bundle directory (onnxruntime)")
    src.add_argument("--checkpoint", help="a training checkpoint: ckpt.pt or weights.safetensors")
    src.add_argument("--baseline", choices=BASELINES)
    src.add_argument("--preds", help="score existing <task>_preds.jsonl files in this directory")
    p.add_argument("--out", help="write <task>_preds.jsonl and metrics.json here")
    p.add_argument("--split", default="test")
    p.add_argument("--limit", type=int, default=0, help="only the first N lines of each task")
    p.add_argument("--tasks", default=",".join(TASKS), help="comma-separated subset of tasks")
    p.add_argument("--clips", help="clip store root (default: the data root of --bench)")
    p.add_argument("--seed", type=int, default=0, help="seed of the chance baseline")
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--no-feature-cache",
        action="store_true",
        help="encode every clip with the vision tower even where the bench has cached features",
    )
    p.add_argument(
        "--train-limit",
        type=int,
        default=500,
        help="training captions/pairs the chance and heuristic baselines draw on (0 = all)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--table", nargs="+", metavar="METRICS_JSON", help="print a Markdown table")
    p.add_argument("--names", nargs="*", default=(), help="row names for --table")
    return p


def main(argv: list[str]) -> int:
    a = parser().parse_args(argv)
    if a.table:
        print(markdown_table(a.table, a.names))
        return 0
    if not a.bench:
        raise BadInput("--bench", "is required: the `stepdiff data build` output directory")
    engines = [x for x in ("bundle", "checkpoint") if getattr(a, x)]
    chosen = engines + (["baseline"] if a.baseline else []) + (["preds"] if a.preds else [])
    if len(engines) > 1 or not chosen or (a.preds and len(chosen) > 1):
        raise BadInput("arguments", "give one of --bundle, --checkpoint, --baseline or --preds")
    if a.baseline and a.baseline != "blind" and engines:
        raise BadInput("--baseline", f"{a.baseline} does not take --{engines[0]} (only blind does)")
    a.tasks = [t.strip() for t in a.tasks.split(",") if t.strip()]
    bad = [t for t in a.tasks if t not in TASKS]
    if bad or not a.tasks:
        raise BadInput("--tasks", f"unknown task(s) {bad}; choose from {','.join(TASKS)}")
    if a.limit < 0:
        raise BadInput("--limit", "must be >= 0")

    split_dir, data_root = locate(Path(a.bench), a.split)
    for t in a.tasks:  # fail on a missing or malformed file before any model loads
        check_ground_truth(t, read_jsonl(split_dir / f"{t}.jsonl"), split_dir / f"{t}.jsonl")
    engine = (
        f"bundle:{a.bundle}" if a.bundle else f"checkpoint:{a.checkpoint}" if a.checkpoint else ""
    )
    if a.baseline:
        source = f"baseline:{a.baseline}" + (f" on {engine}" if engine else "")
    else:
        source = engine or f"preds:{a.preds}"
    info = {"source": source, "bench": str(split_dir), "split": a.split, "limit": a.limit}
    predictor = None
    if not a.preds:
        clips = (
            None if a.baseline in ("chance", "blind") else open_clips(Path(a.clips or data_root))
        )
        predictor = make_predictor(a, split_dir, clips)
    result = evaluate(
        split_dir,
        predictor,
        a.tasks,
        Path(a.out) if a.out else None,
        a.limit,
        Path(a.preds) if a.preds else None,
        progress=not a.quiet,
        info=info,
    )
    print(f"{source}: {summary(result)}")
    if a.out:
        print(f"wrote {Path(a.out) / 'metrics.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
