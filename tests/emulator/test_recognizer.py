"""ScriptedRecognizer: the scenario's caller lines, one per audio turn, then nothing."""

from __future__ import annotations

from gateway.emulator.recognizer import Recognizer, ScriptedRecognizer


def test_lines_come_in_order_then_empty() -> None:
    """Each call returns the next line; afterwards ""."""
    recognizer: Recognizer = ScriptedRecognizer(["one", "two"])
    assert recognizer.transcribe(b"", 8000) == "one"
    assert recognizer.transcribe(b"\x00\x00", 24000) == "two"
    assert recognizer.transcribe(b"", 8000) == ""
