"""The step parser on the real CaptainCook4D language."""

from __future__ import annotations

import pytest

from stepdiff.models.data.captaincook import distinct_step_texts, load_recordings
from stepdiff.models.data.parse_coverage import coverage
from stepdiff.models.data.parse_mistakes import parse_mistake, slot_diff
from stepdiff.models.data.parse_steps import parse_step


def test_every_step_text_parses_and_coverage_is_reported() -> None:
    cov = coverage()
    assert cov.steps_total == len(distinct_step_texts()) >= 350
    assert cov.steps_complete / cov.steps_total >= 0.95
    assert cov.mistakes_total == sum(len(s.mistakes) for r in load_recordings() for s in r.steps)
    assert cov.mistakes_complete / cov.mistakes_total >= 0.8
    assert "step texts parsed completely" in cov.summary()


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        (
            "Top -Top cup with 1 tablespoon of salsa",
            dict(verb="top", ingredients=("salsa",), quantity=1.0, unit="tbsp", container="cup"),
        ),
        (
            "Measure and add-1/4 tsp baking powder to the bowl",
            dict(verb="add", quantity=0.25, unit="tsp", container="bowl"),
        ),
        (
            "Microwave-Microwave the ramekin cup uncovered on high for 30 seconds",
            dict(verb="microwave", container="ramekin", duration_s=30.0, heat="high"),
        ),
        (
            "Heat-Heat 1 tbsp olive oil in a large skillet over medium-high heat",
            dict(ingredients=("olive oil",), container="pan", heat="high"),
        ),
        (
            "Peel-Peel 2 cloves of garlic",
            dict(verb="peel", quantity=2.0, unit="clove", ingredients=("garlic",)),
        ),
        ("Flip-Flip the tofu with tongs", dict(verb="flip", tool="tongs")),
        (
            "Microwave -Continue to Microwave for 15-30 more seconds or until the egg is almost set",
            dict(duration_s=22.5),
        ),
        ("Lower-Lower the heat", dict(heat="low")),
    ],
)
def test_step_slots(text: str, expect: dict) -> None:
    p = parse_step(text)
    assert p.complete, (p.unknown_words, p.loose_numbers)
    for k, v in expect.items():
        assert getattr(p.slots, k) == v, (k, p.slots)


def test_unknown_words_make_a_parse_incomplete() -> None:
    p = parse_step("Frobnicate the zorblax with 3 quibbles")
    assert not p.complete
    assert "frobnicate" in p.unknown_words or not p.verb_known


def test_mistakes_become_slot_changes() -> None:
    m = parse_mistake(
        "Top -Top cup with 1 tablespoon of salsa",
        "Measurement",
        "Top -Top cup with 1 teaspoon of salsa",
        "",
    )
    assert m.complete and m.changes == ("unit",) and m.modified.unit == "tsp"
    m = parse_mistake(
        "Measure and add-1.5 tbsp sugar to the mixing bowl",
        "Preparation",
        "Measure and add-1.5 tbsp salt to the mixing bowl",
        "Using salt in place of sugar",
    )
    assert m.changes == ("ingredients",) and m.modified.ingredients == ("salt",)
    m = parse_mistake(
        "Microwave-Microwave the ramekin cup uncovered on high for 30 seconds",
        "Temperature",
        None,
        "medium instead of high",
    )
    assert m.changes == ("heat",) and m.modified.heat == "medium"
    m = parse_mistake(
        "Grind-Grind the coffee beans until the coffee grounds are the consistency of coarse sand, about 20 seconds",
        "Timing",
        "Grind the coffee beans about 15 seconds",
        "15 secs",
    )
    assert m.modified.duration_s == 15.0
    m = parse_mistake("Chop-Chop 1 scallion", "Order", None, "Step performed after heating the pan")
    assert m.changes == ("order",) and m.relation == "after" and "heating" in m.anchor


def test_a_mistake_only_changes_slots_of_its_category() -> None:
    # the modified text also lowers the heat, but the tag is Measurement: only the amount counts
    m = parse_mistake(
        "Heat-Heat 2 tbsp oil in a heavy-bottomed or nonstick pan on medium heat",
        "Measurement",
        "Heat-Heat 3 tbsp oil in a heavy-bottomed or nonstick pan on low heat",
        "Using 3 tbsp of oil instead of 2 tbsp.",
    )
    assert m.changes == ("quantity",)
    assert slot_diff(m.reference, m.modified) == ("quantity",)
