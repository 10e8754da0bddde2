"""The renderer's contract: deterministic per seed, and one slot change touches one step only."""

from __future__ import annotations

import numpy as np
import pytest

from stepdiff.models.data.render import (
    RenderOptions,
    Segment,
    render_segment,
    render_video,
    segment_length,
    write_video,
)
from stepdiff.models.data.render_looks import look_for
from stepdiff.models.data.slots import MOTIONS, VERB_MOTION, Slots
from stepdiff.runtime.video import probe

FPS = 10.0
STEP = Slots(
    "add",
    ("salt",),
    quantity=1.0,
    unit="tsp",
    container="bowl",
    duration_s=30.0,
    heat="low",
)
BEFORE = Slots("chop", ("onion",), quantity=2.0, tool="knife", container="board")
AFTER = Slots("stir", ("flour", "sugar"), container="bowl", duration_s=60.0)


def recording(middle: Slots) -> list[Segment]:
    steps = [BEFORE, middle, AFTER]
    segs = []
    for i, s in enumerate(steps):
        segs.append(Segment(None, segment_length(None, FPS), 2 * i))
        segs.append(Segment(s, segment_length(s, FPS), 2 * i + 1))
    return segs


def render_steps(segments: list[Segment], seed: int, nuisance: bool = True) -> list[np.ndarray]:
    opts = RenderOptions(fps=FPS, nuisance=nuisance)
    return [render_segment(s, seed, opts) for s in segments]


def test_frames_are_uint8_rgb_of_the_requested_size() -> None:
    for size in (224, 160):
        frames = render_segment(Segment(STEP, 3, 0), 1, RenderOptions(size=size))
        assert frames.shape == (3, size, size, 3)
        assert frames.dtype == np.uint8
        # a rendered kitchen, not a blank canvas
        assert frames.std() > 20


def test_render_video_is_a_generator_of_the_segments_frames() -> None:
    segs = recording(STEP)[:3]
    gen = render_video(segs, 5)
    assert iter(gen) is gen
    frames = np.stack(list(gen))
    assert len(frames) == sum(s.num_frames for s in segs)
    assert np.array_equal(frames, np.concatenate(render_steps(segs, 5)))


def test_same_seed_gives_identical_frames_and_different_seed_different_frames() -> None:
    segs = recording(STEP)[:4]
    a = np.concatenate(render_steps(segs, 11))
    b = np.concatenate(render_steps(segs, 11))
    c = np.concatenate(render_steps(segs, 12))
    assert a.tobytes() == b.tobytes()
    assert np.abs(a.astype(np.int16) - c).mean() > 5.0


SLOT_CHANGES = {
    "ingredients": {"ingredients": ("pepper",)},
    "missing ingredient": {"ingredients": ()},
    "quantity": {"quantity": 3.0},
    "unit": {"unit": "tbsp"},
    "tool": {"tool": "whisk"},
    "container": {"container": "ramekin"},
    "duration": {"duration_s": 60.0},
    "heat": {"heat": "high"},
    "verb": {"verb": "stir"},
    "manner": {"manner": "roughly"},
}


@pytest.mark.parametrize("nuisance", [True, False])
@pytest.mark.parametrize("slot", list(SLOT_CHANGES))
def test_one_slot_changes_only_its_own_step(slot: str, nuisance: bool) -> None:
    ref = recording(STEP)
    alt = recording(STEP.with_changes(**SLOT_CHANGES[slot]))
    changed = 3  # the middle step's segment
    ref_frames = render_steps(ref, 3, nuisance)
    alt_frames = render_steps(alt, 3, nuisance)
    for i, (a, b) in enumerate(zip(ref_frames, alt_frames, strict=True)):
        if i == changed:
            continue
        assert a.tobytes() == b.tobytes(), f"changing {slot} altered segment {i}"
    a, b = ref_frames[changed], alt_frames[changed]
    n = min(len(a), len(b))
    diff = np.abs(a[:n].astype(np.int16) - b[:n]).max(axis=-1)
    # A visible change: a patch of clearly different pixels, not a stray pixel or two.
    assert (diff > 30).mean() > 0.002, f"{slot}: only {(diff > 30).mean():.4%} of pixels changed"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            Slots("add", ("salsa",), quantity=1, unit="tsp", container="bowl"),
            Slots("add", ("salsa",), quantity=1, unit="tbsp", container="bowl"),
        ),
        (Slots("chop", ("tomato",), tool="knife"), Slots("chop", ("tomato",), tool="hand")),
        (
            Slots("heat", ("oil",), container="pan", heat="low"),
            Slots("heat", ("oil",), container="pan", heat="high"),
        ),
        (
            Slots("stir", ("salsa",), container="bowl"),
            Slots("stir", ("salsa",), container="ramekin"),
        ),
        (
            Slots("chop", ("onion",), container="board"),
            Slots("stir", ("onion",), container="board"),
        ),
        (
            Slots("stir", ("flour", "cocoa"), container="bowl"),
            Slots("stir", ("flour",), container="bowl"),
        ),
    ],
    ids=[
        "tsp-vs-tbsp",
        "knife-vs-hand",
        "low-vs-high-heat",
        "bowl-vs-ramekin",
        "chop-vs-stir",
        "missing-ingredient",
    ],
)
def test_visible_differences_are_large(a: Slots, b: Slots) -> None:
    fa = render_segment(Segment(a, 24, 1), 4)
    fb = render_segment(Segment(b, 24, 1), 4)
    diff = np.abs(fa.astype(np.int16) - fb)
    assert diff.mean() > 1.0
    assert (diff.max(axis=-1) > 30).mean() > 0.01


