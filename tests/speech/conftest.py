"""Speech helpers: caller lines as the emulator receives them, and the shipped files."""

from __future__ import annotations

from tests.conftest import REPO

GRAPHS = REPO / "agents_config"
CALL_CENTER = GRAPHS / "call_center.yaml"
CALL_CENTER_SCENARIO = GRAPHS / "call_center.scenario.yaml"
FRONT_DESK_SCENARIO = GRAPHS / "front_desk.scenario.yaml"
PHONE_RATE = 8000


def phone_turn(line: str) -> bytes:
    """``line`` spoken by espeak-ng as the test caller speaks it, through G.711 μ-law, with the
    margins the emulator's VAD commits (300 ms before, 500 ms after): 8 kHz PCM16."""
    from gateway.app.wavio import speak
    from gateway.core.audio import pcm16_to_ulaw, ulaw_to_pcm16

    pcm = ulaw_to_pcm16(pcm16_to_ulaw(speak(line)))
    return bytes(2 * PHONE_RATE * 300 // 1000) + pcm + bytes(2 * PHONE_RATE * 500 // 1000)
