"""Step parser: a recipe step's text -> Slots.

Rule-based on purpose: the 24 recipes use a small, regular language ("Add 1/4 tsp salt to the
bowl"), and a rule that fails says which word it did not know, which a learned tagger would not.

A text parses *completely* when
  - its verb is known,
  - it names something the verb acts on (an ingredient, tool or container; or a time or a heat
    for steps like "Cook for 1 min"),
  - every number in it went to a slot (quantity, duration, heat, size), and
  - every word is in the lexicon (models/data/lexicon.py).

Real mistakes are read on top of this in parse_mistakes.py, and parse_coverage.py reports how
much of the real CaptainCook4D text parses completely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from stepdiff.models.data import lexicon as lx
from stepdiff.models.data.slots import Slots

# ---------------------------------------------------------------- lexicon -> phrase table


def _noun_forms(word: str) -> set[str]:
    last = word.split(" ")[-1]
    head = word[: len(word) - len(last)]
    forms = {last, last + "s"}
    if last.endswith(("s", "sh", "ch", "x", "o")):
        forms.add(last + "es")
    if last.endswith("y") and last[-2:-1] not in "aeiou":
        forms.add(last[:-1] + "ies")
    if last.endswith("f"):
        forms.add(last[:-1] + "ves")
    if last.endswith("fe"):
        forms.add(last[:-2] + "ves")
    return {head + f for f in forms}


def _verb_forms(word: str) -> set[str]:
    parts = word.split(" ")
    v, rest = parts[0], " ".join(parts[1:])
    if v in lx.IRREGULAR_VERBS:
        base = set(lx.IRREGULAR_VERBS[v].split("|"))
    else:
        base = {v, v + "s"}
        if v in lx.DOUBLING:
            base |= {v + v[-1] + "ed", v + v[-1] + "ing"}
        stem = v[:-1] if v.endswith("e") else v
        if v.endswith("y") and v[-2:-1] not in "aeiou":
            base |= {v[:-1] + "ies", v[:-1] + "ied", v + "ing"}
        else:
            base |= {stem + "ed", stem + "ing"}
            if v.endswith(("s", "sh", "ch", "x", "z")):
                base.add(v + "es")
    return {f + (" " + rest if rest else "") for f in base}


KIND_PRIORITY = (
    "TIME",
    "UNIT",
    "ING",
    "CONT",
    "TOOL",
    "VERB",
    "HEAT",
    "STATE",
    "MANNER",
    "AUX",
    "NUM",
    "DESC",
    "MISTAKE",
    "FUNC",
)


@lru_cache(maxsize=1)
def _phrases() -> dict[tuple[str, ...], dict[str, str]]:
    """Surface phrase -> {kind: canonical}. A phrase can have several kinds ("cup")."""
    table: dict[tuple[str, ...], dict[str, str]] = {}

    def put(surface: str, kind: str, canon: str) -> None:
        key = tuple(surface.split())
        table.setdefault(key, {}).setdefault(kind, canon)

    for canon, forms in lx.VERBS.items():
        for f in forms.split("|"):
            for g in _verb_forms(f):
                put(g, "VERB", canon)
    for f in lx.AUX_VERBS.split("|"):
        for g in _verb_forms(f):
            put(g, "AUX", f)
    for kind, tab in (("ING", lx.INGREDIENTS), ("TOOL", lx.TOOLS), ("CONT", lx.CONTAINERS)):
        for canon, forms in tab.items():
            for f in forms.split("|"):
                for g in _noun_forms(f):
                    put(g, kind, canon)
    for kind, tab in (
        ("UNIT", lx.UNITS),
        ("TIME", lx.TIME_UNITS),
        ("HEAT", lx.HEAT_WORDS),
        ("MANNER", lx.MANNER_WORDS),
        ("STATE", lx.STATES),
    ):
        for canon, forms in tab.items():
            for f in forms.split("|"):
                put(f, kind, canon)
    for w, v in lx.NUMBER_WORDS.items():
        put(w, "NUM", str(v))
    for phrase in lx.DESCRIPTIVE_PHRASES:
        put(phrase, "DESC", phrase)
    for kind, words in (
        ("FUNC", lx.FUNCTION_WORDS),
        ("DESC", lx.DESCRIPTIVE_WORDS),
        ("MISTAKE", lx.MISTAKE_WORDS),
    ):
        for w in words.split():
            put(w, kind, w)
    return table


_MAX_PHRASE = 5

# ---------------------------------------------------------------- tokens


@dataclass
class Token:
    text: str  # surface, may be several words
    kinds: dict[str, str]  # kind -> canonical value
    kind: str = ""  # chosen kind after disambiguation
    used: bool = False  # taken by a slot

    @property
    def value(self) -> str:
        return self.kinds.get(self.kind, self.text)


_TOKEN = re.compile(r"\d+\s*/\s*\d+|\d+(?:\.\d+)?|[a-z]+|%|[-.,;:()!?]")


def normalize(text: str) -> str:
    t = text.lower().replace("\u2019", "'").replace("&", " and ")
    t = re.sub(r"\b(oz|tsp|tbsp|tbs|sec|secs|min|mins|approx|no)\.", r"\1 ", t)
    t = re.sub(
        r"\bmicrowave[- ]?(safe|able)\b|\bmicrowavable\b|\bmicrowaveable\b", " microwavesafe ", t
    )
    t = re.sub(r"(?<=[a-z])[-/](?=[a-z])", " ", t)  # sweet-and-sour, blender/mixer
    t = re.sub(r"(?<=\d)-(?=[a-z])", " ", t)  # 6-oz, 8-inch
    t = re.sub(r"(?<=[a-z])-(?=\d)", " ", t)
    t = re.sub(r"(?<=\d)-(?=\d)", " - ", t)  # ranges 15-30
    t = re.sub(r"(?<=[a-z])'(?=[a-z])", " ", t)  # don't -> don t, mug's -> mug s
    return t


def _number(s: str) -> float | None:
    s = s.replace(" ", "")
    if re.fullmatch(r"\d+/\d+", s):
        a, b = s.split("/")
        return float(a) / float(b) if float(b) else None
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return float(s)
    return None


def tokenize(text: str) -> list[Token]:
    raw = _TOKEN.findall(normalize(text))
    table = _phrases()
    out: list[Token] = []
    i = 0
    while i < len(raw):
        w = raw[i]
        num = _number(w)
        if num is not None:
            # "1 1/2" is one and a half.
            if (
                i + 1 < len(raw)
                and "/" in raw[i + 1]
                and "/" not in w
                and (nxt := _number(raw[i + 1])) is not None
            ):
                num, i = num + nxt, i + 1
            out.append(Token(w, {"NUM": str(num)}))
            i += 1
            continue
        for n in range(min(_MAX_PHRASE, len(raw) - i), 0, -1):
            key = tuple(raw[i : i + n])
            if key in table:
                out.append(Token(" ".join(key), dict(table[key])))
                i += n
                break
        else:
            out.append(Token(w, {} if w.isalpha() else {"PUNCT": w}))
            i += 1
    return out


# ---------------------------------------------------------------- disambiguation

_DETERMINERS = {"the", "a", "an", "this", "that", "your", "my", "each", "every", "some", "all"}
_SIZE_ADJ = {
    "heaped",
    "generous",
    "level",
    "large",
    "medium",
    "small",
    "more",
    "big",
    "medium sized",
    "sized",
    "full",
    "little",
    "fresh",
    "ripe",
    "in number",
    "extra",
    "additional",
    "whole",
    "of",
    "the",
}
_CLAUSE_START = {"and", "then", "to", ",", ";", ".", "(", ":", "or", "but", "by"}
_NOUN_ORDER = (
    "ING",
    "CONT",
    "TOOL",
    "STATE",
    "HEAT",
    "MANNER",
    "VERB",
    "UNIT",
    "TIME",
    "AUX",
    "NUM",
    "DESC",
    "MISTAKE",
    "FUNC",
)


def choose_kinds(toks: list[Token]) -> None:
    for i, t in enumerate(toks):
        k = t.kinds
        if not k:
            t.kind = "UNKNOWN"
            continue
        if len(k) == 1:
            t.kind = next(iter(k))
            continue
        prev = toks[i - 1].text if i else ""
        prev2 = toks[i - 2].text if i > 1 else ""
        after_num = False
        for j in range(i - 1, max(-1, i - 4), -1):
            if (
                "NUM" in toks[j].kinds
                and toks[j].text not in ("a", "an")
                or (
                    toks[j].text in ("a", "an")
                    and ("UNIT" in k or "TIME" in k)
                    and not ("TOOL" in k or "CONT" in k)
                )
            ):
                after_num = True
                break
            if toks[j].text not in _SIZE_ADJ and toks[j].text != "-":
                break
        if "TIME" in k and after_num:
            t.kind = "TIME"
        elif "UNIT" in k and after_num:
            t.kind = "UNIT"
        elif "VERB" in k and ("MANNER" in k or "STATE" in k) and t.text.endswith("ed") and i > 0:
            t.kind = "MANNER" if "MANNER" in k else "STATE"
        elif "VERB" in k and (i == 0 or prev in _CLAUSE_START or toks[i - 1].kind == "AUX"):
            t.kind = "VERB"
        elif "NUM" in k:
            t.kind = "NUM"
        elif prev in _DETERMINERS or prev2 in _DETERMINERS or prev in {"with", "using", "of"}:
            t.kind = min(k, key=lambda x: _NOUN_ORDER.index(x) if x in _NOUN_ORDER else 99)
        else:
            t.kind = min(k, key=lambda x: _NOUN_ORDER.index(x) if x in _NOUN_ORDER else 99)
    # "a"/"an" are numbers only in front of a unit ("a pinch", "a small knob")
    for i, t in enumerate(toks):
        if t.kind == "NUM" and t.text in ("a", "an", "half", "double", "twice", "quarter"):
            j = i + 1
            while j < len(toks) and toks[j].text in _SIZE_ADJ and toks[j].text not in ("of", "the"):
                j += 1
            if not (
                j < len(toks)
                and toks[j].kind in ("UNIT", "TIME")
                and not (
                    t.text in ("a", "an") and ("TOOL" in toks[j].kinds or "CONT" in toks[j].kinds)
                )
            ):
                t.kind = (
                    "FUNC"
                    if t.text in ("a", "an")
                    else next((x for x in ("MANNER", "DESC", "MISTAKE") if x in t.kinds), "FUNC")
                )


# ---------------------------------------------------------------- contexts

_CONDITION = {
    "until",
    "till",
    "if",
    "when",
    "once",
    "while",
    "so",
    "before",
    "after",
    "leaving",
    "ensuring",
    "removing",
    "pressing",
    "stirring",
    "mixing",
    "watch",
    "because",
    "since",
}
_PARTICIPLES = {"stirring", "mixing", "pressing", "removing", "leaving", "ensuring"}
_MIX_VERBS = {"mix", "combine", "stir", "whisk", "blend", "beat"}
_NEG = {"not", "without", "don", "didn", "no", "never", "dont", "donot", "doesn", "nor"}


def _contexts(toks: list[Token], hint: str | None) -> list[str]:
    """Per token: "main" (fills slots), "cond" (a condition or side clause: "until ...",
    ", stirring often"), "aside" (inside parentheses: fills only empty number slots) or "note"
    (another sentence, e.g. "Check if the cake is done ...")."""
    sentences: list[list[int]] = [[]]
    for i, t in enumerate(toks):
        if t.text in (".", ";", "!", "?"):
            sentences.append([])
        else:
            sentences[-1].append(i)
    sentences = [s for s in sentences if s]
    main = 0
    if hint:
        for si, s in enumerate(sentences):
            if any(toks[i].kinds.get("VERB") == hint for i in s):
                main = si
                break
    ctx = ["note"] * len(toks)
    if not sentences:
        return ctx
    depth = 0
    cond = False
    cond_before_paren = False
    seen_verb = False
    for i in sentences[main]:
        t = toks[i]
        if t.text == "(":
            depth += 1
            cond_before_paren = cond
        if t.text == ")":
            depth = max(0, depth - 1)
            ctx[i] = "aside"
            cond = cond_before_paren
            continue
        if t.text == ",":
            cond = False
        prev = toks[i - 1].text if i else ""
        word_is_cond = t.text in _CONDITION and (t.text != "so" or seen_verb)
        if t.text in _PARTICIPLES and prev != ",":
            word_is_cond = False
        if word_is_cond:
            cond = True
        # a purpose clause: "to create a cone", "to prevent splattering"
        if (
            t.text == "to"
            and seen_verb
            and i + 1 < len(toks)
            and "VERB" in toks[i + 1].kinds
            and toks[i + 1].kinds["VERB"] != hint
            and toks[i + 1].kinds["VERB"] not in _MIX_VERBS
        ):
            cond = True
        if t.kind == "VERB":
            seen_verb = True
        ctx[i] = "aside" if depth else ("cond" if cond else "main")
    return ctx


# ---------------------------------------------------------------- slot extraction


@dataclass
class Draft:
    verb: str | None = None
    ingredients: list[str] = field(default_factory=list)
    cond_ingredients: list[str] = field(default_factory=list)
    quantity: float | None = None
    unit: str | None = None
    tool: str | None = None
    container: str | None = None
    source: str | None = None
    duration_s: float | None = None
    heat: str | None = None
    manner: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    negated: list[str] = field(default_factory=list)


def _num_at(toks: list[Token], i: int) -> tuple[float, int] | None:
    """A number or a range ("15-30", "5 to 6", "2 or 3") at i: (value, tokens used)."""
    if i >= len(toks) or toks[i].kind != "NUM":
        return None
    a = float(toks[i].kinds["NUM"])
    if (
        i + 2 < len(toks)
        and toks[i + 1].text in ("-", "to", "or")
        and "NUM" in toks[i + 2].kinds
        and toks[i + 2].text not in ("a", "an")
        and toks[i + 2].text.replace("/", "").replace(".", "").isdigit()
    ):
        b = float(toks[i + 2].kinds["NUM"])
        return (a + b) / 2, 3
    return a, 1


_SIZE_HEADS = {"inch", "inches", "in", "cm"}
_COUNTABLE_DESC = {
    "end",
    "ends",
    "puddle",
    "puddles",
    "corner",
    "piece",
    "pieces",
    "halves",
    "half",
    "side",
    "sides",
    "strips",
    "bits",
    "toothpick",
    "toothpicks",
    "pinwheel",
    "pinwheels",
    "times",
    "layer",
    "chunks",
    "discs",
    "balls",
    "wedges",
    "rounds",
    "cake",
    "cakes",
    "dollops",
}
_DESTINATION = {"to", "into", "in", "on", "onto", "over", "inside", "in the"}
_SOURCE = {"from", "out", "off"}
_PREPS = (
    _DESTINATION
    | _SOURCE
    | {
        "with",
        "using",
        "by",
        "of",
        "between",
        "at",
        "for",
        "under",
        "around",
        "through",
        "across",
        "beside",
        "near",
        "after",
        "before",
        "along",
    }
)


def _head(toks: list[Token], j: int) -> tuple[int, list[int]]:
    """Index of the noun a number counts, skipping size words and a nested size ("two 1/2
    inch thick rounds"); also the skipped indices."""
    skipped: list[int] = []
    n = len(toks)
    while j < n and len(skipped) < 6:
        t = toks[j]
        if t.kind == "NUM" and j + 1 < n and toks[j + 1].text in _SIZE_HEADS:
            skipped += [j, j + 1]
            j += 2
            continue
        if t.text in _SIZE_ADJ or t.kind in ("MANNER", "HEAT", "STATE") or t.text == "-" and False:
            skipped.append(j)
            j += 1
            continue
        break
    return j, skipped


def _use(toks: list[Token], idx: list[int], head: int, with_head: int) -> None:
    for m in [*idx, *range(head, head + with_head)]:
        toks[m].used = True


def _extract(toks: list[Token], hint: str | None) -> Draft:
    d = Draft(verb=hint)
    ctx = _contexts(toks, hint)
    n = len(toks)
    i = 0
    last_prep = ""
    alt = False
    neg_left = 0

    def count_extra(text: str) -> None:
        if text not in d.extras:
            d.extras.append(text)

    while i < n:
        t, c = toks[i], ctx[i]
        if t.text in (",", ".", ";", "(", ")"):
            last_prep = ""
        if t.kind in ("FUNC", "MISTAKE") and t.text in _PREPS:
            last_prep = "on" if t.text == "of" and i > 0 and toks[i - 1].text == "top" else t.text
        if t.text == "or":
            alt = True
            i += 1
            continue
        got = _num_at(toks, i) if t.kind == "NUM" else None
        if got is not None:
            val, used = got
            # "more than 1/8 tsp" reads as double, "less than 1 cup" as half
            before = " ".join(x.text for x in toks[max(0, i - 2) : i])
            if before in ("more than", "over than", "above"):
                val *= 2
            elif before in ("less than", "fewer than", "under than"):
                val /= 2
            j = i + used
            h, skipped = _head(toks, j)
            head = toks[h] if h < n else None
            take = list(range(i, j)) + skipped

            size_manner = [
                toks[m].value
                for m in skipped
                if toks[m].kind == "MANNER" and toks[m].value not in ("large", "small", "whole")
            ]
            size_manner += [
                f"{float(toks[m].kinds['NUM']):g}in"
                for m in skipped
                if toks[m].kind == "NUM" and m + 1 < n and toks[m + 1].text in _SIZE_HEADS
            ]
            if head is not None and toks[j : j + 1] and toks[j].kind == "TIME":
                head, h, skipped = toks[j], j, []
                take = list(range(i, j))
            if head is not None and head.kind == "TIME":
                secs = val * (60.0 if head.value == "minute" else 1.0)
                end = h + 1
                if (
                    end + 1 < n
                    and toks[end].kind == "NUM"
                    and toks[end + 1].kind == "TIME"
                    and head.value == "minute"
                ):
                    secs += float(toks[end].kinds["NUM"]) * (
                        60.0 if toks[end + 1].value == "minute" else 1.0
                    )
                    toks[end].used = toks[end + 1].used = True
                    end += 2
                _use(toks, take, h, 1)
                if c == "main" or (c == "aside" and d.duration_s is None):
                    d.duration_s = (
                        round(secs + (d.duration_s or 0.0), 2) if c == "main" else round(secs, 2)
                    )
                else:
                    count_extra(f"check after {secs:g} s")
                i = end
                continue
            if head is not None and head.text == "%":
                _use(toks, take, h, 1)
                if c != "note":
                    d.heat = "high" if val >= 70 else "medium" if val >= 40 else "low"
                i = h + 1
                continue
            if head is not None and head.text == "degrees":
                _use(toks, take, h, 1)
                scale = toks[h + 1].text if h + 1 < n else ""
                if scale in ("fahrenheit", "celsius"):
                    toks[h + 1].used = True
                cel = (val - 32) / 1.8 if scale != "celsius" else val
                level = (
                    "high"
                    if cel >= 85
                    else "medium"
                    if cel >= 60
                    else "low"
                    if cel >= 35
                    else "off"
                )
                if d.heat is None and c != "note":
                    d.heat = level
                i = h + 1
                continue
            if head is not None and head.text in _SIZE_HEADS:
                _use(toks, take, h, 1)
                if h + 1 < n and toks[h + 1].text == "x":
                    toks[h + 1].used = True
                if c in ("main", "aside") and f"{val:g}in" not in d.manner:
                    d.manner.append(f"{val:g}in")
                i = h + 1
                continue
            if head is not None and head.kind == "UNIT":
                _use(toks, take, h, 1)
                after = toks[h + 1] if h + 1 < n else None
                if after is not None and after.kind == "CONT":
                    count_extra(f"size {val:g} {head.value}")
                elif (
                    last_prep in ("into", "in") and head.value in ("piece", "slice") and c == "main"
                ):
                    d.manner.append(f"in {val:g} pieces")
                    d.manner += [m for m in size_manner if m not in d.manner]
                elif (
                    c == "main" or (c == "aside" and t.text not in ("a", "an"))
                ) and d.quantity is None:
                    d.quantity, d.unit = val, head.value
                else:
                    count_extra(f"also {val:g} {head.value}")
                d.manner += [m for m in size_manner if m not in d.manner]
                alt = False
                i = h + 1
                continue
            if head is not None and head.kind == "ING":
                unit = "clove" if head.text.endswith(("clove", "cloves")) else "piece"
                if h + 1 < n and toks[h + 1].kind == "UNIT":
                    unit = toks[h + 1].value
                    toks[h + 1].used = True
                _use(toks, take, h, 0)
                if c in ("main", "aside") and d.quantity is None:
                    d.quantity, d.unit = val, unit
                else:
                    count_extra(f"also {val:g} {unit}")
                d.manner += [m for m in size_manner if m not in d.manner]
                i = h
                continue
            if head is not None and head.kind in ("CONT", "TOOL"):
                _use(toks, take, h, 0)
                count_extra(f"{val:g} {head.value}")
                i = h
                continue
            if head is not None and head.text in _COUNTABLE_DESC:
                _use(toks, take, h, 1)
                if last_prep in ("into", "in") and c == "main":
                    d.manner.append(f"in {val:g} pieces")
                else:
                    count_extra(f"{val:g} {head.text}")
                i = h + 1
                continue
            i += used
            continue
        # a negation covers the first content word within three tokens after it
        negated = False
        if t.kind in ("VERB", "ING", "TOOL", "CONT", "MANNER", "HEAT"):
            negated = neg_left > 0
            neg_left = 0
        elif t.text in _NEG:
            neg_left = 4
        neg_left -= 1
        if t.kind == "VERB":
            if d.verb is None and c == "main" and not negated:
                d.verb = t.value
            elif negated and t.value != d.verb:
                d.negated.append(t.value)
            t.used = True
        elif t.kind == "ING":
            name = t.value
            if (
                i > 0
                and toks[i - 1].kind == "STATE"
                and toks[i - 1].value not in ("fresh", "unchopped")
            ):
                name = f"{toks[i - 1].value} {name}"
                toks[i - 1].used = True
            if negated and c == "main":
                d.negated.append(name)
            elif c == "main":
                if name not in d.ingredients:
                    d.ingredients.append(name)
            elif c in ("cond", "aside"):
                d.cond_ingredients.append(name)
            t.used = True
        elif t.kind == "CONT":
            if c == "main":
                v = t.value
                if last_prep in _SOURCE:
                    d.source = d.source or v
                elif d.container is None or d.container == "microwave":
                    d.container = v
                elif last_prep in _DESTINATION and v != "microwave" and not alt:
                    if d.container != v:
                        d.source = d.source or d.container
                    d.container = v
            t.used = True
        elif t.kind == "TOOL" and negated and c == "main":
            d.negated.append(t.value)
            t.used = True
        elif t.kind == "TOOL":
            if c == "main" and (d.tool is None or (last_prep in ("with", "using") and not alt)):
                d.tool = t.value
            t.used = True
        elif t.kind == "HEAT":
            if c == "main" and not negated:
                d.heat = t.value
            t.used = True
        elif t.kind == "MANNER":
            container_size = (
                t.value in ("large", "small") and i + 1 < n and toks[i + 1].kind == "CONT"
            )
            if negated and t.value == "well" and c == "main":
                d.manner.append("improperly")  # "not mixed thoroughly"
            elif c == "main" and not negated and not container_size and t.value not in d.manner:
                d.manner.append(t.value)
            t.used = True
        if t.kind in ("ING", "CONT", "TOOL", "UNIT"):
            alt = False
        i += 1
    # "Lower the heat", "Remove from heat": the heat is the object
    if d.heat is None:
        words = [toks[m].text for m in range(n) if ctx[m] == "main"]
        if any(w in ("heat", "flame", "stove", "burner") for w in words):
            if any(w.startswith(("lower", "reduc")) for w in words):
                d.heat = "low"
            elif any(w.startswith("increas") for w in words):
                d.heat = "high"
            elif d.verb in ("remove", "take") or "off" in words:
                d.heat = "off"
        elif d.verb == "wait" and any(w.startswith("cool") for w in words):
            d.heat = "off"  # "Allow to cool": the heat is off while the food rests
    if not d.ingredients and d.cond_ingredients and not d.container:
        d.ingredients = list(dict.fromkeys(d.cond_ingredients))[:2]
    elif not d.ingredients and d.cond_ingredients:
        d.ingredients = list(dict.fromkeys(d.cond_ingredients))[:1]
    return d


def starts_with_verb(text: str) -> bool:
    """Whether a text opens with a verb the lexicon knows, after an opener like "In a bowl,"."""
    toks = tokenize(text)
    words = [t.text for t in toks]
    if (
        words
        and words[0] in ("in", "once", "when", "while", "if", "after", "before", "then")
        and "," in words
    ):
        toks = toks[words.index(",") + 1 :]
    for t in toks[:3]:
        if "VERB" in t.kinds or "AUX" in t.kinds:
            return True
        if t.text not in ("then", "slowly", "gently", "carefully", "briefly", "just", "first"):
            return False
    return False


# ---------------------------------------------------------------- the annotators' verb prefix

_PREFIX = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,30}?)\s*-\s*(?=\S)")


