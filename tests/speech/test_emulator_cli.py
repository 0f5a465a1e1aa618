"""``voicegw emulator --voice/--recognizer``: speech chosen on the command line."""

from __future__ import annotations

import argparse

from gateway.emulator.cli import add_emulator_command, server_from_args
from tests.speech.conftest import CALL_CENTER_SCENARIO


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_emulator_command(parser.add_subparsers())
    return parser.parse_args(["emulator", *argv])


def test_flags_override_the_scenarios_speech() -> None:
    """--voice and --recognizer replace the scenario's choice; without them it stands."""
    shipped = server_from_args(_args("--scenario", str(CALL_CENTER_SCENARIO))).scenario
    assert (shipped.voice, shipped.recognizer) == ("espeak", "pocketsphinx")
    scripted = server_from_args(
        _args(
            "--scenario", str(CALL_CENTER_SCENARIO), "--voice", "tones", "--recognizer", "scripted"
        )
    ).scenario
    assert (scripted.voice, scripted.recognizer) == ("tones", "scripted")
    assert scripted.phrases == shipped.phrases  # the rest of the scenario is kept
    default = server_from_args(_args("--recognizer", "pocketsphinx")).scenario
    assert (default.voice, default.recognizer) == ("synthetic", "pocketsphinx")
