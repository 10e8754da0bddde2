"""Parser coverage: how much of the real CaptainCook4D language the step and mistake parsers read
completely (printed by `stepdiff data coverage` and after `stepdiff data build`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from stepdiff.models.data.captaincook import distinct_step_texts, iter_real_mistakes
from stepdiff.models.data.parse_mistakes import parse_mistake
from stepdiff.models.data.parse_steps import parse_step
from stepdiff.models.data.slots import CATEGORIES


@dataclass(frozen=True)
class Coverage:
    steps_total: int
    steps_complete: int
    steps_verb: int
    steps_object: int
    mistakes_total: int
    mistakes_complete: int
    mistakes_with_md_total: int
    mistakes_with_md_complete: int
    by_category: dict[str, tuple[int, int]]  # category -> (complete, total)
    unknown_words: tuple[tuple[str, int], ...]  # most frequent unknown words in steps

    def summary(self) -> str:
        def pct(a: int, b: int) -> str:
            return f"{a}/{b} ({100.0 * a / max(b, 1):.1f}%)"

        lines = [
            f"step texts parsed completely: {pct(self.steps_complete, self.steps_total)}"
            f" (verb known {pct(self.steps_verb, self.steps_total)},"
            f" object found {pct(self.steps_object, self.steps_total)})",
            f"mistakes parsed completely: {pct(self.mistakes_complete, self.mistakes_total)}",
            f"  of those with a modified_description: "
            f"{pct(self.mistakes_with_md_complete, self.mistakes_with_md_total)}",
        ]
        for cat, (a, b) in self.by_category.items():
            lines.append(f"  {cat}: {pct(a, b)}")
        if self.unknown_words:
            lines.append(
                "unknown words in steps: " + ", ".join(f"{w}({c})" for w, c in self.unknown_words)
            )
        return "\n".join(lines)


@lru_cache(maxsize=1)
def coverage() -> Coverage:
    """How much of the real CaptainCook4D language the parser reads completely."""
    texts = distinct_step_texts()
    parses = [parse_step(t) for t in texts]
    unk = Counter(w for p in parses for w in p.unknown_words)
    by_cat: dict[str, list[int]] = {c: [0, 0] for c in (*CATEGORIES, "Other")}
    total = complete = md_total = md_complete = 0
    for _, step, m in iter_real_mistakes():
        p = parse_mistake(step.text, m.category, step.modified_description, m.description)
        total += 1
        complete += p.complete
        by_cat[m.category][0] += p.complete
        by_cat[m.category][1] += 1
        if step.modified_description:
            md_total += 1
            md_complete += p.complete
    return Coverage(
        steps_total=len(parses),
        steps_complete=sum(p.complete for p in parses),
        steps_verb=sum(p.verb_known for p in parses),
        steps_object=sum(p.has_object for p in parses),
        mistakes_total=total,
        mistakes_complete=complete,
        mistakes_with_md_total=md_total,
        mistakes_with_md_complete=md_complete,
        by_category={k: (v[0], v[1]) for k, v in by_cat.items()},
        unknown_words=tuple(unk.most_common(15)),
    )
