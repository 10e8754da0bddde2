"""The StepDiff video-conditioned LM, in one readable file.

frames (uint8 RGB) -> EfficientNet-Lite0 (frozen, ImageNet) -> grid x grid average pool per frame
-> projector (+ temporal and spatial position) -> K tokens per video -> SmolLM2-135M-Instruct.

A prompt holds one `<video>` placeholder per video, for any number of videos; each is replaced by
that video's K embeddings (see runtime/prompt.py, which the ONNX runtime uses too).
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from stepdiff.runtime.prompt import PromptLayout


@dataclass(frozen=True)
class StepDiffConfig:
    frames: int = 8  # T sampled frames per video
    frame_size: int = 224  # square RGB frames fed to EfficientNet-Lite0
    grid: int = 2  # grid x grid pooled tokens per frame
    vision_dim: int = 1280  # EfficientNet-Lite0 head channels
    lm_dim: int = 576  # SmolLM2-135M hidden size
    # EfficientNet-Lite was trained on (x - 127) / 128, not on ImageNet mean/std.
    pixel_mean: float = 127.0
    pixel_std: float = 128.0
    seed: int = 0  # initialisation of the projector
    # Mid-level maps for the comparison module: fine cues (amounts, spoon sizes, digits) live in
    # earlier blocks, not in the head. Block 4 (40 ch, stride 8) and block 10 (112 ch, stride 16)
    # of EfficientNet-Lite0, each average-pooled to mid_grid x mid_grid.
    mid_blocks: tuple[int, ...] = (4, 10)
    mid_channels: tuple[int, ...] = (40, 112)
    mid_grid: int = 7

    @property
    def tokens_per_frame(self) -> int:
        return self.grid * self.grid

    @property
    def tokens_per_video(self) -> int:  # K in design.md
        return self.frames * self.tokens_per_frame

    @property
    def mid_cells(self) -> int:
        return self.mid_grid * self.mid_grid

    @property
    def mid_dim(self) -> int:
        return sum(self.mid_channels)

    def to_dict(self) -> dict:
        return asdict(self)


class VisionTower(nn.Module):
    """uint8 [B, T, H, W, 3] -> pooled features [B, T, G, C]. Frozen: it is never trained."""

    def __init__(self, config: StepDiffConfig, backbone: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.backbone = backbone.eval()
        for p in self.backbone.parameters():
            p.requires_grad_(False)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        c = self.config
        b, t, h, w, _ = pixels.shape
        x = pixels.reshape(b * t, h, w, 3).permute(0, 3, 1, 2).float()
        x = (x - c.pixel_mean) / c.pixel_std
        fmap = self.backbone.extract_features(x)  # [BT, C, h', w']
        pooled = _grid_pool(fmap, c.grid)  # [BT, G*G, C]
        return pooled.reshape(b, t, c.tokens_per_frame, -1)

    def multi_scale(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 [B, T, H, W, 3] -> (head [B, T, G, C], mid [B, T, M, Cm]): the head features
        `forward` gives, and the mid-level blocks' maps pooled to mid_grid x mid_grid cells,
        their channels concatenated (block order). One backbone pass for both."""
        c = self.config
        bb = self.backbone
        b, t, h, w, _ = pixels.shape
        x = pixels.reshape(b * t, h, w, 3).permute(0, 3, 1, 2).float()
        x = (x - c.pixel_mean) / c.pixel_std
        # extract_features, step by step, keeping the blocks' outputs on the way (eval mode:
        # drop-connect is off, so the rate passed does not matter).
        x = bb._swish(bb._bn0(bb._conv_stem(x)))
        mids = []
        for i, block in enumerate(bb._blocks):
            x = block(x, drop_connect_rate=bb._global_params.drop_connect_rate)
            if i in c.mid_blocks:
                mids.append(_grid_pool(x, c.mid_grid))  # [BT, M, C_i]
        head = bb._swish(bb._bn1(bb._conv_head(x)))
        head = _grid_pool(head, c.grid).reshape(b, t, c.tokens_per_frame, -1)
        mid = torch.cat(mids, dim=2).reshape(b, t, c.mid_cells, c.mid_dim)
        return head, mid


def _grid_pool(fmap: torch.Tensor, grid: int) -> torch.Tensor:
    """adaptive_avg_pool2d with static bins, which the ONNX exporter can trace: [N, C, H, W] ->
    [N, G*G, C], row-major over the grid."""
    # int() freezes the sizes as constants when tracing: ONNX integer Div truncates toward zero,
    # which would break the ceil below.
    h, w = int(fmap.shape[-2]), int(fmap.shape[-1])
    cells = []
    for i in range(grid):
        y0, y1 = (i * h) // grid, -((-(i + 1) * h) // grid)
        for j in range(grid):
            x0, x1 = (j * w) // grid, -((-(j + 1) * w) // grid)
            cells.append(fmap[:, :, y0:y1, x0:x1].mean(dim=(2, 3)))
    return torch.stack(cells, dim=1)


