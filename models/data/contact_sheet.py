"""Contact sheet: one reference/user pair per deviation category, rendered side by side.

Each row shows a few frames of the reference step and of the user's step, drawn with the same
seed so that the deviation is the only difference; frames are the same time apart in both rows,
so a longer step shows as a longer strip (its length in seconds is printed beside it), and the
last frame shown is the step's last, where an amount shows as the pile, fill or pieces it left. Slot categories use real
CaptainCook4D mistakes read by the parser; Order and Missing Step show the two or three steps
around the change.

    python -m stepdiff.models.data.contact_sheet --out docs/contact_sheet.png
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

import cv2
import numpy as np

from stepdiff.models.data.captaincook import clean_text, iter_real_mistakes, load_recipes
from stepdiff.models.data.deviations import HEATING_VERBS, severity_of_change, visible
from stepdiff.models.data.parse_mistakes import parse_mistake
from stepdiff.models.data.parse_steps import parse_step
from stepdiff.models.data.phrases import describe_difference, order_difference, skip_difference
from stepdiff.models.data.slots import CATEGORIES, Slots

# Which changed slots make a category's difference visible.
VISIBLE = {
    "Preparation": ("ingredients", "tool", "container"),
    "Measurement": ("quantity", "unit"),
    "Timing": ("duration_s",),
    "Technique": ("verb",),
    "Temperature": ("heat",),
}


def _spoons(a: Slots, b: Slots) -> bool:
    """A teaspoon for a tablespoon (or back) of something poured or piled into a container."""
    return {a.unit, b.unit} == {"tsp", "tbsp"} and a.container is not None and a.motion == "pour"


def _count(a: Slots, b: Slots) -> bool:
    """A different number of whole pieces."""
    return a.unit == b.unit == "piece" and (a.quantity or 0) >= 1 and (b.quantity or 0) >= 1


# Extra rows: the same category again, for the kinds of difference one row cannot show.
EXTRA = (
    ("Measurement", "tsp/tbsp", _spoons),
    ("Measurement", "count", _count),
)


def real_example(
    category: str, want: Callable[[Slots, Slots], bool] | None = None
) -> tuple[str, Slots, Slots, tuple[str, ...]] | None:
    """The shortest real mistake of a category whose parse changes a visible slot (and, given
    `want`, whose reference and modified slots it accepts)."""
    best = None
    for _, step, m in iter_real_mistakes():
        if m.category != category:
            continue
        p = parse_mistake(step.text, m.category, step.modified_description, m.description)
        if not p.complete or p.modified is None:
            continue
        ch = tuple(c for c in p.changes if c in VISIBLE[category])
        if not ch or len(p.changes) > 2 or not visible(p.reference, p.modified, ch):
            continue
        if category == "Temperature" and p.reference.verb not in HEATING_VERBS:
            continue
        if want is not None and not want(p.reference, p.modified):
            continue
        # the most telling: a container or tool before an ingredient, then the worst, the shortest
        kind = {"container": 0, "tool": 1, "unit": 0}.get(ch[0], 2)
        worst = -severity_of_change(p.reference, p.modified, ch) if want is None else 0
        key = (kind, worst, len(step.text), step.text)
        if best is None or key < best[0]:
            best = (key, step.text, p.reference, p.modified, ch)
    return None if best is None else best[1:]


def _label(img: np.ndarray, text: str, y: int, scale: float = 0.45, color=(20, 20, 20)) -> None:
    cv2.putText(img, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)


def _strip(frames: list[np.ndarray], size: int) -> np.ndarray:
    pad = np.full((size, 4, 3), 255, np.uint8)
    out = []
    for f in frames:
        out += [f, pad]
    return np.concatenate(out[:-1], axis=1)


def _pick(frames: np.ndarray, k: int) -> list[np.ndarray]:
    """k frames spread over the clip, ending on its last frame (what the step left behind)."""
    idx = np.linspace(0, len(frames) - 1, k + 1)[1:].round().astype(int)
    return [frames[i] for i in idx]


def _every(frames: np.ndarray, step: float, most: int) -> list[np.ndarray]:
    """One frame every `step` frames, ending on the last: a longer clip gives a longer strip."""
    k = int(np.clip(round(len(frames) / step), 1, most))
    return _pick(frames, k)


def build_rows(
    size: int = 128, frames_per_step: int = 4, seed: int = 7
) -> list[tuple[str, np.ndarray, np.ndarray, str, str]]:
    """(title, reference strip, user strip, reference length, user length) per category."""
    from stepdiff.models.data.render import RenderOptions, Segment, render_segment, segment_length

    opts = RenderOptions(size=size, fps=10.0, nuisance=True)

    def render(slots: Slots, idx: int) -> np.ndarray:
        n = segment_length(slots, opts.fps)
        return render_segment(Segment(slots, n, idx), seed, opts)

    def clip(slots: Slots, idx: int, k: int) -> list[np.ndarray]:
        return _pick(render(slots, idx), k)

    def secs(frames: np.ndarray) -> str:
        return f"{len(frames) / opts.fps:.1f} s"

    def slot_row(cat: str, ex: tuple[str, Slots, Slots, tuple[str, ...]]) -> tuple:
        text, ref, mod, ch = ex
        did, instead = describe_difference(ref, mod, ch)
        title = f"{cat}: {did} instead of {instead}   [real: {clean_text(text)}]"
        a, b = render(ref, 1), render(mod, 1)
        # the same time between shown frames in both rows: a longer step is a longer strip
        step = min(len(a), len(b)) / frames_per_step
        return (
            title,
            _strip(_every(a, step, 3 * frames_per_step), size),
            _strip(_every(b, step, 3 * frames_per_step), size),
            secs(a),
            secs(b),
        )

    rows = []
    for cat in CATEGORIES:
        if cat in VISIBLE:
            ex = real_example(cat)
            if ex is None:
                continue
            rows.append(slot_row(cat, ex))
            for extra_cat, kind, want in EXTRA:
                ex = real_example(extra_cat, want) if extra_cat == cat else None
                if ex is not None:
                    rows.append(slot_row(f"{cat} ({kind})", ex))
        elif cat == "Order":
            r = load_recipes()["microwaveeggsandwich"]
            a, b = (
                parse_step(r.steps[3]).slots,
                parse_step(r.steps[1]).slots,
            )  # coat the cup, then pour the egg
            did, instead = order_difference(b, a, "before")
            half = max(1, frames_per_step // 2)
            ref = clip(a, 1, half) + clip(b, 2, half)
            usr = clip(b, 1, half) + clip(a, 2, half)
            rows.append(
                (f"Order: {did} instead of {instead}", _strip(ref, size), _strip(usr, size), "", "")
            )
        else:  # Missing Step
            r = load_recipes()["microwaveeggsandwich"]
            a, b, c = (parse_step(r.steps[i]).slots for i in (1, 4, 11))  # pour, microwave, stir
            did, instead = skip_difference(b, c)
            per = max(1, frames_per_step // 3 + 1)
            ref = (clip(a, 1, per) + clip(b, 2, per) + clip(c, 3, per))[: frames_per_step + 1]
            usr = (clip(a, 1, per) + clip(c, 2, per) + clip(c, 3, per))[: frames_per_step + 1]
            rows.append(
                (
                    f"Missing Step: {did} instead of {instead}",
                    _strip(ref, size),
                    _strip(usr, size),
                    "",
                    "",
                )
            )
    return rows


def compose(rows: list[tuple[str, np.ndarray, np.ndarray, str, str]]) -> np.ndarray:
    width = max(max(r.shape[1], u.shape[1]) for _, r, u, _, _ in rows) + 90
    blocks = []
    for title, ref, usr, ref_len, usr_len in rows:
        h = ref.shape[0]
        block = np.full((28 + 2 * h + 6, width, 3), 255, np.uint8)
        _label(block, title[:150], 19)
        for k, (name, strip, length) in enumerate(
            (("reference", ref, ref_len), ("user", usr, usr_len))
        ):
            y = 28 + k * (h + 6)
            block[y : y + h, 86 : 86 + strip.shape[1]] = strip
            color = (90, 90, 90) if k == 0 else (20, 20, 170)
            _label(block, name, y + h // 2 + 5, 0.42, color)
            if length:
                _label(block, length, y + h // 2 + 22, 0.4, color)
        blocks.append(block)
        blocks.append(np.full((8, width, 3), 225, np.uint8))
    return np.concatenate(blocks[:-1], axis=0)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="docs/contact_sheet.png")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--frames", type=int, default=4)
    args = ap.parse_args(argv)
    sheet = compose(build_rows(args.size, args.frames))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp.png"
    # 6 bits per channel: invisible here, and the PNG stays small
    sheet = (sheet & 0xFC) | (sheet >> 6)
    cv2.imwrite(tmp, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    os.replace(tmp, args.out)
    print(
        f"{args.out}: {sheet.shape[1]}x{sheet.shape[0]}, {os.path.getsize(args.out) / 1e6:.2f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