def split_prefix(text: str) -> tuple[str | None, str]:
    """'Measure and add-2 tbsp water' -> ('Measure and add', '2 tbsp water').

    Step texts carry the annotators' verb before a hyphen. Only a short all-letters head counts,
    so 'sweet-and-sour' or '6-oz.' inside a sentence are left alone.
    """
    m = _PREFIX.match(text)
    if m and len(m.group(1).split()) <= 3:
        return m.group(1).strip(), text[m.end() :].strip()
    return None, text.strip()


def _canonical_verb(prefix: str | None) -> str | None:
    """The annotators' verb head: 'Measure and add' -> add, 'chop or grate' -> chop."""
    if not prefix:
        return None
    toks = [t for t in tokenize(prefix) if "VERB" in t.kinds]
    if not toks:
        return None
    verbs = [t.kinds["VERB"] for t in toks]
    if len(verbs) > 1 and verbs[0] == "measure":
        return verbs[1]
    return verbs[0]


# ---------------------------------------------------------------- public API


@dataclass(frozen=True)
class StepParse:
    text: str
    slots: Slots
    verb_known: bool
    has_object: bool
    unknown_words: tuple[str, ...]  # words the lexicon does not know
    loose_numbers: tuple[str, ...]  # numbers no slot took

    @property
    def complete(self) -> bool:
        return (
            self.verb_known
            and self.has_object
            and not self.unknown_words
            and not self.loose_numbers
        )


