"""The renderer shows differences as the world does: more of something is more stuff on screen,
a longer step is a longer clip that ends more done, and the nuisances between two videos stay.

Every comparison renders the same step with the same seed and nuisances (camera, kitchen, skin),
so the only difference is the slot under test. The added material is measured as the pixels of
the step's last frame that differ from the same step with quantity 0, inside the container's box.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from stepdiff.models.data.render import RenderOptions, Segment, render_segment, segment_length
from stepdiff.models.data.render_motion import doneness
from stepdiff.models.data.render_nuisance import person, step_nuisance
from stepdiff.models.data.render_scene import (
    MW_WIN,
    measure_for,
    vessel_for,
    visible_amount,
    volume_ml,
)
from stepdiff.models.data.slots import DEFAULT_CONTAINER, Slots

FPS = 10.0
OPTS = RenderOptions(size=224, fps=FPS, nuisance=True)
SEEDS = (7, 3)


def _frames(s: Slots, seed: int, n: int | None = None) -> np.ndarray:
    n = n if n is not None else segment_length(s, FPS)
    return render_segment(Segment(s, n, 1), seed, OPTS)


def _box(s: Slots, margin: float = 12.0) -> tuple[slice, slice]:
    """The container's pixels at 224 (scene units -> canvas -> centre crop), with a margin for
    the head motion."""
    v = vessel_for(s.container, DEFAULT_CONTAINER.get(s.motion))
    k = 252 / 256.0  # canvas pixels per scene unit at 224 (canvas = 224 * 1.125, even)
    off = (252 - 224) / 2
    rx, ry = max(v.rx, 30.0), max(v.ry, 18.0)
    x0, x1 = (v.cx - rx) * k - off - margin, (v.cx + rx) * k - off + margin
    y0, y1 = (v.cy - ry) * k - off - margin, (v.cy + v.h + ry) * k - off + margin
    return slice(max(0, int(y0)), int(y1)), slice(max(0, int(x0)), int(x1))


def added_area(s: Slots, seed: int) -> int:
    """Pixels of the last frame, in the container, that the added material changed."""
    n = segment_length(s, FPS)
    last = _frames(s, seed, n)[-1].astype(np.int16)
    empty = _frames(s.with_changes(quantity=0.0), seed, n)[-1]
    ys, xs = _box(s)
    return int((np.abs(last - empty).max(axis=-1)[ys, xs] > 40).sum())


# --- amounts: a common scale ---------------------------------------------------------------------


def test_units_share_one_volume_scale_and_the_drawn_share_grows_like_a_sqrt() -> None:
    ladder = [(1, "pinch"), (0.5, "tsp"), (1, "tsp"), (1, "tbsp"), (0.25, "cup"), (1, "cup")]
    ml = [volume_ml(q, u) for q, u in ladder]
    assert ml == sorted(ml) and len(set(ml)) == len(ml)
    assert volume_ml(1, "tbsp") == pytest.approx(3 * volume_ml(1, "tsp"))
    assert volume_ml(1, "tablespoon") == volume_ml(1, "tbsp")
    assert volume_ml(2, "lb") == pytest.approx(32 * volume_ml(1, "oz"))
    assert volume_ml(None, None) is None
    a = [measure_for(q, u).amount for q, u in ladder]
    assert a == sorted(a) and len(set(a)) == len(a)
    # 3x the volume is 3^0.45 = 1.64x the area; never a jump to a full container
    assert visible_amount(15.0) / visible_amount(5.0) == pytest.approx(3**0.45)
    assert measure_for(0, "tsp").amount == 0.0
    assert measure_for(3, "piece").count == 3 and measure_for(0, "piece").count == 0


# --- amounts on screen ---------------------------------------------------------------------------

SPOONS = [(0.5, "tsp"), (1.0, "tsp"), (1.0, "tbsp"), (3.0, "tbsp"), (0.5, "cup")]
BULK = [
    Slots("add", ("salt",), container="bowl"),  # a white pile in a bowl
    Slots("add", ("milk",), container="bowl"),  # a pool
    Slots("add", ("flour",), container="blender"),  # a layer seen through glass
    Slots("add", ("sugar",), container="pan"),
    Slots("heat", ("oil",), container="pan", heat="medium"),  # on the stove
]


@pytest.mark.parametrize("step", BULK, ids=lambda s: f"{s.ingredients[0]}-{s.container}")
def test_added_material_grows_with_the_amount(step: Slots) -> None:
    for seed in SEEDS:
        areas = [added_area(step.with_changes(quantity=q, unit=u), seed) for q, u in SPOONS]
        assert areas[0] > 50, f"half a teaspoon should still show, got {areas}"
        assert all(b > a for a, b in zip(areas, areas[1:], strict=False)), areas
        tsp, tbsp = areas[1], areas[2]
        assert tbsp >= 1.5 * tsp, f"tbsp {tbsp} px vs tsp {tsp} px (seed {seed})"


def test_sprinkled_and_chopped_amounts_cover_more() -> None:
    for step in (
        Slots("sprinkle", ("pepper",), container="pan"),
        Slots("add", ("cilantro",), container="bowl"),  # leaves by the spoonful
        Slots("add", ("almond",), container="bowl"),  # by weight, on a scale
    ):
        small, big = (
            ((1, "tsp"), (1, "tbsp")) if step.ingredients[0] != "almond" else ((20, "g"), (60, "g"))
        )
        for seed in SEEDS:
            a = added_area(step.with_changes(quantity=small[0], unit=small[1]), seed)
            b = added_area(step.with_changes(quantity=big[0], unit=big[1]), seed)
            assert b >= 1.5 * a > 0, f"{step.ingredients[0]}: {a} -> {b} px"


def _yolks(frame: np.ndarray, s: Slots) -> int:
    """Egg yolks (saturated orange-yellow blobs) in the container's box."""
    ys, xs = _box(s)
    hsv = cv2.cvtColor(np.ascontiguousarray(frame[ys, xs]), cv2.COLOR_RGB2HSV)
    mask = (hsv[..., 0] >= 14) & (hsv[..., 0] <= 30) & (hsv[..., 1] > 150) & (hsv[..., 2] > 170)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return int((stats[1:, cv2.CC_STAT_AREA] >= 6).sum())


