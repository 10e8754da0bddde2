"""vision_encoder.onnx: uint8 RGB frames -> video tokens, EfficientNet-Lite0 and projector fused.

The pixel normalisation lives inside the graph so the runtime feeds raw decoded frames and can
never normalise differently from training.
"""

from __future__ import annotations

import os
import sys
import warnings

import torch
import torch.nn as nn

from stepdiff.models.model import StepDiffModel


class _VisionEncoderGraph(nn.Module):
    def __init__(self, model: StepDiffModel) -> None:
        super().__init__()
        self.vision = model.vision
        self.projector = model.projector

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.projector(self.vision(pixel_values))


def export_vision_encoder(model: StepDiffModel, out_path: str, opset: int = 17) -> dict:
    """Writes the fp32 encoder graph atomically; returns its IO for the manifest."""
    c = model.config
    graph = _VisionEncoderGraph(model).eval()
    dummy = torch.randint(0, 256, (1, c.frames, c.frame_size, c.frame_size, 3), dtype=torch.uint8)
    tmp = out_path + ".tmp"
    print(f"exporting {os.path.basename(out_path)} ...", file=sys.stderr)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            (dummy,),
            tmp,
            input_names=["pixel_values"],
            output_names=["video_embeds"],
            dynamic_axes={"pixel_values": {0: "batch_size"}, "video_embeds": {0: "batch_size"}},
            opset_version=opset,
            dynamo=False,
        )
    os.replace(tmp, out_path)
    return {
        "inputs": [
            {
                "name": "pixel_values",
                "dtype": "uint8",
                "shape": ["batch_size", c.frames, c.frame_size, c.frame_size, 3],
            }
        ],
        "outputs": [
            {
                "name": "video_embeds",
                "dtype": "float32",
                "shape": ["batch_size", c.tokens_per_video, c.lm_dim],
            }
        ],
    }
