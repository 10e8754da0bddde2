"""DTW alignment of a user clip to a reference clip (runtime/align.py)."""

from __future__ import annotations

import numpy as np
import pytest

from stepdiff.runtime.align import align, dtw_path, frame_distances


def progression(n: int, rng: np.random.Generator, dim: int = 16) -> np.ndarray:
    """n frames walking along a fixed path in feature space, plus a per-clip constant."""
    path = np.cumsum(np.random.default_rng(7).normal(size=(40, dim)), axis=0)
    positions = np.linspace(0, 39, n)
    frames = np.stack([path[int(round(p))] for p in positions])
    return frames + rng.normal(size=dim) * 50  # the kitchen: large, constant over the clip


def test_same_pace_aligns_frame_to_frame():
    rng = np.random.default_rng(0)
    ref, user = progression(8, rng), progression(8, rng)
    assert align(ref, user).tolist() == list(range(8))


def test_a_user_who_lingers_then_rushes_is_matched_by_moment_not_by_index():
    rng = np.random.default_rng(1)
    path = np.cumsum(np.random.default_rng(7).normal(size=(40, 16)), axis=0)
    ref = path[np.linspace(0, 39, 8).round().astype(int)] + rng.normal(size=16) * 50
    # The user spends the first half of the clip on the first fifth of the step.
    user_pos = np.concatenate([np.linspace(0, 8, 8), np.linspace(10, 39, 8)]).round().astype(int)
    user = path[user_pos] + rng.normal(size=16) * 50
    idx = align(ref, user)
    assert idx[0] == 0 and idx[-1] == 15
    assert np.all(np.diff(idx) >= 0)
    # Reference moment k sits at path position p; the user frame picked is the nearest moment.
    want = np.array([np.argmin(np.abs(user_pos - p)) for p in np.linspace(0, 39, 8).round()])
    by_index = np.linspace(0, 15, 8).round()  # what comparing frame k with frame k does
    assert np.abs(idx - want).max() <= 2
    assert np.abs(idx - want).mean() < 0.5 * np.abs(by_index - want).mean()


def test_the_clip_constant_does_not_decide():
    """Centring removes what is constant over a clip, however large."""
    rng = np.random.default_rng(2)
    ref = progression(6, rng)
    assert np.allclose(frame_distances(ref, ref + 1000.0), frame_distances(ref, ref))


def test_dtw_path_is_monotone_and_complete():
    cost = np.random.default_rng(3).random((5, 9))
    path = dtw_path(cost)
    assert path[0] == (0, 0) and path[-1] == (4, 8)
    for (a, b), (c, d) in zip(path, path[1:], strict=False):
        assert (c - a, d - b) in {(1, 0), (0, 1), (1, 1)}


def test_empty_clip_is_refused():
    with pytest.raises(ValueError, match="empty clip"):
        dtw_path(np.zeros((0, 3)))
