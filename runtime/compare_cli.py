"""stepdiff compare REFERENCE.mp4 USER.mp4 [--question TEXT] [--wav out.wav]"""

from __future__ import annotations

import argparse
import json
import sys

from stepdiff.runtime.paths import default_bundle


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stepdiff compare", description=__doc__)
    p.add_argument("reference", help="the reference how-to video (one step)")
    p.add_argument("user", help="your video of the same step")
    p.add_argument("--question", help="ask something else about the two videos")
    p.add_argument("--bundle", default=None, help="bundle directory (default: %(default)s)")
    p.add_argument("--wav", help="write the spoken answer to this WAV file instead of playing it")
    p.add_argument("--no-speech", action="store_true", help="print only")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-new-tokens", type=int, default=48)
    p.add_argument("--json", action="store_true", help="print a JSON record with the timings")
    return p


def speak(text: str, wav: str | None) -> str:
    """Plays `text`, or writes it to `wav` (also when no audio device exists). Returns a note."""
    from stepdiff.runtime.speech import (
        SpeechOptions,
        SpeechUnavailable,
        audio_device_available,
        load_synthesizer,
        play,
        write_wav,
    )

    try:
        synth = load_synthesizer(SpeechOptions())
    except SpeechUnavailable as e:
        return f"not spoken: {e}"
    samples = synth.synthesize(text)
    if wav is None and audio_device_available():
        play(samples, synth.sample_rate)
        return "spoken"
    path = wav or "stepdiff_answer.wav"
    write_wav(path, samples, synth.sample_rate)
    return f"wrote {path}"


def main(argv: list[str]) -> int:
    from stepdiff.runtime.compare import CompareOptions, StepDiff
    from stepdiff.runtime.prompt import COMPARE_QUESTION
    from stepdiff.runtime.video import probe

    a = parser().parse_args(argv)
    # Check both inputs before the (slow) model load, so a typo fails in milliseconds.
    probe(a.reference)
    probe(a.user)
    model = StepDiff(a.bundle or default_bundle(), threads=a.threads)
    opts = CompareOptions(question=a.question or COMPARE_QUESTION, max_new_tokens=a.max_new_tokens)
    result = model.compare(a.reference, a.user, opts)
    if a.json:
        record = {"text": result.text, "timings": result.timings}
        if result.severity is not None:  # the bundle has a comparison head
            record["severity"] = result.severity
        print(json.dumps(record))
    else:
        print(result.text)
        if result.severity is not None:
            print(f"severity {result.severity:.2f} / 5", file=sys.stderr)
    if not a.no_speech:
        print(speak(result.text or "I see no difference.", a.wav), file=sys.stderr)
    return 0
