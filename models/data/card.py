"""DATASET_CARD.md: what a build holds, in words and tables, from its card.json."""

from __future__ import annotations

import os

from stepdiff.models.data import deviations

_SPLITS = ("train", "val", "test")


def _table(rows: dict[str, dict[str, int]], cols: tuple[str, ...]) -> list[str]:
    keys = sorted({k for c in cols for k in rows.get(c, {})})
    out = ["| | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for k in keys:
        out.append(f"| {k} | " + " | ".join(str(rows.get(c, {}).get(k, 0)) for c in cols) + " |")
    out.append(
        "| **total** | " + " | ".join(str(sum(rows.get(c, {}).values())) for c in cols) + " |"
    )
    return out


def render_card(card: dict, scale: object | None = None) -> str:
    v = card["videos"]
    lines = [
        f"# StepDiff synthetic dataset ({card['scale']}, seed {card['seed']})",
        "",
        "Procedurally rendered egocentric cooking videos of the 24 CaptainCook4D recipes: every",
        "real CaptainCook4D recording re-enacted (its step order, skipped steps and mistakes, each",
        "mistake parsed into slot changes) plus newly sampled executions, correct or with deviations",
        "of every category. Built by `stepdiff data build`; see models/data/README.md.",
        "",
        "Source annotations: CaptainCook4D (MIT), vendored in models/data/captaincook4d/ with their",
        "LICENSE and SOURCE.md. The videos are synthetic; no real footage is included.",
        "",
        "## Videos",
        "",
        f"- {v['total']} videos, {v['frames']} frames at {card['render']['fps']} fps,"
        f" {card['render']['size']}x{card['render']['size']} ({v['hours']} h)",
        "- by kind: " + ", ".join(f"{k} {n}" for k, n in v["by_kind"].items()),
        "- by recipe split: " + ", ".join(f"{k} {n}" for k, n in v["by_recipe_split"].items()),
        "- by recording split: "
        + ", ".join(f"{k} {n}" for k, n in v["by_recording_split"].items()),
        "",
        "## Splits",
        "",
        "Recipe split (train, val and test recipes are disjoint):",
        "",
    ]
    for s in _SPLITS:
        lines.append(f"- {s}: {', '.join(card['splits']['recipe'][s]['recipes'])}")
    lines += [
        "",
        "Recording split: the CaptainCook4D authors' split for re-enacted recordings, a hash of the",
        "video id (70/10/20) for sampled ones. Per-video lists are in splits.json.",
        "",
        "## Deviations per category (recipe split)",
        "",
        *_table(card["categories"]["deviations"], _SPLITS),
        "",
        "Where they come from: "
        + ", ".join(f"{k} {n}" for k, n in card["categories"]["deviation_sources"].items())
        + " (captaincook4d: a real mistake parsed into slot changes; captaincook4d-category: a"
        " real mistake the parser could not read, shown as a sampled change of its real category"
        " on its real step; sampled: a new execution).",
        "",
        "Severity histogram: "
        + ", ".join(f"{k}: {n}" for k, n in card["categories"]["severity"].items()),
        "",
        "## PairQA samples",
        "",
    ]
    for split_name in ("recipe", "recording"):
        pq = card["pairqa"].get(split_name, {})
        lines += [f"Split by {split_name}, per task:", ""]
        lines += _table({s: pq.get(s, {}).get("by_task", {}) for s in _SPLITS}, _SPLITS)
        lines += ["", f"Split by {split_name}, per category:", ""]
        lines += _table({s: pq.get(s, {}).get("by_category", {}) for s in _SPLITS}, _SPLITS)
        lines.append("")
    lines += ["## Benchmarks (StepDiff schemas)", ""]
    for split_name in ("recipe", "recording"):
        b = card["bench"].get(split_name, {})
        for s in _SPLITS:
            if s not in b:
                continue
            lines.append(
                f"- split by {split_name}, {s}: "
                + ", ".join(f"{t} {d['total']}" for t, d in b[s].items())
            )
            for t, d in b[s].items():
                lines.append(
                    f"  - {t} by category: "
                    + ", ".join(f"{k} {n}" for k, n in d["by_category"].items())
                )
    lines += [
        "",
        "## Severity rubric",
        "",
        "DiffRank scores are 5 - severity (5: the same as the reference in that category).",
        "",
        "```",
        deviations.__doc__.split("Severity rubric", 1)[1].strip().split("\n", 1)[1].rstrip(),
        "```",
        "",
        "## Parser coverage on the real CaptainCook4D text",
        "",
        f"- step texts parsed completely: {card['parser']['step_texts_complete']}/{card['parser']['step_texts']}",
        f"- real mistakes parsed completely: {card['parser']['mistakes_complete']}/{card['parser']['mistakes']}",
        "",
        f"Build time: {card['seconds']['total']} s (rendering {card['seconds']['render']} s).",
        "",
    ]
    return "\n".join(lines)


def write_card(path: str, card: dict, scale: object | None = None) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(render_card(card, scale))
    os.replace(tmp, path)