def _to_slots(d: Draft) -> Slots:
    manner = list(d.manner)
    manner += [f"without {v}" for v in d.negated]
    extras = list(d.extras)
    if d.source and d.source != d.container:
        extras.append(f"from {d.source}")
    return Slots(
        verb=d.verb or "place",
        ingredients=tuple(d.ingredients),
        quantity=d.quantity,
        unit=d.unit,
        tool=d.tool,
        container=d.container or (d.source if d.source else None),
        duration_s=d.duration_s,
        heat=d.heat,
        manner=", ".join(dict.fromkeys(manner)) if manner else None,
        extras=tuple(extras),
    )


def parse_draft(text: str, need_verb: bool = True) -> tuple[Draft, list[Token], bool]:
    prefix, body = split_prefix(text)
    hint = _canonical_verb(prefix)
    toks = tokenize(body)
    choose_kinds(toks)
    d = _extract(toks, hint)
    return d, toks, hint is not None or d.verb is not None


@lru_cache(maxsize=8192)
def parse_step(text: str) -> StepParse:
    """Slots of one step text ("Verb-description" as in CaptainCook4D, or plain)."""
    d, toks, verb_known = parse_draft(text)
    unknown = tuple(t.text for t in toks if t.kind == "UNKNOWN")
    loose = tuple(
        t.text for t in toks if t.kind == "NUM" and not t.used and t.text not in ("a", "an")
    )
    has_object = bool(
        d.ingredients
        or d.container
        or d.tool
        or d.source
        or d.duration_s is not None
        or d.heat is not None
    )
    return StepParse(text, _to_slots(d), verb_known, has_object, unknown, loose)
