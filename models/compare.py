"""The comparison module: a reference clip and a user clip, aligned in time, in; how far apart
they are and which difference text fits them, out.

    per frame:  mid-level maps [M, Cm] + head features [G, C]   (the frozen EfficientNet-Lite0)
                -> frame vector [d]
    per step t: [r_t, u_t, u_t - r_t, |u_t - r_t|] -> [d]         (u: the user frame DTW put at t)
    per pair:   mean and max over t, the two durations, the category -> z [d]
    heads:      severity(z)        0..5, the DiffRank score is 5 - severity, the runtime's speak rule
                pair_embedding(z)  matched against text_embedding(difference text): DiffMCQ
                diff_tokens(z)     N vectors in the LM's space, for the LM to caption from

Direction is kept everywhere: the reference is always the first stream, so the reversed pair
(a classic MCQ distractor) is a different input. A difference text "X instead of Y" is read as
its two halves, what the user did (X) and what the reference did (Y), each a mean of the LM's own
token embeddings, so "X instead of Y" and "Y instead of X" are different texts too.

Only plain ops (MatMul, Add, LayerNorm, GELU, Reduce*), so export writes it as a small ONNX
graph (compare_head.onnx) from these weights.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from stepdiff.models.data.slots import CATEGORIES as STEP_CATEGORIES
from stepdiff.runtime.contract import ANY_CATEGORY, split_difference

# The deviation categories of the data engine, plus "any" for a question without one (the
# headset's compare). Their order is the category input's index; the manifest records it.
CATEGORIES = (*STEP_CATEGORIES, ANY_CATEGORY)
SEVERITY_MAX = 5.0


@dataclass(frozen=True)
class CompareConfig:
    frames: int = 8
    head_tokens: int = 4  # G: head features per frame (grid x grid)
    head_dim: int = 1280  # C
    mid_cells: int = 49  # M: mid_grid x mid_grid
    mid_dim: int = 152  # Cm: channels of the mid-level blocks, concatenated
    cell_dim: int = 24  # each mid cell's channels projected to this before flattening
    dim: int = 256  # d
    embed_dim: int = 128  # pair and text embeddings
    text_dim: int = 576  # the LM's token embedding size
    diff_tokens: int = 4  # N difference tokens for the LM
    categories: int = len(CATEGORIES)
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def category_index(category: str | None) -> int:
    return CATEGORIES.index(category if category in CATEGORIES else ANY_CATEGORY)


class FrameEncoder(nn.Module):
    """One frame's mid maps [M, Cm] and head features [G, C] -> [d]."""

    def __init__(self, c: CompareConfig) -> None:
        super().__init__()
        self.mid_norm = nn.LayerNorm(c.mid_dim)
        self.mid_cell = nn.Linear(c.mid_dim, c.cell_dim)
        self.mid_frame = nn.Linear(c.mid_cells * c.cell_dim, c.dim)
        self.head_norm = nn.LayerNorm(c.head_dim)
        self.head_frame = nn.Linear(c.head_dim, c.dim)
        self.out_norm = nn.LayerNorm(c.dim)

    def forward(self, mid: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
        """mid [..., M, Cm], head [..., G, C] -> [..., d]."""
        cells = F.gelu(self.mid_cell(self.mid_norm(mid)))  # [..., M, cell]
        m = self.mid_frame(cells.flatten(-2))
        h = self.head_frame(self.head_norm(head.mean(-2)))
        return self.out_norm(F.gelu(m + h))


class CompareHead(nn.Module):
    def __init__(self, config: CompareConfig = CompareConfig()) -> None:
        super().__init__()
        c = self.config = config
        torch.manual_seed(c.seed)
        self.frame = FrameEncoder(c)
        self.step = nn.Sequential(nn.Linear(4 * c.dim, c.dim), nn.GELU(), nn.Linear(c.dim, c.dim))
        self.duration = nn.Linear(3, c.dim)
        self.category = nn.Embedding(c.categories, c.dim)
        self.pair = nn.Sequential(
            nn.LayerNorm(4 * c.dim), nn.Linear(4 * c.dim, c.dim), nn.GELU(), nn.Linear(c.dim, c.dim)
        )
        self.severity = nn.Linear(c.dim, 1)
        self.pair_embedding = nn.Linear(c.dim, c.embed_dim)
        self.diff_tokens = nn.Linear(c.dim, c.diff_tokens * c.text_dim)
        self.text = nn.Sequential(
            nn.LayerNorm(3 * c.text_dim),
            nn.Linear(3 * c.text_dim, c.dim),
            nn.GELU(),
            nn.Linear(c.dim, c.embed_dim),
        )
        # CLIP's learned temperature, starting at 1/0.07.
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_pair(
        self,
        ref_mid: torch.Tensor,
        ref_head: torch.Tensor,
        user_mid: torch.Tensor,
        user_head: torch.Tensor,
        seconds: torch.Tensor,
        category: torch.Tensor,
    ) -> torch.Tensor:
        """[B, T, M, Cm], [B, T, G, C] per stream (user already aligned to the reference's
        frames), seconds [B, 2] (reference, user), category [B] -> z [B, d]."""
        r = self.frame(ref_mid, ref_head)
        u = self.frame(user_mid, user_head)
        steps = self.step(torch.cat([r, u, u - r, (u - r).abs()], dim=-1))  # [B, T, d]
        logs = torch.log1p(seconds.clamp(min=0))
        dur = self.duration(torch.stack([logs[:, 0], logs[:, 1], logs[:, 1] - logs[:, 0]], -1))
        x = torch.cat(
            [steps.mean(1), steps.amax(1), dur, self.category(category)], dim=-1
        )  # [B, 4d]
        return self.pair(x)

    def severity_of(self, z: torch.Tensor) -> torch.Tensor:
        """[B, d] -> [B] in 0..5."""
        return SEVERITY_MAX * torch.sigmoid(self.severity(z)[:, 0])

    def pair_vector(self, z: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.pair_embedding(z), dim=-1)

    def text_vector(self, did: torch.Tensor, instead: torch.Tensor) -> torch.Tensor:
        """Mean token embeddings of the two halves [B, D] each -> [B, E], unit length."""
        return F.normalize(self.text(torch.cat([did, instead, did - instead], -1)), dim=-1)

    def match(self, pair: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Unit pair and text vectors [B, E] -> scaled cosine [B]."""
        return self.logit_scale.exp().clamp(max=100) * (pair * text).sum(-1)

    def tokens_of(self, z: torch.Tensor) -> torch.Tensor:
        """[B, d] -> difference tokens [B, N, D]."""
        c = self.config
        return self.diff_tokens(z).reshape(-1, c.diff_tokens, c.text_dim)


def text_halves(embed: nn.Embedding, tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each text's two halves as mean token embeddings [N, D] (zeros for an empty half)."""
    did, instead = [], []
    table = embed.weight.detach()
    for text in texts:
        for half, out in zip(split_difference(text), (did, instead), strict=True):
            ids = tokenizer.encode(half.strip(), add_special_tokens=False).ids if half else []
            out.append(table[ids].mean(0).numpy() if ids else np.zeros(table.shape[1], np.float32))
    return np.stack(did).astype(np.float32), np.stack(instead).astype(np.float32)
