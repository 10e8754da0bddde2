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

from stepdiff.export.encoder_builder import encoder_io
from stepdiff.models.model import StepDiffModel
from stepdiff.runtime import contract
from stepdiff.runtime.files import write_atomic_with


class _VisionEncoderGraph(nn.Module):
    def __init__(self, model: StepDiffModel) -> None:
        super().__init__()
        self.vision = model.vision
        self.projector = model.projector

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        head, mid = self.vision.multi_scale(pixel_values)
        return self.projector(head), head, mid


def export_vision_encoder(model: StepDiffModel, out_path: str, opset: int = 17) -> dict:
    """Writes the fp32 encoder graph atomically; returns its IO as the manifest records it."""
    c = model.config
    io = encoder_io(c.to_dict())
    graph = _VisionEncoderGraph(model).eval()
    dummy = torch.randint(0, 256, (1, c.frames, c.frame_size, c.frame_size, 3), dtype=torch.uint8)
    batch = {0: contract.BATCH}

    def export(path: str) -> None:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph,
                (dummy,),
                path,
                input_names=[t.name for t in io.inputs],
                output_names=[t.name for t in io.outputs],
                dynamic_axes={t.name: batch for t in (*io.inputs, *io.outputs)},
                opset_version=opset,
                dynamo=False,
            )

    print(f"exporting {os.path.basename(out_path)} ...", file=sys.stderr)
    write_atomic_with(out_path, export)
    return io.to_json()
