"""eSpeak NG: libespeak-ng through ctypes (from the espeakng-loader wheel), else the CLI program.

The library keeps one engine per process (voice, rate, output callback are global), so one
`_Engine` owns it behind a lock and every synthesizer sets its own voice and rate per call.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
import threading

import numpy as np

from stepdiff.runtime.audio import read_wav
from stepdiff.runtime.speech_backend import SpeechOptions, SpeechUnavailable

# From espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2  # synthesize into our callback on the calling thread, no sound card
_INITIALIZE_DONT_EXIT = 0x8000  # report a missing data folder instead of calling exit()
_RATE = 1  # espeak_PARAMETER espeakRATE, words per minute
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK, _EE_NOT_FOUND = 0, 2

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Engine:
    """The process's one libespeak-ng, initialized once in synchronous (retrieval) mode."""

    def __init__(self, lib_path: str, data_path: str) -> None:
        lib = ctypes.CDLL(lib_path)
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,  # text
            ctypes.c_size_t,  # size in bytes, including the terminating NUL
            ctypes.c_uint,  # position
            ctypes.c_int,  # position type
            ctypes.c_uint,  # end position (0: to the end)
            ctypes.c_uint,  # flags
            ctypes.c_void_p,  # unique identifier out
            ctypes.c_void_p,  # user data
        ]
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), _INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise SpeechUnavailable(
                f"libespeak-ng at {lib_path} failed to start with data {data_path} (code {rate})"
            )
        self.lib = lib
        self.sample_rate = rate
        self.version = (lib.espeak_Info(None) or b"?").decode(errors="replace")
        self.lock = threading.Lock()
        self._chunks: list[np.ndarray] = []
        # ctypes frees a callback thunk once its Python object dies; the library would then call
        # into freed memory, so the engine keeps it for the life of the process.
        self._callback = _SynthCallback(self._collect)
        lib.espeak_SetSynthCallback(self._callback)
        self._voice: str | None = None
        self._rate: int | None = None

    def _collect(self, wav: ctypes.Array, num_samples: int, events: int) -> int:
        if wav and num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0  # 0: go on

    def _configure(self, voice: str, rate_wpm: int) -> None:
        if voice != self._voice:
            err = self.lib.espeak_SetVoiceByName(voice.encode())
            if err == _EE_NOT_FOUND:
                raise ValueError(f"espeak-ng has no voice {voice!r}: try 'en-us', 'en-gb' or 'de'")
            if err != _EE_OK:
                raise RuntimeError(f"espeak-ng could not set voice {voice!r} (error {err})")
            self._voice = voice
            self._rate = None  # a new voice resets the rate
        if rate_wpm != self._rate:
            if self.lib.espeak_SetParameter(_RATE, rate_wpm, 0) != _EE_OK:
                raise RuntimeError(f"espeak-ng refused rate {rate_wpm} wpm")
            self._rate = rate_wpm

    def synthesize(self, text: str, voice: str, rate_wpm: int) -> np.ndarray:
        data = text.encode("utf-8") + b"\0"
        with self.lock:
            self._configure(voice, rate_wpm)
            self._chunks = []
            err = self.lib.espeak_Synth(
                data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            self.lib.espeak_Synchronize()
            chunks, self._chunks = self._chunks, []
        if err != _EE_OK:
            raise RuntimeError(f"espeak-ng failed to synthesize {text[:40]!r} (error {err})")
        return np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _shared_engine() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            try:
                import espeakng_loader
            except ImportError as e:
                raise SpeechUnavailable("espeakng-loader is not installed") from e
            lib_path = espeakng_loader.get_library_path()
            try:
                data_path = espeakng_loader.get_data_path()
                _engine = _Engine(lib_path, data_path)
            except (OSError, RuntimeError) as e:
                raise SpeechUnavailable(
                    f"libespeak-ng from espeakng-loader did not load: {e}"
                ) from e
        return _engine


class EspeakLibSynthesizer:
    """libespeak-ng in-process: about a thousandth of real time, no subprocess, no files."""

    def __init__(self, voice: str = "en-us", rate_wpm: int = 165) -> None:
        self.engine = _shared_engine()
        self.voice = voice
        self.rate_wpm = rate_wpm
        self.sample_rate = self.engine.sample_rate
        self.description = (
            f"espeak-ng {self.engine.version} (libespeak-ng, {voice}, {rate_wpm} wpm)"
        )
        with self.engine.lock:
            self.engine._configure(voice, rate_wpm)  # a bad voice fails here, not mid-session

    def synthesize(self, text: str) -> np.ndarray:
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        return self.engine.synthesize(text, self.voice, self.rate_wpm)


class EspeakCliSynthesizer:
    """The `espeak-ng` program (e.g. Debian's package), one process per utterance."""

    def __init__(self, binary: str, voice: str = "en-us", rate_wpm: int = 165) -> None:
        self.binary = binary
        self.voice = voice
        self.rate_wpm = rate_wpm
        self.description = f"espeak-ng program {binary} ({voice}, {rate_wpm} wpm)"
        samples, self.sample_rate = self._run("a")  # checks the voice and learns the rate
        if len(samples) == 0:
            raise SpeechUnavailable(f"{binary} produced no audio for a test word")

    def _run(self, text: str) -> tuple[np.ndarray, int]:
        with tempfile.TemporaryDirectory(prefix="stepdiff-espeak-") as d:
            out = os.path.join(d, "out.wav")
            cmd = [self.binary, "-v", self.voice, "-s", str(self.rate_wpm), "-b", "1", "-w", out]
            try:
                proc = subprocess.run(
                    [*cmd, "--stdin"], input=text.encode(), capture_output=True, timeout=60
                )
            except (OSError, subprocess.TimeoutExpired) as e:
                raise SpeechUnavailable(f"{self.binary} did not run: {e}") from e
            if proc.returncode != 0 or not os.path.exists(out):
                err = proc.stderr.decode(errors="replace").strip()
                if "voice" in err.lower():
                    raise ValueError(f"espeak-ng has no voice {self.voice!r}: {err}")
                raise RuntimeError(f"{self.binary} failed (exit {proc.returncode}): {err}")
            return read_wav(out)

    def synthesize(self, text: str) -> np.ndarray:
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        samples, rate = self._run(text)
        if rate != self.sample_rate:
            raise RuntimeError(
                f"{self.binary} changed its sample rate from {self.sample_rate} to {rate}"
            )
        return samples


def load_espeak(options: SpeechOptions) -> EspeakLibSynthesizer | EspeakCliSynthesizer:
    """The library if espeakng-loader works, else the `espeak-ng` program on PATH."""
    try:
        return EspeakLibSynthesizer(options.voice, options.rate_wpm)
    except SpeechUnavailable as lib_error:
        binary = shutil.which("espeak-ng")
        if binary is None:
            raise SpeechUnavailable(
                f"{lib_error}, and no `espeak-ng` program is on PATH"
            ) from lib_error
        return EspeakCliSynthesizer(binary, options.voice, options.rate_wpm)
