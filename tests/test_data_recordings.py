"""Executions: re-enacted real recordings and sampled ones, and the severity rubric."""

from __future__ import annotations

import numpy as np

from stepdiff.models.data.captaincook import load_recipes, load_recordings
from stepdiff.models.data.deviations import score_from_severity, severity_of_change, visible
from stepdiff.models.data.parse_steps import parse_step
from stepdiff.models.data.recordings import order_violation, reenact, sample_execution
from stepdiff.models.data.slots import CATEGORIES


def test_reenactment_keeps_real_order_skips_and_mistakes() -> None:
    rec = next(r for r in load_recordings() if r.has_mistakes and any(s.skipped for s in r.steps))
    ex = reenact(rec, np.random.default_rng(0))
    performed = [s.step_id for s in rec.steps if not s.skipped]
    assert [s.step_id for s in ex.steps] == performed
    skipped = {s.step_id for s in rec.steps if s.skipped} - set(performed)
    assert {s.step_id for s in ex.skipped} == skipped
    real_cats = sorted(
        m.category for s in rec.steps for m in s.mistakes if m.category != "Other" and not s.skipped
    )
    got = sorted(d.category for s in ex.steps for d in s.deviations)
    assert (
        got == real_cats or len(got) >= len(real_cats) - 1
    )  # a mistake with nothing visible to change is dropped
    for s in ex.steps:
        for d in s.deviations:
            if d.changes and d.changes[0] not in ("order",):
                assert s.slots != s.reference


def test_sampled_executions_respect_the_task_graph_and_cover_categories() -> None:
    recipe = load_recipes()["mugcake"]
    ok = sample_execution(recipe, "v0", np.random.default_rng(0))
    order = [s.step_id for s in ok.steps]
    assert ok.correct and sorted(order) == sorted(recipe.steps)
    assert all(order_violation(recipe, order, s) is None for s in order)
    ex = sample_execution(recipe, "v1", np.random.default_rng(1), CATEGORIES)
    assert {d.category for d in ex.deviations} == set(CATEGORIES)
    moved = next(d for d in ex.deviations if d.category == "Order")
    assert order_violation(recipe, [s.step_id for s in ex.steps], moved.step_id) is not None
    for d in ex.deviations:
        assert 1 <= d.severity <= 5 and d.did and d.instead_of


def test_severity_rubric() -> None:
    ref = parse_step("Measure and add-1.5 tbsp sugar to the mixing bowl").slots
    assert severity_of_change(ref, ref.with_changes(ingredients=("salt",)), ("ingredients",)) == 5
    assert severity_of_change(ref, ref.with_changes(unit="tsp"), ("unit",)) == 3  # 3x less
    assert severity_of_change(ref, ref.with_changes(quantity=2.0), ("quantity",)) == 2
    assert severity_of_change(ref, ref, ()) == 0
    assert score_from_severity(0) == 5 and score_from_severity(5) == 0


def test_visibility_follows_the_renderer() -> None:
    garlic = parse_step("Cut-Cut 1/8 garlic clove").slots
    assert not visible(garlic, garlic.with_changes(quantity=0.5), ("quantity",))  # both one clove
    assert visible(garlic, garlic.with_changes(quantity=3.0), ("quantity",))
    chop = parse_step("Chop-Chop 1 scallion").slots
    assert not visible(chop, chop.with_changes(verb="mince"), ("verb",))  # same hand motion
    assert visible(chop, chop.with_changes(verb="slice"), ("verb",))
