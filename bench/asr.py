"""Recognition rate of the emulator's recogniser on espeak-ng speech over the phone path.

Run: ``.venv/bin/python bench/asr.py [--scenario FILE] [--compare] [--quiet]``.

Each line is spoken by espeak-ng as the test caller speaks it (``voicegw call --say``: en-us,
150 words a minute, 8 kHz), sent through G.711 μ-law and back, framed as the emulator's VAD
commits a turn (300 ms before, 500 ms of silence after), and recognised. A line counts as
recognised when every word comes back; the word error rate is printed too. The lines are the
demo's caller lines, then two renderings of every phrase of the scenario (the shortest and the
longest choices, slots filled with samples).

``--compare`` also runs the modes measured when the recogniser was chosen: free-form with the
general language model; the phrase grammar without the noise floor; with a low-pass filter
after upsampling (no spectral images above 4 kHz); and on 8 kHz features (a copy of the model
with its filterbank cut to 3.5 kHz). Exits 1 if the chosen mode recognises under 80 %.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pocketsphinx

from gateway.app.demo import LINES, SCENARIO
from gateway.app.wavio import speak
from gateway.core.audio import pcm16_to_ulaw, ulaw_to_pcm16
from gateway.core.audio._audioop import audioop
from gateway.emulator.dsp import add_noise_floor, resample
from gateway.emulator.phrases import examples, jsgf, phrase_words, spoken, word_errors
from gateway.emulator.scenario import load_scenario
from gateway.emulator.sphinx import NOISE_RMS, SphinxRecognizer

RATE = 8000
Hear = Callable[[bytes], str]
"""Recognised words for one committed turn of 8 kHz PCM16."""


def phone_turn(line: str) -> bytes:
    """``line`` as the emulator receives it from a caller: espeak-ng, μ-law, VAD margins."""
    pcm = ulaw_to_pcm16(pcm16_to_ulaw(speak(line)))
    return bytes(2 * RATE * 300 // 1000) + pcm + bytes(2 * RATE * 500 // 1000)


def lines_for(scenario_path: str, with_demo: bool) -> list[str]:
    phrases = load_scenario(scenario_path).phrases
    lines = list(LINES) if with_demo else []
    for phrase in phrases:
        lines += [e for e in examples(phrase) if e not in lines]
    return lines


def run(name: str, hear: Hear, lines: list[str], verbose: bool) -> float:
    correct = errors = words = 0
    started = time.perf_counter()
    for line in lines:
        expected = spoken(line)
        heard = hear(phone_turn(line)).split()
        wrong = word_errors(expected, heard)
        correct, errors, words = correct + (wrong == 0), errors + wrong, words + len(expected)
        if verbose:
            mark = "ok " if wrong == 0 else "BAD"
            print(f"  {mark} {line!r:48} -> {' '.join(heard)!r}")
    ms = (time.perf_counter() - started) * 1000 / len(lines)
    rate = correct / len(lines)
    print(
        f"{name}: {correct}/{len(lines)} lines recognised ({rate:.0%}), "
        f"word error rate {errors / max(words, 1):.1%}, {ms:.0f} ms a line (with speech synthesis)"
    )
    return rate


def _decode(decoder: pocketsphinx.Decoder, audio: bytes) -> str:
    decoder.start_utt()
    decoder.process_raw(audio, full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr if hypothesis else ""


def _upsampled(pcm: bytes) -> bytes:
    return audioop.ratecv(pcm, 2, 1, RATE, 16000, None)[0]


def _model_8k() -> str:
    """A copy of the bundled model whose feature front end fits 8 kHz (filterbank to 3.5 kHz)."""
    source = Path(pocketsphinx.get_model_path("en-us/en-us"))
    copy = Path(tempfile.mkdtemp(prefix="voicegw-asr-"))
    for item in source.iterdir():
        if item.name != "feat.params":
            os.symlink(item, copy / item.name)
    params = (source / "feat.params").read_text().replace("-upperf 6800", "-upperf 3500")
    (copy / "feat.params").write_text(params)
    return str(copy)


def alternatives(phrases: tuple[str, ...]) -> dict[str, Hear]:
    """The modes the recogniser was chosen against."""
    free = pocketsphinx.Decoder(samprate=16000, loglevel="FATAL")
    plain = pocketsphinx.Decoder(samprate=16000, lm=None, loglevel="FATAL")
    narrow = pocketsphinx.Decoder(
        hmm=_model_8k(), samprate=RATE, nfft=256, lm=None, loglevel="FATAL"
    )
    known = {w for p in phrases for w in phrase_words(p) if plain.lookup_word(w)}
    for decoder in (plain, narrow):
        decoder.add_jsgf_string("phrases", jsgf(phrases, keep=known))
        decoder.activate_search("phrases")
    return {
        "free-form, general language model, 16 kHz": lambda pcm: _decode(free, _upsampled(pcm)),
        "grammar, upsampled 16 kHz, no noise floor": lambda pcm: _decode(plain, _upsampled(pcm)),
        "grammar, upsampled and low-passed, noise floor": lambda pcm: _decode(
            plain, add_noise_floor(resample(pcm, RATE, 16000), 16000, NOISE_RMS)
        ),
        "grammar, 8 kHz features (upperf 3500)": lambda pcm: _decode(narrow, pcm),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(SCENARIO))
    parser.add_argument("--compare", action="store_true", help="also run the other modes")
    parser.add_argument("--quiet", action="store_true", help="totals only")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    lines = lines_for(args.scenario, with_demo=Path(args.scenario) == SCENARIO)
    print(f"{args.scenario}: {len(lines)} lines, {len(scenario.phrases)} phrases\n")
    recognizer = SphinxRecognizer(scenario.phrases)
    print("chosen: phrase grammar, interpolated 8 -> 16 kHz, noise floor (RMS 300, -41 dBFS)")
    demo = [line for line in lines if line in LINES]
    if demo:
        run("  demo lines", lambda pcm: recognizer.words(pcm, RATE), demo, not args.quiet)
    rate = run("  all lines", lambda pcm: recognizer.words(pcm, RATE), lines, not args.quiet)
    if args.compare:
        for name, hear in alternatives(scenario.phrases).items():
            print(f"\n{name}")
            if demo:
                run("  demo lines", hear, demo, verbose=False)
            run("  all lines", hear, lines, not args.quiet)
    return 0 if rate >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