def test_nuisance_changes_the_camera_not_the_step() -> None:
    seg = Segment(STEP, 12, 1)
    clean_a = render_segment(seg, 1, RenderOptions(nuisance=False))
    noisy_a = render_segment(seg, 1, RenderOptions(nuisance=True))
    noisy_b = render_segment(seg, 2, RenderOptions(nuisance=True))
    assert np.abs(clean_a.astype(np.int16) - noisy_a).mean() > 2.0
    assert np.abs(noisy_a.astype(np.int16) - noisy_b).mean() > 2.0
    # Noise and head motion move between frames even when nothing in the scene does.
    wait = render_segment(Segment(Slots("wait", ("batter",), container="bowl"), 4, 1), 1)
    assert wait[0].tobytes() != wait[1].tobytes()


def test_segment_length_follows_duration_and_idles_briefly() -> None:
    idle = segment_length(None, FPS)
    assert 5 <= idle <= 10
    short = segment_length(STEP.with_changes(duration_s=30.0), FPS)
    long = segment_length(STEP.with_changes(duration_s=600.0), FPS)
    # clips run 1.6-14 s: the upper bound was 6 s before timed steps scaled as sqrt(duration)
    assert 20 <= short < long <= 140
    assert abs(segment_length(STEP, 20.0) - 2 * segment_length(STEP, 10.0)) <= 1
    assert segment_length(STEP, FPS, speed=2.0) < segment_length(STEP, FPS)
    with pytest.raises(ValueError):
        segment_length(STEP, 0.0)


def test_every_motion_family_renders() -> None:
    verbs = {}
    for verb, motion in VERB_MOTION.items():
        verbs.setdefault(motion, verb)
    assert set(verbs) == set(MOTIONS)
    for i, motion in enumerate(MOTIONS):
        s = Slots(
            verbs[motion],
            ("egg", "milk"),
            quantity=2,
            container="pan",
            heat="medium",
            duration_s=45,
        )
        frames = render_segment(Segment(s, 6, i), 9)
        assert frames.shape == (6, 224, 224, 3)
        assert frames[0].tobytes() != frames[-1].tobytes(), motion


def test_unknown_names_get_stable_distinct_looks() -> None:
    assert look_for("quinoa") == look_for("quinoa")
    assert look_for("quinoa").color != look_for("farro").color
    assert look_for("Chopped Tomatoes").name == "tomato"
    assert look_for("black pepper").name == "pepper"
    assert look_for("bell peppers").name == "bell pepper"
    assert look_for("chocolate muffin").name == "muffin"
    frames = render_segment(
        Segment(Slots("place", ("dragonfruit",), tool="tongs", container="wok"), 4, 0), 1
    )
    assert frames.shape == (4, 224, 224, 3)


def test_bad_segments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        render_segment(Segment(STEP, 0, 0), 1)
    with pytest.raises(ValueError, match="size"):
        render_segment(Segment(STEP, 2, 0), 1, RenderOptions(size=8))


def test_write_video_round_trips_through_probe(tmp_path) -> None:
    segs = recording(STEP)[:2]
    path = tmp_path / "clip.mp4"
    n = write_video(str(path), render_video(segs, 2), FPS)
    assert n == sum(s.num_frames for s in segs)
    info = probe(str(path))
    assert info.num_frames == n
    assert info.fps == pytest.approx(FPS, abs=0.01)
    assert (info.width, info.height) == (224, 224)
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no temporary file left behind


def test_write_video_refuses_bad_frames(tmp_path) -> None:
    path = tmp_path / "bad.mp4"
    with pytest.raises(ValueError, match="no frames"):
        write_video(str(path), [], FPS)
    frames = [np.zeros((64, 64, 3), np.uint8), np.zeros((32, 32, 3), np.uint8)]
    with pytest.raises(ValueError, match="frame 1"):
        write_video(str(path), frames, FPS)
    assert list(tmp_path.iterdir()) == []