@pytest.mark.parametrize("verb", ["crack", "add"])
def test_countable_items_show_their_count(verb: str) -> None:
    for seed in SEEDS:
        seen = []
        for n in (1, 2, 3, 4):
            s = Slots(verb, ("egg",), quantity=float(n), unit="piece", container="bowl")
            seen.append(_yolks(_frames(s, seed)[-1], s))
        assert seen == [1, 2, 3, 4], f"{verb} seed {seed}: yolks seen {seen}"


def test_more_pieces_cover_more_of_the_container() -> None:
    for step in (
        Slots("add", ("egg",), unit="piece", container="bowl"),
        Slots("place", ("tomato",), unit="piece", container="plate"),
    ):
        for seed in SEEDS:
            one = added_area(step.with_changes(quantity=1.0), seed)
            three = added_area(step.with_changes(quantity=3.0), seed)
            assert three >= 2.0 * one > 0, f"{step.ingredients[0]}: 1 -> {one}, 3 -> {three} px"


def test_chopping_more_pieces_leaves_a_bigger_pile() -> None:
    for seed in SEEDS:
        last = {}
        for n in (1, 3):
            s = Slots("chop", ("tomato",), quantity=float(n), tool="knife")
            last[n] = _frames(s, seed)[-1]
        # the cut pile is red and green bits on a wooden board
        ys, xs = _box(Slots("chop", ("tomato",)))
        red = {
            n: int(
                (
                    (f[ys, xs, 0].astype(int) - f[ys, xs, 1] > 90)
                    & (f[ys, xs, 0] > 150)
                    & (f[ys, xs, 2] < 110)
                ).sum()
            )
            for n, f in last.items()
        }
        assert red[3] >= 1.8 * red[1] > 0, red


