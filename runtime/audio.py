"""Audio in and out: 16-bit mono WAV files, resampling, and playback through paplay/aplay."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import wave

import numpy as np

from stepdiff.runtime.errors import BadInput
from stepdiff.runtime.files import write_atomic_with
from stepdiff.runtime.speech_backend import SpeechUnavailable


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Band-limited enough for speech: a windowed-sinc low-pass before decimating, linear otherwise."""
    if src_rate == dst_rate or len(samples) == 0:
        return samples
    x = samples.astype(np.float64)
    if dst_rate < src_rate:
        # Without this low-pass the energy above the new Nyquist folds back as hiss.
        cutoff = 0.5 * dst_rate / src_rate
        n = np.arange(-32, 33)
        taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(len(n))
        x = np.convolve(x, taps / taps.sum(), mode="same")
    n_out = int(round(len(x) * dst_rate / src_rate))
    t = np.arange(n_out) * (src_rate / dst_rate)
    y = np.interp(t, np.arange(len(x)), x)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def as_int16(samples: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(samples)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"{what}: expected mono samples of shape (n,), got shape {a.shape}")
    if a.dtype == np.int16:
        return a
    if np.issubdtype(a.dtype, np.floating):
        return np.clip(np.round(a * 32767.0), -32768, 32767).astype(np.int16)
    raise ValueError(f"{what}: expected int16 or float samples in [-1, 1], got dtype {a.dtype}")


def write_wav(path: str, samples: np.ndarray, sample_rate: int) -> None:
    """Writes a 16-bit mono WAV atomically, so a reader never sees half a file."""
    path = os.fspath(path)
    pcm = as_int16(samples, path)
    if not isinstance(sample_rate, int | np.integer) or not 1000 <= sample_rate <= 384000:
        raise ValueError(f"{path}: sample rate {sample_rate!r} is not a plausible audio rate")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise BadInput(path, f"folder {folder} does not exist: create it first")

    def write(tmp: str) -> None:
        with wave.open(tmp, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(int(sample_rate))
            w.writeframes(pcm.astype("<i2").tobytes())

    write_atomic_with(path, write)


def read_wav(path: str) -> tuple[np.ndarray, int]:
    """Reads a 16-bit mono WAV (what write_wav and the espeak-ng program write)."""
    try:
        with wave.open(os.fspath(path), "rb") as w:
            if w.getsampwidth() != 2:
                raise BadInput(path, f"is {8 * w.getsampwidth()}-bit audio, expected 16-bit PCM")
            frames = w.readframes(w.getnframes())
            channels, rate = w.getnchannels(), w.getframerate()
    except (wave.Error, EOFError) as e:
        raise BadInput(path, f"is not a readable WAV file ({e})") from e
    samples = np.frombuffer(frames, dtype="<i2").astype(np.int16)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return samples, rate


def _pulse_server_present() -> bool:
    server = os.environ.get("PULSE_SERVER")
    if server:
        # "unix:/path" and plain paths can be checked; a tcp server can only be trusted.
        path = server.removeprefix("unix:")
        return os.path.exists(path) if path.startswith("/") else True
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    return bool(runtime_dir) and os.path.exists(os.path.join(runtime_dir, "pulse", "native"))


def _player_command() -> list[str] | None:
    if shutil.which("paplay") and _pulse_server_present():
        return ["paplay"]
    if shutil.which("aplay") and glob.glob("/dev/snd/pcmC*D*p"):
        return ["aplay", "-q"]
    return None


def audio_device_available() -> bool:
    """True only when a player program and a sound server or ALSA playback device both exist."""
    return _player_command() is not None


def play(samples: np.ndarray, sample_rate: int) -> None:
    """Plays through paplay/aplay and returns when done; raises if there is no output device."""
    pcm = as_int16(samples, "play()")
    if len(pcm) == 0:
        return
    cmd = _player_command()
    if cmd is None:
        raise SpeechUnavailable(
            "no audio output device (need paplay with a PulseAudio/PipeWire server, or aplay with "
            "/dev/snd): write the speech to WAV files instead"
        )
    with tempfile.TemporaryDirectory(prefix="stepdiff-speech-") as d:
        path = os.path.join(d, "say.wav")
        write_wav(path, pcm, sample_rate)
        duration = len(pcm) / sample_rate
        try:
            subprocess.run([*cmd, path], check=True, capture_output=True, timeout=duration + 10.0)
        except subprocess.CalledProcessError as e:
            err = e.stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(
                f"{cmd[0]} failed: {err[-1] if err else f'exit {e.returncode}'}"
            ) from e
