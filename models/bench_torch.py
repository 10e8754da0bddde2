"""The PyTorch eager engine of the benchmarks (`stepdiff bench decode|pipeline`).

A `runtime.decoder.LanguageModel` like the ONNX one, on the same SmolLM2 weights in fp32
(transformers' LlamaForCausalLM), so the one greedy loop times both. It registers itself under
the `stepdiff.bench_engines` entry-point group as `torch`.
"""

from __future__ import annotations

import numpy as np
import torch

from stepdiff.models.model import cache_kwarg
from stepdiff.runtime.bench.engines import EngineSpec, Prompt


class TorchEngine:
    eos_token_ids: tuple[int, ...] = ()
    label = "torch-fp32"

    def __init__(self, spec: EngineSpec) -> None:
        from stepdiff.models.pretrained import load_smollm2

        torch.set_num_threads(spec.threads)
        torch.set_num_interop_threads(1)
        self.lm, _ = load_smollm2()
        self.lm.eval()
        self._kw = cache_kwarg(self.lm)
        self._model = None

    def encode(self, clip: np.ndarray) -> np.ndarray:
        """uint8 [T, H, W, 3] -> video tokens [K, D] (EfficientNet-Lite0 + projector)."""
        if self._model is None:
            from stepdiff.models.model import StepDiffConfig, StepDiffModel
            from stepdiff.models.pretrained import load_efficientnet

            self._model = StepDiffModel(StepDiffConfig(), load_efficientnet(), self.lm).eval()
        pixels = torch.from_numpy(np.ascontiguousarray(clip))[None]
        with torch.inference_mode():
            return self._model.encode_videos(pixels)[0].numpy()

    def prefill(self, prompt: Prompt) -> np.ndarray:
        from stepdiff.runtime.prompt import interleave

        with torch.inference_mode():
            text = self.lm.get_input_embeddings()(torch.from_numpy(prompt.text_ids())).numpy()
            embeds = interleave(text, prompt.layout(), list(prompt.video_embeds))
            out = self.lm(inputs_embeds=torch.from_numpy(embeds)[None], use_cache=True)
        self.past = getattr(out, self._kw)
        return out.logits[0, -1].float().numpy()

    def step(self, token: int) -> np.ndarray:
        with torch.inference_mode():
            ids = torch.tensor([[token]], dtype=torch.long)
            out = self.lm(input_ids=ids, use_cache=True, **{self._kw: self.past})
        self.past = getattr(out, self._kw)
        return out.logits[0, -1].float().numpy()