# --- timing --------------------------------------------------------------------------------------


def test_twice_the_time_is_a_visibly_longer_clip_within_bounds() -> None:
    step = Slots("cook", ("onion",), container="pan", heat="medium")
    times = [10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 600.0]
    n = [segment_length(step.with_changes(duration_s=d), FPS) for d in times]
    for a, b in zip(n, n[1:], strict=False):
        assert b >= 1.3 * a, n
    assert 16 <= min(n) and max(n) <= 140, n
    # past ~10 minutes every clip is the longest one: a build stays about the same size
    assert segment_length(step.with_changes(duration_s=3600.0), FPS) == 140


def _contents(s: Slots, seed: int) -> tuple[np.ndarray, float]:
    """Mean colour and brightness of the food in the pan at the end of the step."""
    n = segment_length(s, FPS)
    last = _frames(s, seed, n)[-1]
    empty = _frames(s.with_changes(ingredients=()), seed, n)[-1]
    ys, xs = _box(s)
    last, empty = last[ys, xs], empty[ys, xs]
    mask = np.abs(last.astype(np.int16) - empty).max(axis=-1) > 40
    assert mask.sum() > 200
    luma = cv2.cvtColor(np.ascontiguousarray(last), cv2.COLOR_RGB2GRAY)[mask].mean()
    return last[mask].astype(np.float64).mean(axis=0), float(luma)


def test_longer_cooking_ends_browner() -> None:
    assert doneness(120.0, 2.0) > doneness(60.0, 2.0) > doneness(30.0, 2.0)
    assert doneness(60.0, 3.0) > doneness(60.0, 1.0) > doneness(60.0, 0.0) == 0.0
    for step in (
        Slots("cook", ("onion",), container="pan", heat="medium"),
        Slots("fry", ("egg",), container="pan", heat="medium"),
    ):
        for seed in SEEDS:
            got = [_contents(step.with_changes(duration_s=d), seed) for d in (30, 60, 120, 240)]
            colors, luma = [g[0] for g in got], [g[1] for g in got]
            # every doubling of the time changes the food's colour clearly...
            for a, b in zip(colors, colors[1:], strict=False):
                assert np.abs(a - b).max() > 10, (step.ingredients, colors)
            # ...towards brown: darker from golden on
            assert luma[1] > luma[2] + 4 and luma[2] > luma[3] + 4, (step.ingredients, luma)


def test_a_longer_microwave_run_changes_the_food_not_only_the_digits() -> None:
    x0, y0, x1, y1 = (int(v * 252 / 256 - 14) for v in MW_WIN)
    for seed in SEEDS:
        short, long = (
            _frames(Slots("microwave", ("egg",), container="mug", duration_s=d), seed)[-1]
            for d in (60.0, 180.0)
        )
        # inside the door window, left of the control panel with the digits
        diff = np.abs(short.astype(np.int16) - long).max(axis=-1)[y0 + 8 : y1 - 8, x0 + 8 : x1 - 8]
        assert (diff > 30).sum() > 150, int((diff > 30).sum())


# --- the nuisances stay --------------------------------------------------------------------------


def test_two_people_still_differ_in_kitchen_skin_sleeve_and_camera() -> None:
    people = {person(seed, True) for seed in range(8)}
    assert len({p.skin for p in people}) > 1 and len({p.sleeve for p in people}) > 1
    assert step_nuisance(1, 1) != step_nuisance(2, 1)
    s = Slots("add", ("salt",), quantity=1.0, unit="tbsp", container="bowl")
    a, b = _frames(s, 1, 12), _frames(s, 2, 12)
    # the same step by two people: whole frames differ (counter, tiles, arms, camera)
    assert np.abs(a.astype(np.int16) - b).mean() > 5.0
    # and the same person's tsp and tbsp differ far less than two people do
    c = _frames(s.with_changes(unit="tsp"), 1, 12)
    assert np.abs(a.astype(np.int16) - c).mean() < np.abs(a.astype(np.int16) - b).mean()
