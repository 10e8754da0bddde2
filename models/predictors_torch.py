"""The Scorer on the PyTorch StepDiffModel (a checkpoint, or the untrained projector)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch

from stepdiff.models.model import StepDiffModel, cache_kwarg
from stepdiff.models.predictors import (
    ClipSource,
    EmbeddingCache,
    Video,
    answer_ids,
    log_softmax,
    mean_logprob,
)
from stepdiff.runtime.prompt import SYSTEM, layout


def default_tokenizer():
    """The tokenizer.json that export copies into every bundle."""
    from tokenizers import Tokenizer

    from stepdiff.models.pretrained import smollm2_hf_dir

    return Tokenizer.from_file(str(smollm2_hf_dir() / "tokenizer.json"))


class TorchScorer:
    def __init__(
        self,
        model: StepDiffModel,
        clips: ClipSource | None = None,
        tokenizer=None,
        batch: int = 4,
        system: str = SYSTEM,
        features=None,  # models.features.FeatureStore: the vision features training cached
    ) -> None:
        self.model = model.eval()
        self.features = features
        self.tokenizer = tokenizer or default_tokenizer()
        self.system = system
        c = model.config
        self.videos = EmbeddingCache(self._encode, clips, c.frames, c.frame_size, batch)
        self.eos_ids = (self.tokenizer.token_to_id("<|im_end|>"),)
        self._cache_kw = cache_kwarg(model.lm)

    def _encode(self, frames: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.model.encode_videos(torch.from_numpy(np.ascontiguousarray(frames))).numpy()

    def prefetch(self, clip_ids: Sequence[str], progress: bool = True) -> None:
        if self.features is not None:
            # The frozen vision tower's output is already cached (fp16, as training saw it):
            # only the projector runs, which turns minutes of encoding into a second.
            known = [c for c in clip_ids if c in self.features and c not in self.videos.cache]
            with torch.inference_mode():
                for i in range(0, len(known), 256):
                    ids = known[i : i + 256]
                    out = self.model.projector(self.features.get(ids)).numpy()
                    self.videos.cache.update(zip(ids, out, strict=True))
        self.videos.prefetch(clip_ids, progress)

    def _embeds(self, videos: Sequence[Video], user_text: str) -> torch.Tensor:
        lay = layout(self.tokenizer, user_text, self.system)
        vids = [torch.from_numpy(v) for v in self.videos.get(videos)]
        return self.model.prompt_embeds(lay, vids)

    def _run(self, embeds: torch.Tensor, start: int, past=None):
        s = embeds.shape[1]
        return self.model.lm(
            inputs_embeds=embeds,
            attention_mask=torch.ones(1, start + s, dtype=torch.long),
            position_ids=torch.arange(start, start + s).unsqueeze(0),
            use_cache=True,
            **{self._cache_kw: past},
        )

    def _cache(self, out):
        return getattr(out, self._cache_kw)

    @torch.inference_mode()
    def generate(self, videos: Sequence[Video], user_text: str, max_new_tokens: int = 32) -> str:
        tokens, _ = self.model.greedy(self._embeds(videos, user_text), max_new_tokens, self.eos_ids)
        return self.tokenizer.decode(tokens, skip_special_tokens=True).strip()

    @torch.inference_mode()
    def answer_logprobs(
        self, videos: Sequence[Video], user_text: str, answers: Sequence[str]
    ) -> list[float]:
        embeds = self._embeds(videos, user_text)
        p = embeds.shape[1]
        out0 = self._run(embeds, 0)
        last, past = out0.logits[0, -1:], self._cache(out0)
        scores = []
        for answer in answers:
            ids = answer_ids(self.tokenizer, answer)
            rows = [last]
            if len(ids) > 1:
                x = self.model.embed_ids(torch.tensor([ids[:-1]]))
                # Each answer continues its own copy of the prompt's cache (a few MB).
                rows.append(self._run(x, p, copy.deepcopy(past)).logits[0])
            scores.append(mean_logprob(torch.cat(rows).float().numpy(), ids))
        return scores

    @torch.inference_mode()
    def next_token_probs(
        self, videos: Sequence[Video], user_text: str, token_ids: Sequence[int]
    ) -> np.ndarray:
        last = self._run(self._embeds(videos, user_text), 0).logits[0, -1].float().numpy()
        return np.exp(log_softmax(last))[np.asarray(token_ids)]
