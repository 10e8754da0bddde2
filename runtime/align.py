"""Aligning a user clip to a reference clip in time: dynamic time warping on frame features.

People do a step at their own pace: the user may pause, then rush. Comparing frame t of one clip
with frame t of the other compares different moments; DTW finds, for every reference frame, the
user frame at the same point of the step, keeping time order.

The cost is the cosine distance between frame features after removing each clip's own mean over
time: what stays the same for a whole clip (the kitchen, the person's skin and sleeves, the
camera) is exactly what differs most between a reference video and a user, and says nothing about
where in the step a frame is.

Numpy only: training (models/) and the device (the comparer) call the same function.
"""

from __future__ import annotations

import numpy as np


def frame_distances(ref: np.ndarray, user: np.ndarray) -> np.ndarray:
    """[Tr, C] and [Tu, C] frame features -> [Tr, Tu] cosine distances of the centred frames."""
    r = np.asarray(ref, dtype=np.float64).reshape(len(ref), -1)
    u = np.asarray(user, dtype=np.float64).reshape(len(user), -1)
    r = r - r.mean(axis=0, keepdims=True)
    u = u - u.mean(axis=0, keepdims=True)
    r /= np.linalg.norm(r, axis=1, keepdims=True) + 1e-8
    u /= np.linalg.norm(u, axis=1, keepdims=True) + 1e-8
    return 1.0 - r @ u.T


def dtw_path(cost: np.ndarray) -> list[tuple[int, int]]:
    """The monotone path from (0, 0) to (Tr-1, Tu-1) of least total cost (steps: down, right,
    diagonal), as (reference index, user index) pairs."""
    n, m = cost.shape
    if n == 0 or m == 0:
        raise ValueError(f"cannot align an empty clip: cost matrix {cost.shape}")
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
    i, j = n, m
    path = [(i - 1, j - 1)]
    while (i, j) != (1, 1):
        moves = (
            (acc[i - 1, j - 1], i - 1, j - 1),
            (acc[i - 1, j], i - 1, j),
            (acc[i, j - 1], i, j - 1),
        )
        _, i, j = min(moves, key=lambda x: x[0])
        path.append((i - 1, j - 1))
    return path[::-1]


def align(ref: np.ndarray, user: np.ndarray) -> np.ndarray:
    """For every reference frame, the index of the user frame at the same point of the step.

    ref [Tr, ...], user [Tu, ...] frame features (any trailing shape; flattened). Returns int64
    [Tr], non-decreasing. Where DTW matches one reference frame with several user frames (the
    user lingered there), the closest of them is taken.
    """
    cost = frame_distances(ref, user)
    matches: dict[int, list[int]] = {}
    for i, j in dtw_path(cost):
        matches.setdefault(i, []).append(j)
    return np.array(
        [min(matches[i], key=lambda j, i=i: cost[i, j]) for i in range(len(ref))], dtype=np.int64
    )
