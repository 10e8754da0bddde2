"""Narrations: what a person might say while doing a step, as a speech recognizer would write it.

The words come from the step as done (a person narrates what they do, mistakes included); the
noise is the usual ASR kind: no casing or punctuation, fillers, a dropped or repeated word, and
near-homophones ("four" heard as "for").
"""

from __future__ import annotations

import re

import numpy as np

from stepdiff.models.data.phrases import fmt_number, gerund, step_phrase
from stepdiff.models.data.slots import Slots

OPENERS = (
    "okay so now i'm",
    "alright i'm",
    "now i'm just",
    "so next i'm",
    "okay and now",
    "i'm going to be",
    "right so i'm",
    "and then i'm",
)
FILLERS = ("um", "uh", "like", "you know", "so", "okay")
HOMOPHONES = {
    "four": "for",
    "two": "to",
    "one": "won",
    "whisk": "whisks",
    "flour": "flower",
    "thyme": "time",
    "pan": "pam",
    "cup": "cop",
    "bowl": "ball",
    "salt": "sold",
    "heat": "eat",
    "tablespoon": "table spoon",
    "teaspoon": "tea spoon",
    "minutes": "minute",
    "seconds": "second",
    "eggs": "eggs",
    "pepper": "pepa",
    "chop": "shop",
}
_DIGITS = {
    "1/4": "a quarter",
    "1/2": "half a",
    "1/3": "a third of a",
    "1/8": "an eighth of a",
    "3/4": "three quarters of a",
}


def _spoken_numbers(text: str, rng: np.random.Generator) -> str:
    """ASR writes numbers either way: '1/4 teaspoon' or 'a quarter teaspoon', '2' or 'two'."""

    def frac(m: re.Match) -> str:
        return _DIGITS.get(m.group(0), m.group(0)) if rng.random() < 0.6 else m.group(0)

    text = re.sub(r"(?<!\d )\b\d+/\d+\b", frac, text)

    def whole(m: re.Match) -> str:
        return fmt_number(float(m.group(0)), words=True) if rng.random() < 0.6 else m.group(0)

    return re.sub(r"(?<![/\d])\b\d+\b(?![/\d])", whole, text)


def clean_narration(slots: Slots, rng: np.random.Generator) -> str:
    phrase = step_phrase(slots, "gerund")
    opener = OPENERS[int(rng.integers(len(OPENERS)))]
    return f"{opener} {phrase}"


def asr_noise(text: str, rng: np.random.Generator, level: float = 1.0) -> str:
    """Lowercase, no punctuation, and a few recognizer slips; level scales how many."""
    text = _spoken_numbers(text.lower(), rng)
    words = re.findall(r"[a-z0-9/']+", text)
    out: list[str] = []
    for w in words:
        r = rng.random()
        if r < 0.04 * level and len(words) > 4:
            continue  # dropped
        if r < 0.10 * level and w in HOMOPHONES:
            out.append(HOMOPHONES[w])
            continue
        out.append(w)
        if rng.random() < 0.03 * level:
            out.append(w)  # stutter
        if rng.random() < 0.05 * level:
            out.append(FILLERS[int(rng.integers(len(FILLERS)))])
    return " ".join(out)


def narrate(slots: Slots, rng: np.random.Generator, level: float = 1.0) -> str:
    """One narration for a step as done."""
    return asr_noise(clean_narration(slots, rng), rng, level)


def narrate_idle(rng: np.random.Generator) -> str | None:
    """Between steps people sometimes talk about nothing in particular."""
    if rng.random() < 0.7:
        return None
    lines = ("okay let me see", "where is the", "alright what's next", "hmm", "one second")
    return lines[int(rng.integers(len(lines)))]


__all__ = ["narrate", "narrate_idle", "asr_noise", "clean_narration", "gerund"]