class Projector(nn.Module):
    """Pooled frame features [B, T, G, C] -> video tokens [B, T*G, D] in the LM's space."""

    def __init__(self, config: StepDiffConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        self.norm = nn.LayerNorm(c.vision_dim)
        self.fc1 = nn.Linear(c.vision_dim, c.lm_dim)
        self.fc2 = nn.Linear(c.lm_dim, c.lm_dim)
        # Where in time and where in the frame a token comes from; without these the LM sees a
        # bag of patches and cannot tell "first" from "last".
        self.time = nn.Parameter(torch.zeros(c.frames, 1, c.lm_dim))
        self.space = nn.Parameter(torch.zeros(1, c.tokens_per_frame, c.lm_dim))
        g = torch.Generator().manual_seed(c.seed)
        for lin in (self.fc1, self.fc2):
            nn.init.normal_(lin.weight, std=0.02, generator=g)
            nn.init.zeros_(lin.bias)
        nn.init.normal_(self.time, std=0.02, generator=g)
        nn.init.normal_(self.space, std=0.02, generator=g)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        b, t, g, _ = feats.shape
        x = self.fc2(F.gelu(self.fc1(self.norm(feats))))
        x = x + self.time[:t] + self.space
        return x.reshape(b, t * g, -1)


def cache_kwarg(lm: nn.Module) -> str:
    """The name transformers gives the KV cache, in the forward call and its output: newer
    releases renamed past_key_values to cache."""
    return "cache" if "cache" in inspect.signature(lm.forward).parameters else "past_key_values"


class StepDiffModel(nn.Module):
    def __init__(self, config: StepDiffConfig, backbone: nn.Module, lm: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.vision = VisionTower(config, backbone)
        self.projector = Projector(config)
        self.lm = lm

    @classmethod
    def from_pretrained(cls, config: StepDiffConfig | None = None) -> StepDiffModel:
        from stepdiff.models.pretrained import load_efficientnet, load_smollm2

        lm, _ = load_smollm2()
        return cls(config or StepDiffConfig(), load_efficientnet(), lm).eval()

    @torch.no_grad()
    def encode_videos(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 [B, T, H, W, 3] -> [B, K, D]."""
        return self.projector(self.vision(pixels))

    def embed_ids(self, ids: torch.Tensor) -> torch.Tensor:
        return self.lm.get_input_embeddings()(ids)

    def prompt_embeds(self, layout: PromptLayout, videos: list[torch.Tensor]) -> torch.Tensor:
        """Text pieces and per-video [K, D] embeddings -> [1, S, D] in prompt order."""
        if len(videos) != layout.num_videos:
            raise ValueError(f"{layout.num_videos} placeholders, {len(videos)} videos")
        parts = []
        for i, piece in enumerate(layout.pieces):
            parts.append(self.embed_ids(torch.tensor(piece, dtype=torch.long)))
            if i < len(videos):
                parts.append(videos[i])
        return torch.cat(parts, 0).unsqueeze(0)

    @torch.no_grad()
    def greedy(
        self, inputs_embeds: torch.Tensor, max_new_tokens: int, eos_ids: tuple[int, ...] = ()
    ) -> tuple[list[int], list[np.ndarray]]:
        """The torch side's one greedy loop, with the runtime's end-of-sequence rule: an EOS in
        `eos_ids` ends the answer and is not part of it. Returns the tokens and the logits of
        every position decided (the EOS's included)."""
        tokens: list[int] = []
        logits_seen: list[np.ndarray] = []
        kw = cache_kwarg(self.lm)
        past = None
        x = inputs_embeds
        pos = 0
        for _ in range(max_new_tokens):
            s = x.shape[1]
            out = self.lm(
                inputs_embeds=x,
                attention_mask=torch.ones(1, pos + s, dtype=torch.long),
                position_ids=torch.arange(pos, pos + s).unsqueeze(0),
                use_cache=True,
                **{kw: past},
            )
            past = getattr(out, kw)
            last = out.logits[0, -1]
            logits_seen.append(last.float().numpy())
            nxt = int(last.argmax())
            if nxt in eos_ids:
                break
            tokens.append(nxt)
            pos += s
            x = self.embed_ids(torch.tensor([[nxt]]))
        return tokens, logits_seen
